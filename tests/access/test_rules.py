"""The access decision, rule by rule, on facts alone (no database)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from support import DEFAULT_MATRIX

from carnet.access.facts import (
    AccessRequest,
    DocumentFacts,
    PatientFacts,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.rules import (
    OWN_DOCUMENTS_AFTER,
    Decision,
    Purpose,
    Viewer,
    Why,
    acts_for_patient,
    card_may,
    check_authorise,
    check_designate_administrator,
    check_emergency_settings,
    check_medecin_traitant,
    decide,
    decide_open,
    decide_record,
    decide_upload,
    emergency_offers,
    may_block_at_request,
    seen_as,
    viewer_facts,
)
from carnet.context import AccessMode, AuthLevel
from carnet.errors import Invalid
from carnet.population.rules import ProfileState

GP = Requester(RequesterKind.PRO, "10000000001", profession="10", specialty="SM26")
NURSE = Requester(RequesterKind.PRO, "10000000006", profession="60")
PODIATRIST = Requester(RequesterKind.PRO, "10000000008", profession="80")
PATIENT = Requester(RequesterKind.PATIENT, "p1")
PARENT = Requester(RequesterKind.LEGAL_REPRESENTATIVE, "parent", represents_patient=True)
ADULT = PatientFacts(age=40, state=ProfileState.ACTIVATED)
MINOR = PatientFacts(age=15, state=ProfileState.ACTIVATED)
REPORT = DocumentFacts(type_code="11488-4", author_id="someone-else")
STAY = DocumentFacts(type_code="34112-3", author_id="someone-else")
AUTHORISED = Relation(authorised=True)
NORMAL = AccessRequest()


def facts(
    who: Requester = GP,
    rel: Relation = AUTHORISED,
    patient: PatientFacts = ADULT,
    req: AccessRequest = NORMAL,
) -> RecordFacts:
    return RecordFacts(who, rel, patient, req)


def allowed(f: RecordFacts, doc: DocumentFacts = REPORT) -> bool:
    return decide(f, doc, DEFAULT_MATRIX).allowed


def test_acc_1_podiatrist_may_not_read_hospital_stay_report() -> None:
    assert not allowed(facts(PODIATRIST), STAY)
    assert decide(facts(PODIATRIST), STAY, DEFAULT_MATRIX).why is Why.HABILITATION
    assert allowed(facts(GP), STAY)


def test_acc_2_pro_needs_care_team_or_declared_consent() -> None:
    assert not allowed(facts(rel=Relation()))
    assert allowed(facts(rel=Relation(), req=AccessRequest(declares_consent=True)))
    assert allowed(facts(rel=AUTHORISED))


def test_acc_3_blocked_pro_reads_nothing_in_emergencies_too() -> None:
    blocked = Relation(authorised=True, blocked=True)
    samu = replace(GP, samu_regulator=True)
    assert not allowed(facts(rel=blocked))
    assert not allowed(facts(rel=blocked, req=AccessRequest(declares_consent=True)))
    assert not allowed(
        facts(rel=blocked, req=AccessRequest(AccessMode.BRIS_DE_GLACE, "arrêt cardiaque"))
    )
    assert not allowed(facts(samu, blocked, req=AccessRequest(AccessMode.CENTRE_DE_REGULATION)))
    assert not allowed(facts(rel=blocked), replace(REPORT, author_id=GP.actor_id))


def test_acc_4_administrator_sees_masked_documents() -> None:
    masked = replace(REPORT, masked=True)
    assert not allowed(facts(), masked)
    assert allowed(facts(rel=Relation(administrator=True)), masked)


def test_acc_5_medecin_traitant_sees_masked_documents() -> None:
    assert allowed(facts(rel=Relation(medecin_traitant=True)), replace(REPORT, masked=True))


def test_acc_6_samu_regulator_reads_without_reason_if_allowed() -> None:
    samu = replace(GP, samu_regulator=True)
    req = AccessRequest(AccessMode.CENTRE_DE_REGULATION)
    decision = decide(facts(samu, Relation(), req=req), REPORT, DEFAULT_MATRIX)
    assert decision.allowed
    assert decision.emergency
    assert not allowed(facts(samu, Relation(), replace(ADULT, emergency_samu=False), req))
    assert not allowed(facts(GP, Relation(), req=req))  # not a regulator


def test_acc_6_bris_de_glace_needs_a_reason_and_the_switch() -> None:
    with_reason = AccessRequest(AccessMode.BRIS_DE_GLACE, "inconscient aux urgences")
    assert allowed(facts(rel=Relation(), req=with_reason))
    assert not allowed(facts(rel=Relation(), req=AccessRequest(AccessMode.BRIS_DE_GLACE, "  ")))
    assert not allowed(facts(rel=Relation(), req=AccessRequest(AccessMode.BRIS_DE_GLACE, None)))
    assert not allowed(
        facts(rel=Relation(), patient=replace(ADULT, emergency_others=False), req=with_reason)
    )


def test_acc_6_emergency_sees_masked_only_with_the_third_switch() -> None:
    req = AccessRequest(AccessMode.BRIS_DE_GLACE, "urgence vitale")
    masked = replace(REPORT, masked=True)
    assert not allowed(facts(rel=Relation(), req=req), masked)
    assert allowed(
        facts(rel=Relation(), patient=replace(ADULT, emergency_masked=True), req=req), masked
    )


def test_acc_7_authorised_pro_reads_vaccinations() -> None:
    vaccination = replace(REPORT, type_code="87273-9")
    assert allowed(facts(NURSE), vaccination)
    assert allowed(facts(GP), vaccination)


def test_acc_8_representative_sees_as_patient_except_invisible_to_representatives() -> None:
    assert allowed(facts(PARENT, Relation(), MINOR))
    assert allowed(facts(PARENT, Relation(), MINOR), replace(REPORT, masked=True))
    assert not allowed(
        facts(PARENT, Relation(), MINOR), replace(REPORT, invisible_representatives=True)
    )
    assert not allowed(facts(PARENT, Relation(), MINOR), replace(REPORT, invisible_patient=True))


def test_acc_9_no_one_else_reads() -> None:
    for who in (
        Requester(RequesterKind.THIRD_PARTY, "employer"),
        Requester(RequesterKind.OPERATOR, "insurer"),
        Requester(RequesterKind.LEGAL_REPRESENTATIVE, "stranger", represents_patient=False),
    ):
        assert not allowed(facts(who, Relation(), MINOR))


def test_id_5_cpe_never_reads_but_uploads() -> None:
    cpe = replace(GP, level=AuthLevel.CPE)
    assert not allowed(facts(cpe))
    assert decide_upload(facts(cpe, Relation())).allowed


def test_doc_1_every_pro_may_upload_without_consent() -> None:
    assert decide_upload(facts(PODIATRIST, Relation())).allowed
    assert not decide_upload(facts(patient=replace(ADULT, state=ProfileState.CLOSED))).allowed


def test_doc_3_invisible_to_patient_hides_from_patient_only() -> None:
    hidden = replace(REPORT, invisible_patient=True)
    assert not allowed(facts(PATIENT, Relation()), hidden)
    assert allowed(facts(GP), hidden)


def test_doc_3_invisible_to_representatives_is_seen_by_pros_and_by_the_adult() -> None:
    hidden = replace(REPORT, invisible_representatives=True)
    assert allowed(facts(GP, patient=MINOR), hidden)
    assert allowed(facts(PATIENT, Relation(), replace(MINOR, age=18)), hidden)


def test_doc_4_masked_is_hidden_from_pros_not_from_patient() -> None:
    masked = replace(REPORT, masked=True)
    assert not allowed(facts(NURSE), masked)
    assert allowed(facts(PATIENT, Relation()), masked)


def test_doc_5_author_always_sees_his_documents() -> None:
    own = DocumentFacts(type_code="34112-3", author_id=PODIATRIST.actor_id, masked=True)
    assert allowed(facts(PODIATRIST, Relation()), own)


def test_doc_6_deleted_documents_are_read_by_no_one() -> None:
    gone = replace(REPORT, status="deleted", author_id=GP.actor_id)
    assert not allowed(facts(GP), gone)
    assert not allowed(facts(PATIENT, Relation()), gone)


@pytest.mark.parametrize("state", [ProfileState.OPPOSED, ProfileState.CLOSED])
def test_lc_2_no_profile_no_reading(state: ProfileState) -> None:
    assert not allowed(facts(patient=replace(ADULT, state=state)))
    assert not allowed(facts(PATIENT, Relation(), replace(ADULT, state=state)))


def test_lc_3_created_profile_is_fed_and_read_by_pros_not_yet_by_the_patient() -> None:
    created = replace(ADULT, state=ProfileState.CREATED)
    assert allowed(facts(patient=created))
    assert not allowed(facts(PATIENT, Relation(), created))
    assert decide_upload(facts(patient=created)).allowed


def test_lc_7_representatives_lose_access_at_18_and_minor_has_none() -> None:
    assert not allowed(facts(PARENT, Relation(), replace(MINOR, age=18)))
    assert not allowed(facts(PATIENT, Relation(), MINOR))
    assert allowed(facts(PATIENT, Relation(), replace(MINOR, age=18)))


def test_lc_8_guardian_of_person_acts_guardian_of_property_does_not() -> None:
    person = Requester(RequesterKind.GUARDIAN_OF_PERSON, "g", represents_patient=True)
    property_only = Requester(RequesterKind.GUARDIAN_OF_PROPERTY, "g", represents_patient=True)
    assert allowed(facts(person, Relation()))
    assert not allowed(facts(property_only, Relation()))
    assert not decide_upload(facts(property_only, Relation())).allowed


# --- opening a record for a purpose -----------------------------------------------------------


def opened(f: RecordFacts, purpose: Purpose) -> Decision:
    return decide_open(f, purpose, decide_record(f))


def test_acc_8_the_space_opens_to_the_patient_side_only() -> None:
    """ACC-8, LC-7: settings, pros, notifications, mailbox: the patient or who acts for him."""
    assert opened(facts(PATIENT, Relation()), Purpose.SPACE).allowed
    assert opened(facts(PARENT, Relation(), MINOR), Purpose.SPACE).allowed
    assert opened(facts(GP), Purpose.SPACE).why is Why.PATIENT_SIDE_ONLY
    assert opened(facts(PARENT, Relation()), Purpose.SPACE).why is Why.NOT_A_REPRESENTATIVE


def test_acc_4_history_and_blocking_at_request_are_the_administrators() -> None:
    """ACC-4: an administrator reads the history and blocks at the patient's request; ACC-5:
    the médecin traitant reads the history, blocks no one; an emergency opens documents only."""
    admin, mt = Relation(administrator=True), Relation(medecin_traitant=True)
    assert opened(facts(GP, admin), Purpose.HISTORY).why is Why.ADMINISTRATOR
    assert opened(facts(GP, admin), Purpose.ADMINISTER).why is Why.ADMINISTRATOR
    assert opened(facts(GP, mt), Purpose.HISTORY).why is Why.MEDECIN_TRAITANT
    assert opened(facts(GP, mt), Purpose.ADMINISTER).why is Why.NOT_ADMINISTRATOR
    assert opened(facts(GP), Purpose.HISTORY).why is Why.NOT_ADMINISTRATOR
    emergency = AccessRequest(mode=AccessMode.BRIS_DE_GLACE, reason="inconscient")
    assert opened(facts(GP, admin, req=emergency), Purpose.HISTORY).why is (
        Why.EMERGENCY_DOCUMENTS_ONLY
    )
    assert opened(facts(GP, Relation(blocked=True)), Purpose.HISTORY).why is Why.BLOCKED
    assert opened(facts(PATIENT, Relation()), Purpose.HISTORY).allowed
    assert opened(facts(PATIENT, Relation()), Purpose.ADMINISTER).why is Why.PATIENT_SIDE_ONLY
    assert may_block_at_request("10000000001", "10000000002")
    assert not may_block_at_request("10000000001", "10000000001")


def test_doc_5_a_refused_pro_opens_the_record_for_his_own_documents_only() -> None:
    """DOC-5, as one table: consent or emergency refusals leave his own documents; blocking,
    a card that may not read, a closed profile leave nothing."""
    opening = opened(facts(GP, Relation()), Purpose.READ)
    assert (opening.allowed, opening.why) == (True, Why.OWN_DOCUMENTS)
    blocked = opened(facts(GP, Relation(blocked=True)), Purpose.READ)
    assert (blocked.allowed, blocked.why) == (False, Why.BLOCKED)
    refusals = {Why.NO_CONSENT, Why.EMERGENCY_REFUSED, Why.NO_REASON, Why.NOT_REGULATOR}
    assert {w for w, own in OWN_DOCUMENTS_AFTER.items() if own} == refusals
    assert opened(facts(PATIENT, Relation(), MINOR), Purpose.READ).why is Why.MINOR_OWN_ACCESS


def test_td0_2_only_pros_look_a_record_up_and_an_opposed_one_has_none() -> None:
    assert opened(facts(GP, Relation(blocked=True)), Purpose.LOOKUP).why is Why.LOOKUP
    assert opened(facts(PATIENT, Relation()), Purpose.LOOKUP).why is Why.THIRD_PARTY
    opposed = replace(ADULT, state=ProfileState.OPPOSED)
    assert opened(facts(GP, patient=opposed), Purpose.LOOKUP).why is Why.NO_PROFILE
    assert opened(facts(GP, Relation()), Purpose.UPLOAD).why is Why.UPLOAD_RIGHT


def test_id_5_a_card_that_may_not_read_still_uploads_and_looks_up() -> None:
    assert not card_may(AuthLevel.CPE, Purpose.READ)
    assert not card_may(AuthLevel.CPE, Purpose.HISTORY)
    assert card_may(AuthLevel.CPE, Purpose.UPLOAD)
    assert card_may(AuthLevel.CPE, Purpose.LOOKUP)
    assert card_may(AuthLevel.E_CPS, Purpose.READ)


def test_acc_3_to_acc_6_the_patients_acts_have_their_rules() -> None:
    """ACC-3: unblock before authorising; ACC-4: an administrator has accessed and is not
    blocked; ACC-5: a médecin traitant is a physician not blocked; ACC-6: the masked switch
    needs one emergency access."""
    with pytest.raises(Invalid, match="Unblock"):
        check_authorise(Relation(blocked=True))
    check_authorise(Relation())
    with pytest.raises(Invalid):
        check_designate_administrator(Relation())
    with pytest.raises(Invalid):
        check_designate_administrator(Relation(accessed=True, blocked=True))
    check_designate_administrator(Relation(accessed=True))
    with pytest.raises(Invalid):
        check_medecin_traitant("60", Relation())
    with pytest.raises(Invalid):
        check_medecin_traitant("10", Relation(blocked=True))
    check_medecin_traitant("10", Relation())
    with pytest.raises(Invalid):
        check_emergency_settings(samu=False, others=False, masked=True)
    check_emergency_settings(samu=True, others=False, masked=True)


def test_lc_7_lc_8_who_acts_for_a_patient_once() -> None:
    assert acts_for_patient(RequesterKind.LEGAL_REPRESENTATIVE, 17)
    assert not acts_for_patient(RequesterKind.LEGAL_REPRESENTATIVE, 18)
    assert acts_for_patient(RequesterKind.GUARDIAN_OF_PERSON, 18)
    assert not acts_for_patient(RequesterKind.GUARDIAN_OF_PERSON, 17)
    assert not acts_for_patient(RequesterKind.GUARDIAN_OF_PROPERTY, 40)
    assert not acts_for_patient(RequesterKind.PATIENT, 40)


def test_issue15_acc_6_emergency_offers_regulation_to_regulators_only() -> None:
    """ACC-6 / ACC-3 (issue 15 finding 3): what the record's page may offer a pro."""
    bdg, samu = AccessMode.BRIS_DE_GLACE, AccessMode.CENTRE_DE_REGULATION
    regulator = replace(GP, samu_regulator=True)
    assert emergency_offers(facts(regulator, Relation())) == {bdg, samu}
    assert emergency_offers(facts(NURSE, Relation())) == {bdg}
    assert emergency_offers(facts(regulator, Relation(blocked=True))) == set()
    assert emergency_offers(facts(replace(GP, level=AuthLevel.CPE), Relation())) == set()
    assert emergency_offers(facts(PATIENT, Relation())) == set()


def test_issue15_seen_as_is_the_same_decision_for_each_viewer() -> None:
    """« Voir mon dossier comme… »: each viewer's facts, decided by decide_record and
    decide_document like any read."""
    mine = facts(PATIENT, Relation())
    masked = replace(REPORT, masked=True)
    docs = [REPORT, STAY, masked]
    nurse = viewer_facts(mine, Viewer.PROFESSION, "60")
    assert nurse.request.declares_consent
    assert nurse.requester.profession == "60"
    entry, seen = seen_as(nurse, docs, DEFAULT_MATRIX)
    assert entry.allowed
    assert masked not in seen
    assert seen == [d for d in [REPORT, STAY] if decide(nurse, d, DEFAULT_MATRIX).allowed]
    samu = viewer_facts(mine, Viewer.SAMU)
    assert samu.requester.samu_regulator
    assert samu.request.mode is AccessMode.CENTRE_DE_REGULATION
    assert seen_as(samu, docs, DEFAULT_MATRIX)[0].emergency
    refused = viewer_facts(
        facts(PATIENT, Relation(), replace(ADULT, emergency_samu=False)), Viewer.SAMU
    )
    assert seen_as(refused, docs, DEFAULT_MATRIX) == (decide_record(refused), [])
    parent = viewer_facts(facts(PATIENT, Relation(), MINOR), Viewer.REPRESENTATIVE)
    assert parent.requester.kind is RequesterKind.LEGAL_REPRESENTATIVE
    assert seen_as(parent, docs, DEFAULT_MATRIX)[1] == docs
    gp = facts(GP, Relation(medecin_traitant=True))
    assert viewer_facts(gp, Viewer.PRO) is gp
    assert masked in seen_as(gp, docs, DEFAULT_MATRIX)[1]
