"""What the medical profile accepts (PRF-1): impossible values, wrong units, unknown codes, dates
in the future or before birth, text over its limit — each refused with a French and an English
message. Pure: no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnet.access.rules import Section
from carnet.errors import Invalid
from carnet.profile import catalog
from carnet.profile.rules import (
    ContactIn,
    EntryIn,
    MeasureIn,
    VaccinationIn,
    add_months,
    bmi,
    bmi_series,
    check_answers,
    check_contact,
    check_directive_file,
    check_entry,
    check_measure,
    check_one_trusted_person,
    check_vaccination,
    minor_secret,
    next_doses,
)

BORN = date(1985, 4, 12)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
TODAY = NOW.date()


def _refused(code: str, call: object) -> Invalid:
    assert callable(call)
    with pytest.raises(Invalid) as refused:
        call()
    assert refused.value.code == code, refused.value.code
    assert refused.value.fr
    assert refused.value.en
    assert refused.value.fr != refused.value.en
    return refused.value


def _weight(value: float, unit: str = "kg", at: datetime = NOW) -> MeasureIn:
    return MeasureIn("weight", value, unit, at)


@pytest.mark.parametrize("value", [0, 900, -3, float("nan"), float("inf")])
def test_prf_1_impossible_weights_are_refused(value: float) -> None:
    refused = _refused("impossible_value", lambda: check_measure(_weight(value), BORN, NOW))
    assert "Poids impossible" in refused.fr
    assert "weight" in refused.en


def test_prf_1_weight_in_grams_or_pounds_is_stored_in_kilograms() -> None:
    assert check_measure(_weight(72500, "g"), BORN, NOW).value == 72.5
    assert check_measure(_weight(160, "[lb_av]"), BORN, NOW).value == 72.6
    assert check_measure(MeasureIn("29463-7", 70, "kg", NOW), BORN, NOW).kind.key == "weight"


@pytest.mark.parametrize("unit", ["lb", "kilos", "mmol/L", ""])
def test_prf_1_wrong_units_are_refused(unit: str) -> None:
    refused = _refused("bad_unit", lambda: check_measure(_weight(70, unit), BORN, NOW))
    assert "kg" in refused.fr


def test_prf_1_unknown_measure_and_computed_bmi_are_refused() -> None:
    _refused("unknown_code", lambda: check_measure(MeasureIn("99999-9", 1, "kg", NOW), BORN, NOW))
    _refused(
        "computed_measure", lambda: check_measure(MeasureIn("bmi", 22, "kg/m2", NOW), BORN, NOW)
    )
    _refused(
        "blood_pressure_as_one",
        lambda: check_measure(MeasureIn("systolic", 120, "mm[Hg]", NOW), BORN, NOW),
    )


def test_prf_1_systolic_below_diastolic_is_refused() -> None:
    reading = MeasureIn("blood_pressure", 80, "mm[Hg]", NOW, value2=95)
    refused = _refused("systolic_below_diastolic", lambda: check_measure(reading, BORN, NOW))
    assert "systolique" in refused.fr
    _refused(
        "missing", lambda: check_measure(MeasureIn("blood_pressure", 120, "mm[Hg]", NOW), BORN, NOW)
    )
    ok = check_measure(MeasureIn("blood_pressure", 12.5, "cm[Hg]", NOW, value2=8), BORN, NOW)
    assert (ok.value, ok.value2) == (125, 80)


def test_prf_1_measures_in_the_future_or_before_birth_are_refused() -> None:
    _refused(
        "future_date", lambda: check_measure(_weight(70, at=NOW + timedelta(hours=1)), BORN, NOW)
    )
    before = datetime(1980, 1, 1, tzinfo=UTC)
    _refused("before_birth", lambda: check_measure(_weight(70, at=before), BORN, NOW))


def test_prf_1_glycaemia_in_mmol_per_litre_is_stored_in_grams() -> None:
    found = check_measure(MeasureIn("glycaemia", 5.5, "mmol/L", NOW), BORN, NOW)
    assert found.value == pytest.approx(0.99)
    assert found.kind.unit == "g/L"


@given(weight=st.floats(40, 200), height=st.floats(140, 210))
def test_prf_1_bmi_is_weight_over_height_squared(weight: float, height: float) -> None:
    assert bmi(weight, height) == pytest.approx(weight / (height / 100) ** 2, abs=0.051)


def test_prf_1_bmi_series_uses_the_height_measured_before() -> None:
    d = [datetime(2026, m, 1, tzinfo=UTC) for m in (1, 2, 3)]
    series = bmi_series([(d[0], 80.0), (d[2], 80.0)], [(d[1], 200.0)])
    assert series == [(d[0], 20.0), (d[2], 20.0)]
    assert bmi_series([(d[0], 80.0)], []) == []


def test_prf_1_entries_check_text_codes_and_dates() -> None:
    ok = check_entry(
        EntryIn(Section.ALLERGIES, "  Pénicilline ", category="medication", criticality="high"),
        BORN,
        TODAY,
    )
    assert (ok.label, ok.kind, ok.category) == ("Pénicilline", "allergy", "medication")
    _refused("missing", lambda: check_entry(EntryIn(Section.TREATMENTS, "  "), BORN, TODAY))
    _refused("too_long", lambda: check_entry(EntryIn(Section.CONDITIONS, "x" * 201), BORN, TODAY))
    _refused(
        "too_long",
        lambda: check_entry(
            EntryIn(Section.TREATMENTS, "Ramipril", detail="y" * 1001), BORN, TODAY
        ),
    )
    _refused(
        "unknown_code",
        lambda: check_entry(EntryIn(Section.ALLERGIES, "Lait", category="cheese"), BORN, TODAY),
    )
    _refused(
        "unknown_code",
        lambda: check_entry(EntryIn(Section.HISTORY, "Diabète", kind="family"), BORN, TODAY),
    )
    _refused(
        "future_date",
        lambda: check_entry(
            EntryIn(Section.CONDITIONS, "Asthme", start_date=TODAY + timedelta(days=1)),
            BORN,
            TODAY,
        ),
    )
    _refused(
        "before_birth",
        lambda: check_entry(
            EntryIn(Section.HISTORY, "Fracture", kind="personal", start_date=date(1970, 1, 1)),
            BORN,
            TODAY,
        ),
    )
    family = EntryIn(
        Section.HISTORY, "Diabète", kind="family", relation="MTH", start_date=date(1970, 1, 1)
    )
    assert check_entry(family, BORN, TODAY).relation == "MTH"  # a relative's illness may predate
    _refused("bad_text", lambda: check_entry(EntryIn(Section.TREATMENTS, "a\x00b"), BORN, TODAY))
    _refused(
        "unknown_code",
        lambda: check_entry(EntryIn(Section.MEASURES, "Poids"), BORN, TODAY),
    )


def test_prf_1_vaccinations_check_the_vaccine_and_the_date() -> None:
    assert check_vaccination(VaccinationIn("03", date(1986, 4, 12)), BORN, TODAY).vaccine == "ROR"
    _refused("unknown_code", lambda: check_vaccination(VaccinationIn("XYZ", TODAY), BORN, TODAY))
    _refused(
        "future_date",
        lambda: check_vaccination(VaccinationIn("ROR", TODAY + timedelta(days=2)), BORN, TODAY),
    )
    _refused(
        "bad_dose", lambda: check_vaccination(VaccinationIn("ROR", TODAY, dose=0), BORN, TODAY)
    )


def test_prf_1_the_calendar_gives_the_next_dose_due() -> None:
    baby = date(2026, 7, 1)
    due = {n.series: n for n in next_doses(baby, TODAY, [("HEXA", date(2026, 9, 1))])}
    assert due["DTP"].dose.dose == 2
    assert due["DTP"].due_on == date(2026, 11, 1)
    assert due["DTP"].overdue
    assert due["ROR"].due_on == date(2027, 7, 1)
    assert not due["ROR"].overdue
    adult = {n.series: n for n in next_doses(BORN, TODAY, [])}
    assert "ROTA" not in adult
    assert "HIB" not in adult
    assert adult["DTP"].overdue
    senior = date(1950, 1, 1)
    flu = {n.series: n for n in next_doses(senior, TODAY, [("GRIPPE", date(2025, 10, 15))])}
    assert flu["GRIPPE"].due_on == date(2026, 10, 15)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)


def test_prf_1_calendar_names_known_series_and_vaccines() -> None:
    for series in catalog.CALENDAR:
        assert series in catalog.SERIES
    for vaccine in catalog.VACCINES.values():
        assert all(s in catalog.SERIES for s in vaccine.series)


def test_prf_1_contacts_and_one_trusted_person() -> None:
    ok = check_contact(ContactIn("trusted_person", "Marie", "MARTIN", "SIS", "06 12 34 56 78"))
    assert ok.phone == "06 12 34 56 78"
    _refused("unknown_code", lambda: check_contact(ContactIn("boss", "A", "B", "SIS")))
    _refused("unknown_code", lambda: check_contact(ContactIn("relative", "A", "B", "XXX")))
    _refused("bad_phone", lambda: check_contact(ContactIn("relative", "A", "B", "SIS", "abc")))
    _refused("bad_email", lambda: check_contact(ContactIn("relative", "A", "B", "SIS", email="x")))
    _refused("one_trusted_person", lambda: check_one_trusted_person("trusted_person", 1))
    check_one_trusted_person("relative", 3)


def test_prf_1_directives_follow_the_official_models_questions() -> None:
    answers = check_answers(
        {"situation": "B", "resuscitation": "refuse", "complement": " Chez moi "}
    )
    assert answers == {"situation": "B", "resuscitation": "refuse", "complement": "Chez moi"}
    _refused("missing", lambda: check_answers({"resuscitation": "refuse"}))
    _refused("empty_directives", lambda: check_answers({"situation": "A"}))
    _refused("unknown_code", lambda: check_answers({"situation": "C", "surgery": "accept"}))
    _refused("unknown_code", lambda: check_answers({"situation": "A", "weather": "sunny"}))
    _refused("too_long", lambda: check_answers({"situation": "A", "complement": "z" * 4001}))
    check_directive_file(b"%PDF-1.4 ...", "application/pdf")
    _refused("unsupported_format", lambda: check_directive_file(b"hello", "application/pdf"))
    _refused(
        "too_large", lambda: check_directive_file(b"%PDF" + b"0" * 6_000_000, "application/pdf")
    )


def test_doc_9_minor_secret_acts() -> None:
    assert minor_secret("IVG", False)
    assert minor_secret("CONTRACEPTION_URGENCE", False)
    assert minor_secret("CONSULTATION", True)
    assert not minor_secret("PHARMACIE", False)
