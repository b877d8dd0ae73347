"""Talking to the relay, the pure part: which encryption, whose reverse-path, what a reply means."""

from __future__ import annotations

import pytest

from carnet.relay.rules import (
    Stage,
    TlsMode,
    domain_of,
    enhanced_code,
    is_permanent,
    reason,
    reverse_path,
    tls_mode,
    verifies_certificate,
)


@pytest.mark.parametrize(
    ("configured", "port", "demo", "mode"),
    [
        (None, 25, False, TlsMode.REQUIRED),
        (None, 587, True, TlsMode.OPPORTUNISTIC),
        (None, 465, False, TlsMode.IMPLICIT),
        (None, 465, True, TlsMode.IMPLICIT),
        ("opportunistic", 25, False, TlsMode.OPPORTUNISTIC),
        ("required", 25, True, TlsMode.REQUIRED),
        ("implicit", 2465, False, TlsMode.IMPLICIT),
    ],
)
def test_mail_relay_tls_required_by_default_outside_demo_mode(
    configured: str | None, port: int, demo: bool, mode: TlsMode
) -> None:
    assert tls_mode(configured, port, demo) is mode


def test_mail_relay_tls_the_certificate_is_checked_unless_opportunistic_without_a_ca() -> None:
    assert verifies_certificate(TlsMode.REQUIRED, ca_configured=False)
    assert verifies_certificate(TlsMode.IMPLICIT, ca_configured=False)
    assert verifies_certificate(TlsMode.OPPORTUNISTIC, ca_configured=True)
    assert not verifies_certificate(TlsMode.OPPORTUNISTIC, ca_configured=False)


@pytest.mark.parametrize(
    ("stage", "code", "permanent"),
    [
        (Stage.MAIL, 550, True),
        (Stage.RCPT, 550, True),
        (Stage.RCPT, 554, True),
        (Stage.DATA, 552, True),
        (Stage.DATA, 451, False),
        (Stage.RCPT, 421, False),
        (Stage.RCPT, None, False),
        (Stage.AUTH, 535, False),  # our configuration, not the message: kept until fixed
        (Stage.TLS, 554, False),
        (Stage.CONNECT, 554, False),
    ],
)
def test_mail_bounded_outbox_only_a_5xx_to_the_transaction_is_final(
    stage: Stage, code: int | None, permanent: bool
) -> None:
    assert is_permanent(stage, code) is permanent


def test_msg_6_receipts_and_reports_go_with_the_null_reverse_path() -> None:
    assert reverse_path(True, "123@patient.mssante.fr") == ""
    assert reverse_path(False, "123@patient.mssante.fr") == "123@patient.mssante.fr"


def test_mail_relay_replies_read_for_the_queue_and_the_log() -> None:
    assert enhanced_code("5.1.1 Mailbox unknown") == "5.1.1"
    assert enhanced_code("4.7.0   greylisted") == "4.7.0"
    assert enhanced_code("Mailbox unknown 5.1.1") is None
    assert enhanced_code("5.1.10x") is None
    assert reason(451, "4.3.0  Try\r\n again ") == "451 4.3.0 Try again"
    assert len(reason(550, "x" * 1000)) == 300
    assert reason(None, "connection refused") == "connection refused"
    assert domain_of("Dr.Martin@Exemple.MSSante.fr") == "exemple.mssante.fr"
    assert domain_of("") == ""
