"""The register's use cases: the operator's feed (LC-1), activation (LC-4), INSi-like look-up (ID-3)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import islice
from typing import Any, NamedTuple

from argon2 import PasswordHasher
from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action, Outcome
from carnet.context import RequestContext
from carnet.db.base import table_of
from carnet.db.bulk import converter, insert_many, select_in, to_driver
from carnet.db.uow import UnitOfWork
from carnet.errors import Invalid, NotFound
from carnet.identity.traits import Sex, Traits
from carnet.ids import new_id, new_secret
from carnet.population.feed import FeedRow, RowError, parse_row
from carnet.population.models import Patient, Representative
from carnet.population.rules import ProfileState

BATCH = 10000
#: The columns of a new profile's row as the import sends them (the others are null: no
#: password, not yet activated or closed).
NEW_PATIENT = (
    "id",
    "ins",
    "ins_status",
    "birth_names",
    "first_names",
    "used_name",
    "sex",
    "birth_date",
    "birth_place",
    "email",
    "phone",
    "state",
    "created_at",
    "updated_at",
    "opposed_at",
    "activation_code_hash",
    "activation_expires_at",
)
_hasher = PasswordHasher()


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    opposed: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + len(self.errors)


class _Known(NamedTuple):
    """A profile the feed names again: what the import compares."""

    id: str
    ins: str
    birth_names: str
    first_names: str
    sex: str
    birth_date: date
    birth_place: str
    state: str
    email: str | None
    phone: str | None
    used_name: str | None


class Letter(NamedTuple):
    """What the operator's letter carries: the code is shown once, then only its hash is kept."""

    ins: str
    first_names: str
    birth_names: str
    code: str
    expires: date


def hash_code(code: str) -> bytes:
    return hashlib.sha256(code.encode()).digest()


def _traits_of(values: dict[str, Any]) -> Traits:
    return Traits(
        values["birth_names"],
        values["first_names"],
        Sex(values["sex"]),
        values["birth_date"],
        values["birth_place"],
    )


def import_population(
    uow: UnitOfWork,
    ctx: RequestContext,
    rows: Iterable[Mapping[str, str | None]],
    *,
    code_days: int = 90,
    on_letter: Callable[[Letter], None] = lambda _: None,
    on_batch: Callable[[ImportReport], None] = lambda _: None,
) -> ImportReport:
    """Create, update or mark opposed, idempotently, one committed batch at a time.

    Rows are numbered as lines of the file (the header is line 1). A bad row is reported with
    its line and reason and changes nothing; an INS already known with other traits is never
    overwritten.
    """
    report = ImportReport()
    numbered: Iterator[tuple[int, Mapping[str, str | None]]] = enumerate(rows, start=2)
    while batch := list(islice(numbered, BATCH)):
        with uow.transaction() as session:
            _import_batch(session, batch, report, code_days, on_letter)
        on_batch(report)
    with uow.transaction() as session:
        trail.record(
            session,
            ctx,
            Action.IMPORT_POPULATION,
            patient_id=None,
            detail={
                "created": report.created,
                "updated": report.updated,
                "opposed": report.opposed,
                "unchanged": report.unchanged,
                "errors": len(report.errors),
            },
        )
    return report


def _import_batch(
    session: Session,
    batch: list[tuple[int, Mapping[str, str | None]]],
    report: ImportReport,
    code_days: int,
    on_letter: Callable[[Letter], None],
) -> None:
    parsed: dict[str, tuple[int, FeedRow]] = {}
    for line, raw in batch:
        try:
            row = parse_row(raw)
        except Invalid as error:
            report.errors.append(RowError(line, (raw.get("ins") or "").strip(), error.fr, error.en))
            continue
        if row.ins in parsed and not parsed[row.ins][1].traits.matches(row.traits):
            report.errors.append(_conflict(line, row.ins))
            continue
        parsed[row.ins] = (line, row)
    if not parsed:
        return
    connection = session.connection()
    existing = {
        known.ins: known
        for known in map(
            _Known._make,
            select_in(connection, table_of(Patient), _Known._fields, "ins", list(parsed)),
        )
    }
    now = clock.now()
    expires = now + timedelta(days=code_days)
    # New rows go straight to the driver (db.bulk): values converted here, the batch's
    # timestamps once for all its rows.
    at = to_driver(connection, Patient.__table__.c.created_at, now)
    birth_date = converter(connection, Patient.__table__.c.birth_date, never_null=True)
    expires_at = to_driver(connection, Patient.__table__.c.activation_expires_at, expires)
    new_patients: list[tuple[Any, ...]] = []
    changes: list[dict[str, Any]] = []
    # Representatives: of new patients (nothing to compare with), of known ones (to compare).
    links: dict[str, tuple[tuple[str, str], ...]] = {}
    known_links: dict[str, tuple[tuple[str, str], ...]] = {}
    for ins, (line, row) in parsed.items():
        known = existing.get(ins)
        if known is None:
            patient_id = new_id()
            state = ProfileState.OPPOSED if row.opposed else ProfileState.CREATED
            # LC-4: a created profile gets its letter's code; an opposed one none.
            code_hash = None if row.opposed else _new_code(row, expires.date(), on_letter)
            new_patients.append(
                (  # in the order of NEW_PATIENT
                    patient_id,
                    ins,
                    "VALI",
                    row.traits.birth_names,
                    row.traits.first_names,
                    row.used_name,
                    row.traits.sex.value,
                    birth_date(row.traits.birth_date),
                    row.traits.birth_place,
                    row.email,
                    row.phone,
                    state.value,
                    at,
                    at,
                    at if row.opposed else None,
                    code_hash,
                    None if code_hash is None else expires_at,
                )
            )
            report.created += 1
            report.opposed += row.opposed
            if row.representatives:
                links[patient_id] = tuple((i, k.value) for i, k in row.representatives)
            continue
        if not _traits_of(known._asdict()).matches(row.traits):
            report.errors.append(_conflict(line, ins))
            continue
        change: dict[str, Any] = {}
        for name in ("email", "phone", "used_name"):
            if getattr(known, name) != getattr(row, name):
                change[name] = getattr(row, name)
        state = ProfileState(known.state)
        if row.opposed and state in (ProfileState.CREATED, ProfileState.ACTIVATED):
            change.update(
                state=ProfileState.OPPOSED.value,
                opposed_at=now,
                activation_code_hash=None,
                activation_expires_at=None,
            )
            report.opposed += 1
        elif not row.opposed and state is ProfileState.OPPOSED:
            change.update(
                state=ProfileState.CREATED.value,
                opposed_at=None,
                activation_code_hash=_new_code(row, expires.date(), on_letter),
                activation_expires_at=expires,
            )
        known_links[known.id] = tuple((i, k.value) for i, k in row.representatives)
        if change:
            changes.append({"b_id": known.id, "updated_at": now, **change})
            report.updated += 1
        else:
            report.unchanged += 1
    insert_many(connection, table_of(Patient), NEW_PATIENT, new_patients)
    for change in changes:
        patient_id = change.pop("b_id")
        session.execute(
            update(Patient).where(Patient.id == patient_id).values(**change),
            execution_options={"synchronize_session": False},
        )
    _sync_representatives(session, known_links, links, now)


def _sync_representatives(
    session: Session,
    known: dict[str, tuple[tuple[str, str], ...]],
    new: dict[str, tuple[tuple[str, str], ...]],
    now: Any,
) -> None:
    """The feed says who represents each patient: add what is missing, remove what it no longer
    lists (a known patient's), add a new patient's."""
    wanted = {pid: set(pairs) for pid, pairs in known.items()}
    current: dict[str, set[tuple[str, str]]] = {pid: set() for pid in wanted}
    if wanted:
        for r in session.execute(
            select(
                Representative.patient_id, Representative.representative_ins, Representative.kind
            ).where(Representative.patient_id.in_(list(wanted)))
        ):
            current[r.patient_id].add((r.representative_ins, r.kind))
    wanted |= {pid: set(pairs) for pid, pairs in new.items()}
    to_add = [
        {
            "patient_id": pid,
            "representative_ins": ins,
            "kind": kind,
            "since": now,
            "shared_by_ins": None,
        }
        for pid, pairs in wanted.items()
        for ins, kind in pairs - current.get(pid, set())
    ]
    for pid, pairs in current.items():
        for ins, _kind in pairs - wanted[pid]:
            session.execute(
                delete(Representative).where(
                    Representative.patient_id == pid, Representative.representative_ins == ins
                )
            )
    if to_add:
        session.execute(insert(table_of(Representative)), to_add)


def _conflict(line: int, ins: str) -> RowError:
    return RowError(
        line,
        ins,
        "Ce matricule INS est déjà connu avec d'autres traits d'identité : ligne ignorée, rien n'est écrasé.",
        "This INS is already known with other identity traits: row skipped, nothing overwritten.",
    )


def _new_code(row: FeedRow, expires: date, on_letter: Callable[[Letter], None]) -> bytes:
    """LC-4: a code for the letter (shown once); the hash the profile's row keeps."""
    code = new_secret(16)
    on_letter(Letter(row.ins, row.traits.first_names, row.traits.birth_names, code, expires))
    return hash_code(code)


def issue_activation_code(
    uow: UnitOfWork, ctx: RequestContext, ins: str, *, days: int = 90
) -> Letter:
    """A new code for a created profile (a lost letter); the earlier code stops working."""
    with uow.transaction() as session:
        patient = session.execute(select(Patient).where(Patient.ins == ins)).scalar_one_or_none()
        if patient is None or patient.state != ProfileState.CREATED:
            raise NotFound(
                "Aucun profil à activer pour ce matricule.", "No profile to activate for this INS."
            )
        code, now = new_secret(16), clock.now()
        expires = now + timedelta(days=days)
        patient.activation_code_hash, patient.activation_expires_at = hash_code(code), expires
        patient.updated_at = now
        return Letter(patient.ins, patient.first_names, patient.birth_names, code, expires.date())


def activate_profile(
    uow: UnitOfWork,
    ctx: RequestContext,
    *,
    code: str,
    birth_date: date,
    email: str,
    password: str,
) -> Patient:
    """LC-4: the code from the letter and the birth date prove identity; the e-mail and password
    are the patient's from then on. A wrong code or date answers the same, and is traced."""
    refused = Invalid(
        "Code d'activation ou date de naissance incorrects, ou code expiré.",
        "Wrong activation code or birth date, or expired code.",
        code="activation_refused",
    )
    if "@" not in email or len(password) < 12:
        raise Invalid(
            "Une adresse e-mail valide et un mot de passe d'au moins 12 caractères sont nécessaires.",
            "A valid e-mail and a password of at least 12 characters are needed.",
            code="bad_credentials",
        )
    with uow.transaction() as session:
        patient = session.execute(
            select(Patient).where(Patient.activation_code_hash == hash_code(code.strip()))
        ).scalar_one_or_none()
        now = clock.now()
        proven = not (
            patient is None
            or patient.activation_expires_at is None
            or patient.activation_expires_at <= now
            or patient.birth_date != birth_date
            or patient.state != ProfileState.CREATED
        )
        if patient is not None and not proven:
            # The failed try is traced and committed; the refusal is raised after the commit.
            trail.record(
                session, ctx, Action.ACTIVATE_PROFILE, patient_id=patient.id, outcome=Outcome.DENIED
            )
        elif patient is not None:
            patient.activation_code_hash = patient.activation_expires_at = None  # single use
            patient.state = ProfileState.ACTIVATED.value
            patient.activated_at = patient.updated_at = now
            patient.email = email.strip()
            patient.password_hash = _hasher.hash(password)
            trail.record(session, ctx, Action.ACTIVATE_PROFILE, patient_id=patient.id)
    if patient is None or not proven:
        raise refused
    return patient


def patient_by_ins(session: Session, ins: str) -> Patient | None:
    return session.execute(select(Patient).where(Patient.ins == ins)).scalar_one_or_none()


def close_profile(uow: UnitOfWork, ctx: RequestContext, patient_id: str) -> None:
    """LC-2: the profile becomes closed; the full closure (LC-5: archives, deletions) comes with
    the lifecycle capability."""
    with uow.transaction() as session:
        patient = session.get(Patient, patient_id)
        if patient is None:
            raise NotFound()
        now = clock.now()
        patient.state, patient.closed_at, patient.updated_at = ProfileState.CLOSED.value, now, now
        trail.record(
            session, ctx, Action.CHANGE_SETTINGS, patient_id=patient_id, detail={"closed": True}
        )


def person_id_for_ins(uow: UnitOfWork, ins: str) -> str | None:
    """Who a patient token speaks for: the register's id of that INS."""
    with uow.transaction() as session:
        return session.execute(select(Patient.id).where(Patient.ins == ins)).scalar_one_or_none()
