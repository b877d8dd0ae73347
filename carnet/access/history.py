"""The access history (TR-1): what the patient — and his administrators, ACC-4 — reads of the
traces, newest first, 100 a page, each line saying who acted, truthfully (``rules.actor_label``),
and by which rule (``traces.why``, in words by ``access.wording``).

A line that names a document shows only to a reader who could see that document were it current
(``rules.history_shows``): a document hidden from him — invisible to the representatives, masked,
out of his profession's reach — never appears, deleted, superseded or archived included.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, func, or_, select

from carnet.access.facts import RequesterKind
from carnet.access.rules import (
    Purpose,
    Section,
    Why,
    actor_label,
    decide_section,
    hidden_actions,
    history_shows,
    section_of_target,
    section_target,
    would_see,
)
from carnet.access.wording import actor_text, section_text, why_text
from carnet.audit.models import Trace
from carnet.audit.rules import Action
from carnet.identity.labels import pro_labels, profession_name
from carnet.identity.models import Pro
from carnet.population.models import Patient, PatientIns, Representative
from carnet.population.rules import age_on
from carnet.records.models import Document

if TYPE_CHECKING:
    from carnet.access.record import Record

PAGE_SIZE = 100


@dataclass(frozen=True)
class HistoryFilter:
    since: datetime | None = None
    until: datetime | None = None
    actions: frozenset[str] | None = None
    actor_kind: str | None = None
    #: Emergency accesses only (ACC-6), let in or refused.
    emergency_only: bool = False


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    at: datetime
    actor_kind: str
    actor_id: str
    #: Who acted, to this reader (``rules.ActorLabel``), and in words.
    actor_category: str
    actor_label: str
    profession: str | None
    action: str
    outcome: str
    mode: str
    reason: str | None
    document_id: str | None
    document_title: str | None
    target_label: str | None
    on_behalf_of: str | None
    #: The rule that let the act through or refused it (``rules.Why``), and in words.
    why: str | None
    why_text: str | None


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    page: int
    total: int
    #: The trace rows behind ``entries``, in order: what their inclusion proofs are of (TR-3).
    rows: tuple[Trace, ...] = ()
    #: The cursor of the next page (``before=``), None on the last: reading a page traces the
    #: read, newest, so pages cut by offset would shift; a cursor on the chain's ``seq`` doesn't.
    next_before: int | None = None


class History:
    def __init__(self, record: Record) -> None:
        self.record = record

    def page(
        self,
        page: int = 1,
        flt: HistoryFilter | None = None,
        *,
        before: int | None = None,
        size: int = PAGE_SIZE,
    ) -> HistoryPage:
        """One page, newest first: the ``page``-th by offset, or — stable while the history
        grows, each read of it traced — the ``size`` lines older than the ``before`` cursor."""
        r = self.record
        r.require(Action.READ_HISTORY, Purpose.HISTORY)
        documents = {
            d.id: d
            for d in r.session.scalars(select(Document).where(Document.patient_id == r.patient_id))
        }
        # rules.history_shows, in SQL: no line of an act the reader never sees, none naming a
        # document he could not see were it current (tests/access holds the two equal).
        hidden = sorted(
            i for i, d in documents.items() if not would_see(r.facts, r.entry, d, r.matrix)
        )
        # ACC-7: nor a line naming a section of the medical profile he may not read.
        hidden += [
            section_target(s) for s in Section if not decide_section(r.facts, r.entry, s).allowed
        ]
        where = _matching(r.patient_id, flt or HistoryFilter(), hidden, hidden_actions(r.facts))
        total = r.session.execute(select(func.count()).select_from(Trace).where(where)).scalar_one()
        query = select(Trace).where(where).order_by(Trace.seq.desc())
        if before is not None:
            query = query.where(Trace.seq < before)
        else:
            query = query.offset((max(page, 1) - 1) * size)
        rows = list(r.session.scalars(query.limit(size + 1)))
        more, rows = len(rows) > size, rows[:size]
        entries = _entries(r, rows, {i: d.title for i, d in documents.items()})
        r.trace(
            Action.READ_HISTORY, detail={"page": page} if before is None else {"before": before}
        )
        return HistoryPage(entries, page, total, tuple(rows), rows[-1].seq if more else None)

    def line(self, trace_id: str) -> Trace:
        """One line of the history, for its inclusion proof (TR-3): only a line the reader
        would see on his pages (``rules.history_shows``); anything else is refused as absent.
        The caller traces what he does with it."""
        r = self.record
        r.require(Action.READ_HISTORY, Purpose.HISTORY)
        trace = r.session.scalars(
            select(Trace).where(Trace.patient_id == r.patient_id, Trace.id == trace_id)
        ).first()
        named = [] if trace is None else [i for i in (trace.document_id, trace.target) if i]
        documents = (
            list(
                r.session.scalars(
                    select(Document).where(
                        Document.patient_id == r.patient_id, Document.id.in_(named)
                    )
                )
            )
            if named
            else []
        )
        section = section_of_target(trace.target) if trace is not None else None
        sections = [section] if section is not None else []
        if trace is None or not history_shows(
            r.facts, r.entry, trace.action, documents, r.matrix, sections
        ):
            r.refuse(Action.READ_HISTORY, Why.ABSENT, target=trace_id[:64])
        return trace


def _matching(
    patient_id: str, flt: HistoryFilter, hidden: list[str], acts: frozenset[str]
) -> ColumnElement[bool]:
    """The traces a page is cut from: this patient's, the filter's, none of a hidden act, none
    naming a hidden document (``document_id`` or ``target``)."""
    clauses: list[ColumnElement[bool]] = [Trace.patient_id == patient_id]
    if acts:
        clauses.append(Trace.action.not_in(sorted(acts)))
    if hidden:
        clauses.append(or_(Trace.document_id.is_(None), Trace.document_id.not_in(hidden)))
        clauses.append(or_(Trace.target.is_(None), Trace.target.not_in(hidden)))
    if flt.since is not None:
        clauses.append(Trace.at >= flt.since)
    if flt.until is not None:
        clauses.append(Trace.at <= flt.until)
    if flt.actions:
        clauses.append(Trace.action.in_(sorted(flt.actions)))
    if flt.actor_kind:
        clauses.append(Trace.actor_kind == flt.actor_kind)
    if flt.emergency_only:
        clauses.append(Trace.mode != "normal")
    return and_(*clauses)


def _entries(r: Record, rows: list[Trace], titles: dict[str, str]) -> list[HistoryEntry]:
    session = r.session
    rpps = {t.actor_id for t in rows if t.actor_kind == "pro"} | {
        t.target for t in rows if t.target and len(t.target) == 11 and t.target.isdigit()
    }
    pros = {p.rpps: p for p in session.scalars(select(Pro).where(Pro.rpps.in_(sorted(rpps))))}
    labels = pro_labels(pros.values(), rpps)
    mandates = _mandates(r)
    people = _people(r, set(mandates), {t.actor_id for t in rows if t.actor_kind == "patient"})
    born = r.patient.birth_date
    out: list[HistoryEntry] = []
    for t in rows:
        category = actor_label(
            t.actor_kind,
            t.actor_id,
            reader_id=r.ctx.actor_id,
            patient_id=r.patient_id,
            mandate=mandates.get(t.actor_id),
            patient_age_at_act=age_on(born, t.at.date()),
            listed=t.actor_id in pros,
        )
        name = labels.get(t.actor_id) if t.actor_kind == "pro" else people.get(t.actor_id)
        why = t.why or _older_why(t.detail)
        out.append(
            HistoryEntry(
                id=t.id,
                at=t.at,
                actor_kind=t.actor_kind,
                actor_id=t.actor_id if t.actor_kind == "pro" else "",
                actor_category=category.value,
                actor_label=actor_text(category, name),
                profession=profession_name(t.actor_profession),
                action=t.action,
                outcome=t.outcome,
                mode=t.mode,
                reason=t.reason,
                document_id=t.document_id,
                document_title=titles.get(t.document_id or ""),
                target_label=labels.get(t.target or "") or section_text(t.target),
                on_behalf_of=t.on_behalf_of,
                why=why,
                why_text=why_text(why, t.reason),
            )
        )
    return out


def _older_why(detail: str | None) -> str | None:
    """Traces before migration 0006 kept a refusal's rule in their detail."""
    if not detail:
        return None
    found = json.loads(detail).get("why")
    return found if isinstance(found, str) else None


def _mandates(r: Record) -> dict[str, RequesterKind]:
    """The patient's representatives and guardians, by person id, with their mandate's kind."""
    links = r.session.execute(
        select(Representative.representative_ins, Representative.kind).where(
            Representative.patient_id == r.patient_id
        )
    ).all()
    if not links:
        return {}
    # Their ids through the INS's look-up (migration 0017): a join of the two would cross
    # shards on a distributed register.
    ids: dict[str, str] = {
        ins: person
        for ins, person in r.session.execute(
            select(PatientIns.ins, PatientIns.patient_id).where(
                PatientIns.ins.in_([ins for ins, _ in links])
            )
        )
    }
    return {ids[ins]: RequesterKind(kind) for ins, kind in links if ins in ids}


def _people(r: Record, representatives: set[str], person_ids: Iterable[str]) -> dict[str, str]:
    """First and birth names of the patient and of his representatives — and of no one else:
    a person with no right on the record stays nameless. (A former representative keeps his
    name but not the title: ``rules.actor_label``.)"""
    allowed = (representatives | {r.patient_id}) & set(person_ids)
    if not allowed:
        return {}
    return {
        p.id: f"{p.first_names} {p.birth_names}"
        for p in r.session.scalars(select(Patient).where(Patient.id.in_(sorted(allowed))))
    }
