"""The messaging rules, pure: no database, no socket (Hypothesis where the input is large)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnet.identity.ins import make_ins
from carnet.messaging import rules
from carnet.messaging.rules import (
    ConversationFacts,
    ConversationState,
    CounterpartFacts,
    PharmacyChoice,
    Placement,
    RecipientProblem,
    SenderFacts,
)
from carnet.population.rules import ProfileState

DOMAIN = "patient.mssante.fr"
INS = make_ins("2850475056012")
CORSICAN = make_ins("160022A005005")


def test_id_2_msg_1_the_address_is_the_ins_at_the_patient_domain() -> None:
    assert rules.patient_address(INS, "Patient.MSSante.fr") == f"{INS}@patient.mssante.fr"
    assert rules.ins_of_address(f"{INS}@PATIENT.mssante.fr", DOMAIN) == INS
    assert rules.ins_of_address(f"{CORSICAN.lower()}@{DOMAIN}", DOMAIN) == CORSICAN
    assert rules.ins_of_address(f"{INS}@ailleurs.fr", DOMAIN) is None


@pytest.mark.parametrize(
    "local",
    [INS[:-1], INS + "1", INS[:13] + f"{(int(INS[13:]) + 1) % 100:02d}", "", "contact", INS + "x"],
)
def test_id_1_msg_4_a_wrong_length_or_key_is_invalid(local: str) -> None:
    with pytest.raises(ValueError, match="invalid"):
        rules.ins_of_address(f"{local}@{DOMAIN}", DOMAIN)


@pytest.mark.parametrize(
    ("valid", "state", "problem"),
    [
        (False, ProfileState.ACTIVATED, RecipientProblem.INVALID),
        (True, None, RecipientProblem.ABSENT),
        (True, ProfileState.OPPOSED, RecipientProblem.ABSENT),
        (True, ProfileState.CLOSED, RecipientProblem.CLOSED),
        (True, ProfileState.CREATED, None),
        (True, ProfileState.ACTIVATED, None),
    ],
)
def test_msg_4_msg_5_who_receives(
    valid: bool, state: ProfileState | None, problem: RecipientProblem | None
) -> None:
    assert rules.recipient_problem(valid, state) is problem


def test_msg_4_the_texts_word_for_word() -> None:
    address = f"{INS}@{DOMAIN}"
    start = (
        f"Le message que vous avez envoyé à l'adresse \"{address}\" n'a pas pu être distribué, car "
    )
    assert rules.undeliverable_text(RecipientProblem.ABSENT, address)[0] == (
        start + "cette adresse Mon espace santé n'existe pas."
    )
    assert rules.undeliverable_text(RecipientProblem.CLOSED, address)[0] == (
        start + "la messagerie Mon espace santé de votre destinataire est clôturée."
    )
    assert rules.undeliverable_text(RecipientProblem.INVALID, address)[0] == (
        start + "cette adresse Mon espace santé est invalidé."
    )
    for problem in RecipientProblem:
        fr, en = rules.undeliverable_text(problem, address)
        assert address in fr
        assert address in en
        assert fr != en


@pytest.mark.parametrize(
    ("facts", "refused"),
    [
        (SenderFacts("PER"), False),
        (SenderFacts("ORG"), False),
        (SenderFacts("APP"), False),
        (SenderFacts("CAB"), False),
        (SenderFacts(None), True),
        (SenderFacts("XYZ"), True),
        (SenderFacts("PER", client_certificate_required=True), True),
        (SenderFacts("PER", True, client_certificate_verified=True), False),
        (SenderFacts(None, True, client_certificate_verified=True), True),
    ],
)
def test_msg_2_the_trust_space(facts: SenderFacts, refused: bool) -> None:
    assert (rules.sender_refusal(facts) is not None) is refused


def test_msg_2_msg_3_replies_only_inside_an_open_conversation() -> None:
    assert rules.reply_refusal(ConversationFacts(ConversationState.OPEN, False)) is None
    closed = rules.reply_refusal(ConversationFacts(ConversationState.CLOSED, False))
    assert closed is not None
    assert "clôturé" in closed[0]
    pharmacy = rules.reply_refusal(ConversationFacts(ConversationState.CLOSED, True))
    assert pharmacy is not None
    assert "nouveau message" in pharmacy[0]


@pytest.mark.parametrize(
    ("facts", "allowed"),
    [
        (CounterpartFacts(True, "ORG", True), True),
        (CounterpartFacts(True, "PER", True), False),
        (CounterpartFacts(True, "ORG", False), False),
        (CounterpartFacts(True, "APP", True), False),
        (CounterpartFacts(False, None, False), False),
    ],
)
def test_msg_2_msg_9_the_patient_starts_only_with_a_pharmacys_org_mailbox(
    facts: CounterpartFacts, allowed: bool
) -> None:
    assert (rules.start_refusal(facts) is None) is allowed


@pytest.mark.parametrize(
    ("subject", "header", "fin"),
    [
        ("[FIN]", (), True),
        (" [FIN]\r\n", (), True),
        ("[Fin]", (), False),
        ("[FIN] ", ("x",), True),
        ("RE: [FIN]", (), False),
        ("FIN", (), False),
        ("[FIN].", (), False),
        (None, ("FIN",), True),
        (None, (" fin ",), True),
        ("Bonjour", ("FINI",), False),
        (None, (), False),
    ],
)
def test_msg_3_fin_exactly(subject: str | None, header: tuple[str, ...], fin: bool) -> None:
    assert rules.is_fin(subject, header) is fin


@given(st.text(max_size=50))
def test_msg_3_nothing_but_fin_closes(subject: str) -> None:
    assert rules.is_fin(subject) is (subject.strip(" \t\r\n") == "[FIN]")


def test_threading_keys_in_reply_to_first_then_references_newest_first() -> None:
    keys = rules.thread_keys("<c@x>", "<a@x> <b@x>\r\n <c@x>")
    assert keys == ["<c@x>", "<b@x>", "<a@x>"]
    assert rules.thread_keys(None, None) == []
    assert rules.normalized_message_id("  <id@host> ") == "<id@host>"
    assert rules.normalized_message_id("no brackets") is None
    assert rules.normalized_message_id("<" + "x" * 300 + ">") is None


@given(st.text(max_size=5000), st.text(max_size=5000))
def test_threading_keys_are_bounded_for_any_header(in_reply_to: str, references: str) -> None:
    keys = rules.thread_keys(in_reply_to, references)
    assert len(keys) <= rules.MAX_THREAD_KEYS
    assert len(set(keys)) == len(keys)
    assert all(k.startswith("<") and k.endswith(">") and len(k) <= 252 for k in keys)
    stored = rules.stored_references(references)
    assert len(stored) <= rules.MAX_REFERENCES


@pytest.mark.parametrize(
    ("found", "fin", "placed"),
    [
        (None, False, Placement.NEW),
        (None, True, Placement.NEW),
        (ConversationFacts(ConversationState.OPEN, False), False, Placement.APPEND),
        (ConversationFacts(ConversationState.OPEN, False), True, Placement.APPEND),
        (ConversationFacts(ConversationState.CLOSED, False), False, Placement.NEW),
        (ConversationFacts(ConversationState.CLOSED, True), True, Placement.APPEND),
    ],
)
def test_msg_2_msg_3_where_a_pros_message_goes(
    found: ConversationFacts | None, fin: bool, placed: Placement
) -> None:
    assert rules.placement(found, fin) is placed


def test_answers_subject_and_references() -> None:
    assert rules.reply_subject("Résultats") == "Re: Résultats"
    assert rules.reply_subject("RE: Résultats") == "RE: Résultats"
    assert rules.reply_subject("") == "Re:"
    chain = [f"<{n}@x>" for n in range(30)]
    refs = rules.reply_references(chain, "<30@x>")
    assert refs[0] == "<0@x>"
    assert refs[-1] == "<30@x>"
    assert len(refs) == rules.MAX_REFERENCES


def test_msg_6_receipts_only_inside_the_trust_space() -> None:
    assert rules.receipt_allowed("Dr@Medecin.fr", "dr@medecin.fr", in_directory=False)
    assert rules.receipt_allowed("secretariat@cab.fr", "dr@medecin.fr", in_directory=True)
    assert not rules.receipt_allowed("spy@example.com", "dr@medecin.fr", in_directory=False)


def test_msg_10_the_patients_pharmacies_first() -> None:
    ordered = rules.order_pharmacies(
        [
            PharmacyChoice("b@p", "Pharmacie B", False),
            PharmacyChoice("z@p", "Pharmacie Z", True),
            PharmacyChoice("a@p", "Pharmacie A", False),
            PharmacyChoice("b@p", "Pharmacie B", True),
        ]
    )
    assert [(c.mailbox, c.from_history) for c in ordered] == [
        ("b@p", True),
        ("z@p", True),
        ("a@p", False),
    ]


def test_msg_9_the_prefilled_message_and_the_paper_prescription() -> None:
    assert "ordonnance" in rules.PHARMACY_PREFILL[0]
    assert "ordonnance papier" in rules.PAPER_PRESCRIPTION_REMINDER[0]
    assert "paper prescription" in rules.PAPER_PRESCRIPTION_REMINDER[1]


def test_msg_8_retries_back_off_then_give_up() -> None:
    assert [rules.retry_after(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]
    assert rules.retry_after(50) == timedelta(hours=1)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert not rules.gives_up(start, start + timedelta(hours=47), timedelta(hours=48))
    assert rules.gives_up(start, start + timedelta(hours=48), timedelta(hours=48))


@pytest.mark.parametrize(
    ("why", "delay", "fr_reason", "en_reason"),
    [
        (
            rules.Undelivered.REFUSED,
            timedelta(days=5),
            "le serveur du destinataire l'a refusé (550 inconnue).",
            "the recipient's server refused it (550 inconnue).",
        ),
        (
            rules.Undelivered.EXPIRED,
            timedelta(days=5),
            "ne l'a pas accepté en 5 jours (dernière réponse : 550 inconnue).",
            "did not accept it within 5 days (last answer: 550 inconnue).",
        ),
        (
            rules.Undelivered.EXPIRED,
            timedelta(hours=1),
            "ne l'a pas accepté en 1 heure (dernière",
            "within 1 hour (last",
        ),
        (
            rules.Undelivered.EXPIRED,
            timedelta(days=1),
            "en 1 jour (",
            "within 1 day (",
        ),
        (
            rules.Undelivered.DAMAGED,
            timedelta(days=5),
            "son contenu stocké est altéré.",
            "its stored content is damaged.",
        ),
    ],
)
def test_msg_8_the_notice_says_to_whom_and_why(
    why: rules.Undelivered, delay: timedelta, fr_reason: str, en_reason: str
) -> None:
    fr, en = rules.failure_notice("ph@pharmacie.fr", why, "550 inconnue", delay)
    assert fr.startswith("Votre message n'a pas pu être distribué à ph@pharmacie.fr. Raison : ")
    assert en.startswith("Your message could not be delivered to ph@pharmacie.fr. Reason: ")
    assert fr_reason in fr
    assert en_reason in en


def test_msg_12_a_conversation_the_pro_closed_ends_with_a_message_saying_so() -> None:
    """MSG-12 (seed 000): the patient reads that the professional closed it and that he can no
    longer answer there — in French and in English."""
    closed = rules.reply_refusal(ConversationFacts(ConversationState.CLOSED, False))
    assert closed == (
        "Le professionnel a clôturé cette conversation : vous ne pouvez plus y répondre.",
        "The professional closed this conversation: you can no longer reply.",
    )
