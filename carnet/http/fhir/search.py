"""What every FHIR search here does with what it was asked: parameters it does not know (refused
under ``Prefer: handling=strict``, else a warning in the Bundle), and a refusal that is the
request's own fault (a bris de glace with no reason) told rather than answered as nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from fastapi import Request

from carnet.access.rules import reason_missing
from carnet.context import RequestContext
from carnet.errors import Invalid
from carnet.http.fhir.response import BadRequest

#: Parameters every search here takes (the result's format), and those of the paged ones.
COMMON_PARAMS = frozenset({"_format"})
PAGED = frozenset({"_count", "_cursor"})
DOCUMENT_PARAMS = frozenset(
    {
        "patient",
        "patient.identifier",
        "status",
        "type",
        "category",
        "date",
        "period",
        "author.identifier",
        "security-label",
        "identifier",
        "isArchived",
    }
)


def checked_params(request: Request, known: frozenset[str]) -> list[dict[str, Any]]:
    """Search parameters this server does not know: refused (400) under ``Prefer:
    handling=strict``, else ignored and said so — an OperationOutcome warning in the Bundle
    (``search.mode = outcome``), never silently. ``_count`` is known only where it is
    honoured (``PAGED`` among ``known``)."""
    unknown = sorted(set(request.query_params) - known - COMMON_PARAMS)
    if not unknown:
        return []
    names = ", ".join(unknown)
    prefer = request.headers.get("prefer", "").replace(" ", "").lower()
    if "handling=strict" in prefer.split(";") or "handling=strict" in prefer.split(","):
        raise BadRequest(
            f"Paramètres de recherche non pris en charge : {names}.",
            f"Unsupported search parameters: {names}.",
            code="unknown_parameter",
        )
    return [
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "warning",
                        "code": "not-supported",
                        "details": {"text": f"Unsupported search parameters, ignored: {names}."},
                        "diagnostics": f"Paramètres de recherche ignorés (non pris en charge) : {names}.",
                        "expression": unknown,
                    }
                ],
            },
            "search": {"mode": "outcome"},
        }
    ]


def nothing_found(ctx: RequestContext) -> None:
    """A search refused answers an empty Bundle, like one that finds nothing — unless the
    request itself is wrong: a bris de glace with no reason (ACC-6) is an error the caller can
    act on. Decided on the request alone: it tells nothing of the record."""
    if reason_missing(ctx.mode, ctx.reason):
        raise BadRequest(
            "Bris de glace : le motif (en-tête X-Access-Reason) est obligatoire.",
            "Break-glass access: the reason (X-Access-Reason header) is required.",
            code="reason_required",
        )


def date_bounds(values: list[str]) -> tuple[datetime | None, datetime | None]:
    """A FHIR date parameter (``ge``, ``le``, ``gt``, ``lt``, ``eq`` on a day), repeated or
    not, as the bounds of one interval: every search here reads dates the same way."""
    since = until = None
    for value in values:
        prefix, raw = (
            (value[:2], value[2:]) if value[:2] in ("ge", "le", "gt", "lt", "eq") else ("eq", value)
        )
        try:
            day = date.fromisoformat(raw[:10])
        except ValueError:
            raise Invalid(
                f"Date illisible : {value}.", f"Unreadable date: {value}.", code="bad_date"
            ) from None
        start = datetime.combine(day, time.min, tzinfo=UTC)
        end = datetime.combine(day, time.max, tzinfo=UTC)
        if prefix in ("ge", "eq"):
            since = start
        elif prefix == "gt":
            since = end + timedelta(microseconds=1)
        if prefix in ("le", "eq"):
            until = end
        elif prefix == "lt":
            until = start - timedelta(microseconds=1)
    return since, until
