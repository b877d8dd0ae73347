"""Who reads and who fills in which section of the medical profile, which reimbursement lines
show, and which history lines name a section — Carnet's pure rules against the independent
oracle (tests/oracle_profile.py, tests/oracle_history.py) on generated worlds.

The oracle was written from RULES.md and the seeds only; a disagreement means one of the two
misread the texts.
"""

from __future__ import annotations

from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import OActor, ORequest, OWorld
from oracle_history import OTrace, oracle_explain_history_line, oracle_history_shows
from oracle_profile import (
    OPERATOR_SECTIONS,
    PRO_SECTIONS,
    OReimbursementLine,
    ReimbursedAct,
    oracle_explain_reimbursement_line,
    oracle_explain_section,
    oracle_explain_section_write,
    oracle_may_read_section,
    oracle_may_write_section,
    oracle_reimbursement_line_shown,
)
from oracle_profile import Section as OSection
from oracle_worlds import TINY_MATRIX, actors, record_facts_of, requests, worlds

from carnet.access import rules
from carnet.access.rules import (
    CareLineFacts,
    Purpose,
    Section,
    decide_open,
    decide_record,
    decide_section,
    history_shows,
    may_write_section,
    reimbursement_line_shown,
)
from carnet.audit.rules import Action
from carnet.profile.rules import minor_secret

sections = st.sampled_from(get_args(OSection))

#: The oracle's acts as the operator's feed names them (``profile/data/care_acts.csv``); its
#: « etc. » is any act the feed flags as kept secret at the minor's request.
ACTS: dict[str, tuple[str, bool]] = {
    "abortion": ("IVG", False),
    "contraception": ("CONTRACEPTION", False),
    "emergency_contraception": ("CONTRACEPTION_URGENCE", False),
    "other_minor_secret": ("CONSULTATION", True),
    "ordinary": ("CONSULTATION", False),
}


def test_acc_7_the_sections_are_the_oracles() -> None:
    """PRF-1, ACC-7, DOC-1: the same eight sections, the same three for pros, the same two fed
    by the operator."""
    assert {s.value for s in Section} == set(get_args(OSection))
    assert {s.value for s in rules.PRO_SECTIONS} == set(PRO_SECTIONS)
    assert {s.value for s in rules.OPERATOR_SECTIONS} == set(OPERATOR_SECTIONS)
    assert set(ACTS) == set(get_args(ReimbursedAct))


@settings(max_examples=5_000, deadline=None)
@given(world=worlds, actor=actors, request=requests, section=sections)
def test_acc_7_who_reads_which_section_agrees_with_the_oracle(
    world: OWorld, actor: OActor, request: ORequest, section: OSection
) -> None:
    """ACC-7, PRF-1, ACC-6, ACC-8, ACC-9: pros read Vaccinations, Historique de soins and
    Entourage et volontés only (emergencies too), the patient's side reads everything, the
    operator nothing."""
    facts = record_facts_of(world, actor, request)
    entry = decide_record(facts)
    opening = decide_open(facts, Purpose.PROFILE, entry)
    decision = decide_section(facts, entry, Section(section)) if opening.allowed else opening
    expected = oracle_may_read_section(world, actor, section, request)
    assert decision.allowed == expected, (
        f"carnet: {decision.why.value}; oracle: "
        f"{oracle_explain_section(world, actor, section, request)}\n{world}\n{actor}\n{request}"
    )


@settings(max_examples=5_000, deadline=None)
@given(world=worlds, actor=actors, request=requests, section=sections)
def test_prf_2_who_fills_in_which_section_agrees_with_the_oracle(
    world: OWorld, actor: OActor, request: ORequest, section: OSection
) -> None:
    """PRF-2, DOC-1: the patient's side fills in all but the reimbursed care on an activated
    profile; the operator feeds the vaccinations and the reimbursed care; pros write none."""
    facts = record_facts_of(world, actor, request)
    opening = decide_open(facts, Purpose.PROFILE, decide_record(facts))
    decision = may_write_section(facts, Section(section)) if opening.allowed else opening
    expected = oracle_may_write_section(world, actor, section)
    assert decision.allowed == expected, (
        f"carnet: {decision.why.value}; oracle: "
        f"{oracle_explain_section_write(world, actor, section)}\n{world}\n{actor}\n{request}"
    )


@settings(max_examples=5_000, deadline=None)
@given(
    world=worlds,
    reader=actors,
    request=requests,
    act=st.sampled_from(get_args(ReimbursedAct)),
    minor_at_act=st.booleans(),
)
def test_doc_9_which_reimbursement_line_shows_agrees_with_the_oracle(
    world: OWorld, reader: OActor, request: ORequest, act: ReimbursedAct, minor_at_act: bool
) -> None:
    """DOC-9 (after seed 001): the reimbursement of a minor's secret act is shown to no one."""
    facts = record_facts_of(world, reader, request)
    entry = decide_record(facts)
    opening = decide_open(facts, Purpose.PROFILE, entry)
    code, flagged = ACTS[act]
    line = CareLineFacts(minor_secret(code, flagged), minor_at_act)
    decision = reimbursement_line_shown(facts, entry, line) if opening.allowed else opening
    oracle_line = OReimbursementLine(act, minor_at_act)
    expected = oracle_reimbursement_line_shown(world, reader, oracle_line, request)
    assert decision.allowed == expected, (
        f"carnet: {decision.why.value}; oracle: "
        f"{oracle_explain_reimbursement_line(world, reader, oracle_line, request)}"
        f"\n{world}\n{reader}\n{request}"
    )


@settings(max_examples=3_000, deadline=None)
@given(
    world=worlds,
    reader=actors,
    section=sections,
    actor_kind=st.sampled_from(("patient", "pro", "operator", "legal_representative")),
    read=st.booleans(),
    allowed=st.booleans(),
)
def test_tr_1_acc_7_history_lines_naming_a_section_agree_with_the_oracle(
    world: OWorld, reader: OActor, section: OSection, actor_kind: str, read: bool, allowed: bool
) -> None:
    """TR-1, ACC-7: a history line about a section (read or filled in, by anyone) shows only to
    a reader of that section — an administrator never learns what the patient wrote in his
    treatments through the history."""
    request = ORequest("normal", None)
    facts = record_facts_of(world, reader, request)
    entry = decide_record(facts)
    if not decide_open(facts, Purpose.HISTORY, entry).allowed:
        return  # who opens the history at all: tests/access/test_history_oracle.py
    trace = OTrace(
        actor_kind=actor_kind,  # type: ignore[arg-type]
        what="section_read" if read else "section_write",
        allowed=allowed,
        section=section,
    )
    action = Action.READ_PROFILE if read else Action.CHANGE_PROFILE
    shown = history_shows(facts, entry, action, [], TINY_MATRIX, [Section(section)])
    assert shown == oracle_history_shows(world, reader, trace, request), (
        f"{oracle_explain_history_line(world, reader, trace, request)}\n{world}\n{reader}"
    )


def test_acc_7_section_targets_round_trip() -> None:
    for section in Section:
        assert rules.section_of_target(rules.section_target(section)) is section
    assert rules.section_of_target("10000000001") is None
    assert rules.section_of_target("profile:nothing") is None
    assert rules.section_of_target(None) is None


@settings(max_examples=3_000, deadline=None)
@given(world=worlds, actor=actors, request=requests, section=sections)
def test_prf_2_the_write_rule_stands_on_its_own(
    world: OWorld, actor: OActor, request: ORequest, section: OSection
) -> None:
    """PRF-2, ACC-9, LC-7, LC-8: the write rule agrees with the oracle even asked without the
    opening first — a third party, a guardian of property or a representative without rights
    is refused by the section rule itself, not only by the door in front of it."""
    facts = record_facts_of(world, actor, request)
    decision = may_write_section(facts, Section(section))
    expected = oracle_may_write_section(world, actor, section)
    assert decision.allowed == expected, (
        f"carnet: {decision.why.value}; oracle: "
        f"{oracle_explain_section_write(world, actor, section)}\n{world}\n{actor}\n{request}"
    )
