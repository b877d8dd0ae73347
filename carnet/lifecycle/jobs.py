"""The daily jobs (``carnet jobs run [--today D]``, and once a day inside ``carnet serve``):
majority at 18 (LC-7), archives destroyed when asked or after ten years (LC-5), yearly activity
statements for patients with no e-mail (LC-3), documents whose invisibility delay has passed
(DOC-3), exports a crash left unfinished or that expired (LC-6), blobs and certificates still to
deal with.

Idempotent and resumable: each profile is handled in a transaction of its own that records it
is done (``majority_at``, ``destroyed_at``, a ``yearly_statements`` row…), and its letter file is
written, under a name of its own, before that commits — a run killed at any point and run again
does what was left, once. Every act is traced.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from sqlalchemy import select, update

from carnet import clock
from carnet.access import gate
from carnet.access.rules import Purpose, Why
from carnet.audit import trail
from carnet.audit.rules import Action
from carnet.errors import Refusal
from carnet.lifecycle import due, export, rules, sweep
from carnet.lifecycle.destruction import JOB, destroy_archives, write_certificates
from carnet.lifecycle.letters import write_letter
from carnet.lifecycle.models import JobRun, YearlyStatement
from carnet.lifecycle.rules import Addressee
from carnet.lifecycle.transitions import move
from carnet.logs import get_logger
from carnet.population.login_models import WebSession
from carnet.population.rules import Change, ProfileState
from carnet.population.service import new_code, patient_by_id
from carnet.records.delays import reveal_due
from carnet.runtime import Runtime

log = get_logger(__name__)
STATEMENT_BATCH = 200


def majority(rt: Runtime, today: date) -> int:
    """LC-7: at 18 the representatives lose access at once — the decision already refuses
    them from the birthday on; their web sessions end here — and the young adult gets an
    activation letter: his space, activated by a parent, is *created* again, for him to
    activate himself and find every document, those kept from his representatives included."""
    done = 0
    with rt.transaction() as session:
        candidates = due.coming_of_age(session, today)
    for patient_id in candidates:
        with rt.transaction() as session:
            patient = patient_by_id(session, patient_id)
            if patient is None or not rules.majority_due(
                patient.birth_date, patient.created_at, patient.majority_at, today
            ):
                continue
            now = clock.now()
            parents = due.legal_representatives(session, patient_id)
            if parents:
                session.execute(
                    update(WebSession)
                    .where(WebSession.patient_id.in_(parents), WebSession.ended_at.is_(None))
                    .values(ended_at=now),
                    execution_options={"synchronize_session": False},
                )
            state = ProfileState(patient.state)
            if state is ProfileState.ACTIVATED:
                move(
                    session,
                    JOB,
                    patient,
                    Change.COME_OF_AGE,
                    why=Why.COME_OF_AGE,
                    detail={"sessions_ended": len(parents)},
                )
            else:
                trail.record(
                    session,
                    JOB,
                    Action.COME_OF_AGE,
                    patient_id=patient_id,
                    why=Why.COME_OF_AGE.value,
                    detail={"state": state.value, "sessions_ended": len(parents)},
                )
            if patient.state == ProfileState.CREATED.value:
                letter = new_code(patient, days=rt.settings.activation_code_days)
                text = rules.activation_letter(
                    Addressee(patient.ins, patient.first_names, patient.birth_names),
                    letter.code,
                    letter.expires,
                    "come_of_age",
                )
                write_letter(
                    rt.settings, ("activation", today.isoformat()), f"{patient_id}.txt", text
                )
            patient.majority_at = now
            done += 1
    return done


def archives(rt: Runtime, today: date) -> int:
    """LC-5: destroy what was asked at closing, and what has been kept ten years."""
    with rt.transaction() as session:
        candidates = due.archives_due(session, clock.now())
    return sum(destroy_archives(rt, patient_id) is not None for patient_id in candidates)


def statements(rt: Runtime, today: date) -> int:
    """LC-3: each patient with no known e-mail gets, once a year, a letter saying what reached
    his space the year before (counts only), for the operator to print."""
    year = rules.statement_year(today)
    issued, after = 0, ""
    while True:
        with rt.transaction() as session:
            batch = due.statements_due(session, year, after, STATEMENT_BATCH)
        if not batch:
            return issued
        for patient_id in batch:
            issued += _statement(rt, patient_id, year)
        after = batch[-1]


def _statement(rt: Runtime, patient_id: str, year: int) -> int:
    try:
        with rt.transaction() as session:
            record = gate.open(
                session,
                rt,
                JOB,
                purpose=Purpose.STATEMENT,
                action=Action.YEARLY_STATEMENT,
                patient_id=patient_id,
            )
            patient = record.identity()
            if not rules.statement_due(
                state=ProfileState(patient.state),
                email=patient.email,
                created_at=patient.created_at,
                year=year,
                issued=False,  # due.statements_due left out those issued
            ):
                return 0
            documents, messages = record.statement.counts(year)
            text = rules.statement_letter(
                Addressee(patient.ins, patient.first_names, patient.birth_names),
                year,
                documents,
                messages,
            )
            write_letter(rt.settings, ("statements", str(year)), f"{patient_id}.txt", text)
            session.add(YearlyStatement(patient_id=patient_id, year=year, issued_at=clock.now()))
            return 1
    except Refusal:  # the profile closed meanwhile: no statement
        return 0


def delayed_documents(rt: Runtime, today: date) -> int:
    """DOC-3: documents whose invisibility to the patient has run its course."""
    with rt.transaction() as session:
        return reveal_due(session, JOB, today)


def exports(rt: Runtime, today: date) -> int:
    """LC-6: exports a crash left unfinished are built; expired ones removed."""
    built = export.resume_exports(rt)
    export.expire_exports(rt)
    return built


def leftovers(rt: Runtime, today: date) -> int:
    """Blobs whose rows are gone, certificates not yet written out."""
    return sweep.sweep_doomed(rt) + write_certificates(rt)


JOBS: dict[str, Callable[[Runtime, date], int]] = {
    "majority": majority,
    "archives": archives,
    "statements": statements,
    "delayed_documents": delayed_documents,
    "exports": exports,
    "leftovers": leftovers,
}


def run_jobs(rt: Runtime, today: date | None = None) -> dict[str, int]:
    """Every daily job, each recorded in ``job_runs`` (started, finished, what it did); a job
    that fails is logged and the others still run."""
    today = today or clock.today()
    summary: dict[str, int] = {}
    for name, job in JOBS.items():
        _started(rt, today, name)
        try:
            summary[name] = job(rt, today)
        except Exception:
            log.exception("job_failed", job=name)
            continue
        _finished(rt, today, name, summary[name])
    with rt.transaction() as session:
        trail.record(
            session,
            JOB,
            Action.RUN_JOBS,
            patient_id=None,
            detail={"day": today.isoformat(), **summary},
        )
    return summary


def _started(rt: Runtime, today: date, name: str) -> None:
    with rt.transaction() as session:
        row = session.get(JobRun, (today, name))
        if row is None:
            session.add(
                JobRun(day=today, job=name, started_at=clock.now(), finished_at=None, summary=None)
            )
        else:
            row.started_at, row.finished_at = clock.now(), None


def _finished(rt: Runtime, today: date, name: str, count: int) -> None:
    with rt.transaction() as session:
        row = session.get(JobRun, (today, name))
        if row is not None:
            row.finished_at, row.summary = clock.now(), json.dumps({"count": count})


def done_today(rt: Runtime, today: date) -> bool:
    """Whether every job ran to its end today (``carnet serve`` runs them once a day)."""
    with rt.transaction() as session:
        finished = set(
            session.scalars(
                select(JobRun.job).where(JobRun.day == today, JobRun.finished_at.is_not(None))
            )
        )
    return set(JOBS) <= finished
