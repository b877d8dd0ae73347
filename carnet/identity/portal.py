"""The pros' web portal: sessions opened for what OpenID Connect vouched for
(:mod:`carnet.auth.login`), or by the demo chooser in demo mode; the access mode chosen for a
record (ACC-6).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import select

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.auth.claims import ProClaims
from carnet.context import AccessMode, AuthLevel, Door, RequestContext
from carnet.db.uow import UnitOfWork
from carnet.errors import Forbidden, Invalid
from carnet.identity.labels import pro_label, pro_labels
from carnet.identity.models import Pro
from carnet.identity.portal_models import ProAccessMode, ProSession
from carnet.ids import new_secret
from carnet.settings import Settings
from carnet.texts import checked_reason


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


def _sid(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(uow: UnitOfWork, claims: ProClaims, id_token: str | None = None) -> PortalSession:
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
                id_token=id_token,
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


def end(uow: UnitOfWork, token: str) -> str | None:
    """Ends the session; returns its ID token, for the log-out at the provider."""
    if not token:
        return None
    with uow.transaction() as session:
        row = session.get(ProSession, _sid(token))
        if row is None or row.ended_at is not None:
            return None
        row.ended_at = clock.now()
        hint, row.id_token = row.id_token, None
        return hint


def choose_mode(
    uow: UnitOfWork, portal: PortalSession, patient_id: str, mode: AccessMode, reason: str | None
) -> None:
    """ACC-6: the mode (and for bris de glace the reason, asked first) the pro enters a record
    in; the gate decides at each read whether it lets him in."""
    reason = checked_reason((reason or "").strip() or None)
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
