"""What the history shows, who is said to have acted, and the TD0.2 status — Carnet's pure rules
against the independent oracle (tests/oracle_history.py, tests/oracle.py), on generated worlds.

The oracle was written from RULES.md and the seeds only; a disagreement means one of the two
misread the texts.
"""

from __future__ import annotations

from dataclasses import replace
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import (
    OActor,
    ORequest,
    OWorld,
    oracle_authorisation_status,
    oracle_explain_authorisation_status,
)
from oracle_history import (
    OTrace,
    TraceAct,
    TraceActorKind,
    oracle_actor_label,
    oracle_explain_history,
    oracle_explain_history_line,
    oracle_history_shows,
    oracle_may_read_history,
)
from oracle_worlds import (
    ACTOR_ID,
    ALL_DOCUMENTS,
    TINY_MATRIX,
    actors,
    document_of,
    record_facts_of,
    requests,
    worlds,
)

from carnet.access.facts import RequesterKind
from carnet.access.rules import (
    ActorLabel,
    Purpose,
    actor_label,
    authorisation_status,
    decide_open,
    decide_record,
    history_shows,
)
from carnet.audit.rules import Action

#: The oracle's acts as Carnet's trace vocabulary: only the mailbox's matter to the rule.
ACTIONS: dict[str, Action] = {
    "read": Action.READ_DOCUMENT,
    "list": Action.LIST_DOCUMENTS,
    "upload": Action.UPLOAD_DOCUMENT,
    "replace": Action.REPLACE_DOCUMENT,
    "delete": Action.DELETE_DOCUMENT,
    "archive": Action.ARCHIVE_DOCUMENT,
    "mask": Action.MASK_DOCUMENT,
    "unmask": Action.UNMASK_DOCUMENT,
    "block": Action.BLOCK_PRO,
    "unblock": Action.UNBLOCK_PRO,
    "designate_administrator": Action.DESIGNATE_ADMINISTRATOR,
    "emergency_access": Action.READ_DOCUMENT,
    "consent_declared": Action.DECLARE_CONSENT,
    "settings_change": Action.CHANGE_SETTINGS,
    "log_in": Action.LOG_IN,
    "activate": Action.ACTIVATE_PROFILE,
    "close": Action.CHANGE_SETTINGS,
    "download": Action.READ_DOCUMENT,
    "export": Action.READ_DOCUMENT,
    "section_read": Action.READ_SETTINGS,
    "section_write": Action.CHANGE_SETTINGS,
    "reimbursement_feed": Action.UPLOAD_DOCUMENT,
    "message": Action.READ_MESSAGE,
}

#: Carnet's labels in the oracle's words.
LABELS: dict[ActorLabel, str] = {
    ActorLabel.YOU: "you",
    ActorLabel.HOLDER: "patient",
    ActorLabel.REPRESENTATIVE: "representative",
    ActorLabel.PRO: "pro",
    ActorLabel.PRO_UNLISTED: "pro_unknown_to_directory",
    ActorLabel.OPERATOR: "operator",
    ActorLabel.SYSTEM: "system",
    ActorLabel.SOMEONE_WITHOUT_RIGHTS: "someone_without_rights",
}

PATIENT_ID, PERSON_ID, OTHER_RPPS = "patient-0", "person-1", "10000000009"
_PEOPLE = ("legal_representative", "guardian_of_person", "guardian_of_property", "third_party")


@st.composite
def traces(draw: st.DrawFn) -> OTrace:
    """Acts by anyone, allowed or refused, naming a document or not (sections and
    reimbursement lines come with the medical profile)."""
    return OTrace(
        actor_kind=draw(st.sampled_from(get_args(TraceActorKind))),
        what=draw(st.sampled_from(get_args(TraceAct))),
        allowed=draw(st.booleans()),
        actor_is_reader=draw(st.booleans()),
        actor_represents_patient=draw(st.booleans()),
        actor_in_directory=draw(st.booleans()),
        patient_minor_at_act=draw(st.booleans()),
        document=draw(st.none() | st.sampled_from(ALL_DOCUMENTS)),
    )


def _consistent(reader: OActor, trace: OTrace) -> OTrace:
    """A trace that can happen: the reader is "the actor" only for acts a person makes in his
    own kind, and a patient reading his record is the only "patient" actor of it."""
    kind = trace.actor_kind
    if trace.actor_is_reader and kind != reader.kind:
        return replace(trace, actor_is_reader=False)
    if reader.kind == "patient" and kind == "patient":
        return replace(trace, actor_is_reader=True)
    return trace


def _reader_id(reader: OActor) -> str:
    return PATIENT_ID if reader.kind == "patient" else ACTOR_ID


def _carnet_actor(reader: OActor, trace: OTrace) -> tuple[str, str, RequesterKind | None]:
    """(actor kind, actor id, his mandate for this patient) as Carnet's traces record them: a
    person acting patient-side is a ``patient`` actor, whoever he is to this record."""
    kind = trace.actor_kind
    if trace.actor_is_reader:
        carnet_kind = "pro" if kind == "pro" else "patient"
        mandate = (
            RequesterKind(kind) if kind in _PEOPLE[:3] and trace.actor_represents_patient else None
        )
        return carnet_kind, _reader_id(reader), mandate
    if kind == "patient":
        return "patient", PATIENT_ID, None
    if kind in _PEOPLE:
        represents = kind != "third_party" and trace.actor_represents_patient
        return "patient", PERSON_ID, RequesterKind(kind) if represents else None
    if kind == "pro":
        return "pro", OTHER_RPPS, None
    return kind, kind, None  # operator, system


@settings(max_examples=5_000, deadline=None)
@given(world=worlds, reader=actors, request=requests, trace=traces())
def test_tr_1_history_shows_what_the_oracle_shows(
    world: OWorld, reader: OActor, request: ORequest, trace: OTrace
) -> None:
    """TR-1, ACC-4, ACC-5, ACC-8, DOC-3: who opens the history, and which lines he sees — no
    line naming a document he could never see (deleted, superseded, archived, masked, outside
    his profession's reach), no mailbox line for a pro."""
    trace = _consistent(reader, trace)
    facts = record_facts_of(world, reader, request)
    entry = decide_record(facts)
    opening = decide_open(facts, Purpose.HISTORY, entry)
    assert opening.allowed == oracle_may_read_history(world, reader, request), (
        f"carnet: {opening.why.value}; oracle: {oracle_explain_history(world, reader, request)}"
        f"\n{world}\n{reader}\n{request}"
    )
    if not opening.allowed:
        return
    named = [document_of(trace.document)] if trace.document else []
    shown = history_shows(facts, entry, ACTIONS[trace.what], named, TINY_MATRIX)
    expected = oracle_history_shows(world, reader, trace, request)
    assert shown == expected, (
        f"carnet: {'SHOW' if shown else 'HIDE'}; "
        f"oracle: {oracle_explain_history_line(world, reader, trace, request)}"
        f"\n{world}\n{reader}\n{request}\n{trace}"
    )


@settings(max_examples=3_000, deadline=None)
@given(world=worlds, reader=actors, trace=traces())
def test_tr_1_actor_labels_agree_with_the_oracle(
    world: OWorld, reader: OActor, trace: OTrace
) -> None:
    """TR-1, LC-7, LC-8, ID-4: the reader is told truthfully who acted — a representative only
    while he held the mandate, never "the system" for a pro."""
    trace = _consistent(reader, trace)
    kind, actor_id, mandate = _carnet_actor(reader, trace)
    label = actor_label(
        kind,
        actor_id,
        reader_id=_reader_id(reader),
        patient_id=PATIENT_ID,
        mandate=mandate,
        patient_age_at_act=15 if trace.patient_minor_at_act else 30,
        listed=trace.actor_in_directory,
    )
    assert LABELS[label] == oracle_actor_label(world, reader, trace), f"{reader}\n{trace}"


@settings(max_examples=2_000, deadline=None)
@given(world=worlds, pro=actors.filter(lambda a: a.kind == "pro" and not a.declares_consent))
def test_td0_2_authorisation_status_agrees_with_the_oracle(world: OWorld, pro: OActor) -> None:
    """ACC-2…ACC-5 as PDSm's TD0.2 status: INTERDIT when blocked, VALIDE on the list (or
    administrator, médecin traitant), EXPIRE when on it once and no longer, else NON_EXISTE.
    An opposed patient has no record: the look-up finds none (the oracle's NON_EXISTE)."""
    facts = record_facts_of(world, pro, ORequest("normal", None))
    found = decide_open(facts, Purpose.LOOKUP, decide_record(facts))
    expected = oracle_authorisation_status(world, pro)
    if not found.allowed:
        assert (world.profile_state, expected) == ("opposed", "NON_EXISTE")
        return
    status = authorisation_status(facts.relation)
    assert status.value == expected, oracle_explain_authorisation_status(world, pro)
