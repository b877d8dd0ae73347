"""Helpers of the lifecycle tests (LC-*): a small operator's feed, a space with content (documents
and a conversation), the daily jobs run on a given day. Imported, registered nowhere."""

from __future__ import annotations

import io
from datetime import date

from factories import add_pro, pro_ctx, upload

from carnet.context import RequestContext
from carnet.identity.ins import make_ins
from carnet.lifecycle.feed import import_population
from carnet.population.feed import read_feed
from carnet.population.models import Patient
from carnet.population.service import ImportReport, Letter
from carnet.runtime import Runtime

ADULT = make_ins("2850475056012")
PARENT = make_ins("1820969123034")
CHILD = make_ins("2110669123036")
OPPOSED = make_ins("1750575056042")
ADULT_BORN = date(1985, 4, 12)
CHILD_BORN = date(2011, 6, 1)
HEADER = (
    "ins,birth_names,first_names,sex,birth_date,birth_place,email,legal_representatives,opposed\n"
)
FEED = HEADER + (
    f"{ADULT},MARTIN,Claire Anne,F,1985-04-12,75056,claire@example.org,,0\n"
    f"{PARENT},DUBOIS,Paul,M,1982-09-03,69123,paul@example.org,,0\n"
    f"{CHILD},DUBOIS,Léa,F,2011-06-01,69123,,{PARENT},0\n"
    f"{OPPOSED},PETIT,Oscar,M,1975-05-05,75056,,,1\n"
)


def feed(rt: Runtime, text: str = FEED, letters: list[Letter] | None = None) -> ImportReport:
    sink = letters if letters is not None else []
    return import_population(
        rt, RequestContext.operator(), read_feed(io.StringIO(text)), on_letter=sink.append
    )


def documents_for(rt: Runtime, patient: Patient, count: int = 2) -> list[str]:
    """``count`` documents uploaded by a pro; their ids."""
    pro = add_pro(rt)
    return [upload(rt, pro_ctx(pro), patient, title=f"Compte rendu {n}").id for n in range(count)]
