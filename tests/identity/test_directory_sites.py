"""ID-4, MSG-10: a pro's row names his site (FINESS) without its kind; the kind the structure's
own row gave stays, so a pharmacy stays a pharmacy once its pharmacists are imported."""

from __future__ import annotations

from sqlalchemy import select

from carnet.context import RequestContext
from carnet.identity.directory import import_directory
from carnet.identity.models import Establishment
from carnet.runtime import Runtime


def test_id_4_msg_10_a_pharmacists_row_keeps_the_pharmacy_a_pharmacy(rt: Runtime) -> None:
    rows = [
        {
            "finess": "750012345",
            "establishment_name": "Pharmacie de la Gare",
            "establishment_kind": "pharmacy",
            "mailbox": "pharmacie.gare@pharmacie.mssante.fr",
            "mailbox_kind": "ORG",
        },
        {
            "rpps": "10000000003",
            "first_name": "Karim",
            "last_name": "Haddad",
            "profession": "21",
            "finess": "750012345",
            "mailbox": "karim.haddad@pharmacien.mssante.fr",
        },
        {"rpps": "10000000004", "last_name": "Neuf", "profession": "10", "finess": "750099999"},
    ]
    report = import_directory(rt.uow, RequestContext.operator(), iter(rows))
    assert report.errors == []
    with rt.transaction() as session:
        kinds = dict(session.execute(select(Establishment.finess, Establishment.kind)).all())
    assert kinds == {"750012345": "pharmacy", "750099999": "practice"}
