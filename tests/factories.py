"""Factories for test data: rows written straight to the database, no HTTP, fast."""

from __future__ import annotations

import itertools
from datetime import date

from carnet import clock
from carnet.context import AccessMode, AuthLevel, RequestContext
from carnet.demo.load import pdf
from carnet.identity.ins import make_ins
from carnet.identity.models import Pro
from carnet.ids import new_id
from carnet.population.models import Patient, Representative
from carnet.population.rules import ProfileState, RepresentativeKind
from carnet.records.models import AnyDocument
from carnet.records.service import NewDocument, upload_document
from carnet.runtime import Runtime

_serial = itertools.count(1)

PDF = pdf("Document de test")


def birth_date_for_age(age: int, today: date | None = None) -> date:
    today = today or clock.today()
    try:
        return today.replace(year=today.year - age)
    except ValueError:  # 29 February
        return today.replace(year=today.year - age, day=28)


def new_ins(sex: str = "F", born: date = date(1985, 1, 1)) -> str:
    n = next(_serial)
    nir = f"{1 if sex == 'M' else 2}{born.year % 100:02d}{born.month:02d}75{n // 1000 % 1000:03d}{n % 1000:03d}"
    return make_ins(nir)


def add_patient(
    rt: Runtime,
    *,
    age: int = 40,
    state: ProfileState = ProfileState.ACTIVATED,
    email: str | None = "p@example.org",
    first_names: str = "Claire",
    birth_names: str = "MARTIN",
    sex: str = "F",
) -> Patient:
    born = birth_date_for_age(age)
    now = clock.now()
    patient = Patient(
        id=new_id(),
        ins=new_ins(sex, born),
        ins_status="VALI",
        birth_names=birth_names,
        first_names=first_names,
        used_name=None,
        sex=sex,
        birth_date=born,
        birth_place="75056",
        email=email,
        phone=None,
        state=state.value,
        password_hash=None,
        created_at=now,
        updated_at=now,
        activated_at=now if state is ProfileState.ACTIVATED else None,
        closed_at=now if state is ProfileState.CLOSED else None,
        opposed_at=now if state is ProfileState.OPPOSED else None,
    )
    with rt.transaction() as session:
        session.add(patient)
    return patient


def add_representative(
    rt: Runtime,
    patient: Patient,
    representative: Patient,
    kind: RepresentativeKind = RepresentativeKind.LEGAL_REPRESENTATIVE,
) -> None:
    with rt.transaction() as session:
        session.add(
            Representative(
                patient_id=patient.id,
                representative_ins=representative.ins,
                kind=kind.value,
                since=clock.now(),
                shared_by_ins=None,
            )
        )


def add_pro(
    rt: Runtime,
    *,
    profession: str = "10",
    specialty: str | None = "SM26",
    samu_regulator: bool = False,
    last_name: str = "Bernard",
    first_name: str = "Louis",
) -> Pro:
    rpps = f"{10000000000 + next(_serial) + 500:011d}"
    pro = Pro(
        rpps=rpps,
        last_name=last_name,
        first_name=first_name,
        civility="Dr",
        profession=profession,
        specialty=specialty,
        samu_regulator=samu_regulator,
        updated_at=clock.now(),
    )
    with rt.transaction() as session:
        session.add(pro)
    return pro


def pro_ctx(
    pro: Pro,
    *,
    mode: AccessMode = AccessMode.NORMAL,
    reason: str | None = None,
    level: AuthLevel = AuthLevel.CPS,
) -> RequestContext:
    return RequestContext.for_pro(
        pro.rpps, pro.profession, pro.specialty, level, mode=mode, reason=reason
    )


def patient_ctx(person: Patient) -> RequestContext:
    return RequestContext.for_patient(person.id)


def upload(
    rt: Runtime,
    ctx: RequestContext,
    patient: Patient,
    *,
    type_code: str = "11488-4",
    content: bytes = PDF,
    mime: str = "application/pdf",
    title: str = "Compte rendu",
    unique_id: str | None = None,
    masked: bool = False,
    invisible_patient: bool = False,
    invisible_representatives: bool = False,
) -> AnyDocument:
    return upload_document(
        rt,
        ctx,
        NewDocument(
            type_code=type_code,
            title=title,
            mime_type=mime,
            content=content,
            unique_id=unique_id,
            masked=masked,
            invisible_patient=invisible_patient,
            invisible_representatives=invisible_representatives,
        ),
        patient_id=patient.id,
    )
