"""Examples of the independent oracle (tests/oracle.py), one per rule it encodes."""

from dataclasses import replace

from oracle import (
    OActor,
    ODocument,
    ORequest,
    OWorld,
    oracle_authorisation_status,
    oracle_explain,
    oracle_explain_authorisation_status,
    oracle_may_read,
)

WORLD = OWorld(
    patient_age=40,
    profile_state="activated",
    emergency_samu=True,
    emergency_others=True,
    emergency_masked=False,
)
PATIENT = OActor(kind="patient")
PRO = OActor(kind="pro", authorised=True)
DOC = ODocument(
    confidentiality=frozenset({"N"}),
    actor_is_author=False,
    habilitation_allows=True,
    status="current",
)
MASKED = replace(DOC, confidentiality=frozenset({"MASQUE_PS"}))
NORMAL = ORequest(mode="normal", reason=None)
BDG = ORequest(mode="bris-de-glace", reason="patient inconscient")
SAMU = ORequest(mode="centre-de-regulation", reason=None)
STRANGER = OActor(kind="pro")


def test_acc_2_authorised_or_consenting_pro_reads() -> None:
    assert oracle_may_read(WORLD, PRO, DOC, NORMAL)
    assert oracle_may_read(WORLD, replace(STRANGER, declares_consent=True), DOC, NORMAL)
    assert not oracle_may_read(WORLD, STRANGER, DOC, NORMAL)


def test_id_5_cpe_never_reads() -> None:
    assert not oracle_may_read(WORLD, replace(PRO, level="cpe"), DOC, NORMAL)
    assert oracle_may_read(WORLD, replace(PRO, level="e-cps"), DOC, NORMAL)


def test_acc_1_matrix_binds_pros_but_not_authors() -> None:
    forbidden = replace(DOC, habilitation_allows=False)
    assert not oracle_may_read(WORLD, PRO, forbidden, NORMAL)
    assert not oracle_may_read(WORLD, replace(STRANGER, samu_regulator=True), forbidden, SAMU)
    assert oracle_may_read(WORLD, PRO, replace(forbidden, actor_is_author=True), NORMAL)


def test_acc_3_blocked_pro_reads_nothing_even_in_emergency() -> None:
    blocked = replace(PRO, blocked=True, administrator=True, samu_regulator=True)
    for request in (NORMAL, BDG, SAMU):
        assert not oracle_may_read(WORLD, blocked, replace(DOC, actor_is_author=True), request)
    assert "ACC-3" in oracle_explain(WORLD, blocked, DOC, BDG)


def test_doc_4_masked_hidden_from_pros_not_from_patient() -> None:
    assert not oracle_may_read(WORLD, PRO, MASKED, NORMAL)
    assert oracle_may_read(WORLD, PATIENT, MASKED, NORMAL)


def test_doc_5_author_sees_his_masked_document() -> None:
    assert oracle_may_read(WORLD, STRANGER, replace(MASKED, actor_is_author=True), NORMAL)


def test_acc_4_admin_sees_masked_documents() -> None:
    assert oracle_may_read(WORLD, replace(PRO, administrator=True), MASKED, NORMAL)


def test_acc_5_medecin_traitant_sees_masked_documents() -> None:
    assert oracle_may_read(WORLD, replace(PRO, medecin_traitant=True), MASKED, NORMAL)


def test_acc_6_samu_regulator_needs_switch_and_role() -> None:
    regulator = replace(STRANGER, samu_regulator=True)
    assert oracle_may_read(WORLD, regulator, DOC, SAMU)
    assert not oracle_may_read(replace(WORLD, emergency_samu=False), regulator, DOC, SAMU)
    assert not oracle_may_read(WORLD, STRANGER, DOC, SAMU)


def test_acc_6_bris_de_glace_needs_reason_and_switch() -> None:
    assert oracle_may_read(WORLD, STRANGER, DOC, BDG)
    assert not oracle_may_read(WORLD, STRANGER, DOC, replace(BDG, reason="  "))
    assert not oracle_may_read(WORLD, STRANGER, DOC, replace(BDG, reason=None))
    assert not oracle_may_read(replace(WORLD, emergency_others=False), STRANGER, DOC, BDG)


def test_acc_6_emergency_sees_masked_only_when_allowed() -> None:
    assert not oracle_may_read(WORLD, STRANGER, MASKED, BDG)
    assert oracle_may_read(replace(WORLD, emergency_masked=True), STRANGER, MASKED, BDG)


def test_lc_3_patient_reads_only_once_activated_pros_read_created() -> None:
    created = replace(WORLD, profile_state="created")
    assert not oracle_may_read(created, PATIENT, DOC, NORMAL)
    assert oracle_may_read(created, PRO, DOC, NORMAL)


def test_lc_5_nobody_reads_closed_or_opposed_profiles() -> None:
    for state in ("opposed", "closed"):
        world = replace(WORLD, profile_state=state)
        assert not oracle_may_read(world, PATIENT, DOC, NORMAL)
        assert not oracle_may_read(world, PRO, replace(DOC, actor_is_author=True), NORMAL)


def test_doc_6_deleted_unreadable_superseded_readable() -> None:
    assert not oracle_may_read(WORLD, PATIENT, replace(DOC, status="deleted"), NORMAL)
    assert oracle_may_read(WORLD, PRO, replace(DOC, status="superseded"), NORMAL)


def test_doc_3_invisible_patient_hidden_from_patient_side_only() -> None:
    hidden = replace(DOC, confidentiality=frozenset({"INVISIBLE_PATIENT"}))
    assert not oracle_may_read(WORLD, PATIENT, hidden, NORMAL)
    assert oracle_may_read(WORLD, PRO, hidden, NORMAL)


def test_lc_7_minor_space_reserved_to_representatives() -> None:
    minor = replace(WORLD, patient_age=15)
    parent = OActor(kind="legal_representative", represents_patient=True)
    secret = replace(DOC, confidentiality=frozenset({"INVISIBLE_REPRESENTANTS_LEGAUX"}))
    assert oracle_may_read(minor, parent, DOC, NORMAL)
    assert not oracle_may_read(minor, parent, secret, NORMAL)
    assert oracle_may_read(minor, PRO, secret, NORMAL)
    assert not oracle_may_read(minor, PATIENT, DOC, NORMAL)
    assert not oracle_may_read(minor, replace(parent, represents_patient=False), DOC, NORMAL)
    adult = replace(WORLD, patient_age=18)
    assert not oracle_may_read(adult, parent, DOC, NORMAL)
    assert oracle_may_read(adult, PATIENT, secret, NORMAL)


def test_lc_8_guardian_of_person_reads_guardian_of_property_does_not() -> None:
    person = OActor(kind="guardian_of_person", represents_patient=True)
    assert oracle_may_read(WORLD, person, DOC, NORMAL)
    assert not oracle_may_read(
        WORLD, person, replace(DOC, confidentiality=frozenset({"INVISIBLE_PATIENT"})), NORMAL
    )
    property_only = OActor(kind="guardian_of_property", represents_patient=True)
    assert not oracle_may_read(WORLD, property_only, DOC, NORMAL)


def test_acc_9_third_party_reads_nothing() -> None:
    assert not oracle_may_read(WORLD, OActor(kind="third_party"), DOC, NORMAL)


def test_acc_9_operator_reads_no_document() -> None:
    operator = OActor(kind="operator")
    assert not oracle_may_read(WORLD, operator, DOC, NORMAL)
    assert "ACC-9" in oracle_explain(WORLD, operator, DOC, NORMAL)


def test_doc_6_archived_document_reads_as_current() -> None:
    archived = replace(DOC, status="archived")
    assert oracle_may_read(WORLD, PATIENT, archived, NORMAL)
    assert oracle_may_read(WORLD, PRO, archived, NORMAL)


def test_acc_3_unblocked_pro_reads_again_only_after_new_consent() -> None:
    unblocked = replace(STRANGER, formerly_authorised=True)
    assert not oracle_may_read(WORLD, unblocked, DOC, NORMAL)
    assert oracle_may_read(WORLD, replace(unblocked, declares_consent=True), DOC, NORMAL)


def test_acc_3_td0_2_blocked_pro_is_interdit() -> None:
    blocked = replace(PRO, blocked=True, administrator=True, medecin_traitant=True)
    assert oracle_authorisation_status(WORLD, blocked) == "INTERDIT"
    assert "ACC-3" in oracle_explain_authorisation_status(WORLD, blocked)


def test_acc_2_td0_2_authorised_or_consenting_pro_is_valide() -> None:
    assert oracle_authorisation_status(WORLD, PRO) == "VALIDE"
    assert oracle_authorisation_status(WORLD, replace(STRANGER, declares_consent=True)) == (
        "VALIDE"
    )


def test_acc_4_acc_5_td0_2_administrator_and_medecin_traitant_are_valide() -> None:
    assert oracle_authorisation_status(WORLD, replace(STRANGER, administrator=True)) == "VALIDE"
    assert oracle_authorisation_status(WORLD, replace(STRANGER, medecin_traitant=True)) == (
        "VALIDE"
    )


def test_acc_3_td0_2_unblocked_pro_authorisation_expire() -> None:
    unblocked = replace(STRANGER, formerly_authorised=True)
    assert oracle_authorisation_status(WORLD, unblocked) == "EXPIRE"
    renewed = replace(unblocked, declares_consent=True)
    assert oracle_authorisation_status(WORLD, renewed) == "VALIDE"


def test_acc_2_td0_2_never_authorised_pro_non_existe() -> None:
    assert oracle_authorisation_status(WORLD, STRANGER) == "NON_EXISTE"


def test_acc_9_td0_2_non_pros_have_no_authorisation() -> None:
    for kind in ("patient", "legal_representative", "operator", "third_party"):
        assert oracle_authorisation_status(WORLD, OActor(kind=kind)) == "NON_EXISTE"


def test_lc_2_td0_2_opposed_profile_has_no_authorisation() -> None:
    opposed = replace(WORLD, profile_state="opposed")
    assert oracle_authorisation_status(opposed, replace(PRO, blocked=True)) == "NON_EXISTE"


def test_lc_5_td0_2_status_ignores_closure_card_and_emergency_role() -> None:
    closed = replace(WORLD, profile_state="closed")
    assert oracle_authorisation_status(closed, replace(PRO, blocked=True)) == "INTERDIT"
    assert oracle_authorisation_status(closed, PRO) == "VALIDE"
    assert oracle_authorisation_status(WORLD, replace(PRO, level="cpe")) == "VALIDE"
    regulator = replace(STRANGER, samu_regulator=True)
    assert oracle_authorisation_status(WORLD, regulator) == "NON_EXISTE"
