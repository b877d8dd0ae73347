"""Logging into one's space in the browser (LC-4): password, second factor by e-mail, sessions.

The password is checked against its argon2 hash; then a 6-digit code goes to the person's e-mail
(``Mailer``: the SMTP relay in production, a sink in tests), or the authenticator app's code is
asked. Only then is a session opened; its secret is the cookie, of which only the SHA-256 is
stored. Every log-in, allowed or refused, is traced (TR-1: the patient's own acts are traced too).
Failures count towards a lock-out of their source (``Source``), not of the person: a browser she
logged in from before keeps working while someone else guesses (issue 15).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.auth import totp
from carnet.blobs.crypto import DecryptionFailed, decrypt, encrypt
from carnet.context import Door, RequestContext
from carnet.db.uow import UnitOfWork
from carnet.errors import Forbidden, IntegrityFailure, Invalid, Refusal, Unauthenticated
from carnet.ids import new_digits, new_id, new_secret
from carnet.keys.service import current_key, key_by_id
from carnet.logs import get_logger
from carnet.population import login_rules as rules
from carnet.population.login_models import LoginChallenge, LoginGuard, LoginSource, WebSession
from carnet.population.models import Patient
from carnet.population.rules import ProfileState
from carnet.settings import Settings

Mailer = Callable[[EmailMessage], None]
log = get_logger(__name__)
_hasher = PasswordHasher()
#: Verified when the identifier matches nobody, so that a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("carnet: nobody has this password")


class CodeNotSent(Refusal):
    code = "code_not_sent"
    status = 503


@dataclass(frozen=True)
class Challenge:
    """The second step: which challenge, where the code went, and (demo without relay) the code."""

    id: str
    sent_to: str
    shown_code: str | None = None
    #: ``email``: a code was sent; ``totp``: the authenticator app's code is asked (issue 15).
    factor: str = "email"


@dataclass(frozen=True)
class OpenedSession:
    token: str
    person_id: str
    #: The secret of the browser's known-device cookie (new, or the one it sent), for the door
    #: to keep on the browser: its next attempts are told apart from a stranger's.
    device: str = ""


@dataclass(frozen=True)
class Source:
    """Where an attempt comes from: the client address's pseudonym (``Runtime.pseudonym``,
    never the address itself), and the known-device cookie's secret if the browser sent one."""

    address: str = ""
    device: str = ""


def _device_id(device: str) -> str:
    return hashlib.sha256(b"device:" + device.encode()).hexdigest()


def _address_id(address: str) -> str:
    return hashlib.sha256(b"address:" + address.encode()).hexdigest()


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def session_id_of(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _web(person_id: str) -> RequestContext:
    return RequestContext.for_patient(person_id, door=Door.WEB)


def _candidates(session: Session, identifier: str) -> list[Patient]:
    kind = rules.identifier_kind(identifier)
    value = identifier.strip()
    if kind == "ins":
        query = select(Patient).where(Patient.ins == value.upper())
    elif kind == "email":
        query = select(Patient).where(Patient.email == value)
    else:
        return []
    return list(
        session.scalars(
            query.where(
                Patient.state == ProfileState.ACTIVATED.value, Patient.password_hash.is_not(None)
            ).limit(10)
        )
    )


def _password_matches(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def _guard(session: Session, patient_id: str) -> LoginGuard:
    guard = session.get(LoginGuard, patient_id, with_for_update=True)
    if guard is None:
        guard = LoginGuard(
            patient_id=patient_id, failures=0, locked_until=None, updated_at=clock.now()
        )
        session.add(guard)
    return guard


def code_email(settings: Settings, to: str, code: str) -> EmailMessage:
    """No medical content, no name: the code and what to do with it."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = "Votre code de connexion / Your log-in code"
    message["Date"] = format_datetime(clock.now())
    message["Message-ID"] = (
        f"<{new_id()}@{settings.mail_from.rpartition('@')[2] or 'carnet.login'}>"
    )
    minutes = int(rules.CODE_LIFETIME.total_seconds() // 60)
    message.set_content(
        f"Bonjour,\n\nVotre code de connexion à votre espace santé : {code}\n"
        f"Il est valable {minutes} minutes. Si vous n'avez pas demandé à vous connecter, "
        "ignorez ce message et changez votre mot de passe.\n\n"
        f"Your log-in code: {code} (valid {minutes} minutes).\n",
        cte="quoted-printable",
    )
    return message


def start_login(
    uow: UnitOfWork,
    settings: Settings,
    identifier: str,
    password: str,
    mailer: Mailer | None,
    source: Source | None = None,
) -> Challenge:
    """First step: INS or e-mail, and the password. On success a code leaves by e-mail (after
    commit); without a relay, demo mode shows it on the page, anything else refuses. A failure
    counts towards the lock-out and is traced, in a transaction that commits before the refusal
    is raised."""
    now = clock.now()
    with uow.transaction() as session:
        person = _password_step(session, identifier, password, now, source or Source())
    if person is None:
        raise Unauthenticated(*rules.LOGIN_REFUSED, code="login_refused")
    if _uses_app(uow, person.id):
        return _challenge(uow, person.id, new_digits(rules.CODE_DIGITS), now, "totp")
    if mailer is None and not settings.demo:
        raise CodeNotSent(
            "Le code de connexion ne peut pas être envoyé (aucun relais de messagerie "
            "configuré) : contactez l'exploitant.",
            "The log-in code cannot be sent (no mail relay configured): contact the operator.",
        )
    code = new_digits(rules.CODE_DIGITS)
    with uow.transaction() as session:
        challenge = LoginChallenge(
            patient_id=person.id,
            id=new_id(),
            code_hash=_hash(code),
            created_at=now,
            expires_at=now + rules.CODE_LIFETIME,
            attempts=0,
            used_at=None,
        )
        session.add(challenge)
    email = person.email or ""
    result = Challenge(challenge.id, rules.masked_email(email), code if mailer is None else None)
    if mailer is not None:
        try:
            mailer(code_email(settings, email, code))
        except (OSError, smtplib.SMTPException):
            raise CodeNotSent(
                "Le code de connexion n'a pas pu être envoyé : réessayez dans un instant.",
                "The log-in code could not be sent: please try again in a moment.",
            ) from None
    return result


def _uses_app(uow: UnitOfWork, person_id: str) -> bool:
    with uow.transaction() as session:
        guard = session.get(LoginGuard, person_id)
        return bool(guard and guard.totp_secret)


def _challenge(uow: UnitOfWork, person_id: str, code: str, now: datetime, factor: str) -> Challenge:
    """A challenge whose code is the app's, not the unused random one kept here."""
    with uow.transaction() as session:
        challenge = LoginChallenge(
            patient_id=person_id,
            id=new_id(),
            code_hash=_hash(code),
            created_at=now,
            expires_at=now + rules.CODE_LIFETIME,
            attempts=0,
            used_at=None,
        )
        session.add(challenge)
    return Challenge(challenge.id, "", None, factor)


_SEALED = "v1:"


def _seal_secret(master: bytes, session: Session, person_id: str, secret: str) -> str:
    """The app's secret sealed with the person's data key, bound to her and to its use: a
    database dump alone gives nobody her codes, and closing her profile forgets it."""
    key_id, key = current_key(session, master, person_id)
    blob = encrypt(key, secret.encode("ascii"), f"{person_id}/login/totp".encode())
    return f"{_SEALED}{key_id}:{base64.b64encode(blob).decode('ascii')}"


def _open_secret(master: bytes, session: Session, person_id: str, stored: str) -> str:
    if not stored.startswith(_SEALED):
        return stored  # set up before migration 0018, when secrets were kept in clear
    key_id, _, body = stored.removeprefix(_SEALED).partition(":")
    key = key_by_id(session, master, person_id, key_id)
    try:
        return decrypt(key, base64.b64decode(body), f"{person_id}/login/totp".encode()).decode()
    except (DecryptionFailed, ValueError):
        log.error("totp_secret_damaged")  # no one named: the operator checks the database
        raise IntegrityFailure(
            "Le réglage de l'application d'authentification est altéré : installez-la de "
            "nouveau, ou connectez-vous avec un code de secours. L'exploitant est alerté.",
            "The authenticator app's setting is damaged: set it up again, or log in with a "
            "recovery code. The operator is alerted.",
        ) from None


def _app_code(
    master: bytes, session: Session, person_id: str, code: str, now: datetime
) -> str | None:
    """The authenticator app's code (once per time step), or a recovery code (once): which
    one was right, or ``None``."""
    guard = session.get(LoginGuard, person_id, with_for_update=True)
    if guard is None or not guard.totp_secret:
        return None
    try:
        secret: str | None = _open_secret(master, session, person_id, guard.totp_secret)
    except IntegrityFailure:
        secret = None  # damaged: her recovery codes still open her space
    step = totp.matching_step(secret, code, now, guard.totp_last_step) if secret else None
    if step is not None:
        guard.totp_last_step = step
        return "totp"
    kept = (guard.recovery_hashes or "").split()
    wanted = totp.recovery_hash(code)
    if any(hmac.compare_digest(wanted, h) for h in kept):
        guard.recovery_hashes = " ".join(h for h in kept if h != wanted)
        return "recovery"
    return None


def _has_app(session: Session, person_id: str) -> bool:
    guard = session.get(LoginGuard, person_id)
    return bool(guard and guard.totp_secret)


def app_enabled(uow: UnitOfWork, person_id: str) -> bool:
    """Whether the person logs in with an authenticator app (else the e-mailed code)."""
    return _uses_app(uow, person_id)


def begin_app(uow: UnitOfWork, master: bytes, person_id: str) -> str:
    """A new secret to set up in the app, pending until a code from it confirms it."""
    secret = totp.new_secret()
    with uow.transaction() as session:
        guard = _guard(session, person_id)
        guard.totp_pending = _seal_secret(master, session, person_id, secret)
        guard.updated_at = clock.now()
    return secret


def confirm_app(uow: UnitOfWork, master: bytes, person_id: str, code: str) -> list[str]:
    """The app's first code confirms the pending secret: from then on it replaces the e-mailed
    code. The recovery codes, shown once (only their hashes are kept). Traced."""
    now = clock.now()
    with uow.transaction() as session:
        guard = _guard(session, person_id)
        pending = guard.totp_pending
        secret = _open_secret(master, session, person_id, pending) if pending else None
        step = totp.matching_step(secret, code, now, None) if secret else None
        if pending is None or step is None:
            raise Invalid(
                "Code de l'application incorrect : vérifiez l'heure du téléphone et réessayez.",
                "Wrong code from the app: check the phone's clock and try again.",
                code="totp_refused",
            )
        codes = totp.new_recovery_codes()
        guard.totp_secret, guard.totp_pending, guard.totp_last_step = pending, None, step
        guard.recovery_hashes = " ".join(totp.recovery_hash(c) for c in codes)
        guard.updated_at = now
        trail.record(
            session,
            _web(person_id),
            Action.CHANGE_SETTINGS,
            patient_id=person_id,
            detail={"second_factor": "totp"},
        )
    return codes


def end_app(uow: UnitOfWork, person_id: str) -> None:
    """Back to the e-mailed code. Traced."""
    with uow.transaction() as session:
        guard = _guard(session, person_id)
        guard.totp_secret = guard.totp_pending = guard.recovery_hashes = None
        guard.totp_last_step, guard.updated_at = None, clock.now()
        trail.record(
            session,
            _web(person_id),
            Action.CHANGE_SETTINGS,
            patient_id=person_id,
            detail={"second_factor": "email"},
        )


def _source_row(
    session: Session, person_id: str, source: Source, now: datetime
) -> tuple[LoginSource, bool]:
    """The row counting this source's attempts on the person's account, and whether it is a
    browser she logged in from before (else the client address stands for the source)."""
    if source.device:
        row = session.get(LoginSource, (person_id, _device_id(source.device)), with_for_update=True)
        if row is not None and rules.device_known(row.last_login_at, now):
            return row, True
    key = (person_id, _address_id(source.address))
    row = session.get(LoginSource, key, with_for_update=True)
    if row is None:
        row = LoginSource(
            patient_id=person_id,
            id=key[1],
            failures=0,
            locked_until=None,
            last_login_at=None,
            updated_at=now,
        )
        session.add(row)
    return row, False


def _password_step(
    session: Session, identifier: str, password: str, now: datetime, source: Source
) -> Patient | None:
    """The person whose password this is, her account open to this source; ``None`` (the
    failure counted against this source, and against unknown sources together, and traced)
    otherwise."""
    candidates = _candidates(session, identifier)
    if not candidates:
        _password_matches(None, password)
        return None
    person = next((p for p in candidates if _password_matches(p.password_hash, password)), None)
    target = person or candidates[0]
    guard = _guard(session, target.id)
    row, known = _source_row(session, target.id, source, now)
    refused = rules.refused_by_lock(row.locked_until, guard.locked_until, known, now)
    if person is not None and not refused:
        row.failures, row.locked_until, row.updated_at = 0, None, now
        return person
    if not rules.is_locked(row.locked_until, now):
        row.failures, row.locked_until = rules.after_failure(row.failures, row.updated_at, now)
    if not known and not rules.is_locked(guard.locked_until, now):
        guard.failures, guard.locked_until = rules.after_failure(
            guard.failures, guard.updated_at, now, rules.MAX_UNKNOWN_FAILURES
        )
        guard.updated_at = now
    row.updated_at = now
    locked = rules.refused_by_lock(row.locked_until, guard.locked_until, known, now)
    trail.record(
        session,
        _web(target.id),
        Action.LOG_IN,
        patient_id=target.id,
        outcome=Outcome.DENIED,
        detail={"step": "password", "locked": locked, "known_device": known},
    )
    return None


def _known_device(session: Session, person_id: str, device: str, now: datetime) -> str:
    """After a complete log-in: the browser is known from now on (its cookie's secret, the one
    it sent if it was already known to this person, else a new one); the person's stale rows
    are swept: address counters past a lock-out's length, browsers unused past
    ``KNOWN_DEVICE``."""
    row = session.get(LoginSource, (person_id, _device_id(device)), with_for_update=True)
    if not device or row is None:
        device = new_secret(32)
        row = LoginSource(
            patient_id=person_id,
            id=_device_id(device),
            failures=0,
            locked_until=None,
            last_login_at=now,
            updated_at=now,
        )
        session.add(row)
    row.last_login_at = row.updated_at = now
    session.execute(
        delete(LoginSource).where(
            LoginSource.patient_id == person_id,
            or_(
                (LoginSource.last_login_at.is_(None))
                & (LoginSource.updated_at < now - rules.LOCK_OUT),
                LoginSource.last_login_at < now - rules.KNOWN_DEVICE,
            ),
        )
    )
    return device


def finish_login(
    uow: UnitOfWork, master: bytes, challenge_id: str, code: str, device: str = ""
) -> OpenedSession:
    """Second step: the code. Right, a session opens, the browser becomes known (``device``:
    the known-device cookie it sent, if any) and the log-in is traced; wrong, the attempt
    counts (a few at most) and is traced."""
    now = clock.now()
    with uow.transaction() as session:
        challenge = session.execute(
            select(LoginChallenge).where(LoginChallenge.id == challenge_id).with_for_update()
        ).scalar_one_or_none()
        if challenge is None:
            raise Unauthenticated(*rules.CODE_REFUSED, code="code_refused")
        usable = rules.code_usable(
            challenge.expires_at, challenge.attempts, challenge.used_at is not None, now
        )
        factor = _app_code(master, session, challenge.patient_id, code, now) if usable else None
        if factor is None:
            right = hmac.compare_digest(challenge.code_hash, _hash(code.strip()))
            factor = "email" if right and not _has_app(session, challenge.patient_id) else None
        if not (usable and factor):
            challenge.attempts += 1
            trail.record(
                session,
                _web(challenge.patient_id),
                Action.LOG_IN,
                patient_id=challenge.patient_id,
                outcome=Outcome.DENIED,
                detail={"step": "code"},
            )
            opened = None  # the attempt counts: committed, then refused below
        else:
            challenge.used_at = now
            opened = _open(session, challenge.patient_id, now)
            opened = replace(
                opened, device=_known_device(session, challenge.patient_id, device, now)
            )
            trail.record(
                session,
                _web(challenge.patient_id),
                Action.LOG_IN,
                patient_id=challenge.patient_id,
                detail={"second_factor": factor},
            )
    if opened is None:
        raise Unauthenticated(*rules.CODE_REFUSED, code="code_refused")
    return opened


def _open(session: Session, person_id: str, now: datetime) -> OpenedSession:
    token = new_secret(32)
    session.add(
        WebSession(
            patient_id=person_id,
            id=session_id_of(token),
            created_at=now,
            last_seen_at=now,
            ended_at=None,
        )
    )
    return OpenedSession(token, person_id)


def demo_login(uow: UnitOfWork, settings: Settings, ins: str) -> OpenedSession:
    """The demo page's one-click log-in: demo mode only, never in production settings."""
    if not settings.demo:
        raise Forbidden(
            "La connexion en un clic n'existe qu'en mode démonstration.",
            "One-click log-in exists in demo mode only.",
            code="not_demo",
        )
    now = clock.now()
    with uow.transaction() as session:
        person = session.execute(
            select(Patient).where(
                Patient.ins == ins.strip().upper(), Patient.state == ProfileState.ACTIVATED.value
            )
        ).scalar_one_or_none()
        if person is None:
            raise Invalid("Profil de démonstration inconnu.", "Unknown demo profile.")
        opened = _open(session, person.id, now)
        trail.record(
            session, _web(person.id), Action.LOG_IN, patient_id=person.id, detail={"demo": True}
        )
        return opened


def session_person(uow: UnitOfWork, token: str) -> str | None:
    """Who a session cookie speaks for, if it is still alive (it then lives on)."""
    if not token:
        return None
    now = clock.now()
    with uow.transaction() as session:
        row = session.execute(
            select(WebSession).where(WebSession.id == session_id_of(token))
        ).scalar_one_or_none()
        if row is None or not rules.session_alive(
            row.created_at, row.last_seen_at, row.ended_at is not None, now
        ):
            return None
        if now - row.last_seen_at > rules.SESSION_IDLE / 30:
            row.last_seen_at = now
        return row.patient_id


def end_session(uow: UnitOfWork, token: str) -> None:
    with uow.transaction() as session:
        row = session.execute(
            select(WebSession).where(WebSession.id == session_id_of(token))
        ).scalar_one_or_none()
        if row is not None and row.ended_at is None:
            row.ended_at = clock.now()
