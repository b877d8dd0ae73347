"""The pros' web portal: logging in through OpenID Connect (Pro Santé Connect), or by the demo
chooser in demo mode; sessions; the access mode chosen for a record (ACC-6).

The authorization-code flow with PKCE (RFC 7636, S256): the browser goes to the issuer with a
``state`` and a code challenge; back here with a code, which we exchange at the token endpoint
(with the verifier) for an access token; that token is verified like any bearer token
(``carnet.auth``) and its claims become the session's identity.
https://openid.net/specs/openid-connect-core-1_0.html#CodeFlowAuth
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from sqlalchemy import select

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.auth.claims import Claims, ProClaims
from carnet.context import AccessMode, AuthLevel, Door, RequestContext
from carnet.db.uow import UnitOfWork
from carnet.errors import Forbidden, Invalid, NotFound, Unauthenticated
from carnet.identity.labels import pro_label, pro_labels
from carnet.identity.models import Pro
from carnet.identity.portal_models import ProAccessMode, ProSession
from carnet.ids import new_secret
from carnet.settings import Settings

Verify = Callable[[str], Claims]
TIMEOUT_SECONDS = 10.0
MAX_REASON = 500


@dataclass(frozen=True)
class PortalSession:
    """Who is logged in, and the request context his acts carry (door WEB)."""

    token: str
    rpps: str
    profession: str
    specialty: str | None
    level: AuthLevel
    label: str

    def context(
        self, mode: AccessMode = AccessMode.NORMAL, reason: str | None = None
    ) -> RequestContext:
        return RequestContext.for_pro(
            self.rpps,
            self.profession,
            self.specialty,
            self.level,
            door=Door.WEB,
            mode=mode,
            reason=reason,
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    url: str
    state: str
    verifier: str


def _sid(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _unreachable() -> Unauthenticated:
    return Unauthenticated(
        "Le fournisseur d'identité ne répond pas correctement : réessayez plus tard.",
        "The identity provider does not answer properly; please try again later.",
        code="issuer_unreachable",
    )


def _configured(settings: Settings) -> tuple[str, str]:
    if not settings.oidc_issuer or not settings.oidc_client_id:
        raise NotFound(
            "Aucun fournisseur d'identité n'est configuré.", "No identity provider is configured."
        )
    return settings.oidc_issuer.rstrip("/"), settings.oidc_client_id


def discover(settings: Settings, transport: httpx.BaseTransport | None = None) -> dict[str, str]:
    """The issuer's endpoints (OpenID Connect Discovery 1.0)."""
    issuer, _ = _configured(settings)
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport) as client:
            response = client.get(issuer + "/.well-known/openid-configuration")
            response.raise_for_status()
            document = response.json()
    except (httpx.HTTPError, ValueError):
        raise _unreachable() from None
    if not isinstance(document, dict):
        raise _unreachable()
    endpoints = {
        k: v
        for k, v in document.items()
        if k in ("authorization_endpoint", "token_endpoint") and isinstance(v, str)
    }
    if len(endpoints) != 2:
        raise _unreachable()
    return endpoints


def authorization_request(
    settings: Settings, redirect_uri: str, transport: httpx.BaseTransport | None = None
) -> AuthorizationRequest:
    """Where to send the browser, with a fresh ``state`` and PKCE verifier to keep (cookie)."""
    _, client_id = _configured(settings)
    endpoint = discover(settings, transport)["authorization_endpoint"]
    state, verifier = new_secret(24), new_secret(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": "openid scope_all",
            "acr_values": "eidas1",
            "state": state,
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
    )
    return AuthorizationRequest(f"{endpoint}?{query}", state, verifier)


def exchange_code(
    settings: Settings,
    code: str,
    verifier: str,
    redirect_uri: str,
    verify: Verify,
    transport: httpx.BaseTransport | None = None,
) -> ProClaims:
    """The code for an access token, then the token verified (issuer, signature, claims)."""
    _, client_id = _configured(settings)
    endpoint = discover(settings, transport)["token_endpoint"]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": client_id,
        "code_verifier": verifier,
    }
    if settings.oidc_client_secret:
        form["client_secret"] = settings.oidc_client_secret
    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, transport=transport) as client:
            response = client.post(endpoint, data=form, headers={"Accept": "application/json"})
            response.raise_for_status()
            body = response.json()
    except (httpx.HTTPError, ValueError):
        raise _unreachable() from None
    token = body.get("access_token") if isinstance(body, dict) else None
    if not isinstance(token, str):
        raise _unreachable()
    claims = verify(token)
    if not isinstance(claims, ProClaims):
        raise Forbidden("Réservé aux professionnels de santé.", "For health professionals only.")
    return claims


def open_session(uow: UnitOfWork, claims: ProClaims) -> PortalSession:
    """A portal session for what the issuer vouched for; the log-in is traced."""
    now = clock.now()
    token = new_secret(32)
    with uow.transaction() as session:
        session.add(
            ProSession(
                id=_sid(token),
                rpps=claims.rpps,
                profession=claims.profession,
                specialty=claims.specialty,
                level=claims.level.value,
                created_at=now,
                last_seen_at=now,
                ended_at=None,
            )
        )
        label = pro_label(session.get(Pro, claims.rpps), claims.rpps)
        portal = PortalSession(
            token, claims.rpps, claims.profession, claims.specialty, claims.level, label
        )
        trail.record(session, portal.context(), Action.LOG_IN, patient_id=None)
        return portal


def demo_login(uow: UnitOfWork, settings: Settings, rpps: str) -> PortalSession:
    """The demo chooser: any pro of the directory, at CPS level. Demo mode only."""
    if not settings.demo:
        raise Forbidden(
            "Le choix d'un professionnel de démonstration n'existe qu'en mode démonstration.",
            "Choosing a demo professional exists in demo mode only.",
            code="not_demo",
        )
    with uow.transaction() as session:
        pro = session.get(Pro, rpps)
        if pro is None:
            raise Invalid("Professionnel inconnu.", "Unknown professional.")
        claims = ProClaims(pro.rpps, pro.profession, pro.specialty, AuthLevel.CPS)
    return open_session(uow, claims)


def demo_pros(uow: UnitOfWork) -> list[tuple[str, str, str, str | None]]:
    """(rpps, label, profession, specialty) of the directory's pros, for the demo chooser."""
    with uow.transaction() as session:
        return [
            (p.rpps, pro_label(p, p.rpps), p.profession, p.specialty)
            for p in session.scalars(select(Pro).order_by(Pro.last_name).limit(200))
        ]


SESSION_IDLE_MINUTES = 30
SESSION_MAX_HOURS = 12


def current(uow: UnitOfWork, token: str) -> PortalSession | None:
    if not token:
        return None
    now = clock.now()
    with uow.transaction() as session:
        row = session.get(ProSession, _sid(token))
        if row is None or row.ended_at is not None:
            return None
        age, idle = now - row.created_at, now - row.last_seen_at
        if age.total_seconds() > SESSION_MAX_HOURS * 3600 or idle.total_seconds() > (
            SESSION_IDLE_MINUTES * 60
        ):
            return None
        row.last_seen_at = now
        return PortalSession(
            token,
            row.rpps,
            row.profession,
            row.specialty,
            AuthLevel(row.level),
            pro_label(session.get(Pro, row.rpps), row.rpps),
        )


def end(uow: UnitOfWork, token: str) -> None:
    with uow.transaction() as session:
        row = session.get(ProSession, _sid(token))
        if row is not None and row.ended_at is None:
            row.ended_at = clock.now()


def choose_mode(
    uow: UnitOfWork, portal: PortalSession, patient_id: str, mode: AccessMode, reason: str | None
) -> None:
    """ACC-6: the mode (and for bris de glace the reason, asked first) the pro enters a record
    in; the gate decides at each read whether it lets him in."""
    reason = (reason or "").strip()[:MAX_REASON] or None
    if mode is AccessMode.BRIS_DE_GLACE and reason is None:
        raise Invalid(
            "Le bris de glace exige un motif : décrivez le risque immédiat pour le patient.",
            "Break-the-glass needs a reason: describe the immediate risk to the patient.",
            code="reason_required",
        )
    with uow.transaction() as session:
        row = session.get(ProAccessMode, (patient_id, _sid(portal.token)))
        if mode is AccessMode.NORMAL:
            if row is not None:
                session.delete(row)
            return
        if row is None:
            row = ProAccessMode(patient_id=patient_id, session_id=_sid(portal.token))
            session.add(row)
        row.mode, row.reason, row.chosen_at = mode.value, reason, clock.now()


def mode_for(
    uow: UnitOfWork, portal: PortalSession, patient_id: str
) -> tuple[AccessMode, str | None]:
    with uow.transaction() as session:
        row = session.get(ProAccessMode, (patient_id, _sid(portal.token)))
        if row is None:
            return AccessMode.NORMAL, None
        return AccessMode(row.mode), row.reason


def directory_labels(uow: UnitOfWork, rpps: set[str]) -> dict[str, str]:
    """« Dr Louis Bernard » for each RPPS the directory knows (the public RPPS directory)."""
    if not rpps:
        return {}
    with uow.transaction() as session:
        return pro_labels(session.scalars(select(Pro).where(Pro.rpps.in_(sorted(rpps)))), rpps)
