"""The demo people's medical profiles (PRF-1), through the real use cases: Claire's year of weekly
weights and blood pressures, her childhood vaccinations, an allergy, a treatment, her trusted
person and her directives; the reimbursed care the operator feeds (with the pharmacy that MSG-10
then offers); Léa's vaccinations entered by her father, and a secret act of hers the feed keeps
out of her record (DOC-9)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from carnet import clock
from carnet.access.rules import Section
from carnet.context import RequestContext
from carnet.demo import personas as p
from carnet.profile import entourage
from carnet.profile import service as profile
from carnet.profile.feed import import_care
from carnet.profile.rules import ContactIn, EntryIn, MeasureIn, VaccinationIn
from carnet.runtime import Runtime

WEEKS = 52


def _weekly(now: datetime) -> list[datetime]:
    """A year of weekly mornings (7:00 UTC), the oldest first, none after ``now``."""
    days = [now - timedelta(weeks=WEEKS - w) for w in range(WEEKS)]
    mornings = [d.replace(hour=7, minute=0, second=0, microsecond=0) for d in days]
    return [m if m <= now else m - timedelta(days=1) for m in mornings]


def load_profiles(rt: Runtime, claire_id: str, lea_id: str, paul_id: str) -> None:
    rng = random.Random(85)  # noqa: S311 - deterministic synthetic data
    now = clock.now()
    claire = RequestContext.for_patient(claire_id)
    profile.add_measure(
        rt, claire, claire_id, MeasureIn("height", 165, "cm", now - timedelta(weeks=WEEKS))
    )
    weight = 68.4
    for at in _weekly(now):
        weight += rng.uniform(-0.45, 0.35)
        profile.add_measure(rt, claire, claire_id, MeasureIn("weight", round(weight, 1), "kg", at))
        systolic = round(rng.gauss(124, 6))
        diastolic = round(rng.gauss(79, 4))
        profile.add_measure(
            rt, claire, claire_id, MeasureIn("blood_pressure", systolic, "mm[Hg]", at, diastolic)
        )
    born = p.CLAIRE.birth_date
    for vaccine, months, dose in (
        ("DTCAP", 2, 1),
        ("DTCAP", 3, 2),
        ("DTCAP", 4, 3),
        ("DTCAP", 16, 4),
        ("ROR", 12, 1),
        ("ROR", 18, 2),
        ("DTCAP", 72, 5),
        ("HEPB", 132, 1),
        ("HEPB", 133, 2),
        ("HEPB", 138, 3),
        ("DTCAP_ADO", 136, 6),
        ("DTCAP_ADO", 300, 7),
    ):
        given = _months_after(born, months)
        profile.add_vaccination(rt, claire, claire_id, VaccinationIn(vaccine, given, dose))
    profile.add_entry(
        rt,
        claire,
        claire_id,
        EntryIn(
            Section.ALLERGIES,
            "Pénicilline",
            detail="Urticaire géante en 2009",
            category="medication",
            criticality="high",
            start_date=date(2009, 3, 1),
        ),
    )
    profile.add_entry(
        rt,
        claire,
        claire_id,
        EntryIn(Section.TREATMENTS, "Lévothyroxine 75 µg", detail="1 comprimé le matin à jeun"),
    )
    profile.add_entry(
        rt,
        claire,
        claire_id,
        EntryIn(Section.HISTORY, "Diabète de type 2", kind="family", relation="FTH"),
    )
    entourage.save_contact(
        rt,
        claire,
        claire_id,
        ContactIn("trusted_person", "Marie", "MARTIN", "SIS", "06 12 34 56 78"),
    )
    entourage.save_contact(
        rt, claire, claire_id, ContactIn("relative", "Thomas", "MARTIN", "SPS", "06 98 76 54 32")
    )
    entourage.write_directives(
        rt,
        claire,
        claire_id,
        {
            "situation": "B",
            "resuscitation": "accept",
            "dialysis": "accept",
            "sedation": "want",
            "complement": "Je souhaite que ma sœur Marie soit consultée.",
        },
    )
    # Léa, 15: her father fills in her vaccinations (LC-7).
    paul = RequestContext.for_patient(paul_id)
    for vaccine, months in (("HEXA", 2), ("HEXA", 4), ("HEXA", 11), ("ROR", 12), ("ROR", 16)):
        given = _months_after(p.LEA.birth_date, months)
        profile.add_vaccination(rt, paul, lea_id, VaccinationIn(vaccine, given))
    import_care(rt.uow, RequestContext.operator(), care_rows(now.date()))


def _months_after(day: date, months: int) -> date:
    month = day.month - 1 + months
    return date(day.year + month // 12, month % 12 + 1, min(day.day, 28))


def care_rows(today: date) -> list[dict[str, str | None]]:
    """The operator's feed for the demo: Claire's consultations, dispensations at her pharmacy
    (MSG-10), a flu vaccination; Léa's consultation, and her emergency contraception, which the
    feed keeps out of her record (DOC-9)."""
    rows: list[dict[str, str | None]] = []
    for weeks in (2, 9, 17, 30, 44):
        day = (today - timedelta(weeks=weeks)).isoformat()
        rows.append(
            _care(
                p.CLAIRE.ins,
                day,
                "CONSULTATION",
                rpps=p.DR_MARTIN.rpps,
                label="Consultation de médecine générale",
            )
        )
        rows.append(
            _care(
                p.CLAIRE.ins,
                day,
                "PHARMACIE",
                pharmacy=p.PHARMACY_FINESS,
                label="Délivrance de médicaments",
            )
        )
    flu = (today - timedelta(weeks=6)).isoformat()
    rows.append(
        _care(
            p.CLAIRE.ins,
            flu,
            "VACCINATION",
            pharmacy=p.PHARMACY_FINESS,
            label="Vaccin antigrippal",
            vaccine="GRIPPE",
        )
    )
    rows.append(
        _care(
            p.CLAIRE.ins,
            (today - timedelta(weeks=20)).isoformat(),
            "IMAGERIE",
            finess=p.HOSPITAL_FINESS,
            label="Échographie cardiaque",
        )
    )
    rows.append(
        _care(
            p.LEA.ins,
            (today - timedelta(weeks=3)).isoformat(),
            "CONSULTATION",
            rpps=p.DR_MARTIN.rpps,
            label="Consultation de médecine générale",
        )
    )
    rows.append(
        _care(
            p.LEA.ins,
            (today - timedelta(weeks=3)).isoformat(),
            "CONTRACEPTION_URGENCE",
            pharmacy=p.PHARMACY_FINESS,
            label="Contraception d'urgence",
        )
    )
    return rows


def _care(
    ins: str,
    day: str,
    act: str,
    *,
    rpps: str = "",
    finess: str = "",
    pharmacy: str = "",
    label: str,
    vaccine: str = "",
) -> dict[str, str | None]:
    return {
        "ins": ins,
        "date": day,
        "act": act,
        "rpps": rpps,
        "finess": finess,
        "pharmacy": pharmacy,
        "label": label,
        "vaccine": vaccine,
    }
