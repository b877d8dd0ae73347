"""The history the patient (and his administrators, ACC-4) reads: traces in plain words.

Traces about a document the reader may not see are left out: a parent reading a minor's history
must not learn of a document invisible to him (DOC-3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.access import gate
from carnet.access.facts import RequesterKind
from carnet.access.matrix import matrix_for
from carnet.audit import trail
from carnet.audit.queries import PAGE_SIZE, HistoryFilter, history_rows
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.identity.models import Pro
from carnet.records.models import Document
from carnet.runtime import Runtime

PROFESSIONS = {
    "10": "médecin",
    "21": "pharmacien",
    "26": "audioprothésiste",
    "28": "opticien-lunetier",
    "40": "chirurgien-dentiste",
    "50": "sage-femme",
    "60": "infirmier",
    "70": "masseur-kinésithérapeute",
    "80": "pédicure-podologue",
    "86": "technicien de laboratoire",
    "91": "orthophoniste",
    "92": "orthoptiste",
    "94": "ergothérapeute",
    "95": "diététicien",
    "96": "psychomotricien",
    "98": "manipulateur ERM",
}


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    at: datetime
    actor_kind: str
    actor_id: str
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


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    page: int
    total: int


def read_history(
    rt: Runtime,
    ctx: RequestContext,
    patient_id: str,
    page: int = 1,
    flt: HistoryFilter | None = None,
) -> HistoryPage:
    with rt.transaction() as session:
        record = gate.open_record(
            session, ctx, matrix_for(rt.settings), patient_id=patient_id, action=Action.READ_HISTORY
        )
        who = record.facts.requester
        if who.kind is RequesterKind.PRO and not (
            record.entry.allowed and record.facts.relation.administrator
        ):
            trail.record(
                session, ctx, Action.READ_HISTORY, patient_id=patient_id, outcome=Outcome.DENIED
            )
            raise gate.not_found()
        documents = {
            d.id: d
            for d in session.scalars(select(Document).where(Document.patient_id == patient_id))
        }
        hidden = {
            i
            for i, d in documents.items()
            if not gate.visible(record, d).allowed and d.status != "deleted"
        }
        rows = [
            t
            for t in history_rows(session, patient_id, flt or HistoryFilter())
            if t.document_id not in hidden and t.target not in hidden
        ]
        start = (max(page, 1) - 1) * PAGE_SIZE
        selected = rows[start : start + PAGE_SIZE]
        labels = _labels(
            session,
            {t.actor_id for t in selected if t.actor_kind == "pro"}
            | {t.target for t in selected if t.target and len(t.target) == 11},
        )
        entries = [
            HistoryEntry(
                id=t.id,
                at=t.at,
                actor_kind=t.actor_kind,
                actor_id=t.actor_id if t.actor_kind == "pro" else "",
                actor_label=labels.get(
                    t.actor_id, _non_pro_label(t.actor_kind, t.actor_id, patient_id)
                ),
                profession=PROFESSIONS.get(t.actor_profession or ""),
                action=t.action,
                outcome=t.outcome,
                mode=t.mode,
                reason=t.reason,
                document_id=t.document_id,
                document_title=documents[t.document_id].title
                if t.document_id in documents
                else None,
                target_label=labels.get(t.target or ""),
                on_behalf_of=t.on_behalf_of,
            )
            for t in selected
        ]
        trail.record(
            session,
            ctx,
            Action.READ_HISTORY,
            patient_id=patient_id,
            on_behalf_of=record.on_behalf_of,
            detail={"page": page},
        )
        return HistoryPage(entries, page, len(rows))


def _labels(session: Session, rpps: set[str]) -> dict[str, str]:
    if not rpps:
        return {}
    return {
        p.rpps: f"{p.civility or ''} {p.first_name} {p.last_name}".strip()
        for p in session.scalars(select(Pro).where(Pro.rpps.in_(sorted(rpps))))
    }


def _non_pro_label(kind: str, actor_id: str, patient_id: str) -> str:
    if kind == "patient":
        return "Vous" if actor_id == patient_id else "Votre représentant"
    if kind == "operator":
        return "L'Assurance Maladie"
    return "Le système"
