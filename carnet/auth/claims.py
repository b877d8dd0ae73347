"""What a verified token says, and the checks on its claims that do not depend on who signed it.

Pro identities, whoever vouches for them, are read as Pro Santé Connect (PSC) shapes them: in the
userinfo answer, the ID token or a PSC access token, ``SubjectNameID`` is the idNatPs,
``SubjectRefPro.exercices[]`` carries ``codeProfession`` and ``codeSavoirFaire``, ``acr`` the level
(spec REFERENCE.md, "Pro identity in tokens";
https://industriels.esante.gouv.fr/produits-et-services/pro-sante-connect/userinfo).

How PSC's values map to Carnet's (README.md, "Pro Santé Connect", says the same):

========================  ====================================================================
PSC                       Carnet
========================  ====================================================================
``acr`` ``eidas1``        level e-CPS: PSC authenticates with a CPS card or the e-CPS app only,
                          and ``eidas1`` is the one level it issues (the ANS's own Keycloak
                          connector, github.com/ansforge/keycloak-prosanteconnect, knows only
                          ``EIDAS1`` and refuses ``eidas2``); which of the two was used is not
                          said, so the lower one is kept. ID-5 lets both read.
any other ``acr``         refused (``token_acr_unknown``), never guessed
``urn:carnet:acr:*``      Carnet's own tokens (``carnet token``): ``cps``, ``e-cps``, ``cpe``
idNatPs ``8`` + RPPS      the pro, keyed by his 11-digit RPPS
idNatPs ``0`` + ADELI     the pro, keyed by the idNatPs itself (10 characters: no RPPS exists)
other idNatPs             refused: ``1``/``3``/``4``/``5``/``6`` + … name structures or internal
                          ids, not a person (ANS, ``PSIdNat`` in
                          github.com/ansforge/IG-FHIR-PDSM4DMP-EEDS); ``ANS…`` are sandbox ids
========================  ====================================================================

Each check raises :class:`carnet.errors.Unauthenticated`; the caller passes the time in, so these
functions stay pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from carnet.context import AuthLevel
from carnet.errors import Invalid, Unauthenticated

LEEWAY_SECONDS = 30
"""Clock skew tolerated between an issuer and us, on ``exp``, ``nbf`` and ``iat``."""

ACR_CPS = "urn:carnet:acr:cps"
ACR_E_CPS = "urn:carnet:acr:e-cps"
ACR_CPE = "urn:carnet:acr:cpe"
"""The instance's own values: one per level, so that a token says exactly which card was used."""

ACR_EIDAS1 = "eidas1"
"""What Pro Santé Connect puts in ``acr`` and what relying parties ask (``acr_values=eidas1``, as
the DMP's own web access for pros does)."""

ACR_LEVELS: Mapping[str, AuthLevel] = MappingProxyType(
    {
        ACR_CPS: AuthLevel.CPS,
        ACR_E_CPS: AuthLevel.E_CPS,
        ACR_CPE: AuthLevel.CPE,
        ACR_EIDAS1: AuthLevel.E_CPS,
    }
)
"""Every ``acr`` we accept; any other value is refused rather than guessed."""

LEVEL_ACRS: Mapping[AuthLevel, str] = MappingProxyType(
    {AuthLevel.CPS: ACR_CPS, AuthLevel.E_CPS: ACR_E_CPS, AuthLevel.CPE: ACR_CPE}
)
"""What the instance writes for each level (the inverse of the ``urn:carnet`` part above)."""

RPPS_ID_NAT_PS = re.compile(r"8([0-9]{11})")
"""``8`` then the 11 RPPS digits (OID 1.2.250.1.71.4.2.1)."""

ADELI_ID_NAT_PS = re.compile(r"0(?:[0-9]{2}|2[AB])[0-9]{7}")
"""``0`` then the 9-character ADELI number (its first two are the département, Corsica's ``2A`` or
``2B`` included): pros not (yet) in the RPPS."""


def pro_key(id_nat_ps: str) -> str | None:
    """The key Carnet files a pro under: the RPPS, or the ADELI-based idNatPs as it is. None when
    the idNatPs names no person Carnet can serve."""
    rpps = RPPS_ID_NAT_PS.fullmatch(id_nat_ps)
    if rpps is not None:
        return rpps.group(1)
    return id_nat_ps if ADELI_ID_NAT_PS.fullmatch(id_nat_ps) else None


def id_nat_ps_of(key: str) -> str | None:
    """The inverse of :func:`pro_key` (for the instance's own tokens)."""
    candidate = key if key.startswith("0") else "8" + key
    return candidate if pro_key(candidate) == key else None


def filed_id_nat_ps(key: str) -> str:
    """The idNatPs of ``key`` when it is a pro's key as the directory files it (11 RPPS digits,
    or ``0`` and an ADELI number); otherwise refused in one wording wherever a key comes from
    outside (an operator's token, a patient's act on a pro): anything else names nobody."""
    id_nat_ps = id_nat_ps_of(key)
    if id_nat_ps is None:
        raise Invalid(
            "Le RPPS doit compter 11 chiffres (ou, sans RPPS, 0 suivi du numéro ADELI).",
            "An RPPS has 11 digits (or, without one, 0 followed by the ADELI number).",
            code="rpps_invalid",
        )
    return id_nat_ps


INS_PATTERN = re.compile(r"[0-9]{6}[0-9AB][0-9]{8}")
"""Shape of a matricule INS (ID-1): 13-character NIR (Corsica as ``2A``/``2B``), 2-digit key.
The key itself is checked where the INS enters the system, not on every request."""


@dataclass(frozen=True)
class ProClaims:
    """``rpps`` is the key the pro is filed under: his RPPS, or ``0`` + ADELI (see
    :func:`pro_key`)."""

    rpps: str
    profession: str
    specialty: str | None
    level: AuthLevel


@dataclass(frozen=True)
class PatientClaims:
    ins: str


Claims = ProClaims | PatientClaims


def _number(payload: Mapping[str, object], name: str) -> float | None:
    value = payload.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthenticated(
            f"Jeton mal formé : la date « {name} » n'est pas un nombre.",
            f"Malformed token: the '{name}' date is not a number.",
            code="token_malformed",
        )
    return float(value)


def check_times(payload: Mapping[str, object], now: datetime) -> None:
    """``exp`` is required: a token that never expires is a password we cannot take back."""
    moment = now.timestamp()
    expires = _number(payload, "exp")
    if expires is None:
        raise Unauthenticated(
            "Jeton refusé : il ne porte pas de date d'expiration.",
            "Token refused: it carries no expiry date.",
            code="token_malformed",
        )
    if moment > expires + LEEWAY_SECONDS:
        raise Unauthenticated(
            "Jeton expiré : authentifiez-vous à nouveau.",
            "Token expired: please authenticate again.",
            code="token_expired",
        )
    for name in ("nbf", "iat"):
        start = _number(payload, name)
        if start is not None and start > moment + LEEWAY_SECONDS:
            raise Unauthenticated(
                "Jeton pas encore valide : vérifiez l'horloge de l'émetteur.",
                "Token not yet valid: check the issuer's clock.",
                code="token_not_yet_valid",
            )


def issuer_refused() -> Unauthenticated:
    return Unauthenticated(
        "Jeton refusé : il ne vient pas d'un émetteur reconnu.",
        "Token refused: it does not come from a trusted issuer.",
        code="token_issuer_refused",
    )


def check_issuer(payload: Mapping[str, object], expected: str) -> None:
    if payload.get("iss") != expected:
        raise issuer_refused()


def check_audience(payload: Mapping[str, object], expected: str) -> None:
    """``aud`` may be one string or a list (RFC 7519 §4.1.3); ours must be among them."""
    audience = payload.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if expected not in audiences:
        raise Unauthenticated(
            "Jeton refusé : il n'est pas destiné à ce service.",
            "Token refused: it is not meant for this service.",
            code="token_audience_refused",
        )


def _first_exercice(payload: Mapping[str, object]) -> Mapping[str, object]:
    """A pro may practise several professions; PSC lists them and we act on the first one."""
    reference = payload.get("SubjectRefPro")
    exercices = reference.get("exercices") if isinstance(reference, Mapping) else None
    first = exercices[0] if isinstance(exercices, list) and exercices else None
    if not isinstance(first, Mapping):
        raise Unauthenticated(
            "Jeton refusé : il ne dit pas quelle profession exerce le professionnel.",
            "Token refused: it does not say which profession the professional practises.",
            code="token_profession_missing",
        )
    return first


def pro_claims_from_payload(payload: Mapping[str, object]) -> ProClaims:
    """Reads a Pro Santé Connect-shaped payload; nothing is defaulted but the specialty."""
    subject = payload.get("SubjectNameID")
    key = pro_key(subject) if isinstance(subject, str) else None
    if key is None:
        raise Unauthenticated(
            "Jeton refusé : l'identifiant national du professionnel (8 + RPPS ou 0 + ADELI) manque "
            "ou est invalide.",
            "Token refused: the professional's national id (8 + RPPS or 0 + ADELI) is missing or "
            "invalid.",
            code="token_identity_missing",
        )
    exercice = _first_exercice(payload)
    profession = exercice.get("codeProfession")
    if not isinstance(profession, str) or not profession.strip():
        raise Unauthenticated(
            "Jeton refusé : il ne dit pas quelle profession exerce le professionnel.",
            "Token refused: it does not say which profession the professional practises.",
            code="token_profession_missing",
        )
    specialty = exercice.get("codeSavoirFaire")
    if specialty is not None and not isinstance(specialty, str):
        raise Unauthenticated(
            "Jeton mal formé : la spécialité (codeSavoirFaire) n'est pas un texte.",
            "Malformed token: the specialty (codeSavoirFaire) is not text.",
            code="token_malformed",
        )
    acr = payload.get("acr")
    level = ACR_LEVELS.get(acr) if isinstance(acr, str) else None
    if level is None:
        raise Unauthenticated(
            "Jeton refusé : niveau d'authentification (acr) inconnu.",
            "Token refused: unknown authentication level (acr).",
            code="token_acr_unknown",
        )
    return ProClaims(
        rpps=key,
        profession=profession.strip(),
        specialty=(specialty or "").strip() or None,
        level=level,
    )


def patient_claims_from_payload(payload: Mapping[str, object]) -> PatientClaims:
    subject = payload.get("sub")
    if not isinstance(subject, str) or not INS_PATTERN.fullmatch(subject):
        raise Unauthenticated(
            "Jeton refusé : le matricule INS du patient manque ou est mal formé.",
            "Token refused: the patient's INS is missing or malformed.",
            code="token_identity_missing",
        )
    return PatientClaims(ins=subject)
