"""ID-4: pros by RPPS, establishments by FINESS, mailboxes PER/ORG/APP/CAB, from an Annuaire
Santé-shaped extraction."""

from __future__ import annotations

import io

from sqlalchemy import select

from carnet.context import RequestContext
from carnet.identity.directory import import_directory, read_directory
from carnet.identity.models import Establishment, Mailbox, Pro, ProEstablishment
from carnet.runtime import Runtime

EXTRACTION = (
    "Type d'identifiant PP|Identifiant PP|Identification nationale PP|Libellé civilité d'exercice|"
    "Nom d'exercice|Prénom d'exercice|Code profession|Code savoir-faire|Numéro FINESS site|"
    "Raison sociale site|Code postal (coord. structure)|Libellé commune (coord. structure)|"
    "Type structure|Adresse BAL MSSanté|Type BAL|Régulateur SAMU\n"
    "8|10101010101|810101010101|Docteur|DUPONT|Jeanne|10|SM26|750000001|Cabinet Dupont|75011|Paris|practice|"
    "jeanne.dupont@medecin.mssante.fr|PER|0\n"
    "8|10101010102|810101010102|Docteur|SAMU|Régis|10|SM26|750000002|SAMU 75|75015|Paris|samu|||1\n"
    "||||||||750000003|Pharmacie du Marché|75012|Paris|pharmacy|contact@pharmacie-marche.mssante.fr|ORG|\n"
    "8|123|8123|Docteur|FAUX|Numéro|10||||||||||\n"
)


def test_id_4_directory_import_reads_the_extraction(rt: Runtime) -> None:
    report = import_directory(
        rt.uow, RequestContext.operator(), read_directory(io.StringIO(EXTRACTION))
    )
    assert (report.pros, report.establishments, report.mailboxes) == (2, 3, 2)
    assert [line for line, *_ in report.errors] == [5]
    with rt.transaction() as session:
        dupont = session.get(Pro, "10101010101")
        assert dupont is not None
        assert (dupont.profession, dupont.specialty, dupont.id_nat_ps) == (
            "10",
            "SM26",
            "810101010101",
        )
        regis = session.get(Pro, "10101010102")
        assert regis is not None
        assert regis.samu_regulator
        pharmacy = session.execute(
            select(Establishment).where(Establishment.finess == "750000003")
        ).scalar_one()
        assert pharmacy.kind == "pharmacy"
        box = session.get(Mailbox, "contact@pharmacie-marche.mssante.fr")
        assert box is not None
        assert box.kind == "ORG"
        assert box.establishment_id == pharmacy.id
        assert box.owner_rpps is None
        assert session.get(Mailbox, "jeanne.dupont@medecin.mssante.fr") is not None
        assert len(list(session.scalars(select(ProEstablishment)))) == 2


def test_id_4_directory_import_is_idempotent(rt: Runtime) -> None:
    import_directory(rt.uow, RequestContext.operator(), read_directory(io.StringIO(EXTRACTION)))
    again = import_directory(
        rt.uow, RequestContext.operator(), read_directory(io.StringIO(EXTRACTION))
    )
    assert (again.pros, again.establishments, again.mailboxes) == (0, 0, 0)
