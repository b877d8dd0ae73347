"""The operator's feed of reimbursed care and vaccinations (DOC-1): ``carnet care import FILE``.

CSV, ``,`` or ``;`` separated, one act a line: ``ins, date, act, rpps, finess, pharmacy, label``
(required: ``ins``, ``date`` (YYYY-MM-DD), ``act`` (``profile/data/care_acts.csv``), ``label``,
and the pro's RPPS, the establishment's FINESS or the pharmacy's FINESS), then optional
``vaccine`` (a vaccine of ``vaccines.csv`` or its CVX code, for a ``VACCINATION`` act) and
``secret`` (1: the minor asked that this act be kept from his representatives).

Streamed in batches, each committed with its traces; idempotent: a line's id is the digest of its
content, so the same line fed again is recognised and left as it is. A bad line is reported with
its number and reason and changes nothing. DOC-9: the reimbursement of an act a minor may keep
secret (abortion, contraception…, or flagged ``secret``) never enters the record of a patient who
was a minor that day; such lines are counted, not stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from itertools import islice
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.profile_feed import FeedTarget, feed_targets, lines_already_fed
from carnet.access.rules import Section, Why, section_target
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.db.base import table_of
from carnet.db.bulk import converter, insert_many, to_driver
from carnet.db.uow import UnitOfWork
from carnet.errors import Invalid
from carnet.identity.ins import validate_ins
from carnet.population.feed import TRUE, YES_OR_NO, FeedValues, RowError, read_feed
from carnet.profile import catalog, rules
from carnet.profile.models import CareLine, Vaccination

BATCH = 10_000
REQUIRED = ("ins", "date", "act", "label")
CARE_COLUMNS = (
    "patient_id",
    "id",
    "care_date",
    "act",
    "rpps",
    "finess",
    "pharmacy_finess",
    "label",
    "vaccine",
    "secret",
    "imported_at",
)
VACCINATION_COLUMNS = (
    "patient_id",
    "id",
    "vaccine",
    "given_on",
    "dose",
    "lot",
    "source",
    "author_id",
    "created_at",
    "updated_at",
)

__all__ = ["CareReport", "CareRow", "import_care", "parse_care_row", "read_feed"]


class CareRow(NamedTuple):
    """A checked line (a tuple: a feed has millions)."""

    id: str  # the digest of the line's content: the same line is the same row
    ins: str
    day: date
    act: str
    rpps: str | None
    finess: str | None
    pharmacy: str | None
    label: str
    vaccine: str | None
    secret: bool


@dataclass
class CareReport:
    added: int = 0
    vaccinations: int = 0
    unchanged: int = 0
    #: DOC-9: reimbursements of a minor's secret acts, never brought into the record.
    kept_out: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.added + self.unchanged + self.kept_out + len(self.errors)


def _bad_identifier(value: str, digits: int, what: tuple[str, str]) -> Invalid:
    return Invalid(
        f"{what[0]} : {digits} caractères attendus ({value}).",
        f"{what[1]}: {digits} characters expected ({value}).",
        code="bad_identifier",
    )


def _finess(value: str, what: tuple[str, str]) -> str:
    if len(value) == 9 and (value.isdigit() or (value[:2] in ("2A", "2B") and value[2:].isdigit())):
        return value
    raise _bad_identifier(value, 9, what)


_ACT = ("Acte", "Act")
_LABEL = ("Libellé", "Label")
_PHARMACY = ("Pharmacie", "Pharmacy")
_FINESS = ("FINESS", "FINESS")


def parse_care_row(
    raw: Mapping[str, str | None], checked_ins: dict[str, str] | None = None
) -> CareRow:
    """A checked line, or ``Invalid`` naming its first problem (French and English).
    ``checked_ins``: the INS already found valid in this feed (a patient has many lines). Run
    once per line of a feed of millions: written for speed, each check in the order given."""
    values = (
        raw
        if type(raw) is FeedValues
        else {k.strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
    )
    get = values.get
    for name in REQUIRED:
        if not get(name):
            raise Invalid(
                f"Colonne manquante : {name}.", f"Missing column: {name}.", code="missing_column"
            )
    text: str = values["ins"]
    ins = checked_ins.get(text) if checked_ins is not None else None
    if ins is None:
        ins = validate_ins(text)
        if checked_ins is not None and len(checked_ins) < 100_000:
            checked_ins[text] = ins
    day_text: str = values["date"]
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise Invalid(
            "Date illisible (AAAA-MM-JJ).", "Unreadable date (YYYY-MM-DD).", code="bad_date"
        ) from None
    act: str = values["act"]
    kind = catalog.CARE_ACTS.get(act) or catalog.CARE_ACTS.get(act.upper())
    if kind is None:
        rules.known(act, catalog.CARE_ACTS, _ACT)
        raise AssertionError("unreachable")
    rpps = get("rpps") or None
    if rpps is not None and not (len(rpps) == 11 and rpps.isdigit()):
        raise _bad_identifier(rpps, 11, ("RPPS", "RPPS"))
    finess = get("finess") or None
    if finess is not None:
        _finess(finess, _FINESS)
    pharmacy = get("pharmacy") or None
    if pharmacy is not None:
        _finess(pharmacy, _PHARMACY)
    if rpps is None and finess is None and pharmacy is None:
        raise Invalid(
            "Le professionnel (RPPS), l'établissement ou la pharmacie (FINESS) manque.",
            "The professional (RPPS), the establishment or the pharmacy (FINESS) is missing.",
            code="missing_actor",
        )
    label: str = values["label"]
    if len(label) > rules.LABEL_MAX or type(raw) is not FeedValues or rules.has_controls(label):
        label = rules.text(label, rules.LABEL_MAX, _LABEL, required=True)
    vaccine_text = get("vaccine")
    vaccine = rules.vaccine_code(vaccine_text) if vaccine_text else None
    if kind.vaccination != (vaccine is not None):
        raise Invalid(
            "Une vaccination nomme son vaccin, et seule une vaccination.",
            "A vaccination names its vaccine, and only a vaccination does.",
            code="vaccine_mismatch",
        )
    secret_text = get("secret")
    secret = False
    if secret_text:
        secret_text = secret_text.lower()
        if secret_text not in YES_OR_NO:
            raise Invalid("Secret : 1 ou 0.", "Secret: 1 or 0.", code="bad_secret")
        secret = secret_text in TRUE
    key = f"{ins}|{day_text}|{kind.code}|{rpps or ''}|{finess or ''}|{pharmacy or ''}|{label}|{vaccine or ''}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return CareRow(digest, ins, day, kind.code, rpps, finess, pharmacy, label, vaccine, secret)


def import_care(
    uow: UnitOfWork,
    ctx: RequestContext,
    rows: Iterable[Mapping[str, str | None]],
    *,
    on_batch: Callable[[CareReport], None] = lambda _: None,
) -> CareReport:
    """Feed the reimbursed care and the vaccinations, one committed batch at a time; the lines
    numbered as lines of the file (the header is line 1)."""
    report = CareReport()
    numbered: Iterator[tuple[int, Mapping[str, str | None]]] = enumerate(rows, start=2)
    while batch := list(islice(numbered, BATCH)):
        with uow.transaction() as session:
            _import_batch(session, ctx, batch, report)
        report.errors.sort(key=lambda e: e.line)
        on_batch(report)
    with uow.transaction() as session:
        trail.record(
            session,
            ctx,
            Action.IMPORT_CARE,
            patient_id=None,
            detail={
                "added": report.added,
                "vaccinations": report.vaccinations,
                "unchanged": report.unchanged,
                "kept_out": report.kept_out,
                "errors": len(report.errors),
            },
        )
    return report


def _error(line: int, ins: str, fr: str, en: str) -> RowError:
    return RowError(line, ins, fr, en)


def _checked(
    batch: list[tuple[int, Mapping[str, str | None]]], report: CareReport
) -> dict[str, tuple[int, CareRow]]:
    parsed: dict[str, tuple[int, CareRow]] = {}
    checked_ins: dict[str, str] = {}
    for line, raw in batch:
        try:
            row = parse_care_row(raw, checked_ins)
        except Invalid as error:
            report.errors.append(_error(line, (raw.get("ins") or "").strip(), error.fr, error.en))
            continue
        if row.id in parsed:
            report.unchanged += 1  # the same line twice in one batch
            continue
        parsed[row.id] = (line, row)
    return parsed


def _left_out(
    line: int, row: CareRow, target: FeedTarget | None, today: date, report: CareReport
) -> None:
    """Why a line does not go into a profile, reported (DOC-9's lines are counted only)."""
    if target is None:
        report.errors.append(_error(line, row.ins, "Matricule INS inconnu.", "Unknown INS."))
    elif not target.care.allowed:
        report.errors.append(
            _error(
                line,
                row.ins,
                "Profil fermé ou opposé : rien n'y est versé.",
                "Closed or opposed profile: nothing is fed into it.",
            )
        )
    elif not target.birth_date <= row.day <= today:
        try:
            rules.past_day(row.day, target.birth_date, today, ("Date de l'acte", "Date of the act"))
        except Invalid as error:
            report.errors.append(_error(line, row.ins, error.fr, error.en))
    else:
        report.kept_out += 1  # DOC-9: a minor's secret act


def _import_batch(
    session: Session,
    ctx: RequestContext,
    batch: list[tuple[int, Mapping[str, str | None]]],
    report: CareReport,
) -> None:
    parsed = _checked(batch, report)
    if not parsed:
        return
    targets = feed_targets(session, sorted({row.ins for _, row in parsed.values()}))
    known = lines_already_fed(session, [t.patient_id for t in targets.values()], parsed)
    connection = session.connection()
    now = clock.now()
    today = now.date()
    at = to_driver(connection, CareLine.__table__.c.imported_at, now)
    to_day = converter(connection, CareLine.__table__.c.care_date, never_null=True)
    to_flag = converter(connection, CareLine.__table__.c.secret, never_null=True)
    flags = {False: to_flag(False), True: to_flag(True)}
    days: dict[date, Any] = {}  # a batch spans a few hundred days: each converted once
    lines: list[tuple[Any, ...]] = []
    vaccinations: list[tuple[Any, ...]] = []
    per_patient: dict[str, list[int]] = {}
    for line_id, (line, row) in parsed.items():
        target = targets.get(row.ins)
        if (
            target is None
            or not target.care.allowed
            or not target.birth_date <= row.day <= today
            or (row.day < target.adult_on and rules.minor_secret(row.act, row.secret))
        ):
            _left_out(line, row, target, today, report)
            continue
        if line_id in known:
            report.unchanged += 1
            continue
        patient_id = target.patient_id
        lines.append(
            (
                patient_id,
                line_id,
                days.get(row.day) or days.setdefault(row.day, to_day(row.day)),
                row.act,
                row.rpps,
                row.finess,
                row.pharmacy,
                row.label,
                row.vaccine,
                flags[row.secret],
                at,
            )
        )
        counts = per_patient.setdefault(patient_id, [0, 0])
        counts[0] += 1
        report.added += 1
        if row.vaccine is not None and target.vaccinations.allowed:
            given_on = days[row.day]
            source = author = "operator"
            vaccinations.append(
                (patient_id, line_id, row.vaccine, given_on, None, None, source, author, at, at)
            )
            counts[1] += 1
            report.vaccinations += 1
    insert_many(connection, table_of(CareLine), CARE_COLUMNS, lines)
    insert_many(connection, table_of(Vaccination), VACCINATION_COLUMNS, vaccinations)
    trail.record_many(
        session,
        [
            trail.Entry(
                ctx,
                Action.IMPORT_CARE,
                patient_id,
                target=section_target(Section.REIMBURSED_CARE),
                detail={"lines": care, "vaccinations": vaccines},
                why=Why.OPERATOR_FEED.value,
            )
            for patient_id, (care, vaccines) in sorted(per_patient.items())
        ],
    )
