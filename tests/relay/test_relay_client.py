"""Carnet as a client of its relay, over real sockets: aiosmtpd relays run here with a test
authority, in every mode the settings allow (issue: mail that leaves Carnet, encrypted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from smtp_support import relay_sink

from carnet.relay.client import RelayConfig, RelayError, send
from carnet.relay.rules import Stage, TlsMode
from carnet.settings import Settings

MESSAGE = (
    b"From: <ne-pas-repondre@carnet.exemple.fr>\r\nTo: <claire@example.org>\r\n"
    b"Subject: test\r\nMessage-ID: <1@carnet.exemple.fr>\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000"
    b"\r\n\r\nBonjour\r\n"
)


def _config(tmp_path: Path, relay: dict[str, Any], **more: Any) -> RelayConfig:
    config = RelayConfig.from_settings(Settings(data_dir=tmp_path, **{**relay, **more}))
    assert config is not None
    return config


def _send(config: RelayConfig) -> str | None:
    return send(
        config, "ne-pas-repondre@carnet.exemple.fr", ["claire@example.org"], MESSAGE
    ).tls_version


def test_mail_relay_tls_required_starttls_verified_and_carnet_named_in_ehlo(
    tmp_path: Path,
) -> None:
    with relay_sink() as (sink, relay):
        config = _config(tmp_path, relay, smtp_hostname="mss.carnet.exemple.fr")
        assert config.tls is TlsMode.REQUIRED
        version = _send(config)
    [seen] = sink.seen
    assert version is not None
    assert version.startswith("TLSv1.")
    assert seen.tls == version
    assert seen.helo == "mss.carnet.exemple.fr"
    assert (seen.mail_from, seen.rcpt_tos) == (
        "ne-pas-repondre@carnet.exemple.fr",
        ("claire@example.org",),
    )


def test_mail_relay_ehlo_defaults_to_the_patient_mail_domain(tmp_path: Path) -> None:
    with relay_sink() as (sink, relay):
        _send(_config(tmp_path, relay))
    assert [s.helo for s in sink.seen] == ["patient.mssante.fr"]


def test_mail_relay_tls_required_never_sends_in_clear(tmp_path: Path) -> None:
    with relay_sink(starttls=False) as (sink, relay), pytest.raises(RelayError) as failed:
        _send(_config(tmp_path, relay))
    assert (failed.value.stage, failed.value.permanent) == (Stage.TLS, False)
    assert "STARTTLS" in failed.value.reason
    assert sink.seen == []


@pytest.mark.parametrize(
    "relay_options",
    [{"trusted": False}, {"cert_host": "127.0.0.2"}],
    ids=["other_ca", "other_name"],
)
def test_mail_relay_tls_required_a_certificate_that_does_not_verify_stops_the_mail(
    tmp_path: Path, relay_options: dict[str, Any]
) -> None:
    with relay_sink(**relay_options) as (sink, relay), pytest.raises(RelayError) as failed:
        _send(_config(tmp_path, relay))
    assert (failed.value.stage, failed.value.permanent) == (Stage.TLS, False)
    assert "not trusted" in failed.value.reason
    assert sink.seen == []


def test_mail_relay_tls_required_checks_against_the_system_store_without_a_ca(
    tmp_path: Path,
) -> None:
    with relay_sink() as (sink, relay), pytest.raises(RelayError) as failed:
        _send(_config(tmp_path, relay, smtp_relay_ca_file=None))
    assert failed.value.stage is Stage.TLS
    assert sink.seen == []


def test_mail_relay_tls_opportunistic_encrypts_whenever_offered(tmp_path: Path) -> None:
    with relay_sink() as (sink, relay):
        config = _config(tmp_path, relay, smtp_relay_ca_file=None, demo=True)
        assert config.tls is TlsMode.OPPORTUNISTIC
        assert _send(config) is not None  # the test authority is not trusted: not checked
    with relay_sink(starttls=False) as (plain, relay):
        assert _send(_config(tmp_path, relay, smtp_relay_tls="opportunistic")) is None
    assert [s.tls is not None for s in (*sink.seen, *plain.seen)] == [True, False]


def test_mail_relay_tls_opportunistic_checks_a_configured_ca(tmp_path: Path) -> None:
    with relay_sink(trusted=False) as (sink, relay), pytest.raises(RelayError):
        _send(_config(tmp_path, relay, smtp_relay_tls="opportunistic"))
    assert sink.seen == []


def test_mail_relay_tls_implicit_on_port_465_style(tmp_path: Path) -> None:
    with relay_sink(implicit=True) as (sink, relay):
        config = _config(tmp_path, relay)
        assert config.tls is TlsMode.IMPLICIT
        version = _send(config)
    assert version is not None
    assert [s.tls for s in sink.seen] == [version]


class Accounts:
    """The relay's authenticator (aiosmtpd): one account."""

    def __call__(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        ok = (auth_data.login, auth_data.password) == (b"carnet", b"s3cret-relais")
        return AuthResult(success=ok, handled=False)


def test_mail_relay_auth_after_starttls(tmp_path: Path) -> None:
    with relay_sink(authenticator=Accounts()) as (sink, relay):
        good = _config(
            tmp_path, relay, smtp_relay_username="carnet", smtp_relay_password="s3cret-relais"
        )
        assert "s3cret" not in repr(good)
        _send(good)
        bad = _config(tmp_path, relay, smtp_relay_username="carnet", smtp_relay_password="faux")
        with pytest.raises(RelayError) as refused:
            _send(bad)
    assert (refused.value.stage, refused.value.code, refused.value.permanent) == (
        Stage.AUTH,
        535,
        False,
    )
    assert len(sink.seen) == 1


def test_mail_relay_auth_never_over_a_connection_in_clear(tmp_path: Path) -> None:
    with relay_sink(starttls=False) as (sink, relay), pytest.raises(RelayError) as refused:
        _send(
            _config(
                tmp_path,
                relay,
                smtp_relay_tls="opportunistic",
                smtp_relay_username="carnet",
                smtp_relay_password="s3cret-relais",
            )
        )
    assert refused.value.stage is Stage.AUTH
    assert sink.seen == []


@pytest.mark.parametrize(
    ("where", "reply", "permanent", "enhanced"),
    [
        ("rcpt", "550 5.1.1 Mailbox unknown", True, "5.1.1"),
        ("rcpt", "451 4.3.0 Try again later", False, "4.3.0"),
        ("data", "554 5.6.0 Content refused", True, "5.6.0"),
        ("data", "452 4.3.1 Insufficient storage", False, "4.3.1"),
    ],
)
def test_mail_bounded_outbox_replies_are_permanent_or_temporary(
    tmp_path: Path, where: str, reply: str, permanent: bool, enhanced: str
) -> None:
    with relay_sink() as (sink, relay):
        if where == "rcpt":
            sink.refuse_rcpt_with = reply
        else:
            sink.refuse_with = reply
        with pytest.raises(RelayError) as refused:
            _send(_config(tmp_path, relay))
    error = refused.value
    assert (error.stage.value, error.code, error.permanent) == (where, int(reply[:3]), permanent)
    assert error.text.startswith(enhanced)
    assert error.reason == reply


def test_mail_relay_down_is_temporary(tmp_path: Path) -> None:
    with pytest.raises(RelayError) as failed:
        _send(_config(tmp_path, {"smtp_relay": "127.0.0.1:1"}))
    assert (failed.value.stage, failed.value.permanent) == (Stage.CONNECT, False)


@pytest.mark.parametrize(
    ("relay", "host", "port"),
    [
        ("smtp.exemple.fr:587", "smtp.exemple.fr", 587),
        ("smtp.exemple.fr", "smtp.exemple.fr", 25),
        ("[::1]:2525", "::1", 2525),
        (":2525", "127.0.0.1", 2525),
    ],
)
def test_mail_relay_address_forms(tmp_path: Path, relay: str, host: str, port: int) -> None:
    config = _config(tmp_path, {"smtp_relay": relay})
    assert (config.host, config.port) == (host, port)
