"""Examples of the medical profile oracle (tests/oracle_profile.py), one per rule and branch."""

from dataclasses import replace

from oracle import NORMAL, OActor, ORequest, OWorld
from oracle_profile import (
    OPERATOR_SECTIONS,
    PRO_SECTIONS,
    SECTIONS,
    OReimbursementLine,
    oracle_explain_reimbursement_line,
    oracle_explain_section,
    oracle_explain_section_write,
    oracle_may_read_section,
    oracle_may_write_section,
    oracle_reimbursement_line_shown,
)

WORLD = OWorld(
    patient_age=40,
    profile_state="activated",
    emergency_samu=True,
    emergency_others=True,
    emergency_masked=False,
)
MINOR = replace(WORLD, patient_age=15)
PATIENT = OActor(kind="patient")
PARENT = OActor(kind="legal_representative", represents_patient=True)
GUARDIAN = OActor(kind="guardian_of_person", represents_patient=True)
PRO = OActor(kind="pro", authorised=True)
STRANGER = OActor(kind="pro")
OPERATOR = OActor(kind="operator")
BDG = ORequest(mode="bris-de-glace", reason="patient inconscient")
SAMU = ORequest(mode="centre-de-regulation", reason=None)
OTHER_SECTIONS = tuple(s for s in SECTIONS if s not in PRO_SECTIONS)
SECRET = OReimbursementLine(act="abortion", minor_at_act=True)
ORDINARY = OReimbursementLine(act="ordinary", minor_at_act=True)


def test_acc_7_authorised_pro_reads_the_three_sections_only() -> None:
    for section in PRO_SECTIONS:
        assert oracle_may_read_section(WORLD, PRO, section, NORMAL)
        consenting = replace(STRANGER, declares_consent=True)
        assert oracle_may_read_section(WORLD, consenting, section, NORMAL)
    for section in OTHER_SECTIONS:
        assert not oracle_may_read_section(WORLD, PRO, section, NORMAL)
        assert "ACC-7" in oracle_explain_section(WORLD, PRO, section, NORMAL)


def test_acc_2_pro_without_consent_reads_no_section() -> None:
    assert not oracle_may_read_section(WORLD, STRANGER, "vaccinations", NORMAL)
    assert "ACC-2" in oracle_explain_section(WORLD, STRANGER, "vaccinations", NORMAL)


def test_acc_4_acc_5_extended_rights_add_no_section() -> None:
    for extended in (replace(PRO, administrator=True), replace(PRO, medecin_traitant=True)):
        assert oracle_may_read_section(WORLD, extended, "entourage_and_wishes", NORMAL)
        assert not oracle_may_read_section(WORLD, extended, "allergies", NORMAL)


def test_acc_6_emergency_reads_the_three_sections_when_allowed() -> None:
    regulator = replace(STRANGER, samu_regulator=True)
    assert oracle_may_read_section(WORLD, regulator, "entourage_and_wishes", SAMU)
    assert oracle_may_read_section(WORLD, STRANGER, "vaccinations", BDG)
    assert not oracle_may_read_section(WORLD, STRANGER, "treatments", BDG)
    refused = replace(WORLD, emergency_others=False, emergency_samu=False)
    assert not oracle_may_read_section(refused, STRANGER, "vaccinations", BDG)
    assert not oracle_may_read_section(refused, regulator, "vaccinations", SAMU)
    assert not oracle_may_read_section(WORLD, STRANGER, "vaccinations", replace(BDG, reason=""))


def test_acc_3_blocked_pro_reads_no_section_even_in_emergency() -> None:
    blocked = replace(PRO, blocked=True, administrator=True)
    for request in (NORMAL, BDG):
        assert not oracle_may_read_section(WORLD, blocked, "vaccinations", request)
    assert "ACC-3" in oracle_explain_section(WORLD, blocked, "vaccinations", NORMAL)


def test_id_5_cpe_reads_no_section() -> None:
    assert not oracle_may_read_section(WORLD, replace(PRO, level="cpe"), "vaccinations", NORMAL)


def test_prf_1_patient_reads_every_section() -> None:
    for section in SECTIONS:
        assert oracle_may_read_section(WORLD, PATIENT, section, NORMAL)


def test_acc_8_representative_reads_a_minor_profile_until_18() -> None:
    for section in SECTIONS:
        assert oracle_may_read_section(MINOR, PARENT, section, NORMAL)
        assert not oracle_may_read_section(MINOR, PATIENT, section, NORMAL)
        assert not oracle_may_read_section(WORLD, PARENT, section, NORMAL)
    stranger_parent = replace(PARENT, represents_patient=False)
    assert not oracle_may_read_section(MINOR, stranger_parent, "allergies", NORMAL)


def test_lc_8_guardian_of_person_reads_guardian_of_property_does_not() -> None:
    assert oracle_may_read_section(WORLD, GUARDIAN, "allergies", NORMAL)
    property_only = OActor(kind="guardian_of_property", represents_patient=True)
    assert not oracle_may_read_section(WORLD, property_only, "allergies", NORMAL)


def test_acc_9_operator_and_third_parties_read_no_section() -> None:
    for actor in (OPERATOR, OActor(kind="third_party")):
        for section in SECTIONS:
            assert not oracle_may_read_section(WORLD, actor, section, NORMAL)
    assert "ACC-9" in oracle_explain_section(WORLD, OPERATOR, "reimbursed_care", NORMAL)


def test_lc_5_closed_profile_has_no_section_to_read_or_write() -> None:
    closed = replace(WORLD, profile_state="closed")
    assert not oracle_may_read_section(closed, PATIENT, "allergies", NORMAL)
    assert not oracle_may_read_section(closed, PRO, "vaccinations", NORMAL)
    assert not oracle_may_write_section(closed, PATIENT, "allergies")
    assert not oracle_may_write_section(closed, OPERATOR, "reimbursed_care")


def test_lc_2_opposed_profile_has_no_section() -> None:
    opposed = replace(WORLD, profile_state="opposed")
    assert not oracle_may_read_section(opposed, PRO, "vaccinations", NORMAL)
    assert not oracle_may_write_section(opposed, OPERATOR, "vaccinations")


def test_lc_3_created_profile_pros_read_patient_neither_reads_nor_writes() -> None:
    created = replace(WORLD, profile_state="created")
    assert oracle_may_read_section(created, PRO, "reimbursed_care", NORMAL)
    assert not oracle_may_read_section(created, PATIENT, "reimbursed_care", NORMAL)
    assert not oracle_may_write_section(created, PATIENT, "allergies")
    assert "LC-3" in oracle_explain_section_write(created, PATIENT, "allergies")


def test_prf_2_patient_fills_in_every_section_but_reimbursed_care() -> None:
    for section in SECTIONS:
        expected = section != "reimbursed_care"
        assert oracle_may_write_section(WORLD, PATIENT, section) == expected
    assert "DOC-1" in oracle_explain_section_write(WORLD, PATIENT, "reimbursed_care")


def test_doc_1_operator_feeds_reimbursed_care_and_vaccinations_only() -> None:
    created = replace(WORLD, profile_state="created")
    for section in SECTIONS:
        expected = section in OPERATOR_SECTIONS
        assert oracle_may_write_section(WORLD, OPERATOR, section) == expected
        assert oracle_may_write_section(created, OPERATOR, section) == expected


def test_doc_1_pros_upload_documents_and_write_no_section() -> None:
    for actor in (PRO, replace(PRO, administrator=True, medecin_traitant=True)):
        assert not oracle_may_write_section(WORLD, actor, "vaccinations")


def test_acc_9_third_party_writes_no_section() -> None:
    assert not oracle_may_write_section(WORLD, OActor(kind="third_party"), "allergies")


def test_lc_7_representative_fills_in_a_minor_profile_the_minor_does_not() -> None:
    assert oracle_may_write_section(MINOR, PARENT, "allergies")
    assert not oracle_may_write_section(MINOR, PARENT, "reimbursed_care")
    assert not oracle_may_write_section(MINOR, PATIENT, "allergies")
    assert not oracle_may_write_section(WORLD, PARENT, "allergies")


def test_lc_8_guardian_of_person_fills_in_guardian_of_property_does_not() -> None:
    assert oracle_may_write_section(WORLD, GUARDIAN, "entourage_and_wishes")
    property_only = OActor(kind="guardian_of_property", represents_patient=True)
    assert not oracle_may_write_section(WORLD, property_only, "entourage_and_wishes")


def test_doc_9_minor_secret_act_line_not_shown_to_representatives() -> None:
    for act in ("abortion", "contraception", "emergency_contraception", "other_minor_secret"):
        line = OReimbursementLine(act=act, minor_at_act=True)
        assert not oracle_reimbursement_line_shown(MINOR, PARENT, line)
        assert "DOC-9" in oracle_explain_reimbursement_line(MINOR, PARENT, line)


def test_doc_9_seed_001_minor_secret_act_line_never_reaches_the_record() -> None:
    assert not oracle_reimbursement_line_shown(MINOR, PRO, SECRET)
    assert not oracle_reimbursement_line_shown(WORLD, PATIENT, SECRET)


def test_doc_9_ordinary_and_adult_lines_are_shown() -> None:
    assert oracle_reimbursement_line_shown(MINOR, PARENT, ORDINARY)
    adult_act = OReimbursementLine(act="abortion", minor_at_act=False)
    assert oracle_reimbursement_line_shown(WORLD, PATIENT, adult_act)
    assert oracle_reimbursement_line_shown(WORLD, PRO, adult_act)


def test_doc_9_line_needs_the_right_to_the_section() -> None:
    assert not oracle_reimbursement_line_shown(WORLD, STRANGER, ORDINARY)
    assert oracle_reimbursement_line_shown(WORLD, STRANGER, ORDINARY, BDG)
    assert not oracle_reimbursement_line_shown(MINOR, PATIENT, ORDINARY)
