"""``/docs``: the API reference (Swagger UI), served from the site's own vendored files
(``scripts/vendor.sh``): nothing is loaded from a CDN, and no inline script is needed, so the
page runs under a Content-Security-Policy that allows scripts from the site only."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from carnet.http.headers import DOCS_POLICY

router = APIRouter(include_in_schema=False)

PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Carnet — API</title>
<link rel="stylesheet" href="/static/vendor/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static/vendor/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""


@router.get("/docs")
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": DOCS_POLICY})
