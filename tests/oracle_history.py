"""Independent test oracle: what a reader may see of a patient's history (the traces).

Written, like `oracle.py` and `oracle_profile.py` whose decisions it reuses, ONLY from
spec/RULES.md (TR-1, ACC-4, ACC-5, ACC-8, DOC-3, DOC-9), spec/INTERFACES.md and the
French seeds, never from carnet/. Where a seed and RULES.md disagree the seed wins.

The principle: a trace line never reveals what its reader could never see. A trace that
concerns a document is judged by the document oracle as if the document were current,
whatever became of it (superseded, archived, deleted) and whoever did the act (allowed or
refused); a trace that concerns a profile section or a reimbursement line is judged by
the profile oracle. Beyond that, who may read the history reads all of it: refused
attempts and acts by anyone (seed 004 « Dans son historique il peut voir l'ensemble de
l'activité sur son compte »; seed 000 q.10 « l'historique de tous les accès »).

Readings that are judgment calls, each repeated where it decides:
- The médecin traitant reads the history like the administrators (ACC-5 "has the
  administrator's extended reading rights"; seed 001 §3.3 the administrator « aura
  alors des droits étendus comme le médecin traitant »).
- The history is read in normal mode: an emergency access opens the documents (seed 000
  q.11 « accéder aux documents »), and a declared emergency is judged as such.
- Messaging traces are shown to the patient side only: the mailbox is the patient's
  « espace privé d'échange » (seed 001 §2.2), not part of the record pros access.
- A person labelled "representative" must really hold the mandate at the time of the act
  (a legal representative while the patient was a minor, LC-7; a guardian of the person
  of an adult, LC-8); anyone else without a right is "someone_without_rights".
"""

from dataclasses import dataclass, replace
from typing import Literal

from oracle import (
    NORMAL,
    OActor,
    ODocument,
    ORequest,
    OWorld,
    Verdict,
    oracle_explain,
    oracle_may_read,
    patient_side_refusal,
    record_refusal,
)
from oracle_profile import (
    OReimbursementLine,
    Section,
    oracle_explain_reimbursement_line,
    oracle_explain_section,
    oracle_may_read_section,
    oracle_reimbursement_line_shown,
)

TraceActorKind = Literal[
    "patient",  # the patient whose record it is
    "legal_representative",
    "guardian_of_person",
    "guardian_of_property",
    "pro",
    "operator",
    "system",
    "third_party",  # no right on this record: a stranger patient-side, another patient...
]
TraceAct = Literal[
    "read",
    "list",
    "upload",
    "replace",
    "delete",
    "archive",
    "mask",
    "unmask",
    "block",
    "unblock",
    "designate_administrator",
    "emergency_access",
    "consent_declared",
    "settings_change",
    "log_in",
    "activate",
    "close",
    "download",
    "export",
    "section_read",
    "section_write",
    "reimbursement_feed",
    "message",
]
ActorLabel = Literal[
    "you",  # the reader did it himself
    "patient",  # the patient himself, seen by someone else
    "representative",  # a real legal representative / guardian of the person
    "pro",  # a pro known to the directory (named)
    "pro_unknown_to_directory",  # a pro all the same: never "system"
    "operator",
    "system",
    "someone_without_rights",
]


@dataclass(frozen=True)
class OTrace:
    """One act on the record.

    `document` is seen from the READER's side, as for `oracle_may_read`: its
    `actor_is_author` says whether the reader authored it and `habilitation_allows`
    whether the reader's profession may read its type; `confidentiality` holds its last
    codes and `status` what became of it.
    """

    actor_kind: TraceActorKind
    what: TraceAct
    allowed: bool
    actor_is_reader: bool = False
    # legal_representative / guardian_of_person: holds a mandate for THIS patient.
    actor_represents_patient: bool = False
    actor_in_directory: bool = True  # pros: known to the directory of pros (ID-4)
    patient_minor_at_act: bool = False
    document: ODocument | None = None
    section: Section | None = None
    line: OReimbursementLine | None = None


def _deny(why: str) -> Verdict:
    return (False, why)


def _allow(why: str) -> Verdict:
    return (True, why)


def _history(world: OWorld, reader: OActor, req: ORequest) -> Verdict:
    refusal = record_refusal(world, reader)
    if refusal is not None:
        # ACC-9; LC-5: a closed profile's traces are archived (restored on reopening).
        return _deny(refusal)
    if reader.kind == "pro":
        if reader.level == "cpe":
            return _deny("ID-5: a CPE (establishment card) may upload, never read")
        if reader.blocked:
            return _deny("ACC-3: the patient blocked this pro; he reads nothing")
        if not (reader.administrator or reader.medecin_traitant):
            # ACC-4 (seed 000 q.10: « consulter l'historique de tous les accès » is one of
            # the administrator's rights beyond his profession's), TR-1 (shown to the
            # patient); INTERFACES « the traces, for the patient and his administrators ».
            return _deny("ACC-4: only administrators and the médecin traitant read it")
        if req.mode != "normal":
            # Judgment call: emergencies open documents (seed 000 q.11), not the history.
            return _deny(f"ACC-6: an emergency access ({req.mode}) does not open the history")
        # ACC-4; ACC-5 judgment call: the médecin traitant's rights are the administrator's.
        return _allow("ACC-4/ACC-5: administrator or médecin traitant reads the history")
    refusal = patient_side_refusal(world, reader)
    if refusal is not None:
        return _deny(refusal)
    # TR-1 (seed 004 « Dans son historique il peut voir l'ensemble de l'activité sur son
    # compte »); ACC-8 (representatives see the space as the patient would); LC-8.
    return _allow(f"TR-1/ACC-8: {reader.kind} reads the history as the patient would")


def _line(world: OWorld, reader: OActor, trace: OTrace, req: ORequest) -> Verdict:
    allowed, why = _history(world, reader, req)
    if not allowed:
        return _deny(why)
    if trace.what == "message" and reader.kind == "pro":
        # Judgment call: the mailbox is « espace privé d'échange » (seed 001 §2.2); the
        # administrator has his profession's rights (seed 000 q.10), none on it.
        return _deny("MSG-1/ACC-4: messaging traces are the patient side's only")
    doc = trace.document
    if doc is not None:
        # DOC-3, DOC-4, DOC-5, DOC-6, ACC-1, ACC-8: judged as if current, so that a
        # deleted, superseded or archived document the reader could never see (invisible
        # to him, masked from him, outside his matrix) never surfaces through a trace.
        as_current = replace(doc, status="current")
        if not oracle_may_read(world, reader, as_current, req):
            return _deny(
                f"DOC-3/TR-1: the trace names a document hidden from the reader "
                f"({oracle_explain(world, reader, as_current, req)})"
            )
    if trace.section is not None and not oracle_may_read_section(world, reader, trace.section, req):
        why = oracle_explain_section(world, reader, trace.section, req)
        return _deny(f"ACC-7/TR-1: the trace names a section hidden from the reader ({why})")
    if trace.line is not None and not oracle_reimbursement_line_shown(
        world, reader, trace.line, req
    ):
        why = oracle_explain_reimbursement_line(world, reader, trace.line, req)
        return _deny(f"DOC-9/TR-1: the trace names a hidden reimbursement line ({why})")
    outcome = "act" if trace.allowed else "refused attempt"
    # TR-1 (seed 004 « l'ensemble de l'activité »: refused attempts included, by anyone);
    # ACC-4 (seed 000 q.10 « l'historique de tous les accès »).
    return _allow(f"TR-1/ACC-4: {outcome} by {trace.actor_kind} shown to {reader.kind}")


def oracle_may_read_history(world: OWorld, reader: OActor, request: ORequest) -> bool:
    """True when the texts let `reader` open the patient's history at all."""
    return _history(world, reader, request)[0]


def oracle_explain_history(world: OWorld, reader: OActor, request: ORequest) -> str:
    allowed, why = _history(world, reader, request)
    return f"{'ALLOW' if allowed else 'DENY'} — {why}"


def oracle_history_shows(
    world: OWorld, reader: OActor, trace: OTrace, request: ORequest = NORMAL
) -> bool:
    """True when that trace line may be shown to `reader`."""
    return _line(world, reader, trace, request)[0]


def oracle_explain_history_line(
    world: OWorld, reader: OActor, trace: OTrace, request: ORequest = NORMAL
) -> str:
    allowed, why = _line(world, reader, trace, request)
    return f"{'ALLOW' if allowed else 'DENY'} — {why}"


def _had_mandate(trace: OTrace) -> bool:
    if not trace.actor_represents_patient:
        return False
    if trace.actor_kind == "legal_representative":
        # LC-7 (seed 001 q.3 « Lorsque l'enfant atteint 18 ans, le parent ne pourra plus
        # accéder »): a representative's right holds while the patient is a minor.
        return trace.patient_minor_at_act
    # LC-8 (seed 001 §4.2 « protection à la personne »); a minor's space is the legal
    # representatives' (seed 001 §4.1), as in oracle.py.
    return trace.actor_kind == "guardian_of_person" and not trace.patient_minor_at_act


def oracle_actor_label(world: OWorld, reader: OActor, trace: OTrace) -> ActorLabel:
    """A truthful category for who did the act, as `reader` should see it (TR-1).

    Truthful both ways: a representative is named so only if he held the mandate for
    this patient when he acted; a pro is a pro even when the directory does not know him
    (never "system"); the record's patient is "patient"; a guardian of property only, a
    former representative after the patient's 18th birthday, another patient or a
    stranger are "someone_without_rights" (LC-7, LC-8, ACC-9).
    """
    if trace.actor_is_reader:
        return "you"
    kind = trace.actor_kind
    if kind == "patient":
        return "patient"
    if kind in ("legal_representative", "guardian_of_person"):
        return "representative" if _had_mandate(trace) else "someone_without_rights"
    if kind == "pro":
        # ID-4: pros are identified by RPPS; one the directory does not list is still a pro.
        return "pro" if trace.actor_in_directory else "pro_unknown_to_directory"
    if kind == "operator":
        return "operator"
    if kind == "system":
        return "system"
    # guardian_of_property (LC-8 « ne peut pas agir »), third_party (ACC-9).
    return "someone_without_rights"
