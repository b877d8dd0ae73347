"""A record's settings side, for the patient and who acts for him (ACC-2…ACC-6, ACC-8, TR-1):
his emergency switches and médecin traitant, the pros he authorised, blocked or made
administrators, his notifications. Every read is traced, allowed or not (TR-1: the patient's own
acts too)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select

from carnet.access.acts import EMERGENCY_MASKED, EMERGENCY_OTHERS, EMERGENCY_SAMU
from carnet.access.models import AccessSettings, CareRelation
from carnet.access.rules import Purpose, Why
from carnet.audit.rules import Action
from carnet.identity.labels import pro_labels, profession_name
from carnet.identity.models import Pro
from carnet.notify.models import Notification

if TYPE_CHECKING:
    from carnet.access.record import Record


@dataclass(frozen=True)
class SettingsView:
    emergency_samu: bool
    emergency_others: bool
    emergency_masked: bool
    medecin_traitant_rpps: str | None
    updated_at: datetime | None


@dataclass(frozen=True)
class ProRelation:
    rpps: str
    label: str
    profession: str | None
    authorised: bool
    blocked: bool
    administrator: bool
    medecin_traitant: bool
    first_access_at: datetime | None


#: The patient's side only: the gate refuses a pro a record opened for the space.
_SPACE = (Purpose.SPACE,)


class Space:
    def __init__(self, record: Record) -> None:
        self.record = record

    def settings(self) -> SettingsView:
        r = self.record
        r.require(Action.READ_SETTINGS, *_SPACE)
        row = r.session.get(AccessSettings, r.patient_id)
        r.trace(Action.READ_SETTINGS)
        if row is None:  # ACC-6's defaults for a patient who never touched his switches
            return SettingsView(EMERGENCY_SAMU, EMERGENCY_OTHERS, EMERGENCY_MASKED, None, None)
        return SettingsView(
            row.emergency_samu,
            row.emergency_others,
            row.emergency_masked,
            row.medecin_traitant_rpps,
            row.updated_at,
        )

    def relations(self) -> list[ProRelation]:
        """Every pro the patient's settings know, with the médecin traitant even before his
        first access; newest access first."""
        r = self.record
        r.require(Action.READ_SETTINGS, *_SPACE)
        session = r.session
        settings = session.get(AccessSettings, r.patient_id)
        mt = settings.medecin_traitant_rpps if settings else None
        rows = list(
            session.scalars(
                select(CareRelation)
                .where(CareRelation.patient_id == r.patient_id)
                .order_by(CareRelation.first_access_at.desc(), CareRelation.rpps)
            )
        )
        wanted = {row.rpps for row in rows} | ({mt} if mt else set())
        pros = {p.rpps: p for p in session.scalars(select(Pro).where(Pro.rpps.in_(sorted(wanted))))}
        labels = pro_labels(pros.values(), wanted)
        out = [
            ProRelation(
                row.rpps,
                labels[row.rpps],
                profession_name(pros[row.rpps].profession) if row.rpps in pros else None,
                row.authorised,
                row.blocked,
                row.administrator,
                row.rpps == mt,
                row.first_access_at,
            )
            for row in rows
        ]
        if mt and all(row.rpps != mt for row in rows):
            profession = profession_name(pros[mt].profession) if mt in pros else None
            out.append(ProRelation(mt, labels[mt], profession, False, False, False, True, None))
        r.trace(Action.READ_SETTINGS, detail={"part": "pros"})
        return out

    def notifications(self, limit: int = 200) -> list[Notification]:
        r = self.record
        r.require(Action.READ_NOTIFICATIONS, *_SPACE)
        found = list(
            r.session.scalars(
                select(Notification)
                .where(Notification.patient_id == r.patient_id)
                .order_by(Notification.created_at.desc())
                .limit(limit)
            )
        )
        r.trace(Action.READ_NOTIFICATIONS, detail={"count": len(found)})
        return found

    def notification(self, notification_id: str) -> Notification:
        """One notification, to act on it (mark it read): traced; absent is refused."""
        r = self.record
        r.require(Action.READ_NOTIFICATIONS, *_SPACE)
        row = r.session.get(Notification, (r.patient_id, notification_id))
        if row is None:
            r.refuse(Action.READ_NOTIFICATIONS, Why.ABSENT, target=notification_id[:64])
        r.trace(Action.READ_NOTIFICATIONS, target=notification_id[:64])
        return row
