"""The site's own static files (vendored by ``scripts/vendor.sh``): served by the site itself."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

from carnet.errors import NotFound

router = APIRouter(include_in_schema=False)
ROOT = Path(str(resources.files("carnet.web").joinpath("static"))).resolve()
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}


@router.get("/static/{name:path}")
def static(name: str) -> Response:
    path = (ROOT / name).resolve()
    if not path.is_relative_to(ROOT) or not path.is_file() or path.suffix not in TYPES:
        raise NotFound()
    return Response(
        path.read_bytes(),
        media_type=TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )
