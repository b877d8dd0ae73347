"""Issue 19: a unit of work's session hands out its transaction's connection without the ORM's
bookkeeping at each call — and never a connection of a transaction that has ended."""

from __future__ import annotations

from factories import add_patient
from sqlalchemy import select, update

from carnet.population.models import Patient
from carnet.runtime import Runtime


def test_issue_19_one_connection_per_transaction(rt: Runtime) -> None:
    """The same connection all through a transaction; a later transaction of the same session
    gets its own, which sees what the first committed."""
    patient = add_patient(rt)
    with rt.uow.transaction() as session:
        first = session.connection()
        assert session.connection() is first
        assert first.in_transaction()
        session.get(Patient, patient.id).email = "avant@example.org"  # type: ignore[union-attr]
        session.flush()
        session.commit()  # a use case never does; the session must still not hand out the old
        assert not first.in_transaction()
        second = session.connection()
        assert second.in_transaction()
        assert (
            second.execute(select(Patient.email).where(Patient.id == patient.id)).scalar_one()
            == "avant@example.org"
        )
        assert session.connection() is second


def test_issue_19_a_rolled_back_transaction_leaves_no_connection_behind(rt: Runtime) -> None:
    patient = add_patient(rt)
    with rt.uow.transaction() as session:
        connection = session.connection()
        session.get(Patient, patient.id).email = "jamais@example.org"  # type: ignore[union-attr]
        session.flush()
        session.rollback()
        assert not connection.in_transaction()
        fresh = session.connection()
        assert fresh.in_transaction()
        assert (
            fresh.execute(select(Patient.email).where(Patient.id == patient.id)).scalar_one()
            != "jamais@example.org"
        )


def test_issue_18_a_savepoint_inside_a_transaction_undoes_only_its_own_rows(rt: Runtime) -> None:
    """The feed claims a batch's INS inside a savepoint (``population.service._claimed``): the
    session's remembered connection must not skip the savepoint, or a failed claim would leave
    half its rows behind."""
    kept, undone = add_patient(rt), add_patient(rt)
    with rt.uow.transaction() as session:
        outer = session.connection()
        outer.execute(update(Patient).where(Patient.id == kept.id).values(email="k@example.org"))
        try:
            with session.begin_nested():
                inner = session.connection()
                inner.execute(
                    update(Patient).where(Patient.id == undone.id).values(email="u@example.org")
                )
                raise LookupError("the claim failed")
        except LookupError:
            pass
        assert session.connection() is outer
        emails = {row.id: row.email for row in session.execute(select(Patient.id, Patient.email))}
    assert emails[kept.id] == "k@example.org"
    assert emails[undone.id] != "u@example.org"
    with rt.transaction() as session:
        assert session.get(Patient, kept.id).email == "k@example.org"  # type: ignore[union-attr]
        assert session.get(Patient, undone.id).email != "u@example.org"  # type: ignore[union-attr]
