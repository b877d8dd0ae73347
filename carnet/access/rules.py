"""The access decision: a pure function of facts (ACC-*, DOC-3…DOC-5, ID-5, LC-3, LC-7, LC-8).

``decide_record`` says whether the requester may enter the patient's record at all;
``decide_document`` whether he may read one document of it. Listing calls the second over the
documents fetched once, so a rule exists once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carnet.access.facts import DocumentView, RecordFacts, RequesterKind
from carnet.access.matrix import Matrix
from carnet.context import AccessMode, AuthLevel
from carnet.population.rules import MAJORITY_AGE, ProfileState


class Why(StrEnum):
    PATIENT = "patient"
    REPRESENTATIVE = "representative"
    CARE_TEAM = "care_team"
    CONSENT_DECLARED = "consent_declared"
    AUTHOR = "author"
    EMERGENCY_SAMU = "emergency_samu"
    EMERGENCY_BRIS_DE_GLACE = "emergency_bris_de_glace"
    NO_PROFILE = "no_profile"
    NOT_ACTIVATED = "not_activated"
    MINOR_OWN_ACCESS = "minor_own_access"
    NOT_A_REPRESENTATIVE = "not_a_representative"
    THIRD_PARTY = "third_party"
    LEVEL_TOO_LOW = "level_too_low"
    BLOCKED = "blocked"
    NO_CONSENT = "no_consent"
    EMERGENCY_REFUSED = "emergency_refused"
    NO_REASON = "no_reason"
    NOT_REGULATOR = "not_regulator"
    DELETED = "deleted"
    HABILITATION = "habilitation"
    MASKED = "masked"
    INVISIBLE_TO_PATIENT = "invisible_to_patient"
    INVISIBLE_TO_REPRESENTATIVES = "invisible_to_representatives"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    why: Why
    emergency: bool = False

    def __bool__(self) -> bool:
        return self.allowed


#: Decisions are immutable: one instance per outcome, built once (the decision runs per document
#: of every listing, so it must not allocate).
_ALLOWED = {
    (why, emergency): Decision(True, why, emergency) for why in Why for emergency in (False, True)
}
_DENIED = {why: Decision(False, why) for why in Why}


def _allow(why: Why, emergency: bool = False) -> Decision:
    return _ALLOWED[why, emergency]


def _deny(why: Why) -> Decision:
    return _DENIED[why]


_NO_READING = frozenset(
    {RequesterKind.THIRD_PARTY, RequesterKind.OPERATOR, RequesterKind.GUARDIAN_OF_PROPERTY}
)
_PATIENT_SIDE = frozenset(
    {RequesterKind.PATIENT, RequesterKind.LEGAL_REPRESENTATIVE, RequesterKind.GUARDIAN_OF_PERSON}
)


def decide_record(facts: RecordFacts) -> Decision:
    """May the requester enter this record? The document-level checks come after."""
    who = facts.requester
    patient = facts.patient
    if who.kind in _NO_READING:
        return _deny(Why.THIRD_PARTY)  # ACC-9 (the insurer too); LC-8: property only may not act
    if patient.state is ProfileState.OPPOSED or patient.state is ProfileState.CLOSED:
        return _deny(Why.NO_PROFILE)  # LC-2, LC-5: no space to read; closed data are archived
    if who.kind in _PATIENT_SIDE:
        return _decide_patient_side(facts)
    return _decide_pro(facts)


def _decide_patient_side(facts: RecordFacts) -> Decision:
    who, patient = facts.requester, facts.patient
    if patient.state is not ProfileState.ACTIVATED:
        return _deny(Why.NOT_ACTIVATED)  # LC-3: reading needs activation
    minor = patient.age < MAJORITY_AGE
    if who.kind is RequesterKind.PATIENT:
        # LC-7 and seed 001 §4.1: a minor's space is reserved to his legal representatives.
        return _deny(Why.MINOR_OWN_ACCESS) if minor else _allow(Why.PATIENT)
    if not who.represents_patient:
        return _deny(Why.NOT_A_REPRESENTATIVE)
    if who.kind is RequesterKind.LEGAL_REPRESENTATIVE:
        # LC-7: representatives lose access at 18.
        return _allow(Why.REPRESENTATIVE) if minor else _deny(Why.NOT_A_REPRESENTATIVE)
    # LC-8: a guardian of the person acts for a protected adult.
    return _deny(Why.NOT_A_REPRESENTATIVE) if minor else _allow(Why.REPRESENTATIVE)


def _decide_pro(facts: RecordFacts) -> Decision:
    who, relation, patient, request = facts.requester, facts.relation, facts.patient, facts.request
    if who.level is AuthLevel.CPE:
        return _deny(Why.LEVEL_TOO_LOW)  # ID-5: reading needs CPS / e-CPS
    if relation.blocked:
        return _deny(Why.BLOCKED)  # ACC-3: nothing, in emergencies too
    if request.mode is AccessMode.CENTRE_DE_REGULATION:
        if not who.samu_regulator:
            return _deny(Why.NOT_REGULATOR)
        if not patient.emergency_samu:
            return _deny(Why.EMERGENCY_REFUSED)  # ACC-6
        return _allow(Why.EMERGENCY_SAMU, emergency=True)
    if request.mode is AccessMode.BRIS_DE_GLACE:
        if not patient.emergency_others:
            return _deny(Why.EMERGENCY_REFUSED)  # ACC-6
        if not (request.reason and request.reason.strip()):
            return _deny(Why.NO_REASON)  # ACC-6: a justification is required
        return _allow(Why.EMERGENCY_BRIS_DE_GLACE, emergency=True)
    if relation.authorised or relation.administrator or relation.medecin_traitant:
        return _allow(Why.CARE_TEAM)  # ACC-2 (ACC-4: an administrator has accessed; ACC-5)
    if request.declares_consent:
        return _allow(Why.CONSENT_DECLARED)  # ACC-2: the ticked box
    return _deny(Why.NO_CONSENT)


def decide_document(
    facts: RecordFacts, entry: Decision, document: DocumentView, matrix: Matrix
) -> Decision:
    """May the requester, already judged by ``decide_record`` (``entry``), read this document?"""
    who = facts.requester
    if document.status == "deleted":
        return _deny(Why.DELETED)  # DOC-6: logical deletion, no longer listed
    if who.kind is RequesterKind.PRO:
        return _decide_pro_document(facts, entry, document, matrix)
    if not entry.allowed:
        return entry
    if document.invisible_patient:
        return _deny(Why.INVISIBLE_TO_PATIENT)  # DOC-3; ACC-8: representatives see as the patient
    if who.kind is RequesterKind.LEGAL_REPRESENTATIVE and document.invisible_representatives:
        return _deny(Why.INVISIBLE_TO_REPRESENTATIVES)  # DOC-3, ACC-8
    return entry


#: Refusals of the record that also take away what the pro wrote himself (DOC-5 gives the rest).
_NOT_EVEN_OWN = frozenset({Why.LEVEL_TOO_LOW, Why.BLOCKED, Why.NO_PROFILE, Why.THIRD_PARTY})


def _sees_masked(facts: RecordFacts, entry: Decision) -> bool:
    """DOC-4, ACC-4, ACC-5; ACC-6: emergencies see masked documents only if the patient allowed
    it."""
    relation = facts.relation
    return (
        relation.administrator
        or relation.medecin_traitant
        or (entry.emergency and facts.patient.emergency_masked)
    )


def _decide_pro_document(
    facts: RecordFacts, entry: Decision, document: DocumentView, matrix: Matrix
) -> Decision:
    who = facts.requester
    if document.author_id == who.actor_id and entry.why not in _NOT_EVEN_OWN:
        return _allow(Why.AUTHOR, entry.emergency and entry.allowed)  # DOC-5: always
    if not entry.allowed:
        return entry
    if not matrix.allows(who.profession, who.specialty, document.type_code):
        return _deny(Why.HABILITATION)  # ACC-1
    if document.masked and not _sees_masked(facts, entry):
        return _deny(Why.MASKED)
    return entry


@dataclass(frozen=True)
class Outline:
    """What ``decide_document`` could allow a requester at most, in terms a SQL fetch can use.

    Only ever wider than the decision (a property test holds it to that): a listing fetches
    within the outline, then decides each document as always. A pro usually reads a fraction
    of a large record (habilitation, masking), and rows never fetched cost nothing.
    """

    everything: bool = False
    #: Documents by this author may pass whatever their type (DOC-5).
    author_id: str | None = None
    #: Documents by others may pass: those of ``types`` only, and unmasked ones only when
    #: ``unmasked_only``.
    others: bool = False
    types: frozenset[str] = frozenset()
    unmasked_only: bool = False

    def admits(self, document: DocumentView) -> bool:
        if self.everything or (self.author_id is not None and document.author_id == self.author_id):
            return True
        return (
            self.others
            and document.type_code in self.types
            and not (self.unmasked_only and document.masked)
        )


EVERYTHING = Outline(everything=True)


def outline(facts: RecordFacts, entry: Decision, matrix: Matrix) -> Outline:
    """The outline of what ``decide_document`` may allow, after ``decide_record`` said ``entry``.

    The patient's side reads his whole record but for a few flags: no narrowing there.
    """
    who = facts.requester
    if who.kind is not RequesterKind.PRO:
        return EVERYTHING
    own = who.actor_id if entry.why not in _NOT_EVEN_OWN else None
    if not entry.allowed:
        return Outline(author_id=own)
    return Outline(
        author_id=own,
        others=True,
        types=matrix.readable_types(who.profession, who.specialty),
        unmasked_only=not _sees_masked(facts, entry),
    )


def decide(facts: RecordFacts, document: DocumentView, matrix: Matrix) -> Decision:
    """The whole decision for one document: what the property tests compare with the oracle."""
    return decide_document(facts, decide_record(facts), document, matrix)


def decide_upload(facts: RecordFacts) -> Decision:
    """DOC-1: every pro may feed a record (CPE cards too, ID-5); the patient side adds to its
    space; LC-3: a created profile receives documents; opposed and closed ones receive nothing."""
    who, patient = facts.requester, facts.patient
    if patient.state is ProfileState.OPPOSED or patient.state is ProfileState.CLOSED:
        return _deny(Why.NO_PROFILE)
    if who.kind is RequesterKind.PRO or who.kind is RequesterKind.OPERATOR:
        return _allow(Why.CARE_TEAM)  # DOC-1: the operator adds reimbursements and vaccinations
    if who.kind is RequesterKind.THIRD_PARTY or who.kind is RequesterKind.GUARDIAN_OF_PROPERTY:
        return _deny(Why.THIRD_PARTY)
    return _decide_patient_side(facts)
