"""The web door: the patient's space at ``/`` and the professionals' portal at ``/pro``.

Server-rendered pages (Jinja2), htmx for what is interactive, nothing loaded from outside. The
pages hold no rule: each act calls the use case the JSON API calls. ``carnet.http.app`` mounts
:data:`router`.
"""

from __future__ import annotations

from fastapi import APIRouter

from carnet.web import assets, demo, life, messages, patient, pro, profile, promail

router = APIRouter(include_in_schema=False)
for part in (assets, demo, patient, profile, life, messages, promail, pro):
    router.include_router(part.router)

__all__ = ["router"]
