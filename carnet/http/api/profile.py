"""The medical profile as JSON, for the patient's side (PRF-1, PRF-2): the measures over time
(what the web's charts draw) and entering one. The rest of the profile is served over FHIR."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from carnet.http.deps import PatientCtx, RuntimeDep
from carnet.http.routing import OneHop, PrefixedRouter
from carnet.profile import service as profile
from carnet.profile.rules import MeasureIn
from carnet.profile.views import MeasureView

router = PrefixedRouter(prefix="/api/v1", tags=["profile"], route_class=OneHop)
P = "/patients/{patient_id}/profile"


class PointOut(BaseModel):
    id: str
    at: datetime
    value: float
    value2: float | None = None


class SeriesOut(BaseModel):
    code: str = Field(description="LOINC")
    key: str
    label: str
    unit: str = Field(description="UCUM")
    low: float | None = Field(None, description="the usual normal range, where one holds")
    high: float | None = None
    points: list[PointOut]


class MeasuresOut(BaseModel):
    patient_id: str
    measures: list[SeriesOut]


class MeasureBody(BaseModel):
    kind: str = Field(description="weight, height, blood_pressure… or a LOINC code")
    value: float
    value2: float | None = Field(None, description="the diastolic of a blood pressure")
    unit: str = Field(description="UCUM")
    measured_at: datetime


class MeasureOut(BaseModel):
    id: str
    code: str
    value: float
    value2: float | None
    unit: str
    measured_at: datetime

    @staticmethod
    def of(m: MeasureView) -> MeasureOut:
        return MeasureOut(
            id=m.id,
            code=m.kind.loinc,
            value=m.value,
            value2=m.value2,
            unit=m.unit,
            measured_at=m.measured_at,
        )


@router.get(P + "/measures", response_model=MeasuresOut)
def measures(rt: RuntimeDep, ctx: PatientCtx, patient_id: str) -> MeasuresOut:
    """Each measure over time, BMI computed, with its unit and normal range."""
    series = profile.measures(rt, ctx, patient_id)
    return MeasuresOut(
        patient_id=patient_id,
        measures=[
            SeriesOut(
                code=s.kind.loinc,
                key=s.kind.key,
                label=s.kind.label_fr,
                unit=s.kind.unit,
                low=s.kind.low,
                high=s.kind.high,
                points=[
                    PointOut(id=p.id, at=p.at, value=p.value, value2=p.value2) for p in s.points
                ],
            )
            for s in series
        ],
    )


@router.post(P + "/measures", response_model=MeasureOut, status_code=201)
def add_measure(rt: RuntimeDep, ctx: PatientCtx, patient_id: str, body: MeasureBody) -> MeasureOut:
    """PRF-1: impossible values, wrong units, dates in the future or before birth: 422."""
    new = MeasureIn(body.kind, body.value, body.unit, body.measured_at, body.value2)
    return MeasureOut.of(profile.add_measure(rt, ctx, patient_id, new))
