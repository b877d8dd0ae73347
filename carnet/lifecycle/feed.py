"""The operator's population feed (LC-1), a batch at a time: the register's rows
(``population.service.import_batch``) and, in the same transaction, the changes of state the
feed asks for known profiles — an opposition closes the space like the patient's own (LC-5,
LC-9), a withdrawn one creates the profile again with a new letter — through the one table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from carnet import interpreter
from carnet.access.rules import Why
from carnet.ahead import ahead
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.lifecycle.service import oppose_from_feed
from carnet.lifecycle.transitions import move
from carnet.population.rules import Change
from carnet.population.service import (
    FreshMaker,
    ImportReport,
    Letter,
    ParsedBatch,
    import_batch,
    new_code,
    numbered_batches,
    parse_batch,
    patient_by_id,
)
from carnet.runtime import Runtime


def import_population(
    rt: Runtime,
    ctx: RequestContext,
    rows: Iterable[Mapping[str, str | None]],
    *,
    code_days: int = 90,
    on_letter: Callable[[Letter], None] = lambda _: None,
    on_batch: Callable[[ImportReport], None] = lambda _: None,
) -> ImportReport:
    """Create, update or mark opposed, idempotently, one committed batch at a time; a bad row
    is reported with its line and reason and changes nothing."""
    report = ImportReport()
    # A first import names no known profile: while its batches are all new, the next one's
    # rows are made ahead as new ones (import_batch's expect_new), in the reader's thread.
    all_new = True
    with rt.transaction() as session:
        make_fresh = FreshMaker(session.connection(), code_days)

    def checked(batch: list[tuple[int, Mapping[str, str | None]]]) -> ParsedBatch:
        parsed = parse_batch(batch)
        return parsed._replace(fresh=make_fresh(parsed)) if all_new else parsed

    with interpreter.eased():
        # The next batch is read and checked while this one is stored (carnet.ahead).
        for batch in ahead(map(checked, numbered_batches(rows))):
            # A batch's letters go out once it is stored: a code on paper always opens a profile.
            letters: list[Letter] = []
            created_before = report.created
            with rt.transaction() as session:
                for patient_id, change in import_batch(
                    session, batch, report, code_days, letters.append, expect_new=all_new
                ):
                    patient = patient_by_id(session, patient_id)
                    assert patient is not None  # the batch just read it
                    if change is Change.OPPOSE:
                        oppose_from_feed(session, rt, ctx, patient)
                    else:  # LC-1: no longer opposed: a profile again, and its letter
                        move(session, ctx, patient, change, why=Why.OPERATOR_FEED)
                        letters.append(new_code(patient, days=code_days))
            for letter in letters:
                on_letter(letter)
            all_new = report.created - created_before == len(batch.rows)
            on_batch(report)
    with rt.transaction() as session:
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
