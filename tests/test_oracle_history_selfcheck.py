"""Examples of the history oracle (tests/oracle_history.py), one per rule and branch."""

from dataclasses import replace

from oracle import NORMAL, OActor, ODocument, ORequest, OWorld
from oracle_history import (
    OTrace,
    oracle_actor_label,
    oracle_explain_history,
    oracle_explain_history_line,
    oracle_history_shows,
    oracle_may_read_history,
)
from oracle_profile import OReimbursementLine

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
ADMIN = OActor(kind="pro", authorised=True, administrator=True)
MT = OActor(kind="pro", authorised=True, medecin_traitant=True)
PRO = OActor(kind="pro", authorised=True)
BDG = ORequest(mode="bris-de-glace", reason="patient inconscient")
DOC = ODocument(
    confidentiality=frozenset({"N"}),
    actor_is_author=False,
    habilitation_allows=True,
    status="current",
)
HIDDEN_FROM_REPS = replace(DOC, confidentiality=frozenset({"INVISIBLE_REPRESENTANTS_LEGAUX"}))
HIDDEN_FROM_PATIENT = replace(DOC, confidentiality=frozenset({"INVISIBLE_PATIENT"}))
MASKED = replace(DOC, confidentiality=frozenset({"MASQUE_PS"}))
PRO_READ = OTrace(actor_kind="pro", what="read", allowed=True, document=DOC)
LOG_IN = OTrace(actor_kind="patient", what="log_in", allowed=True)


def test_tr_1_patient_reads_his_history_once_activated_and_adult() -> None:
    assert oracle_may_read_history(WORLD, PATIENT, NORMAL)
    assert not oracle_may_read_history(replace(WORLD, profile_state="created"), PATIENT, NORMAL)
    assert not oracle_may_read_history(MINOR, PATIENT, NORMAL)
    assert oracle_history_shows(WORLD, PATIENT, PRO_READ)


def test_acc_8_representative_reads_the_history_until_18() -> None:
    assert oracle_may_read_history(MINOR, PARENT, NORMAL)
    assert not oracle_may_read_history(WORLD, PARENT, NORMAL)
    assert not oracle_may_read_history(MINOR, replace(PARENT, represents_patient=False), NORMAL)


def test_lc_8_guardian_of_person_reads_the_history_guardian_of_property_does_not() -> None:
    assert oracle_may_read_history(WORLD, GUARDIAN, NORMAL)
    property_only = OActor(kind="guardian_of_property", represents_patient=True)
    assert not oracle_may_read_history(WORLD, property_only, NORMAL)


def test_acc_4_administrator_reads_the_whole_history() -> None:
    assert oracle_may_read_history(WORLD, ADMIN, NORMAL)
    assert oracle_history_shows(WORLD, ADMIN, LOG_IN)
    assert oracle_history_shows(WORLD, ADMIN, replace(PRO_READ, allowed=False))


def test_acc_5_medecin_traitant_reads_the_history_like_an_administrator() -> None:
    assert oracle_may_read_history(WORLD, MT, NORMAL)
    assert "ACC-5" in oracle_explain_history(WORLD, MT, NORMAL)


def test_acc_4_other_pros_read_no_history() -> None:
    assert not oracle_may_read_history(WORLD, PRO, NORMAL)
    assert not oracle_history_shows(WORLD, PRO, PRO_READ)
    assert "ACC-4" in oracle_explain_history(WORLD, PRO, NORMAL)


def test_acc_6_emergency_access_does_not_open_the_history() -> None:
    assert not oracle_may_read_history(WORLD, replace(PRO, samu_regulator=True), BDG)
    assert not oracle_may_read_history(WORLD, ADMIN, BDG)


def test_acc_3_blocked_administrator_reads_no_history() -> None:
    assert not oracle_may_read_history(WORLD, replace(ADMIN, blocked=True), NORMAL)


def test_id_5_cpe_reads_no_history() -> None:
    assert not oracle_may_read_history(WORLD, replace(ADMIN, level="cpe"), NORMAL)


def test_acc_9_operator_and_third_parties_read_no_history() -> None:
    for kind in ("operator", "third_party"):
        assert not oracle_may_read_history(WORLD, OActor(kind=kind), NORMAL)


def test_lc_5_closed_or_opposed_profile_has_no_history_to_read() -> None:
    for state in ("closed", "opposed"):
        world = replace(WORLD, profile_state=state)
        assert not oracle_may_read_history(world, PATIENT, NORMAL)
        assert not oracle_may_read_history(world, ADMIN, NORMAL)


def test_doc_3_deleted_invisible_document_never_shown_to_representative() -> None:
    deleted = replace(HIDDEN_FROM_REPS, status="deleted")
    for what in ("upload", "read", "delete"):
        trace = OTrace(actor_kind="pro", what=what, allowed=True, document=deleted)
        assert not oracle_history_shows(MINOR, PARENT, trace)
    explained = oracle_explain_history_line(MINOR, PARENT, replace(PRO_READ, document=deleted))
    assert "DOC-3" in explained


def test_doc_3_document_hidden_from_reps_shown_to_the_other_pros_admin() -> None:
    trace = replace(PRO_READ, document=HIDDEN_FROM_REPS)
    assert oracle_history_shows(MINOR, ADMIN, trace)


def test_doc_3_invisible_to_patient_document_trace_hidden_from_patient_side() -> None:
    trace = OTrace(actor_kind="pro", what="upload", allowed=True, document=HIDDEN_FROM_PATIENT)
    assert not oracle_history_shows(WORLD, PATIENT, trace)
    assert not oracle_history_shows(WORLD, GUARDIAN, trace)
    assert not oracle_history_shows(MINOR, PARENT, trace)
    visible_again = replace(trace, document=DOC)
    assert oracle_history_shows(WORLD, PATIENT, visible_again)


def test_doc_6_traces_of_superseded_archived_deleted_documents_judged_as_current() -> None:
    for status in ("superseded", "archived", "deleted"):
        trace = OTrace(
            actor_kind="pro", what="delete", allowed=True, document=replace(DOC, status=status)
        )
        assert oracle_history_shows(WORLD, PATIENT, trace)
        assert oracle_history_shows(WORLD, ADMIN, trace)


def test_doc_4_masked_document_trace_shown_to_patient_and_administrator() -> None:
    trace = OTrace(actor_kind="patient", what="mask", allowed=True, document=MASKED)
    assert oracle_history_shows(WORLD, PATIENT, trace)
    assert oracle_history_shows(WORLD, ADMIN, trace)


def test_acc_1_administrator_never_sees_a_trace_of_a_document_outside_his_matrix() -> None:
    outside = replace(DOC, habilitation_allows=False, status="deleted")
    trace = replace(PRO_READ, document=outside)
    assert not oracle_history_shows(WORLD, ADMIN, trace)
    # DOC-5: unless he authored it.
    assert oracle_history_shows(
        WORLD, ADMIN, replace(trace, document=replace(outside, actor_is_author=True))
    )


def test_lc_7_young_adult_sees_traces_of_documents_hidden_from_his_reps() -> None:
    trace = replace(PRO_READ, document=HIDDEN_FROM_REPS, patient_minor_at_act=True)
    assert oracle_history_shows(WORLD, PATIENT, trace)


def test_tr_1_refused_attempts_and_acts_by_others_are_shown() -> None:
    blocked_try = OTrace(actor_kind="pro", what="read", allowed=False, document=DOC)
    stranger_try = OTrace(actor_kind="third_party", what="read", allowed=False)
    other_parent = OTrace(
        actor_kind="legal_representative",
        what="settings_change",
        allowed=True,
        actor_represents_patient=True,
        patient_minor_at_act=True,
    )
    system = OTrace(actor_kind="system", what="archive", allowed=True, document=DOC)
    for trace in (blocked_try, stranger_try, system):
        assert oracle_history_shows(WORLD, PATIENT, trace)
        assert oracle_history_shows(WORLD, ADMIN, trace)
    assert oracle_history_shows(MINOR, PARENT, other_parent)
    assert oracle_history_shows(MINOR, PARENT, stranger_try)


def test_tr_1_refused_attempt_on_a_hidden_document_reveals_nothing() -> None:
    own_try = OTrace(
        actor_kind="legal_representative",
        what="read",
        allowed=False,
        actor_is_reader=True,
        actor_represents_patient=True,
        patient_minor_at_act=True,
        document=HIDDEN_FROM_REPS,
    )
    assert not oracle_history_shows(MINOR, PARENT, own_try)


def test_acc_7_section_traces_follow_the_section_rights() -> None:
    allergies = OTrace(
        actor_kind="patient", what="section_write", allowed=True, section="allergies"
    )
    vaccinations = replace(allergies, section="vaccinations")
    assert oracle_history_shows(WORLD, PATIENT, allergies)
    assert not oracle_history_shows(WORLD, ADMIN, allergies)
    assert "ACC-7" in oracle_explain_history_line(WORLD, ADMIN, allergies)
    assert oracle_history_shows(WORLD, ADMIN, vaccinations)


def test_doc_9_trace_of_a_minor_secret_reimbursement_line_is_hidden() -> None:
    secret = OReimbursementLine(act="contraception", minor_at_act=True)
    feed = OTrace(actor_kind="operator", what="reimbursement_feed", allowed=True, line=secret)
    assert not oracle_history_shows(MINOR, PARENT, feed)
    assert "DOC-9" in oracle_explain_history_line(MINOR, PARENT, feed)
    ordinary = replace(feed, line=OReimbursementLine(act="ordinary", minor_at_act=True))
    assert oracle_history_shows(MINOR, PARENT, ordinary)


def test_msg_1_messaging_traces_are_the_patient_sides_only() -> None:
    message = OTrace(actor_kind="patient", what="message", allowed=True)
    assert oracle_history_shows(WORLD, PATIENT, message)
    assert not oracle_history_shows(WORLD, ADMIN, message)


def test_tr_1_label_you_for_the_readers_own_acts() -> None:
    assert oracle_actor_label(WORLD, PATIENT, replace(LOG_IN, actor_is_reader=True)) == "you"
    assert oracle_actor_label(MINOR, PARENT, LOG_IN) == "patient"


def test_lc_7_label_representative_only_with_a_mandate_while_minor() -> None:
    parent_act = OTrace(
        actor_kind="legal_representative",
        what="read",
        allowed=True,
        actor_represents_patient=True,
        patient_minor_at_act=True,
    )
    assert oracle_actor_label(WORLD, PATIENT, parent_act) == "representative"
    after_18 = replace(parent_act, allowed=False, patient_minor_at_act=False)
    assert oracle_actor_label(WORLD, PATIENT, after_18) == "someone_without_rights"
    pretender = replace(parent_act, allowed=False, actor_represents_patient=False)
    assert oracle_actor_label(MINOR, PARENT, pretender) == "someone_without_rights"


def test_lc_8_label_guardians() -> None:
    guardian_act = OTrace(
        actor_kind="guardian_of_person", what="read", allowed=True, actor_represents_patient=True
    )
    assert oracle_actor_label(WORLD, PATIENT, guardian_act) == "representative"
    of_a_minor = replace(guardian_act, patient_minor_at_act=True)
    assert oracle_actor_label(WORLD, PATIENT, of_a_minor) == "someone_without_rights"
    property_only = replace(guardian_act, actor_kind="guardian_of_property", allowed=False)
    assert oracle_actor_label(WORLD, PATIENT, property_only) == "someone_without_rights"


def test_acc_9_refused_attempt_by_a_stranger_is_never_labelled_representative() -> None:
    stranger = OTrace(actor_kind="third_party", what="read", allowed=False)
    assert oracle_actor_label(MINOR, PARENT, stranger) == "someone_without_rights"


def test_id_4_a_pro_is_never_the_system() -> None:
    assert oracle_actor_label(WORLD, PATIENT, PRO_READ) == "pro"
    unknown = replace(PRO_READ, actor_in_directory=False)
    assert oracle_actor_label(WORLD, PATIENT, unknown) == "pro_unknown_to_directory"


def test_doc_1_label_operator_and_system() -> None:
    feed = OTrace(actor_kind="operator", what="reimbursement_feed", allowed=True)
    assert oracle_actor_label(WORLD, PATIENT, feed) == "operator"
    job = OTrace(actor_kind="system", what="archive", allowed=True)
    assert oracle_actor_label(WORLD, ADMIN, job) == "system"
