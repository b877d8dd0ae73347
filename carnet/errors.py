"""Refusals: one type per kind, each with a code and a French and an English message.

Doors translate them (HTTP status, SMTP reply, CLI exit); nothing is swallowed.
"""

from __future__ import annotations


class Refusal(Exception):
    """Base of every refusal a user can receive."""

    code: str = "refused"
    status: int = 400
    #: The denied acts to trace (``audit.trail.Entry`` values). The refused transaction rolls
    #: back whole — a refusal changes nothing — and ``Runtime.transaction`` then appends these
    #: traces in a transaction of their own: a denied access is recorded like an allowed one.
    traced: tuple[object, ...] = ()

    def __init__(self, fr: str, en: str, code: str | None = None) -> None:
        super().__init__(en)
        self.fr = fr
        self.en = en
        if code is not None:
            self.code = code


class Invalid(Refusal):
    """Bad input: nothing was changed."""

    code = "invalid"
    status = 422


class NotFound(Refusal):
    """Absent, or present but not for this caller: the two answer alike."""

    code = "not_found"
    status = 404

    def __init__(
        self, fr: str = "Ressource introuvable.", en: str = "Not found.", code: str | None = None
    ) -> None:
        super().__init__(fr, en, code)


class Unauthenticated(Refusal):
    code = "unauthenticated"
    status = 401


class Forbidden(Refusal):
    """An act (not a read) the caller may not do; reads answer NotFound instead."""

    code = "forbidden"
    status = 403


class Conflict(Refusal):
    code = "conflict"
    status = 409


class NotSupported(Refusal):
    """An operation the interface does not offer (e.g. changing a field FHIR PATCH may not touch)."""

    code = "not_supported"
    status = 405


class PreconditionFailed(Refusal):
    """The caller's version of the resource is not the current one (If-Match)."""

    code = "version_conflict"
    status = 412


class TooMany(Refusal):
    code = "rate_limited"
    status = 429


class TryLater(Refusal):
    """Nothing was done, and the same request may succeed in a moment.

    Doors answer 503 with ``Retry-After: retry_after`` seconds."""

    code = "try_later"
    status = 503
    retry_after: int = 30

    def __init__(self, fr: str, en: str, code: str | None = None, retry_after: int = 30) -> None:
        super().__init__(fr, en, code)
        self.retry_after = max(1, retry_after)


class ProviderUnavailable(TryLater):
    """An outside service we depend on (the OpenID provider) did not answer in time."""

    code = "provider_unavailable"


class Overloaded(TryLater):
    """Too many requests already wait for the database (issue 19): a clear answer at once
    rather than an unbounded wait."""

    code = "overloaded"


class DatabaseUnavailable(TryLater):
    """The database connection was lost mid-request; the transaction never committed."""

    code = "database_unavailable"


class IntegrityFailure(Refusal):
    """Stored content no longer matches its hash: never served."""

    code = "integrity_failure"
    status = 500


class LevelTooLow(Refusal):
    """ID-5: reading a DMP needs a CPS or e-CPS; the caller's card level does not allow it.
    Refused as such, not as not-found: it depends on the caller's card only, so it reveals
    nothing about the patient."""

    code = "level_too_low"
    status = 403

    def __init__(
        self,
        fr: str = (
            "Lecture refusée : consulter un DMP exige une authentification par carte CPS ou "
            "e-CPS ; la carte d'établissement (CPE) permet seulement d'alimenter le dossier."
        ),
        en: str = (
            "Reading refused: consulting a DMP requires a CPS card or e-CPS authentication; an "
            "establishment card (CPE) may only add documents."
        ),
        code: str | None = None,
    ) -> None:
        super().__init__(fr, en, code)


class DmpClosed(Refusal):
    """DOC-1, LC-5: an upload into a closed or opposed profile: the DMP is closed (seed 001), told
    as such to the pro — not answered like an unknown patient."""

    code = "dmp_closed"
    status = 409

    def __init__(
        self,
        fr: str = "Le DMP de ce patient est fermé (profil clôturé ou opposé) : "
        "le document n'a pas été déposé.",
        en: str = "This patient's DMP is closed (profile closed or opposed): "
        "the document was not uploaded.",
        code: str | None = None,
    ) -> None:
        super().__init__(fr, en, code)
