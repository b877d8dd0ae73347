"""The operator's feed into the medical profile (DOC-1): whose profiles a batch of the feed names,
and whether each takes it — the same decision as one by one (``rules.may_write_section``), for
thousands of rows at a time. The operator reads nothing back (ACC-9): only whether a line is
already there (the feed is idempotent)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
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
from carnet.population.rules import MAJORITY_AGE, ProfileState, age_on
from carnet.population.service import profile_rows_of_ins
from carnet.profile.models import CareLine

_OPERATOR = Requester(kind=RequesterKind.OPERATOR, actor_id="operator")


class FeedTarget(NamedTuple):
    patient_id: str
    birth_date: date
    #: The patient's 18th birthday: an act before it was a minor's (DOC-9).
    adult_on: date
    #: May the operator feed the reimbursed care and the vaccinations of this profile?
    care: Decision
    vaccinations: Decision


def feed_targets(session: Session, ins_values: Sequence[str]) -> dict[str, FeedTarget]:
    """The profiles these INS name, with the operator's right to feed each (LC-3: a created
    profile receives; an opposed or closed one nothing)."""
    today = clock.today()
    rows = profile_rows_of_ins(
        session.connection(), ("ins", "id", "birth_date", "state"), ins_values
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
            adult_on(born),
            may_write_section(facts, Section.REIMBURSED_CARE),
            may_write_section(facts, Section.VACCINATIONS),
        )
    return found


def adult_on(born: date) -> date:
    """The day one born on ``born`` turns 18 (a 29 February birthday: 1 March)."""
    try:
        return born.replace(year=born.year + MAJORITY_AGE)
    except ValueError:
        return date(born.year + MAJORITY_AGE, 3, 1)


def lines_already_fed(
    session: Session, patient_ids: Sequence[str], line_ids: Collection[str]
) -> set[str]:
    """Which of these feed lines (their digests) the profiles of ``patient_ids`` already hold:
    looked up by patient, the table's key, so a batch costs its patients' lines only."""
    rows = select_in(
        session.connection(), table_of(CareLine), ("id",), "patient_id", list(patient_ids)
    )
    return {row[0] for row in rows if row[0] in line_ids}
