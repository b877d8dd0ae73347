"""The access decision: a pure function of facts (ACC-*, DOC-3…DOC-5, ID-5, LC-3, LC-7, LC-8, TR-1).

``decide_record`` says whether the requester may enter the patient's record at all;
``decide_document`` whether he may read one document of it; ``decide_open`` whether he may open
the record for a purpose (its documents, his space, the history…). Listing calls
``decide_document`` over the documents fetched once, so a rule exists once. The patient's acts
about pros (``access.acts``), what the history shows (``history_shows``), who a trace's actor is
to its reader (``actor_label``) and the pro's TD0.2 status (``authorisation_status``) are decided
here too.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from carnet.access.facts import (
    AccessRequest,
    DocumentView,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.matrix import Matrix
from carnet.audit.rules import Action
from carnet.context import AccessMode, AuthLevel
from carnet.errors import Invalid
from carnet.population.rules import MAJORITY_AGE, ProfileState

_D = TypeVar("_D", bound=DocumentView)


class Why(StrEnum):
    """The rule that let an act through or refused it: traced with every act (``traces.why``)
    and said in plain words in the patient's history (``access.wording``)."""

    PATIENT = "patient"
    REPRESENTATIVE = "representative"
    CARE_TEAM = "care_team"
    CONSENT_DECLARED = "consent_declared"
    AUTHOR = "author"
    EMERGENCY_SAMU = "emergency_samu"
    EMERGENCY_BRIS_DE_GLACE = "emergency_bris_de_glace"
    ADMINISTRATOR = "administrator"
    MEDECIN_TRAITANT = "medecin_traitant"
    OWN_DOCUMENTS = "own_documents"
    UPLOAD_RIGHT = "upload_right"
    OPERATOR_FEED = "operator_feed"
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
    NOT_ADMINISTRATOR = "not_administrator"
    EMERGENCY_DOCUMENTS_ONLY = "emergency_documents_only"
    PATIENT_SIDE_ONLY = "patient_side_only"
    DELETED = "deleted"
    HABILITATION = "habilitation"
    MASKED = "masked"
    INVISIBLE_TO_PATIENT = "invisible_to_patient"
    INVISIBLE_TO_REPRESENTATIVES = "invisible_to_representatives"
    LOOKUP = "lookup"
    ABSENT = "absent"
    ACT_NOT_ALLOWED = "act_not_allowed"
    SECTION_NOT_FOR_PROS = "section_not_for_pros"
    PATIENT_FILLS_PROFILE = "patient_fills_profile"
    OPERATOR_SECTIONS_ONLY = "operator_sections_only"
    FED_BY_OPERATOR = "fed_by_operator"
    MINOR_SECRET_ACT = "minor_secret_act"  # noqa: S105 - a rule's name, not a secret
    # The profile's life (LC-3…LC-9, LC-6, DOC-1, DOC-3): see the section at the end.
    DMP_CLOSED = "dmp_closed"
    OPERATOR_ACT = "operator_act"
    DAILY_JOB = "daily_job"
    DELAY_PASSED = "delay_passed"
    YEARLY_STATEMENT = "yearly_statement"
    COME_OF_AGE = "come_of_age"
    NOT_A_MINOR = "not_a_minor"


class Purpose(StrEnum):
    """What a requester opens a record for: each purpose has its own door into it."""

    #: The documents: pros (ACC-1…ACC-6, DOC-5) and the patient's side (ACC-8).
    READ = "read"
    #: Feeding the record (DOC-1): no consent needed, a profile that receives (LC-3).
    UPLOAD = "upload"
    #: The patient's own side: settings, pros, notifications, mailbox — himself or who acts
    #: for him (ACC-8, LC-7, LC-8), never a pro.
    SPACE = "space"
    #: The access history (TR-1): the patient's side, and his administrators (ACC-4).
    HISTORY = "history"
    #: An administrator acting at the patient's request (ACC-4): blocking another pro.
    ADMINISTER = "administer"
    #: A pro looking a patient up: the record's existence and his TD0.2 status (PDSm).
    LOOKUP = "lookup"
    #: The medical profile (PRF-1): its sections, each decided by ``decide_section`` (reading)
    #: or ``may_write_section`` (filling in); the operator opens it to feed it (DOC-1).
    PROFILE = "profile"
    #: Acts on the profile's life from the patient's side (LC-5…LC-8): closing, opposing,
    #: activating for someone, sharing a minor's space; the act itself by ``decide_life``.
    LIFECYCLE = "lifecycle"
    #: The yearly activity statement of a patient with no e-mail (LC-3): the daily job only.
    STATEMENT = "statement"


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    why: Why
    emergency: bool = False


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
    {
        RequesterKind.THIRD_PARTY,
        RequesterKind.OPERATOR,
        RequesterKind.GUARDIAN_OF_PROPERTY,
        RequesterKind.SYSTEM,
    }
)
_PATIENT_SIDE = frozenset(
    {RequesterKind.PATIENT, RequesterKind.LEGAL_REPRESENTATIVE, RequesterKind.GUARDIAN_OF_PERSON}
)


def acts_for_patient(kind: RequesterKind, patient_age: int) -> bool:
    """LC-7 and LC-8, once: a legal representative acts for a minor only (he loses access at
    18); a guardian of the person for a protected adult only (a minor's space is reserved to
    his legal representatives, seed 001 §4.1); a guardian of property only never acts."""
    if kind is RequesterKind.LEGAL_REPRESENTATIVE:
        return patient_age < MAJORITY_AGE
    if kind is RequesterKind.GUARDIAN_OF_PERSON:
        return patient_age >= MAJORITY_AGE
    return False


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
    if who.kind is RequesterKind.PATIENT:
        # LC-7 and seed 001 §4.1: a minor's space is reserved to his legal representatives.
        return _deny(Why.MINOR_OWN_ACCESS) if patient.age < MAJORITY_AGE else _allow(Why.PATIENT)
    if who.represents_patient and acts_for_patient(who.kind, patient.age):
        return _allow(Why.REPRESENTATIVE)  # ACC-8, LC-7, LC-8
    return _deny(Why.NOT_A_REPRESENTATIVE)


#: What a pro does with a record when he opens it for these purposes: read (ID-5).
_READING = frozenset({Purpose.READ, Purpose.HISTORY, Purpose.ADMINISTER, Purpose.PROFILE})


def card_may(level: AuthLevel, purpose: Purpose) -> bool:
    """ID-5: reading a DMP needs a CPS or e-CPS; uploading also accepts a CPE, and so does
    looking a patient up to upload."""
    return level is not AuthLevel.CPE or purpose not in _READING


def reason_missing(mode: AccessMode, reason: str | None) -> bool:
    """ACC-6: a bris de glace states its reason; without one it opens nothing. Decided on the
    request alone, so a door may say so whatever the record (it reveals nothing of it)."""
    return mode is AccessMode.BRIS_DE_GLACE and not (reason and reason.strip())


def _decide_pro(facts: RecordFacts) -> Decision:
    who, relation, patient, request = facts.requester, facts.relation, facts.patient, facts.request
    if not card_may(who.level, Purpose.READ):
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
        if reason_missing(request.mode, request.reason):
            return _deny(Why.NO_REASON)  # ACC-6: a justification is required
        return _allow(Why.EMERGENCY_BRIS_DE_GLACE, emergency=True)
    if relation.authorised or relation.administrator or relation.medecin_traitant:
        return _allow(Why.CARE_TEAM)  # ACC-2 (ACC-4: an administrator has accessed; ACC-5)
    if request.declares_consent:
        return _allow(Why.CONSENT_DECLARED)  # ACC-2: the ticked box
    return _deny(Why.NO_CONSENT)


def emergency_offers(facts: RecordFacts) -> frozenset[AccessMode]:
    """ACC-6: the emergency modes worth offering a pro on the record's page — régulation to the
    SAMU's regulators only, bris de glace to any pro whose card may read; none to a pro the
    patient blocked (ACC-3: nothing, in emergencies too) nor to anyone but a pro. Whether the
    patient allows each is still ``decide_record``'s at each read (offering does not tell)."""
    who = facts.requester
    if who.kind is not RequesterKind.PRO or facts.relation.blocked:
        return frozenset()
    if not card_may(who.level, Purpose.READ):
        return frozenset()
    if who.samu_regulator:
        return frozenset({AccessMode.BRIS_DE_GLACE, AccessMode.CENTRE_DE_REGULATION})
    return frozenset({AccessMode.BRIS_DE_GLACE})


class Viewer(StrEnum):
    """Whom the patient asks « Voir mon dossier comme… » (issue 15): a profession with his
    consent, a named pro of his care team (his real standing), the SAMU regulator, his
    representative."""

    PROFESSION = "profession"
    PRO = "pro"
    SAMU = "samu"
    REPRESENTATIVE = "representative"


def viewer_facts(
    facts: RecordFacts, viewer: Viewer, profession: str = "", specialty: str | None = None
) -> RecordFacts:
    """The facts the decision would have about ``viewer`` reading this record now, from the
    patient's own (``facts``: his settings and state). A named pro's are loaded as they are
    (his relation, his card) and passed as ``facts`` with ``Viewer.PRO``: kept whole."""
    patient = facts.patient
    if viewer is Viewer.PRO:
        return facts
    if viewer is Viewer.PROFESSION:
        who = Requester(RequesterKind.PRO, profession=profession, specialty=specialty)
        return RecordFacts(who, Relation(), patient, AccessRequest(declares_consent=True))
    if viewer is Viewer.SAMU:
        who = Requester(RequesterKind.PRO, profession="10", samu_regulator=True)
        return RecordFacts(
            who, Relation(), patient, AccessRequest(mode=AccessMode.CENTRE_DE_REGULATION)
        )
    who = Requester(RequesterKind.LEGAL_REPRESENTATIVE, represents_patient=True)
    return RecordFacts(who, Relation(), patient, AccessRequest())


def seen_as(
    facts: RecordFacts, documents: Collection[_D], matrix: Matrix
) -> tuple[Decision, list[_D]]:
    """What ``facts``' requester would be let into, and which of ``documents`` he would read:
    ``decide_record`` then ``decide_document``, the very decision every read goes through."""
    entry = decide_record(facts)
    opening = decide_open(facts, Purpose.READ, entry)
    if not opening.allowed:
        return entry, []
    return entry, [d for d in documents if decide_document(facts, entry, d, matrix).allowed]


#: DOC-5 as one table: for each refusal of the record a pro can meet, whether he still reads
#: the documents he wrote. "Always" (seed 001) holds against consent and emergency refusals;
#: not against a blocking (ACC-3: nothing at all), a card that may not read (ID-5), a profile
#: with no space (LC-2, LC-5) — nor for anyone who is not a pro. Absent from the table: no.
OWN_DOCUMENTS_AFTER: dict[Why, bool] = {
    Why.NO_CONSENT: True,
    Why.EMERGENCY_REFUSED: True,
    Why.NO_REASON: True,
    Why.NOT_REGULATOR: True,
    Why.LEVEL_TOO_LOW: False,
    Why.BLOCKED: False,
    Why.NO_PROFILE: False,
    Why.THIRD_PARTY: False,
}


def _reads_own(entry: Decision) -> bool:
    return entry.allowed or OWN_DOCUMENTS_AFTER.get(entry.why, False)


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
    if document.author_id == who.actor_id and _reads_own(entry):
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
    own = who.actor_id if _reads_own(entry) else None
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
    """DOC-1: every pro may feed a record (CPE cards too, ID-5; a blocked pro too: feeding is
    his right, reading is what blocking takes away); the patient side adds to its space;
    LC-3: a created profile receives documents; opposed and closed ones receive nothing."""
    who, patient = facts.requester, facts.patient
    if patient.state is ProfileState.OPPOSED or patient.state is ProfileState.CLOSED:
        return _deny(upload_into_closed(who.kind))
    if who.kind is RequesterKind.PRO:
        return _allow(Why.UPLOAD_RIGHT)
    if who.kind is RequesterKind.OPERATOR:
        return _allow(Why.OPERATOR_FEED)  # DOC-1: reimbursements and vaccinations
    if who.kind not in _PATIENT_SIDE:
        return _deny(Why.THIRD_PARTY)
    return _decide_patient_side(facts)


def decide_open(facts: RecordFacts, purpose: Purpose, entry: Decision) -> Decision:
    """May the requester open the record for ``purpose``, ``entry`` being ``decide_record``'s
    answer? A refusal here is answered like an absent record."""
    who = facts.requester
    if purpose is Purpose.UPLOAD:
        return decide_upload(facts)
    if purpose is Purpose.PROFILE:
        # DOC-1: the operator feeds what he may not read (ACC-9); everyone else enters as the
        # record's decision says, emergencies included (seed 001 « accéder aux données de santé
        # en cas d'urgence »): which section he then reads is ``decide_section``'s.
        return decide_upload(facts) if who.kind is RequesterKind.OPERATOR else entry
    if purpose is Purpose.LIFECYCLE:
        return decide_life_entry(facts)
    if purpose is Purpose.STATEMENT:
        return decide_statement(facts)
    if purpose is Purpose.LOOKUP:
        if who.kind is not RequesterKind.PRO:
            return _deny(Why.THIRD_PARTY)
        # PDSm TD0.2: a pro learns whether a record exists and his status on it; an opposed
        # person has no record (LC-2).
        opposed = facts.patient.state is ProfileState.OPPOSED
        return _deny(Why.NO_PROFILE) if opposed else _allow(Why.LOOKUP)
    if purpose is Purpose.READ:
        if entry.allowed or who.kind is not RequesterKind.PRO:
            return entry
        # DOC-5: refused the record, a pro still reads what he wrote (one document at a time).
        return _allow(Why.OWN_DOCUMENTS) if OWN_DOCUMENTS_AFTER.get(entry.why) else entry
    if who.kind is not RequesterKind.PRO:
        return entry if purpose is not Purpose.ADMINISTER else _deny(Why.PATIENT_SIDE_ONLY)
    if purpose is Purpose.SPACE:
        return _deny(Why.PATIENT_SIDE_ONLY)  # his settings, pros, mailbox are not for pros
    if not entry.allowed:
        return entry
    if entry.emergency:
        # ACC-6 opens the documents (seed 000 q.11 « accéder aux documents »), not the
        # history nor the patient's settings: a declared emergency is judged as one.
        return _deny(Why.EMERGENCY_DOCUMENTS_ONLY)
    relation = facts.relation
    # ACC-4: an administrator reads the whole access history and blocks at the patient's
    # request; ACC-5: the médecin traitant has the administrator's extended reading rights
    # (seed 001 §3.3 « des droits étendus comme le médecin traitant »): he reads it too.
    if relation.administrator:
        return _allow(Why.ADMINISTRATOR)
    if purpose is Purpose.HISTORY and relation.medecin_traitant:
        return _allow(Why.MEDECIN_TRAITANT)
    return _deny(Why.NOT_ADMINISTRATOR)


# --------------------------------------------------------------------------------------------
# What the history shows, and to whom (TR-1, DOC-3, ACC-4, ACC-8)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _AsCurrent:
    """A document judged as if it were current: whatever became of it since."""

    type_code: str
    author_id: str
    masked: bool
    invisible_patient: bool
    invisible_representatives: bool
    status: str = "current"


#: The mailbox's acts: the patient's « espace privé d'échange » (seed 001 §2.2), shown to his
#: side only — a pro reading the history has no right on the mailbox (ACC-4: his profession's
#: rights and the history of accesses to the record).
MAILBOX_ACTIONS = frozenset(
    {
        Action.RECEIVE_MESSAGE,
        Action.LIST_MESSAGES,
        Action.READ_MESSAGE,
        Action.SEND_MESSAGE,
        Action.SEND_READ_RECEIPT,
        Action.READ_ATTACHMENT,
        Action.SAVE_ATTACHMENT,
        Action.MESSAGE_UNDELIVERABLE,
    }
)


def hidden_actions(facts: RecordFacts) -> frozenset[Action]:
    """The acts whose lines a history reader never sees, whatever they name."""
    return MAILBOX_ACTIONS if facts.requester.kind is RequesterKind.PRO else frozenset()


def history_shows(
    facts: RecordFacts,
    entry: Decision,
    action: str,
    documents: Collection[DocumentView],
    matrix: Matrix,
    sections: Collection[Section] = (),
) -> bool:
    """TR-1 without leaks: the reader sees every act on his record — refused attempts and
    acts by anyone (seed 004 « l'ensemble de l'activité ») — but a line that names documents
    shows only to a reader who could see each of them were it current: a deleted, superseded
    or archived document is judged as the current one it was, so its deletion never reveals
    what it hid (DOC-3: a minor's confidential act; ACC-8; DOC-4 and ACC-1 for an
    administrator). A line naming a section of the medical profile shows only to a reader of
    that section (ACC-7). The mailbox's lines are the patient side's (``hidden_actions``)."""
    if action in hidden_actions(facts):
        return False
    if not all(decide_section(facts, entry, s).allowed for s in sections):
        return False
    return all(would_see(facts, entry, d, matrix) for d in documents)


def would_see(facts: RecordFacts, entry: Decision, document: DocumentView, matrix: Matrix) -> bool:
    """Whether the reader could see ``document`` were it current."""
    current = _AsCurrent(
        document.type_code,
        document.author_id,
        document.masked,
        document.invisible_patient,
        document.invisible_representatives,
    )
    return decide_document(facts, entry, current, matrix).allowed


class ActorLabel(StrEnum):
    """Who did an act, as its reader should see it: truthfully, and no more than he may know."""

    YOU = "you"
    HOLDER = "holder"  # the patient himself, read by who acts for him
    REPRESENTATIVE = "representative"
    PRO = "pro"
    PRO_UNLISTED = "pro_unlisted"  # a pro the directory does not know: still a pro
    OPERATOR = "operator"
    SYSTEM = "system"
    SOMEONE_WITHOUT_RIGHTS = "someone_without_rights"


def actor_label(
    actor_kind: str,
    actor_id: str,
    *,
    reader_id: str,
    patient_id: str,
    mandate: RequesterKind | None,
    patient_age_at_act: int,
    listed: bool,
) -> ActorLabel:
    """Who did an act, to its reader. ``mandate``: the kind of the actor's link to this
    patient, if any; ``listed``: a pro the directory knows. Truthful both ways: someone is
    the patient's representative only if he held the mandate when he acted (LC-7: a legal
    representative while the patient was a minor; LC-8: a guardian of the person of an
    adult) — a former parent, a guardian of property, a stranger have no right on the record;
    a pro is a pro even when the directory does not know him, never "the system"."""
    if actor_id == reader_id and actor_kind in ("patient", "pro"):
        return ActorLabel.YOU
    if actor_kind == "pro":
        return ActorLabel.PRO if listed else ActorLabel.PRO_UNLISTED
    if actor_kind == "patient":
        if actor_id == patient_id:
            return ActorLabel.HOLDER
        if mandate is not None and acts_for_patient(mandate, patient_age_at_act):
            return ActorLabel.REPRESENTATIVE
        return ActorLabel.SOMEONE_WITHOUT_RIGHTS
    if actor_kind == "operator":
        return ActorLabel.OPERATOR
    return ActorLabel.SYSTEM


# --------------------------------------------------------------------------------------------
# The pro's authorisation status on a record (PDSm TD0.2)
# --------------------------------------------------------------------------------------------


class Authorisation(StrEnum):
    VALIDE = "VALIDE"
    NON_EXISTE = "NON_EXISTE"
    INTERDIT = "INTERDIT"
    EXPIRE = "EXPIRE"


def authorisation_status(relation: Relation) -> Authorisation:
    """INTERDIT: the patient blocked him (ACC-3). VALIDE: he is on the authorised list, or
    administrator or médecin traitant (ACC-2, ACC-4, ACC-5). EXPIRE: he was authorised once
    and no longer is — unblocked, he is authorised again only when the patient agrees (ACC-3):
    his software must ask for consent again. NON_EXISTE: never authorised."""
    if relation.blocked:
        return Authorisation.INTERDIT
    if relation.authorised or relation.administrator or relation.medecin_traitant:
        return Authorisation.VALIDE
    if relation.formerly_authorised:
        return Authorisation.EXPIRE
    return Authorisation.NON_EXISTE


# --------------------------------------------------------------------------------------------
# The patient's acts about pros (ACC-3…ACC-6)
# --------------------------------------------------------------------------------------------


def check_authorise(relation: Relation) -> None:
    """ACC-3: a blocked pro is unblocked first; authorising him is then a separate act."""
    if relation.blocked:
        raise Invalid(
            "Débloquez d'abord ce professionnel.", "Unblock this professional first.", "blocked"
        )


def check_designate_administrator(relation: Relation) -> None:
    """ACC-4: only a pro who has already accessed the profile, and is not blocked."""
    if not relation.accessed or relation.blocked:
        raise Invalid(
            "Seul un professionnel ayant déjà accédé à votre profil peut devenir administrateur.",
            "Only a professional who has already accessed your profile can become administrator.",
            "not_accessed",
        )


def check_medecin_traitant(profession: str | None, relation: Relation) -> None:
    """ACC-5: the médecin traitant is a médecin (profession 10) known to the directory, and not
    one the patient blocked."""
    if profession != "10":
        raise Invalid(
            "Le médecin traitant doit être un médecin connu de l'annuaire.",
            "The médecin traitant must be a physician known to the directory.",
            "not_a_physician",
        )
    if relation.blocked:
        raise Invalid("Ce médecin est bloqué.", "This physician is blocked.", "blocked")


def check_emergency_settings(*, samu: bool, others: bool, masked: bool) -> None:
    """ACC-6: "may see my masked documents" is settable only while one emergency access is on."""
    if masked and not (samu or others):
        raise Invalid(
            "L'accès d'urgence aux documents masqués suppose qu'un accès d'urgence soit autorisé.",
            "Emergency access to masked documents needs one emergency access to be allowed.",
            "masked_needs_emergency",
        )


def may_block_at_request(administrator_rpps: str, target_rpps: str) -> bool:
    """ACC-4: an administrator blocks another pro at the patient's request — not himself."""
    return administrator_rpps != target_rpps


# --------------------------------------------------------------------------------------------
# The medical profile: who reads and who fills in which section (PRF-1, PRF-2, ACC-7, DOC-1,
# DOC-9)
# --------------------------------------------------------------------------------------------


class Section(StrEnum):
    """PRF-1: the medical profile's sections (seed 001 §2.1, seed 004)."""

    TREATMENTS = "treatments"
    ALLERGIES = "allergies"
    HISTORY = "history"  # antécédents personnels et familiaux
    CONDITIONS = "conditions"
    MEASURES = "measures"
    VACCINATIONS = "vaccinations"
    REIMBURSED_CARE = "reimbursed_care"  # historique de soins (remboursés)
    ENTOURAGE = "entourage_and_wishes"  # personne de confiance, proches, directives anticipées


#: ACC-7: what authorised pros see of the profile (seed 001 « mes rubriques Vaccinations,
#: Historique de soins, Entourage et volontés du Profil médical »; seed 004 « accéder aux
#: vaccinations, à l'historique des soins remboursés et ... à ses directives anticipées »). The
#: rest reaches them only as a document the patient adds (seed 004 « son profil médical s'il
#: l'a ajouté comme document »).
PRO_SECTIONS = frozenset({Section.VACCINATIONS, Section.REIMBURSED_CARE, Section.ENTOURAGE})
#: DOC-1: what the operator feeds (seed 004 « l'Assurance Maladie qui verse automatiquement
#: l'historique des soins remboursés et les attestations de vaccination »).
OPERATOR_SECTIONS = frozenset({Section.VACCINATIONS, Section.REIMBURSED_CARE})
#: A trace about a section names it in its ``target``: ``profile:<section>``.
SECTION_TARGET = "profile:"


def section_target(section: Section) -> str:
    return SECTION_TARGET + section.value


def section_of_target(target: str | None) -> Section | None:
    """The section a trace's target names, if it names one."""
    if not target or not target.startswith(SECTION_TARGET):
        return None
    try:
        return Section(target.removeprefix(SECTION_TARGET))
    except ValueError:
        return None


def decide_section(facts: RecordFacts, entry: Decision, section: Section) -> Decision:
    """May the requester, judged by ``decide_record`` (``entry``), read this section?

    The patient's side reads the whole profile as the patient would (PRF-1, ACC-8, LC-8; DOC-9
    is per line: ``reimbursement_line_shown``). A pro the record lets in — care team, declared
    consent, or an emergency the patient allows (ACC-6) — reads the three sections of ACC-7
    only, administrators and the médecin traitant included (ACC-4, ACC-5: their extra rights are
    about documents and the history). Refusals of the record (ACC-9 for the operator, who feeds
    but never reads; LC-2/LC-5; ID-5; ACC-3; ACC-2) stand as they are."""
    if not entry.allowed:
        return entry
    if facts.requester.kind is RequesterKind.PRO and section not in PRO_SECTIONS:
        return _deny(Why.SECTION_NOT_FOR_PROS)  # ACC-7
    return entry


def may_write_section(facts: RecordFacts, section: Section) -> Decision:
    """May the requester fill in this section? PRF-2: the patient — or who acts for him (LC-7,
    LC-8), on an activated profile (LC-3) — fills in every section but the reimbursed care;
    DOC-1: the operator feeds the reimbursed care and the vaccinations, into a created profile
    too (LC-3); pros upload documents, they do not write sections; nobody writes into an
    opposed or closed profile (DOC-1, LC-5)."""
    who, state = facts.requester, facts.patient.state
    if state is ProfileState.OPPOSED or state is ProfileState.CLOSED:
        return _deny(Why.NO_PROFILE)  # DOC-1, LC-5
    if who.kind is RequesterKind.OPERATOR:
        if section in OPERATOR_SECTIONS:
            return _allow(Why.OPERATOR_FEED)  # DOC-1
        return _deny(Why.OPERATOR_SECTIONS_ONLY)
    if who.kind is RequesterKind.PRO:
        return _deny(Why.PATIENT_FILLS_PROFILE)  # DOC-1, PRF-2: pros upload documents
    if who.kind is RequesterKind.THIRD_PARTY or who.kind is RequesterKind.GUARDIAN_OF_PROPERTY:
        return _deny(Why.THIRD_PARTY)  # ACC-9; LC-8: property only may not act
    entry = _decide_patient_side(facts)
    if not entry.allowed:
        return entry  # LC-3, LC-7, LC-8
    if section is Section.REIMBURSED_CARE:
        return _deny(Why.FED_BY_OPERATOR)  # DOC-1: the operator's record of what was reimbursed
    return entry  # PRF-2


@dataclass(frozen=True, slots=True)
class CareLineFacts:
    """One line of the reimbursed care as DOC-9 sees it: an act a minor may keep from his
    representatives (abortion, contraception… or any act at the minor's request), and whether
    the patient was a minor on the day of the act."""

    minor_secret: bool
    minor_at_act: bool


def reimbursement_line_shown(facts: RecordFacts, entry: Decision, line: CareLineFacts) -> Decision:
    """DOC-9, after seed 001 (« aucune donnée de remboursement n'est remontée dans le dossier
    médical »): the reimbursement of a minor's secret act never enters the record, so no reader
    — representatives, pros, the patient after 18 — is shown one. The feed keeps such lines out
    (``profile.feed``); this decision holds it again on every read."""
    decision = decide_section(facts, entry, Section.REIMBURSED_CARE)
    if not decision.allowed:
        return decision
    if line.minor_secret and line.minor_at_act:
        return _deny(Why.MINOR_SECRET_ACT)  # DOC-9
    return decision


# --------------------------------------------------------------------------------------------
# The profile's life: who closes, opposes, activates for someone, shares, exports; uploads into
# a closed DMP; what the platform's daily jobs may do (LC-3…LC-9, LC-6, DOC-1)
# --------------------------------------------------------------------------------------------


#: Who feeds records (DOC-1): told plainly that a closed or opposed DMP is closed (seed 001:
#: « un retour automatique d'erreur … indiquant que le DMP est fermé »); anyone else finds no
#: record, like an absent one.
_FEEDERS = frozenset({RequesterKind.PRO, RequesterKind.OPERATOR})


def upload_into_closed(kind: RequesterKind) -> Why:
    """DOC-1, LC-5: an upload into a closed or opposed profile is refused; a pro (or the
    operator's feed) is told the DMP is closed, not that the patient is unknown."""
    return Why.DMP_CLOSED if kind in _FEEDERS else Why.NO_PROFILE


class LifeAct(StrEnum):
    """What the patient's side does with the profile itself (LC-4…LC-8, LC-6)."""

    CLOSE = "close"
    OPPOSE = "oppose"
    ACTIVATE = "activate"  # a representative activates the space he manages (LC-7, LC-8)
    SHARE = "share"  # a minor's representative shares it with a second one (LC-7)
    EXPORT = "export"  # the right of access: a full export (LC-6)
    REQUEST = "request"  # rectification, limitation, opposition requests (LC-6)


_OPEN_STATES = frozenset({ProfileState.CREATED, ProfileState.ACTIVATED})
#: The acts that need the space activated; the others also act on a created profile (a
#: guardian closes the profile of a protected adult who never activated it, seed 001 §4.2).
_ON_ACTIVATED = frozenset({LifeAct.SHARE, LifeAct.EXPORT, LifeAct.REQUEST})


def decide_life_entry(facts: RecordFacts) -> Decision:
    """May the requester act on this profile's life at all (``Purpose.LIFECYCLE``)? The
    patient himself once activated and of age (LC-7: a minor's space is his representatives');
    a legal representative of a minor, a guardian of the person of an adult (LC-7, LC-8),
    while the profile is open; no one else — a guardian of property only never (LC-8)."""
    who, patient = facts.requester, facts.patient
    if who.kind not in _PATIENT_SIDE:
        return _deny(Why.THIRD_PARTY)
    if patient.state not in _OPEN_STATES:
        return _deny(Why.NO_PROFILE)
    if who.kind is RequesterKind.PATIENT:
        return _decide_patient_side(facts)
    if who.represents_patient and acts_for_patient(who.kind, patient.age):
        return _allow(Why.REPRESENTATIVE)
    return _deny(Why.NOT_A_REPRESENTATIVE)


def decide_life(facts: RecordFacts, act: LifeAct) -> Decision:
    """One act on the profile's life, after ``decide_life_entry`` let the requester in.

    The patient closes, opposes, exports and asks (LC-5, LC-6); activating is his by the code
    and sharing is a representative's. A representative or guardian of the person activates a
    created space, and closes or opposes it (LC-7, LC-8: seed 001 « peut activer ou demander la
    clôture »); sharing is for a minor's legal representative (LC-7)."""
    entry = decide_life_entry(facts)
    if not entry.allowed:
        return entry
    who, patient = facts.requester, facts.patient
    if who.kind is RequesterKind.PATIENT:
        if act is LifeAct.ACTIVATE or act is LifeAct.SHARE:
            return _deny(Why.ACT_NOT_ALLOWED)
        return entry
    if act is LifeAct.ACTIVATE:
        return entry if patient.state is ProfileState.CREATED else _deny(Why.ACT_NOT_ALLOWED)
    if act is LifeAct.SHARE and who.kind is not RequesterKind.LEGAL_REPRESENTATIVE:
        return _deny(Why.NOT_A_MINOR)
    if act in _ON_ACTIVATED and patient.state is not ProfileState.ACTIVATED:
        return _deny(Why.NOT_ACTIVATED)
    return entry


#: LC-7: a minor's space is shared by two legal representatives at most (seed 001: « un autre
#: représentant légal (second parent ou tuteur légal) »).
MAX_LEGAL_REPRESENTATIVES = 2


def may_share_with(
    *, invitee_age: int, invitee_is_patient: bool, representatives: int, already: bool
) -> Why | None:
    """LC-7: why a second representative may not be added (``None``: he may): an adult of the
    register, not the minor himself, not one already, two at most."""
    if invitee_is_patient or invitee_age < MAJORITY_AGE:
        return Why.ACT_NOT_ALLOWED
    if already or representatives >= MAX_LEGAL_REPRESENTATIVES:
        return Why.ACT_NOT_ALLOWED
    return None


def decide_statement(facts: RecordFacts) -> Decision:
    """LC-3: the daily job counts what reached a profile that receives (documents, messages)
    for its yearly statement; nobody else opens a record for it, and it reads no content."""
    if facts.requester.kind is not RequesterKind.SYSTEM:
        return _deny(Why.THIRD_PARTY)
    if facts.patient.state not in _OPEN_STATES:
        return _deny(Why.NO_PROFILE)
    return _allow(Why.YEARLY_STATEMENT)
