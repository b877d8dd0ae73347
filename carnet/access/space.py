"""Use cases of the patient's space about who sees what (ACC-2…ACC-6), his notifications and
his history (TR-1).

Each opens the record through the gate first: the patient himself, a representative for a minor,
a guardian of the person for a protected adult; anyone else finds nothing. Administrators act
from the pro side at the patient's request (ACC-4).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import select

from carnet import clock
from carnet.access import acts, gate
from carnet.access.history import PAGE_SIZE, HistoryFilter, HistoryPage
from carnet.access.models import CareRelation
from carnet.access.record import Record
from carnet.access.record_space import ProRelation, SettingsView
from carnet.access.rules import (
    Decision,
    LifeAct,
    Purpose,
    Viewer,
    Why,
    decide_life,
    decide_open,
    decide_record,
    may_block_at_request,
    viewer_facts,
)
from carnet.audit.rules import Action
from carnet.context import AuthLevel, RequestContext
from carnet.errors import Forbidden, NotFound
from carnet.identity.labels import pro_label
from carnet.identity.models import Pro
from carnet.notify.models import Notification
from carnet.population.models import Patient, Representative
from carnet.records.models import DocumentRow
from carnet.runtime import Runtime

__all__ = ["ProRelation", "SettingsView"]


@dataclass(frozen=True)
class Space:
    patient_id: str
    first_names: str
    birth_names: str
    relation: str
    state: str


def my_spaces(rt: Runtime, ctx: RequestContext) -> list[Space]:
    """The person's own space and those he may act on (LC-7, LC-8), for the space switcher:
    offered exactly when the gate would open them (the same decision), so every space offered
    opens and no other does."""
    with rt.transaction() as session:
        me = session.get(Patient, ctx.actor_id)
        if me is None:
            return []
        # His own too, by the same decision: a minor's is his representatives' (LC-7).
        own = gate.facts_of(session, ctx, me.id)
        spaces = (
            [Space(me.id, me.first_names, me.birth_names, "self", me.state)]
            if own is not None and decide_open(own, Purpose.SPACE, decide_record(own)).allowed
            else []
        )
        links = session.execute(
            select(Representative.kind, Patient.id, Patient.first_names, Patient.birth_names)
            .join(Patient, Patient.id == Representative.patient_id)
            .where(Representative.representative_ins == me.ins)
            .order_by(Patient.birth_date, Patient.id)
        ).all()
        for kind, patient_id, first_names, birth_names in links:
            facts = gate.facts_of(session, ctx, patient_id)
            if facts is None:
                continue
            if decide_open(facts, Purpose.SPACE, decide_record(facts)).allowed:
                spaces.append(
                    Space(patient_id, first_names, birth_names, kind, facts.patient.state)
                )
        return spaces


def spaces_to_activate(rt: Runtime, ctx: RequestContext) -> list[Space]:
    """LC-7, LC-8: the created spaces the person may activate for those he represents (the
    same decision as the act, ``rules.decide_life``)."""
    with rt.transaction() as session:
        me = session.get(Patient, ctx.actor_id)
        if me is None:
            return []
        links = session.execute(
            select(Representative.kind, Patient.id, Patient.first_names, Patient.birth_names)
            .join(Patient, Patient.id == Representative.patient_id)
            .where(Representative.representative_ins == me.ins)
            .order_by(Patient.birth_date, Patient.id)
        ).all()
        found = []
        for kind, patient_id, first_names, birth_names in links:
            facts = gate.facts_of(session, ctx, patient_id)
            if facts is not None and decide_life(facts, LifeAct.ACTIVATE).allowed:
                found.append(Space(patient_id, first_names, birth_names, kind, facts.patient.state))
        return found


def profession_reads(rt: Runtime, profession: str) -> frozenset[str]:
    """ACC-1: the document types a profession reads by default (the instance's matrix), for
    showing the patient who may see what."""
    return gate.matrix_of(rt).readable_types(profession, None)


@dataclass(frozen=True)
class Preview:
    """« Voir mon dossier comme… »: whom, whether he would be let in (and why), what he reads."""

    viewer: str
    label: str
    entry: Decision
    documents: list[DocumentRow]
    patient_sees: int


def preview(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    viewer: Viewer,
    *,
    profession: str = "",
    rpps: str = "",
) -> Preview:
    """What a profession (with the patient's consent), a named pro of his care team (as he
    stands now), the SAMU regulator or his representative would see of his documents now —
    decided by ``rules.seen_as`` on ``rules.viewer_facts``; nothing traced."""
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.SPACE,
            action=Action.LIST_DOCUMENTS,
            patient_id=patient_id,
        )
        label = ""
        if viewer is Viewer.PRO:
            pro = session.get(Pro, rpps) if rpps else None
            relation = session.get(CareRelation, (patient_id, rpps)) if pro else None
            if pro is None or relation is None:
                raise NotFound(
                    "Ce professionnel n'est pas dans votre équipe de soins.",
                    "This professional is not in your care team.",
                )
            pro_ctx = RequestContext.for_pro(pro.rpps, pro.profession, pro.specialty, AuthLevel.CPS)
            facts = gate.facts_of(session, pro_ctx, patient_id)
            assert facts is not None  # the patient's record is open
            label = pro_label(pro, pro.rpps)
        else:
            facts = viewer_facts(record.facts, viewer, profession)
        entry, documents, mine = record.documents.as_seen_by(facts)
        return Preview(viewer.value, label, entry, documents, mine)


@contextmanager
def _space(rt: Runtime, ctx: RequestContext, patient_id: str, action: Action) -> Iterator[Record]:
    """The patient's side of his record, in a transaction of its own."""
    with rt.transaction() as session:
        yield gate.open(
            session, rt, ctx, purpose=Purpose.SPACE, action=action, patient_id=patient_id
        )


def block(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    with _space(rt, ctx, patient_id, Action.BLOCK_PRO) as record:
        acts.block_pro(record.session, ctx, patient_id, rpps)


def unblock(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    with _space(rt, ctx, patient_id, Action.UNBLOCK_PRO) as record:
        acts.unblock_pro(record.session, ctx, patient_id, rpps)


def authorise(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    with _space(rt, ctx, patient_id, Action.AUTHORISE_PRO) as record:
        acts.authorise_pro(record.session, ctx, patient_id, rpps)


def designate_administrator(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    with _space(rt, ctx, patient_id, Action.DESIGNATE_ADMINISTRATOR) as record:
        acts.designate_administrator(record.session, ctx, patient_id, rpps)


def revoke_administrator(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    with _space(rt, ctx, patient_id, Action.REVOKE_ADMINISTRATOR) as record:
        acts.revoke_administrator(record.session, ctx, patient_id, rpps)


def set_medecin_traitant(
    rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str | None
) -> None:
    with _space(rt, ctx, patient_id, Action.SET_MEDECIN_TRAITANT) as record:
        acts.set_medecin_traitant(record.session, ctx, patient_id, rpps)


def set_emergency(
    rt: Runtime, ctx: RequestContext, patient_id: str, *, samu: bool, others: bool, masked: bool
) -> SettingsView:
    with _space(rt, ctx, patient_id, Action.CHANGE_SETTINGS) as record:
        row = acts.set_emergency(
            record.session, ctx, patient_id, samu=samu, others=others, masked=masked
        )
        return SettingsView(
            row.emergency_samu,
            row.emergency_others,
            row.emergency_masked,
            row.medecin_traitant_rpps,
            row.updated_at,
        )


def settings(rt: Runtime, ctx: RequestContext, patient_id: str) -> SettingsView:
    with _space(rt, ctx, patient_id, Action.READ_SETTINGS) as record:
        return record.space.settings()


def relations(rt: Runtime, ctx: RequestContext, patient_id: str) -> list[ProRelation]:
    with _space(rt, ctx, patient_id, Action.READ_SETTINGS) as record:
        return record.space.relations()


def notifications(rt: Runtime, ctx: RequestContext, patient_id: str) -> list[Notification]:
    with _space(rt, ctx, patient_id, Action.READ_NOTIFICATIONS) as record:
        return record.space.notifications()


def mark_notification_read(
    rt: Runtime, ctx: RequestContext, patient_id: str, notification_id: str
) -> None:
    with _space(rt, ctx, patient_id, Action.READ_NOTIFICATIONS) as record:
        row = record.space.notification(notification_id)
        row.read_at = row.read_at or clock.now()


def mark_all_notifications_read(rt: Runtime, ctx: RequestContext, patient_id: str) -> int:
    """« Tout marquer comme lu »: how many were unread."""
    with _space(rt, ctx, patient_id, Action.READ_NOTIFICATIONS) as record:
        unread = [n for n in record.space.notifications() if n.read_at is None]
        now = clock.now()
        for row in unread:
            row.read_at = now
        return len(unread)


def read_history(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    page: int = 1,
    flt: HistoryFilter | None = None,
    *,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> HistoryPage:
    """TR-1: the patient's side reads his history; a pro, only as an administrator (ACC-4).
    ``before`` (a line's ``seq``) pages by cursor: stable while reading it adds lines."""
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.HISTORY,
            action=Action.READ_HISTORY,
            patient_id=patient_id,
        )
        return record.history.page(page, flt, before=before, size=size)


def block_at_patients_request(rt: Runtime, ctx: RequestContext, patient_id: str, rpps: str) -> None:
    """ACC-4: an administrator blocks another pro at the patient's request: traced, shown to him.

    Anyone else — a pro without access, an unknown patient — is answered alike (not found), so
    the route tells nothing of who has a record."""
    with rt.transaction() as session:
        record = gate.open(
            session,
            rt,
            ctx,
            purpose=Purpose.ADMINISTER,
            action=Action.BLOCK_PRO,
            patient_id=patient_id,
        )
        if not may_block_at_request(ctx.actor_id, rpps):
            record.refuse(
                Action.BLOCK_PRO,
                Why.ACT_NOT_ALLOWED,
                target=rpps,
                refusal=Forbidden(
                    "Un administrateur ne se bloque pas lui-même.",
                    "An administrator does not block himself.",
                    code="act_not_allowed",
                ),
            )
        acts.block_pro(session, ctx, patient_id, rpps, by_administrator=True)
