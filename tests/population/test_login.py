"""LC-4 log-in use cases: password then a code by e-mail, lock-out, sessions that end."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from email.message import EmailMessage

import pytest
from factories import add_patient
from smtp_support import relay_sink, with_settings
from web_support import PASSWORD, set_password

from carnet.audit.models import Trace
from carnet.auth import totp
from carnet.clock import FixedClock
from carnet.errors import Forbidden, Unauthenticated
from carnet.notify.service import smtp_mailer
from carnet.population import login, login_rules
from carnet.population.login_models import LoginGuard, LoginSource
from carnet.runtime import Runtime


def _code(outbox: list[EmailMessage]) -> str:
    found = re.search(r"\b(\d{6})\b", outbox[-1].get_content())
    assert found
    return found.group(1)


def test_lc_4_password_then_code_opens_a_session_and_is_traced(rt: Runtime) -> None:
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    outbox: list[EmailMessage] = []
    challenge = login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, outbox.append)
    assert challenge.sent_to == "c•••@example.org"
    assert challenge.shown_code is None
    assert outbox[-1]["To"] == "claire@example.org"
    opened = login.finish_login(rt.uow, rt.master_key, challenge.id, _code(outbox))
    assert login.session_person(rt.uow, opened.token) == patient.id
    with rt.transaction() as session:
        actions = [t.action for t in session.query(Trace).filter_by(patient_id=patient.id)]
    assert "log_in" in actions
    login.end_session(rt.uow, opened.token)
    assert login.session_person(rt.uow, opened.token) is None


def test_lc_4_a_code_is_used_once_and_tried_a_few_times(rt: Runtime) -> None:
    patient = add_patient(rt)
    set_password(rt, patient)
    outbox: list[EmailMessage] = []
    challenge = login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, outbox.append)
    code = _code(outbox)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(login_rules.CODE_ATTEMPTS):
        with pytest.raises(Unauthenticated):
            login.finish_login(rt.uow, rt.master_key, challenge.id, wrong)
    with pytest.raises(Unauthenticated):
        login.finish_login(rt.uow, rt.master_key, challenge.id, code)


def test_lc_4_lock_out_after_repeated_failures_then_free_again(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    patient = add_patient(rt)
    set_password(rt, patient)
    sent: list[EmailMessage] = []
    for _ in range(login_rules.MAX_FAILURES):
        with pytest.raises(Unauthenticated):
            login.start_login(rt.uow, rt.settings, patient.ins, "wrong password!", None)
    with pytest.raises(Unauthenticated):
        login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, sent.append)
    fixed_clock.advance(login_rules.LOCK_OUT + timedelta(seconds=1))
    assert login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, sent.append).id


def test_lc_4_idle_session_ends(rt: Runtime, fixed_clock: FixedClock) -> None:
    patient = add_patient(rt)
    demo = rt.settings.model_copy(update={"demo": True})
    opened = login.demo_login(rt.uow, demo, patient.ins)
    fixed_clock.advance(login_rules.SESSION_IDLE + timedelta(seconds=1))
    assert login.session_person(rt.uow, opened.token) is None


def test_lc_4_one_click_log_in_only_in_demo_mode(rt: Runtime) -> None:
    patient = add_patient(rt)
    with pytest.raises(Forbidden):
        login.demo_login(rt.uow, rt.settings, patient.ins)


def test_lc_4_unknown_identifier_answers_like_a_wrong_password(rt: Runtime) -> None:
    with pytest.raises(Unauthenticated) as refused:
        login.start_login(rt.uow, rt.settings, "nobody@example.org", PASSWORD, None)
    assert refused.value.fr == login_rules.LOGIN_REFUSED[0]


def test_lc_4_mail_relay_tls_required_the_code_leaves_encrypted(rt: Runtime) -> None:
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    with relay_sink() as (sink, to_relay):
        relayed = with_settings(rt, **to_relay)
        login.start_login(
            relayed.uow, relayed.settings, patient.ins, PASSWORD, smtp_mailer(relayed.settings)
        )
    [seen] = sink.seen
    [(_, rcpt_tos, message)] = sink.received
    assert seen.tls is not None
    assert rcpt_tos == ["claire@example.org"]
    assert message["Date"]
    assert message["Message-ID"].endswith("@carnet.localhost>")
    assert re.search(r"\b\d{6}\b", message.get_content())


def _log_in(rt: Runtime, patient_ins: str, source: login.Source, password: str = PASSWORD) -> str:
    """A whole log-in from ``source``: the known-device secret the browser keeps after it."""
    outbox: list[EmailMessage] = []
    challenge = login.start_login(rt.uow, rt.settings, patient_ins, password, outbox.append, source)
    return login.finish_login(
        rt.uow, rt.master_key, challenge.id, _code(outbox), source.device
    ).device


def _fail(rt: Runtime, patient_ins: str, source: login.Source, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Unauthenticated):
            login.start_login(rt.uow, rt.settings, patient_ins, "wrong password!", None, source)


def test_lc_4_whoever_knows_an_ins_locks_out_his_own_attempts_not_the_persons_browser(
    rt: Runtime,
) -> None:
    """Issue 15: five wrong passwords from a stranger lock the stranger's source; the browser
    the person logged in from before, and even another address of hers, still get in."""
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    device = _log_in(rt, patient.ins, login.Source(address="home"))
    assert device
    stranger = login.Source(address="stranger")
    _fail(rt, patient.ins, stranger, login_rules.MAX_FAILURES)
    with pytest.raises(Unauthenticated):  # locked: even the right password is refused there
        login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, None, stranger)
    assert _log_in(rt, patient.ins, login.Source(address="café", device=device)) == device
    assert _log_in(rt, patient.ins, login.Source(address="work"))


def test_lc_4_guessing_spread_over_many_addresses_locks_unknown_sources_only(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    device = _log_in(rt, patient.ins, login.Source(address="home"))
    per_address = login_rules.MAX_FAILURES - 1
    addresses = -(-login_rules.MAX_UNKNOWN_FAILURES // per_address)
    for n in range(addresses):
        _fail(rt, patient.ins, login.Source(address=f"botnet-{n}"), per_address)
    with pytest.raises(Unauthenticated):
        _log_in(rt, patient.ins, login.Source(address="a new phone"))
    assert _log_in(rt, patient.ins, login.Source(address="elsewhere", device=device)) == device
    fixed_clock.advance(login_rules.LOCK_OUT + timedelta(seconds=1))
    assert _log_in(rt, patient.ins, login.Source(address="a new phone"))


def test_lc_4_a_forged_device_cookie_counts_as_its_address(rt: Runtime) -> None:
    """A device secret this person never logged in with is a stranger's: no way round the
    lock-out by making one up."""
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    forged = login.Source(address="stranger", device="made-up")
    _fail(rt, patient.ins, forged, login_rules.MAX_FAILURES)
    with pytest.raises(Unauthenticated):
        _log_in(rt, patient.ins, login.Source(address="stranger", device="another made-up"))


def test_lc_4_refusals_say_whether_the_browser_was_known_and_never_store_the_address(
    rt: Runtime,
) -> None:
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    _fail(rt, patient.ins, login.Source(address="203.0.113.9"), 1)
    with rt.transaction() as session:
        [denied] = session.query(Trace).filter_by(patient_id=patient.id, outcome="denied").all()
        ids = [row.id for row in session.query(LoginSource).filter_by(patient_id=patient.id)]
    assert json.loads(denied.detail or "") == {
        "step": "password",
        "locked": False,
        "known_device": False,
    }
    assert ids
    assert all("203.0.113.9" not in i for i in ids)


def test_lc_4_failures_long_apart_lock_nothing() -> None:
    now = FixedClock().now()
    failures, last = 0, None
    for _ in range(login_rules.MAX_FAILURES * 3):
        failures, locked = login_rules.after_failure(failures, last, now)
        assert locked is None
        last, now = now, now + login_rules.LOCK_OUT + timedelta(seconds=1)


def _with_app(rt: Runtime, person_id: str, clock: FixedClock) -> tuple[str, list[str]]:
    """The person sets up an authenticator app: its secret, and her recovery codes."""
    secret = login.begin_app(rt.uow, rt.master_key, person_id)
    codes = login.confirm_app(rt.uow, rt.master_key, person_id, totp.code_at(secret, clock.now()))
    return secret, codes


def _app_code_in(rt: Runtime, challenge_id: str, code: str) -> login.OpenedSession:
    return login.finish_login(rt.uow, rt.master_key, challenge_id, code)


def test_issue15_the_app_secret_is_sealed_with_the_persons_key(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    """A database dump alone gives nobody the person's app codes: the secret is kept sealed
    with her data key, and the app's code still opens her space."""
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    secret, _ = _with_app(rt, patient.id, fixed_clock)
    with rt.transaction() as session:
        guard = session.get(LoginGuard, patient.id)
        assert guard is not None
        assert guard.totp_secret
        stored = guard.totp_secret
    assert secret not in stored
    assert stored.startswith("v1:")
    fixed_clock.advance(timedelta(minutes=1))
    challenge = login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, None)
    assert challenge.factor == "totp"
    opened = _app_code_in(rt, challenge.id, totp.code_at(secret, fixed_clock.now()))
    assert opened.person_id == patient.id


def test_issue15_an_app_secret_kept_in_clear_before_sealing_still_works(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    secret = totp.new_secret()
    with rt.transaction() as session:
        session.add(
            LoginGuard(
                patient_id=patient.id,
                failures=0,
                locked_until=None,
                updated_at=fixed_clock.now(),
                totp_secret=secret,
            )
        )
    challenge = login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, None)
    opened = _app_code_in(rt, challenge.id, totp.code_at(secret, fixed_clock.now()))
    assert opened.person_id == patient.id


def test_issue15_a_damaged_app_secret_still_lets_a_recovery_code_in(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    secret, codes = _with_app(rt, patient.id, fixed_clock)
    with rt.transaction() as session:
        guard = session.get(LoginGuard, patient.id)
        assert guard is not None
        assert guard.totp_secret
        guard.totp_secret = guard.totp_secret[:-8] + "AAAAAAA="  # altered at rest
    fixed_clock.advance(timedelta(minutes=1))
    challenge = login.start_login(rt.uow, rt.settings, patient.ins, PASSWORD, None)
    with pytest.raises(Unauthenticated):  # the app's code can no longer be checked
        _app_code_in(rt, challenge.id, totp.code_at(secret, fixed_clock.now()))
    opened = _app_code_in(rt, challenge.id, codes[0])
    assert opened.person_id == patient.id


def test_lc_4_stale_sources_are_swept_at_the_next_log_in(
    rt: Runtime, fixed_clock: FixedClock
) -> None:
    """Counters of addresses past a lock-out's length, and browsers unused for longer than a
    device stays known, do not pile up: the next complete log-in sweeps them."""
    patient = add_patient(rt, email="claire@example.org")
    set_password(rt, patient)
    _log_in(rt, patient.ins, login.Source(address="old phone"))
    _fail(rt, patient.ins, login.Source(address="typo"), 1)
    fixed_clock.advance(login_rules.KNOWN_DEVICE + timedelta(days=1))
    device = _log_in(rt, patient.ins, login.Source(address="new phone"))
    with rt.transaction() as session:
        kept = session.query(LoginSource).filter_by(patient_id=patient.id).all()
    # the old phone and the typo are gone; left: this log-in's address and its browser
    assert sorted(row.last_login_at is not None for row in kept) == [False, True]
    assert _log_in(rt, patient.ins, login.Source(address="x", device=device)) == device
