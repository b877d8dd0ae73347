"""The record handle: one patient's record, opened by one requester for one purpose.

``access.gate.open`` decides and returns a ``Record``; every read of the patient's rows — his
documents, settings, pros, notifications, history, mailbox — goes through its parts
(``record.documents``, ``record.space``, ``record.mailbox``, ``record.history``,
``record.profile``), each of which
decides, traces allowed and refused reads in the caller's transaction, and answers a refusal
exactly like an absent row. Capabilities trace their own acts through ``Record.trace``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn

from sqlalchemy.orm import Session

from carnet.access.facts import RecordFacts, RequesterKind
from carnet.access.history import History
from carnet.access.loading import UploadFacts
from carnet.access.matrix import Matrix
from carnet.access.record_documents import Documents
from carnet.access.record_export import ExportReads
from carnet.access.record_mailbox import Mailbox
from carnet.access.record_profile import Profile
from carnet.access.record_space import Space
from carnet.access.record_statement import Statement
from carnet.access.rules import Decision, Purpose, Why
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.errors import NotFound, Refusal
from carnet.population.models import Patient, PatientRef
from carnet.runtime import Runtime


def refused(entry: trail.Entry, refusal: Refusal | None = None) -> Refusal:
    """``refusal`` (by default: not found, like an absent row) carrying its denied trace: the
    transaction rolls back and ``Runtime.transaction`` appends the trace alone."""
    refusal = refusal or NotFound()
    refusal.traced = (*refusal.traced, entry)
    return refusal


@dataclass(frozen=True)
class Record:
    """A record the requester was let into for ``purpose``, with the facts the decision used.

    ``entry`` is ``rules.decide_record``'s answer (what each document's decision builds on);
    ``opening`` is ``rules.decide_open``'s for the purpose, always allowed here (a pro refused
    the record but reading his own documents, DOC-5, has an allowed opening and a denied entry).
    """

    session: Session
    rt: Runtime
    ctx: RequestContext
    patient: PatientRef
    facts: RecordFacts
    entry: Decision
    opening: Decision
    purpose: Purpose
    matrix: Matrix
    #: For an upload: the data key and the author's structure, read with the facts.
    upload: UploadFacts | None = None

    @property
    def patient_id(self) -> str:
        return self.patient.id

    @property
    def on_behalf_of(self) -> str | None:
        """The patient, when someone acts for him (a representative, a guardian)."""
        kind = self.facts.requester.kind
        return self.patient.id if kind not in (RequesterKind.PATIENT, RequesterKind.PRO) else None

    @property
    def is_pro(self) -> bool:
        return self.facts.requester.kind is RequesterKind.PRO

    def identity(self) -> Patient:
        """The patient's row — who he is (identity traits, state), for a pro to check he has the
        right patient (identitovigilance) and for acts on the profile."""
        patient = self.session.get(Patient, self.patient.id)
        assert patient is not None  # the gate found him in this transaction
        return patient

    # -- tracing ---------------------------------------------------------------------------

    def entry_for(
        self,
        action: Action,
        *,
        outcome: Outcome = Outcome.ALLOWED,
        why: Why | None = None,
        document: trail.DocumentRef | None = None,
        target: str | None = None,
        detail: dict[str, object] | None = None,
    ) -> trail.Entry:
        if why is None:
            why = self.opening.why if outcome is Outcome.ALLOWED else Why.ABSENT
        if outcome is Outcome.ALLOWED and self.opening.emergency:
            detail = {**(detail or {}), "emergency": True}
        return trail.Entry(
            self.ctx,
            action,
            self.patient.id,
            outcome,
            document,
            target,
            self.on_behalf_of,
            detail,
            why.value,
        )

    def trace(
        self,
        action: Action,
        *,
        why: Why | None = None,
        document: trail.DocumentRef | None = None,
        target: str | None = None,
        detail: dict[str, object] | None = None,
    ) -> str:
        """Trace an allowed act in the current transaction (TR-1); ``why`` defaults to the rule
        that opened the record."""
        entry = self.entry_for(action, why=why, document=document, target=target, detail=detail)
        return trail.record_many(self.session, [entry])[0]

    def refuse(
        self,
        action: Action,
        why: Why,
        *,
        document: trail.DocumentRef | None = None,
        target: str | None = None,
        refusal: Refusal | None = None,
    ) -> NoReturn:
        """Refuse an act or a read: traced as denied, answered as ``refusal`` (by default
        exactly like something that does not exist)."""
        entry = self.entry_for(
            action, outcome=Outcome.DENIED, why=why, document=document, target=target
        )
        raise refused(entry, refusal)

    def require(self, action: Action, *purposes: Purpose) -> None:
        """A part of the record opened for another purpose answers like an absent one: a
        record opened to read documents never hands out the patient's settings."""
        if self.purpose not in purposes:
            self.refuse(action, Why.PATIENT_SIDE_ONLY if self.is_pro else Why.ABSENT)

    # -- the record's parts ----------------------------------------------------------------

    @property
    def documents(self) -> Documents:
        return Documents(self)

    @property
    def space(self) -> Space:
        return Space(self)

    @property
    def mailbox(self) -> Mailbox:
        return Mailbox(self)

    @property
    def history(self) -> History:
        return History(self)

    @property
    def profile(self) -> Profile:
        return Profile(self)

    @property
    def export(self) -> ExportReads:
        """The whole record, page by page, for the patient's full export (LC-6)."""
        return ExportReads(self)

    @property
    def statement(self) -> Statement:
        """What the yearly activity statement counts (LC-3), for the daily job."""
        return Statement(self)
