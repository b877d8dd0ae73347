"""The register: the operator's feed a batch at a time (LC-1), activation codes (LC-4), finding a
person by INS, by code or for a token.

Changes of a profile's state are the lifecycle's (``carnet.lifecycle``, through the one table of
``population.rules``): a batch of the feed says which profiles it opposes or gives back
(``Move``), the lifecycle applies them in the batch's transaction.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import islice
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from carnet import clock
from carnet.db.base import table_of
from carnet.db.bulk import (
    Rows,
    converter,
    formatter,
    insert_many,
    select_in,
)
from carnet.db.uow import UnitOfWork
from carnet.errors import Invalid
from carnet.identity.traits import Sex, Traits
from carnet.ids import new_ids, new_secret, new_secrets
from carnet.population.feed import FeedRow, RowError, parse_row
from carnet.population.models import Patient, PatientIns, PendingCode, Representative
from carnet.population.rules import Change, ProfileState, RepresentativeKind

BATCH = 10000
#: An activation code's random bytes (LC-4): 128 bits, 22 characters on the letter.
CODE_BYTES = 16
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
#: The look-ups' columns as the import sends them: an INS and its profile's id
#: (``PatientIns``), a code's hash and its profile's id (``PendingCode``).
INS_LOOKUP = ("ins", "patient_id")
CODE_LOOKUP = ("code_hash", "patient_id")
#: Who opposed a profile (``Patient.opposed_by``).
OPPOSED_BY_PATIENT, OPPOSED_BY_OPERATOR = "patient", "operator"


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
    opposed_by: str | None


class Move(NamedTuple):
    """A change of state the feed asks for a known profile (LC-1): the lifecycle applies it."""

    patient_id: str
    change: Change


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


def numbered_batches(
    rows: Iterable[Mapping[str, str | None]],
) -> Iterator[list[tuple[int, Mapping[str, str | None]]]]:
    """The feed's rows a batch at a time, numbered as lines of the file (the header is line 1)."""
    numbered: Iterator[tuple[int, Mapping[str, str | None]]] = enumerate(rows, start=2)
    while batch := list(islice(numbered, BATCH)):
        yield batch


class ParsedBatch(NamedTuple):
    """A batch of the feed checked (``parse_batch``): each INS's last good row with its line,
    and the rows refused, in the order of the file; its rows made ahead (``FreshRows``) when
    the import expects every profile to be new."""

    rows: dict[str, tuple[int, FeedRow]]
    errors: list[RowError]
    fresh: FreshRows | None = None


class FreshRows(NamedTuple):
    """A batch's rows made ahead as if every profile it names were new, as in a first import's
    batches: stored as they are when the claim of their INS succeeds (``import_batch``),
    dropped otherwise (no letter goes out before its batch is stored)."""

    lookups: Rows  # INS, id: the INS look-up (PatientIns), in the INS's order
    patients: Rows  # in the order of NEW_PATIENT
    codes: Rows  # code hash, id: the codes' look-up (PendingCode)
    links: dict[str, tuple[tuple[str, str], ...]]  # a new patient's representatives
    letters: list[Letter]
    opposed: int
    now: datetime


class FreshMaker:
    """Makes a batch's ``FreshRows`` away from the database — in the import's reader thread,
    while the batch before is stored — with the driver's forms of its values, and the rows'
    ``COPY`` form, made by what was taken once from a connection (``db.bulk.converter``,
    ``db.bulk.formatter``: usable without it, by one other thread)."""

    def __init__(self, connection: Connection, code_days: int) -> None:
        columns = Patient.__table__.c
        self._stamp = converter(connection, columns.created_at, never_null=True)
        self._expiry = converter(connection, columns.activation_expires_at, never_null=True)
        self._birth_date = converter(connection, columns.birth_date, never_null=True)
        self._code_days = code_days
        self._lookups = formatter(connection, table_of(PatientIns), INS_LOOKUP)
        self._patients = formatter(connection, table_of(Patient), NEW_PATIENT)
        self._codes = formatter(connection, table_of(PendingCode), CODE_LOOKUP)

    def __call__(self, batch: ParsedBatch) -> FreshRows:
        now = clock.now()
        expires = now + timedelta(days=self._code_days)
        at, expires_at, birth_date = self._stamp(now), self._expiry(expires), self._birth_date
        expires_on = expires.date()
        opposed_state, created_state = ProfileState.OPPOSED.value, ProfileState.CREATED.value
        count = len(batch.rows)
        ids, codes = new_ids(count), iter(new_secrets(count, CODE_BYTES))
        patients: list[tuple[Any, ...]] = []
        code_rows: list[tuple[bytes, str]] = []
        links: dict[str, tuple[tuple[str, str], ...]] = {}
        letters: list[Letter] = []
        opposed = 0
        for patient_id, (ins, (_line, row)) in zip(ids, batch.rows.items(), strict=True):
            traits = row.traits
            if row.opposed:  # LC-4: an opposed profile gets no code, no letter
                opposed += 1
                code_hash = None
            else:
                code = next(codes)
                letters.append(
                    Letter(ins, traits.first_names, traits.birth_names, code, expires_on)
                )
                code_hash = hash_code(code)
                code_rows.append((code_hash, patient_id))
            patients.append(
                (  # in the order of NEW_PATIENT
                    patient_id,
                    ins,
                    "VALI",
                    traits.birth_names,
                    traits.first_names,
                    row.used_name,
                    traits.sex.value,
                    birth_date(traits.birth_date),
                    traits.birth_place,
                    row.email,
                    row.phone,
                    opposed_state if row.opposed else created_state,
                    at,
                    at,
                    at if row.opposed else None,
                    code_hash,
                    None if code_hash is None else expires_at,
                )
            )
            if row.representatives:
                links[patient_id] = tuple((i, k.value) for i, k in row.representatives)
        # In the INS's order: two feeds naming the same people claim them in one order (the
        # second waits on the first's key instead of the two waiting on each other), and the
        # look-up's index is written a page after the other.
        lookups = sorted(zip(batch.rows, ids, strict=True), key=_first)
        return FreshRows(
            self._lookups(lookups),
            self._patients(patients),
            self._codes(code_rows),
            links,
            letters,
            opposed,
            now,
        )


#: An INS look-up's key (an INS is in a batch once: no need to compare the ids after it).
_first = itemgetter(0)


def parse_batch(batch: list[tuple[int, Mapping[str, str | None]]]) -> ParsedBatch:
    """Each row checked (``parse_row``); an INS given twice with other traits is refused the
    second time. Pure: an import checks the next batch while the database stores this one."""
    parsed: dict[str, tuple[int, FeedRow]] = {}
    errors: list[RowError] = []
    for line, raw in batch:
        try:
            row = parse_row(raw)
        except Invalid as error:
            errors.append(RowError(line, (raw.get("ins") or "").strip(), error.fr, error.en))
            continue
        if row.ins in parsed and not parsed[row.ins][1].traits.matches(row.traits):
            errors.append(_conflict(line, row.ins))
            continue
        parsed[row.ins] = (line, row)
    return ParsedBatch(parsed, errors)


def import_batch(
    session: Session,
    batch: ParsedBatch,
    report: ImportReport,
    code_days: int,
    on_letter: Callable[[Letter], None],
    *,
    expect_new: bool = False,
) -> list[Move]:
    """Create, update (never overwriting an INS known with other traits) in the caller's
    transaction; the changes of state the batch asks for known profiles. A bad row is reported
    with its line and reason and changes nothing. ``expect_new``: the feed's last batch
    created every profile it named (a first import): this one first claims every INS as new
    (``_claimed``), and looks up the known ones only if that fails."""
    moves: list[Move] = []
    parsed = batch.rows
    report.errors.extend(batch.errors)
    if not parsed:
        return moves
    fresh = batch.fresh
    if expect_new and fresh is not None and _claimed(session, fresh.lookups):
        _store_fresh(session, fresh, report, on_letter)
        return moves
    connection = session.connection()
    existing = _known(connection, list(parsed))
    new = {ins: item for ins, item in parsed.items() if ins not in existing}
    if new:  # made as a first import's are, once the look-up has told them apart
        fresh = FreshMaker(connection, code_days)(ParsedBatch(new, []))
        insert_many(connection, table_of(PatientIns), INS_LOOKUP, fresh.lookups)
        _store_fresh(session, fresh, report, on_letter)
    now = clock.now()
    changes: list[dict[str, Any]] = []
    known_links: dict[str, tuple[tuple[str, str], ...]] = {}  # the feed's, to compare
    for ins, (line, row) in parsed.items():
        known = existing.get(ins)
        if known is None:
            continue
        if not _traits_of(known._asdict()).matches(row.traits):
            report.errors.append(_conflict(line, ins))
            continue
        change: dict[str, Any] = {}
        for name in ("email", "phone", "used_name"):
            if getattr(known, name) != getattr(row, name):
                change[name] = getattr(row, name)
        state = ProfileState(known.state)
        if row.opposed and state is not ProfileState.OPPOSED:
            moves.append(Move(known.id, Change.OPPOSE))  # LC-1, LC-5: the space goes
            report.opposed += 1
        elif (
            not row.opposed
            and state is ProfileState.OPPOSED
            and known.opposed_by != OPPOSED_BY_PATIENT  # LC-6: his own opposition stands
        ):
            moves.append(Move(known.id, Change.WITHDRAW_OPPOSITION))
        known_links[known.id] = tuple((i, k.value) for i, k in row.representatives)
        if change:
            changes.append({"b_id": known.id, "updated_at": now, **change})
        if change or (moves and moves[-1].patient_id == known.id):
            report.updated += 1
        else:
            report.unchanged += 1
    for change in changes:
        patient_id = change.pop("b_id")
        session.execute(
            update(Patient).where(Patient.id == patient_id).values(**change),
            execution_options={"synchronize_session": False},
        )
    _sync_representatives(session, known_links, {}, now)
    return moves


def _claimed(session: Session, lookups: Rows) -> bool:
    """Whether every INS of ``lookups`` was new, each now written into the INS look-up
    (``PatientIns``) with its id; when one of them is known already (its key is taken),
    nothing is written. A first import's batches name no known profile: the look-up's own key
    answers "all new" in the write it needs anyway, where a search for known ones would cost
    the server as much again. Concurrent feeds naming one INS: the second waits on the
    first's key, then finds it taken."""
    try:
        with session.begin_nested():
            insert_many(session.connection(), table_of(PatientIns), INS_LOOKUP, lookups)
    except IntegrityError:
        return False
    return True


def _store_fresh(
    session: Session, fresh: FreshRows, report: ImportReport, on_letter: Callable[[Letter], None]
) -> None:
    """New profiles whose INS are in the look-up already (claimed, or written after a
    look-up): their rows as ``FreshMaker`` made them, their letters handed over."""
    connection = session.connection()
    insert_many(connection, table_of(Patient), NEW_PATIENT, fresh.patients)
    insert_many(connection, table_of(PendingCode), CODE_LOOKUP, fresh.codes)
    _sync_representatives(session, {}, fresh.links, fresh.now)
    report.created += len(fresh.patients)
    report.opposed += fresh.opposed
    for letter in fresh.letters:
        on_letter(letter)


def _known(connection: Connection, ins_values: list[str]) -> dict[str, _Known]:
    """The profiles these INS name, by INS."""
    rows = profile_rows_of_ins(connection, _Known._fields, ins_values)
    return {known.ins: known for known in map(_Known._make, rows)}


def profile_rows_of_ins(
    connection: Connection, columns: Sequence[str], ins_values: Sequence[str]
) -> list[tuple[Any, ...]]:
    """The ``columns`` of the profiles these INS name (those that exist), found through the
    look-up keyed by INS (``PatientIns``), then by id. On a distributed register
    ``patients.ins`` has no index (migration 0017): searched there, every batch would read
    every row of every shard. Bypasses the record handle: a feed's own look-up of its
    targets, no patient's data read for a person."""
    ids = [
        patient_id
        for _ins, patient_id in select_in(
            connection, table_of(PatientIns), INS_LOOKUP, "ins", list(ins_values)
        )
    ]
    return select_in(connection, table_of(Patient), tuple(columns), "id", ids)


def _sync_representatives(
    session: Session,
    known: dict[str, tuple[tuple[str, str], ...]],
    new: dict[str, tuple[tuple[str, str], ...]],
    now: Any,
) -> None:
    """The feed says who represents each patient: add what is missing, remove what it no longer
    lists (a known patient's), add a new patient's. A representative added by sharing (LC-7:
    ``shared_by_ins``) is the representatives' own and stays."""
    wanted = {pid: set(pairs) for pid, pairs in known.items()}
    current: dict[str, set[tuple[str, str]]] = {pid: set() for pid in wanted}
    if wanted:
        for r in session.execute(
            select(
                Representative.patient_id, Representative.representative_ins, Representative.kind
            ).where(
                Representative.patient_id.in_(list(wanted)),
                Representative.shared_by_ins.is_(None),  # LC-7: a shared one is not the feed's
            )
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


def new_code(patient: Patient, *, days: int) -> Letter:
    """LC-4: a new one-time code on the profile's row (the earlier one stops working, the count
    of wrong tries starts again); the letter carries the code, shown once."""
    code, now = new_secret(CODE_BYTES), clock.now()
    expires = now + timedelta(days=days)
    patient.activation_code_hash, patient.activation_expires_at = hash_code(code), expires
    patient.activation_failures = 0
    patient.updated_at = now
    return Letter(patient.ins, patient.first_names, patient.birth_names, code, expires.date())


def patient_by_code(session: Session, code: str) -> Patient | None:
    """The profile whose pending letter carries ``code`` (locked: tries count one at a time)."""
    code_hash = hash_code(code.strip())
    patient_id = session.execute(
        select(PendingCode.patient_id).where(PendingCode.code_hash == code_hash)
    ).scalar_one_or_none()
    if patient_id is None:
        return None
    patient = session.get(Patient, patient_id, with_for_update=True)
    # The look-up follows the row in the same transaction; checked again under the row's lock.
    return patient if patient is not None and patient.activation_code_hash == code_hash else None


def id_of_ins(session: Session, ins: str) -> str | None:
    """The register's id of an INS, from the look-up keyed by INS (``PatientIns``): on a
    distributed register a search by INS then reads one shard, and the row by id one more,
    where ``patients.ins`` would be searched on every shard."""
    return session.execute(
        select(PatientIns.patient_id).where(PatientIns.ins == ins)
    ).scalar_one_or_none()


def patient_by_ins(session: Session, ins: str) -> Patient | None:
    patient_id = id_of_ins(session, ins)
    return None if patient_id is None else session.get(Patient, patient_id)


def patient_by_id(session: Session, patient_id: str) -> Patient | None:
    """The register's row of a person (the operator's acts, the daily jobs, the feed's moves)."""
    return session.get(Patient, patient_id, with_for_update=True)


def representatives_of(session: Session, patient_id: str) -> list[tuple[str, str]]:
    """Who represents a patient: ``(INS, kind)`` of each link (LC-7, LC-8)."""
    return [
        (ins, kind)
        for ins, kind in session.execute(
            select(Representative.representative_ins, Representative.kind).where(
                Representative.patient_id == patient_id
            )
        )
    ]


def add_representative(
    session: Session, patient_id: str, ins: str, kind: RepresentativeKind, *, shared_by: str
) -> None:
    """LC-7: a representative added by sharing (``shared_by``: who shared); the feed leaves it."""
    session.add(
        Representative(
            patient_id=patient_id,
            representative_ins=ins,
            kind=kind.value,
            since=clock.now(),
            shared_by_ins=shared_by,
        )
    )


def person_id_for_ins(uow: UnitOfWork, ins: str) -> str | None:
    """Who a patient token speaks for: the register's id of that INS."""
    with uow.transaction() as session:
        return id_of_ins(session, ins)
