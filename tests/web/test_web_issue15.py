"""Issue 15, walked through as a patient and a doctor would: each finding a browser test (or,
where a finding already held, a regression test), on a desktop and on a phone."""

from __future__ import annotations

from factories import add_patient, add_pro, pro_ctx, upload
from web_support import Site, check_page

from carnet.population.models import Patient


def _rename(site: Site, patient: Patient, **values: object) -> None:
    with site.rt.transaction() as session:
        row = session.get(Patient, patient.id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)


def test_issue15_finding_1_every_pro_page_names_the_patient(site: Site) -> None:
    """Identitovigilance: birth name, used name, first names, birth date, sex in words, INS and
    whether the identity is qualified, on the record and on each document."""
    patient = add_patient(site.rt, first_names="Claire Marie", birth_names="MARTIN", sex="F")
    _rename(site, patient, used_name="DURAND", ins_status="QUAL")
    doctor = add_pro(site.rt, last_name="Bernard")
    upload(site.rt, pro_ctx(doctor), patient, title="Compte rendu de consultation")

    page = site.page()
    site.pro_log_in(page, doctor)
    site.open_record(page, patient)
    banner = page.locator("#patient-banner")
    text = banner.inner_text()
    for shown in ("MARTIN", "DURAND", "Claire Marie", patient.birth_date.strftime("%d/%m/%Y")):
        assert shown in text, text
    assert "Femme" in text
    assert "Identité qualifiée" in text
    assert patient.ins[5:7] in text
    assert patient.ins[13:] in text
    check_page(page, "issue15_1_patient_banner")

    page.get_by_role("link", name="Compte rendu de consultation", exact=True).click()
    assert "DURAND" in page.locator("#patient-banner").inner_text()
    check_page(page)


def test_issue15_finding_1_an_unqualified_identity_says_so_even_before_access(site: Site) -> None:
    """A pro not yet let in still checks he found the right person before declaring consent."""
    patient = add_patient(site.rt, first_names="Paul", birth_names="DUBOIS", sex="M")
    nurse = add_pro(site.rt, profession="60", specialty=None, last_name="Girard")

    page = site.page(phone=True)
    site.pro_log_in(page, nurse)
    site.open_record(page, patient)
    page.get_by_text("Vous n'avez pas accès à ce dossier").wait_for()
    text = page.locator("#patient-banner").inner_text()
    assert "DUBOIS" in text
    assert "Homme" in text
    assert "Identité non qualifiée" in text
    check_page(page)
