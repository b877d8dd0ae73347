"""Loading the demo population through the real use cases (imports, activation, uploads)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import func, select

from carnet import clock
from carnet.access import acts as access_acts
from carnet.context import AccessMode, RequestContext
from carnet.demo import personas as p
from carnet.demo.profile import load_profiles
from carnet.identity.directory import import_directory
from carnet.identity.ins import make_ins
from carnet.lifecycle.activation import activate_profile
from carnet.lifecycle.feed import import_population
from carnet.lifecycle.managed import activate_for
from carnet.lifecycle.service import close_profile
from carnet.messaging.inbound import InboundMail, receive_message
from carnet.messaging.mime import Outgoing, compose
from carnet.messaging.rules import patient_address
from carnet.population.models import Patient
from carnet.population.service import Letter, patient_by_ins
from carnet.records.service import NewDocument, list_documents, upload_document
from carnet.runtime import Runtime

DEMO_PASSWORD = "demo-carnet-2026"  # noqa: S105 - the demo's published password, demo mode only

FIRST = [
    "Camille",
    "Lucas",
    "Manon",
    "Nathan",
    "Chloé",
    "Louis",
    "Inès",
    "Gabriel",
    "Jade",
    "Raphaël",
]
LAST = [
    "GARCIA",
    "THOMAS",
    "ROBERT",
    "RICHARD",
    "DURAND",
    "DUBOIS",
    "MOREAU",
    "LAURENT",
    "SIMON",
    "MICHEL",
]


@dataclass
class DemoResult:
    letters: dict[str, Letter] = field(default_factory=dict)
    extra_patients: int = 0


def is_empty(rt: Runtime) -> bool:
    with rt.transaction() as session:
        return session.execute(select(func.count()).select_from(Patient)).scalar_one() == 0


def pdf(text: str) -> bytes:
    """A small valid PDF carrying one line of text."""
    stream = f"BT /F1 14 Tf 40 780 Td ({text}) Tj ET".encode("latin-1", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out


def directory_rows() -> list[dict[str, str]]:
    rows = [
        {
            "rpps": "",
            "finess": finess,
            "establishment_name": name,
            "establishment_kind": kind,
            "city": city,
            "postal_code": postal,
            "mailbox": box or "",
            "mailbox_kind": "ORG" if kind == "pharmacy" else "APP",
        }
        for finess, name, kind, city, postal, box in p.ESTABLISHMENTS
    ]
    for pro in p.PROS:
        rows.append(
            {
                "rpps": pro.rpps,
                "civility": pro.civility,
                "first_name": pro.first_name,
                "last_name": pro.last_name,
                "profession": pro.profession,
                "specialty": pro.specialty or "",
                "finess": pro.finess or "",
                "mailbox": pro.mailbox,
                "mailbox_kind": "PER",
                "samu_regulator": "1" if pro.samu_regulator else "0",
                "hosted_here": "1",
            }
        )
    return rows


def population_rows(extra: int) -> list[dict[str, str | None]]:
    rows: list[dict[str, str | None]] = []
    for person in p.PATIENTS:
        rows.append(
            {
                "ins": person.ins,
                "birth_names": person.birth_names,
                "first_names": person.first_names,
                "sex": person.sex,
                "birth_date": person.birth_date.isoformat(),
                "birth_place": person.birth_place,
                "email": person.email or "",
                "legal_representatives": "|".join(person.legal_representatives),
                "guardian_ins": person.guardian[0] if person.guardian else "",
                "guardian_mandate": person.guardian[1] if person.guardian else "",
                "opposed": "1" if person.opposed else "0",
            }
        )
    rng = random.Random(2026)  # noqa: S311 - deterministic synthetic data
    for n in range(extra):
        sex = rng.choice("MF")
        born = date(1940, 1, 1) + timedelta(days=rng.randrange(80 * 365))
        nir = f"{1 if sex == 'M' else 2}{born.year % 100:02d}{born.month:02d}75{rng.randrange(1, 120):03d}{n % 1000:03d}"
        rows.append(
            {
                "ins": make_ins(nir),
                "birth_names": rng.choice(LAST),
                "first_names": rng.choice(FIRST),
                "sex": sex,
                "birth_date": born.isoformat(),
                "birth_place": nir[5:10],
                "email": f"patient{n}@example.org",
            }
        )
    return rows


def load_demo(rt: Runtime, extra_patients: int = 20) -> DemoResult:
    operator = RequestContext.operator()
    result = DemoResult(extra_patients=extra_patients)
    import_directory(rt.uow, operator, iter(directory_rows()))
    import_population(
        rt,
        operator,
        population_rows(extra_patients),
        on_letter=lambda letter: result.letters.__setitem__(letter.ins, letter),
    )
    managed = [x for x in p.PATIENTS if x.legal_representatives or x.guardian]
    for person in p.PATIENTS:
        if person.activated and not person.opposed and person.ins in result.letters:
            if person in managed:
                continue  # LC-7, LC-8: activated by who manages it, below
            activate_profile(
                rt,
                RequestContext.operator(),
                code=result.letters[person.ins].code,
                birth_date=person.birth_date,
                email=person.email or f"{person.key}@example.org",
                password=DEMO_PASSWORD,
                emergency_samu=True,
            )
    for person in managed:
        manager = person.legal_representatives[0] if person.legal_representatives else None
        if person.guardian and person.guardian[1] == "person":
            manager = person.guardian[0]
        if manager is None or not person.activated:
            continue
        with rt.transaction() as session:
            who, whom = patient_by_ins(session, manager), patient_by_ins(session, person.ins)
            assert who is not None
            assert whom is not None
            ids = who.id, whom.id
        activate_for(rt, RequestContext.for_patient(ids[0]), ids[1], emergency_samu=True)
    _documents_and_settings(rt)
    _conversation(rt)
    with rt.transaction() as session:
        claire, lea, paul = (patient_by_ins(session, x.ins) for x in (p.CLAIRE, p.LEA, p.PAUL))
        profiled = [person.id for person in (claire, lea, paul) if person is not None]
    if len(profiled) == 3:
        load_profiles(rt, *profiled)
    with rt.transaction() as session:
        chloe = patient_by_ins(session, p.CHLOE.ins)
        chloe_id = chloe.id if chloe is not None else None
    if chloe_id is not None:
        close_profile(rt, RequestContext.for_patient(chloe_id), chloe_id, confirm=True)
    return result


def _pro(persona: p.ProPersona, mode: AccessMode = AccessMode.NORMAL) -> RequestContext:
    return RequestContext.for_pro(persona.rpps, persona.profession, persona.specialty, mode=mode)


def _documents_and_settings(rt: Runtime) -> None:
    with rt.transaction() as session:
        claire = patient_by_ins(session, p.CLAIRE.ins)
        lea = patient_by_ins(session, p.LEA.ins)
        assert claire is not None
        assert lea is not None
        claire_id, lea_id = claire.id, lea.id
    doc = NewDocument
    uploads = [
        (
            p.DR_MARTIN,
            claire_id,
            doc(
                "11488-4",
                "Consultation du 3 novembre",
                "application/pdf",
                pdf("Compte rendu de consultation - Claire Martin"),
                "demo-claire-1",
            ),
        ),
        (
            p.DR_MARTIN,
            claire_id,
            doc(
                "57833-6",
                "Ordonnance : amoxicilline",
                "application/pdf",
                pdf("Amoxicilline 1 g matin et soir, 6 jours"),
                "demo-claire-2",
            ),
        ),
        (
            p.DR_COEUR,
            claire_id,
            doc(
                "18748-4",
                "Échographie cardiaque",
                "application/pdf",
                pdf("Echographie cardiaque : fonction normale"),
                "demo-claire-3",
            ),
        ),
        (
            p.DR_COEUR,
            claire_id,
            doc(
                "34112-3",
                "Compte rendu d'hospitalisation",
                "application/pdf",
                pdf("Sejour en cardiologie du 2 au 5 octobre"),
                "demo-claire-4",
            ),
        ),
        (
            p.DR_COEUR,
            claire_id,
            doc(
                "11502-2",
                "Bilan sanguin (en attente d'annonce)",
                "application/pdf",
                pdf("Resultats a annoncer en consultation"),
                "demo-claire-5",
                invisible_patient=True,
            ),
        ),
        (
            p.PHARMACIEN,
            claire_id,
            doc(
                "60593-1",
                "Dispensation : amoxicilline",
                "application/pdf",
                pdf("Amoxicilline 1 g, 12 comprimes delivres"),
                "demo-claire-6",
            ),
        ),
        (
            p.DR_MARTIN,
            lea_id,
            doc(
                "57833-6",
                "Prescription",
                "application/pdf",
                pdf("Contraception"),
                "demo-lea-1",
                invisible_representatives=True,
            ),
        ),
        (
            p.DR_MARTIN,
            lea_id,
            doc("87273-9", "Vaccination ROR", "application/pdf", pdf("Vaccin ROR"), "demo-lea-2"),
        ),
    ]
    for persona, patient_id, new in uploads:
        upload_document(rt, _pro(persona), new, patient_id=patient_id)
    for persona in (p.DR_COEUR, p.INFIRMIER, p.PODOLOGUE):  # ACC-2: a first reading under consent
        list_documents(rt, _pro(persona), claire_id, declares_consent=True)
    with rt.transaction() as session:
        ctx = RequestContext.for_patient(claire_id)
        access_acts.set_medecin_traitant(session, ctx, claire_id, p.DR_MARTIN.rpps)
        access_acts.designate_administrator(session, ctx, claire_id, p.DR_COEUR.rpps)
        access_acts.block_pro(session, ctx, claire_id, p.BLOQUE.rpps)


def _conversation(rt: Runtime) -> None:
    """MSG-2: Claire's médecin traitant wrote to her, asking for a read receipt (MSG-6); the
    pharmacy that dispensed her treatment has an organisational mailbox (MSG-10)."""
    doctor = p.DR_MARTIN.mailbox
    claire = patient_address(p.CLAIRE.ins, rt.settings.patient_mail_domain)
    raw = compose(
        Outgoing(
            message_id="<demo-claire-1@medecin.mssante.fr>",
            mail_from=doctor,
            from_name=f"Dr {p.DR_MARTIN.first_name} {p.DR_MARTIN.last_name}",
            to=claire,
            to_name="",
            subject="Vos résultats d'échographie",
            body="Bonjour Madame Martin,\n\nL'échographie cardiaque est normale. Nous en "
            "reparlerons à la prochaine consultation.\n\nBien cordialement,\nDr Bernard",
            date=clock.now(),
        )
    )
    raw = b"Disposition-Notification-To: " + doctor.encode() + b"\r\n" + raw
    receive_message(rt, InboundMail(doctor, [claire], raw))
