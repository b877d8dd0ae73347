"""What falls due today in the register (the daily jobs): dates and states only, no content.

The jobs then act on each profile in its own transaction, through the same use cases and checks
as anyone (``transitions.move``, the gate for the statements).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from carnet.lifecycle.models import YearlyStatement
from carnet.population.models import Patient, Representative
from carnet.population.rules import MAJORITY_AGE, ProfileState, RepresentativeKind, birthday


def coming_of_age(session: Session, today: date) -> list[str]:
    """Profiles whose holders turned 18 within the last year and were not handed their space
    yet (``lifecycle.rules.majority_due`` decides each)."""
    oldest = birthday(today, -MAJORITY_AGE - 1)
    youngest = birthday(today, -MAJORITY_AGE)
    return list(
        session.scalars(
            select(Patient.id)
            .where(
                Patient.majority_at.is_(None),
                Patient.birth_date > oldest,
                Patient.birth_date <= youngest,
            )
            .order_by(Patient.birth_date, Patient.id)
        )
    )


def legal_representatives(session: Session, patient_id: str) -> list[str]:
    """The register's ids of a patient's legal representatives (LC-7)."""
    return list(
        session.scalars(
            select(Patient.id)
            .join(Representative, Representative.representative_ins == Patient.ins)
            .where(
                Representative.patient_id == patient_id,
                Representative.kind == RepresentativeKind.LEGAL_REPRESENTATIVE.value,
            )
        )
    )


def archives_due(session: Session, now: datetime) -> list[str]:
    """Closed or opposed spaces whose archives are to be destroyed (LC-5): asked at closing,
    or kept ten years."""
    return list(
        session.scalars(
            select(Patient.id)
            .where(
                Patient.state.in_((ProfileState.CLOSED.value, ProfileState.OPPOSED.value)),
                Patient.destroyed_at.is_(None),
                (Patient.deletion_due.is_not(None)) | (Patient.archive_until <= now),
            )
            .order_by(Patient.id)
        )
    )


def statements_due(session: Session, year: int, after: str, limit: int) -> list[str]:
    """LC-3: profiles that receive, with no e-mail known, that existed in ``year`` and have not
    had that year's statement; by id, after ``after``."""
    issued = select(YearlyStatement.patient_id).where(
        YearlyStatement.patient_id == Patient.id, YearlyStatement.year == year
    )
    return list(
        session.scalars(
            select(Patient.id)
            .where(
                Patient.id > after,
                Patient.state.in_((ProfileState.CREATED.value, ProfileState.ACTIVATED.value)),
                Patient.email.is_(None),
                Patient.created_at < datetime(year + 1, 1, 1, tzinfo=UTC),
                ~issued.exists(),
            )
            .order_by(Patient.id)
            .limit(limit)
        )
    )
