"""Loading the directory (ID-4) from a CSV shaped like the Annuaire Santé extraction.

The public extraction (``PS_LibreAcces_Personne_activite``) is ``|``-separated with French
headers; a row is a pro's activity at a site. Carnet reads those headers, plus a few of its own
for what the extraction does not carry (the MSSanté mailbox, the kind of structure, the SAMU
regulator flag). Rows with no RPPS describe a structure and its organisational mailbox.
"""

from __future__ import annotations

import csv
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO

from sqlalchemy import ColumnElement, ScalarSelect, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.db.uow import UnitOfWork
from carnet.identity.models import (
    Establishment,
    EstablishmentKind,
    Mailbox,
    MailboxKind,
    Pro,
    ProEstablishment,
)
from carnet.ids import new_id


def _key(header: str) -> str:
    text = unicodedata.normalize("NFKD", header)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return " ".join(text.replace("_", " ").replace("'", " ").split())


ALIASES: dict[str, str] = {
    _key(k): v
    for k, v in {
        "Identifiant PP": "rpps",
        "rpps": "rpps",
        "Nom d'exercice": "last_name",
        "last_name": "last_name",
        "Prénom d'exercice": "first_name",
        "first_name": "first_name",
        "Libellé civilité d'exercice": "civility",
        "civility": "civility",
        "Code profession": "profession",
        "profession": "profession",
        "Code savoir-faire": "specialty",
        "specialty": "specialty",
        "Numéro FINESS site": "finess",
        "finess": "finess",
        "Raison sociale site": "establishment_name",
        "establishment_name": "establishment_name",
        "Code postal (coord. structure)": "postal_code",
        "postal_code": "postal_code",
        "Libellé commune (coord. structure)": "city",
        "city": "city",
        "Type structure": "establishment_kind",
        "establishment_kind": "establishment_kind",
        "Adresse BAL MSSanté": "mailbox",
        "mailbox": "mailbox",
        "Type BAL": "mailbox_kind",
        "mailbox_kind": "mailbox_kind",
        "Régulateur SAMU": "samu_regulator",
        "samu_regulator": "samu_regulator",
        "BAL hébergée": "hosted_here",
        "hosted_here": "hosted_here",
    }.items()
}


@dataclass
class DirectoryReport:
    pros: int = 0
    establishments: int = 0
    mailboxes: int = 0
    errors: list[tuple[int, str, str]] = field(default_factory=list)


def read_directory(handle: IO[str]) -> Iterator[dict[str, str]]:
    first = handle.readline()
    delimiter = max("|;,", key=first.count)
    header = [ALIASES.get(_key(h), _key(h)) for h in next(csv.reader([first], delimiter=delimiter))]
    for row in csv.reader(handle, delimiter=delimiter):
        yield {h: v.strip() for h, v in zip(header, row, strict=False)}


def import_directory(
    uow: UnitOfWork, ctx: RequestContext, rows: Iterator[dict[str, str]]
) -> DirectoryReport:
    report = DirectoryReport()
    with uow.transaction() as session:
        for line, row in enumerate(rows, start=2):
            problem = _import_row(session, row, report)
            if problem:
                report.errors.append((line, *problem))
        trail.record(
            session,
            ctx,
            Action.IMPORT_DIRECTORY,
            patient_id=None,
            detail={
                "pros": report.pros,
                "establishments": report.establishments,
                "mailboxes": report.mailboxes,
                "errors": len(report.errors),
            },
        )
    return report


def _import_row(
    session: Session, row: dict[str, str], report: DirectoryReport
) -> tuple[str, str] | None:
    now = clock.now()
    rpps = row.get("rpps", "")
    if rpps and (len(rpps) != 11 or not rpps.isdigit()):
        return ("RPPS invalide (11 chiffres).", "Invalid RPPS (11 digits).")
    establishment = None
    if row.get("finess"):
        establishment = session.execute(
            select(Establishment).where(Establishment.finess == row["finess"])
        ).scalar_one_or_none()
        # A pro's row names his site without its kind: the kind already known stays.
        kind = row.get("establishment_kind") or (
            establishment.kind if establishment is not None else EstablishmentKind.PRACTICE.value
        )
        if kind not in {k.value for k in EstablishmentKind}:
            return ("Type de structure inconnu.", "Unknown kind of structure.")
        if establishment is None:
            establishment = Establishment(
                id=new_id(), finess=row["finess"], updated_at=now, name="", kind=kind
            )
            session.add(establishment)
            report.establishments += 1
        establishment.name = row.get("establishment_name") or establishment.name or row["finess"]
        establishment.kind = kind
        establishment.city = row.get("city") or establishment.city
        establishment.postal_code = row.get("postal_code") or establishment.postal_code
        establishment.updated_at = now
    if rpps:
        if not row.get("profession") or not row.get("last_name"):
            return ("Profession ou nom manquant.", "Missing profession or name.")
        pro = session.get(Pro, rpps)
        if pro is None:
            pro = Pro(rpps=rpps, updated_at=now, last_name="", first_name="", profession="")
            session.add(pro)
            report.pros += 1
        pro.last_name, pro.first_name = row["last_name"], row.get("first_name", "")
        pro.civility = row.get("civility") or None
        pro.profession, pro.specialty = row["profession"], row.get("specialty") or None
        pro.samu_regulator = row.get("samu_regulator", "").lower() in ("1", "oui", "true")
        pro.updated_at = now
        session.flush()
        if (
            establishment is not None
            and session.get(ProEstablishment, (rpps, establishment.id)) is None
        ):
            session.add(ProEstablishment(rpps=rpps, establishment_id=establishment.id))
    if row.get("mailbox"):
        kind = row.get("mailbox_kind") or (
            MailboxKind.PERSONAL.value if rpps else MailboxKind.ORGANISATIONAL.value
        )
        if kind not in {k.value for k in MailboxKind}:
            return (
                "Type de BAL inconnu (PER, ORG, APP, CAB).",
                "Unknown mailbox type (PER, ORG, APP, CAB).",
            )
        session.flush()
        box = session.get(Mailbox, row["mailbox"].lower())
        if box is None:
            box = Mailbox(
                address=row["mailbox"].lower(), updated_at=now, kind=kind, display_name=""
            )
            session.add(box)
            report.mailboxes += 1
        box.kind = kind
        box.owner_rpps = rpps or None
        box.establishment_id = establishment.id if establishment else None
        box.display_name = (
            f"{row.get('first_name', '')} {row.get('last_name', '')}".strip()
            if rpps and kind == "PER"
            else (establishment.name if establishment else row["mailbox"])
        )
        box.hosted_here = row.get("hosted_here", "").lower() in ("1", "oui", "true")
        box.updated_at = now
    return None


def establishments_by_finess(session: Session, finess: set[str]) -> set[str]:
    """The ids of the establishments these FINESS numbers name (unknown ones are left out)."""
    if not finess:
        return set()
    return set(
        session.scalars(select(Establishment.id).where(Establishment.finess.in_(sorted(finess))))
    )


def first_establishment(rpps: ColumnElement[str]) -> ScalarSelect[str]:
    """A pro's structure as the directory knows it, the first of his activities: what a
    document he writes names as its author's (a subquery, so the gate's query can carry it)."""
    return (
        select(ProEstablishment.establishment_id)
        .where(ProEstablishment.rpps == rpps)
        .order_by(ProEstablishment.establishment_id)
        .limit(1)
        .scalar_subquery()
    )
