"""The operator's feed into the medical profile (DOC-1): whose profiles a batch of the feed names,
and whether each takes it — the same decision as one by one (``rules.may_write_section``), for
thousands of rows at a time. The operator reads nothing back (ACC-9): only whether a line is
already there (the feed is idempotent)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from sqlalchemy.orm import Session

from carnet import clock
from carnet.access.facts import (
    AccessRequest,
    PatientFacts,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.rules import Decision, Section, may_write_section
from carnet.db.base import table_of
from carnet.db.bulk import select_in
from carnet.population.models import Patient
from carnet.population.rules import ProfileState, age_on
from carnet.profile.models import CareLine

_OPERATOR = Requester(kind=RequesterKind.OPERATOR, actor_id="operator")


class FeedTarget(NamedTuple):
    patient_id: str
    birth_date: date
    #: May the operator feed the reimbursed care and the vaccinations of this profile?
    care: Decision
    vaccinations: Decision


def feed_targets(session: Session, ins_values: Sequence[str]) -> dict[str, FeedTarget]:
    """The profiles these INS name, with the operator's right to feed each (LC-3: a created
    profile receives; an opposed or closed one nothing)."""
    today = clock.today()
    rows = select_in(
        session.connection(),
        table_of(Patient),
        ("ins", "id", "birth_date", "state"),
        "ins",
        list(ins_values),
    )
    found: dict[str, FeedTarget] = {}
    for ins, patient_id, born, state in rows:
        facts = RecordFacts(
            requester=_OPERATOR,
            relation=Relation(),
            patient=PatientFacts(age=age_on(born, today), state=ProfileState(state)),
            request=AccessRequest(),
        )
        found[ins] = FeedTarget(
            patient_id,
            born,
            may_write_section(facts, Section.REIMBURSED_CARE),
            may_write_section(facts, Section.VACCINATIONS),
        )
    return found


def lines_already_fed(session: Session, line_ids: Sequence[str]) -> set[str]:
    """Which of these feed lines (their digests) are already in some profile."""
    rows = select_in(session.connection(), table_of(CareLine), ("id",), "id", list(line_ids))
    return {row[0] for row in rows}
