"""The medical profile in a real browser, on a phone 360 px wide: a weight entered in a few taps
and the chart redrawn (PRF-1), every section filled in (PRF-2), the summary as a PDF and as a
document of the space (« Ajouter à mon dossier »), and a pro who sees only what ACC-7 allows.
Each page is checked by axe-core and for horizontal scrolling."""

from __future__ import annotations

import re
from datetime import timedelta

from factories import add_patient, add_pro, patient_ctx, pro_ctx
from playwright.sync_api import Page, ViewportSize
from web_support import Site, check_page, set_password

from carnet import clock
from carnet.access import pro as pro_cases
from carnet.population.models import Patient
from carnet.profile import service as profile
from carnet.profile.rules import VaccinationIn

PHONE: ViewportSize = {"width": 360, "height": 740}


def _phone(site: Site, *, javascript: bool = True) -> Page:
    context = site.browser.new_context(
        locale="fr-FR",
        java_script_enabled=javascript,
        bypass_csp=True,
        viewport=PHONE,
        base_url=site.url,
    )
    context.set_default_timeout(10_000)
    site.contexts.append(context)
    return context.new_page()


def _fits(page: Page) -> None:
    """Nothing wider than the phone: no horizontal scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: {width} px wide"


def _logged_in(site: Site, patient: Patient) -> Page:
    page = _phone(site)
    site.log_in(page, patient)
    return page


def _weight(page: Page, value: str, day: str | None = None) -> None:
    form = page.locator("#mesure-weight")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    form.get_by_label("Valeur").fill(value)
    if day is not None:
        form.get_by_label("Date").fill(day)
    form.get_by_role("button", name="Enregistrer").click()


def test_prf_1_a_weight_entered_on_a_phone_redraws_the_chart(site: Site) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    page = _logged_in(site, patient)
    site.go(page, "Profil médical")
    _fits(page)
    check_page(page)
    page.get_by_role("link", name=re.compile("^Mesures")).click()
    page.get_by_text("Aucune mesure pour l'instant.").wait_for()
    _weight(page, "72,4")
    chart = page.locator('.chart[data-key="weight"]')
    chart.and_(page.locator('[data-rendered="1"]')).wait_for()
    assert chart.locator("canvas").count() == 1
    figure = page.locator("#courbe-weight")
    assert "72.4 kg" in figure.inner_text()
    yesterday = (clock.today() - timedelta(days=1)).isoformat()
    _weight(page, "71.9", yesterday)
    page.locator('.chart[data-key="weight"][data-rendered="2"]').wait_for()
    _fits(page)
    check_page(page, "prf_1_measures_phone")
    # Bad input: refused in French, nothing stored.
    _weight(page, "900")
    page.get_by_text("Poids impossible : 900 kg").wait_for()
    page.go_back()
    page.reload()
    page.locator('.chart[data-key="weight"][data-rendered="2"]').wait_for()


def test_prf_2_every_section_filled_in_on_a_phone_then_added_to_the_record(site: Site) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    page = _logged_in(site, patient)
    base = f"/espace/{patient.id}/profil"

    page.goto(base + "/allergies")
    page.get_by_label("Allergie ou intolérance à", exact=True).fill("Pénicilline")
    page.get_by_label("Catégorie", exact=True).select_option("medication")
    page.get_by_label("Gravité", exact=True).select_option("high")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Pénicilline (Allergie, Médicament, gravité élevée)").wait_for()
    _fits(page)
    check_page(page)

    page.goto(base + "/traitements")
    page.get_by_label("Médicament", exact=True).fill("Ramipril 5 mg")
    page.get_by_label("Posologie (facultatif)", exact=True).fill("1 comprimé le matin")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Ramipril 5 mg (en cours) — 1 comprimé le matin").wait_for()

    page.goto(base + "/vaccinations")
    page.get_by_label("Vaccin", exact=True).select_option("ROR")
    page.get_by_label("Date", exact=True).fill("1990-05-02")
    page.get_by_role("button", name="Enregistrer").click()
    page.locator(".profile-list").get_by_text("Rougeole, oreillons, rubéole (ROR)").wait_for()
    page.get_by_role("heading", name="Prochaines doses (calendrier des vaccinations)").wait_for()
    _fits(page)
    check_page(page)

    page.goto(base + "/entourage")
    page.get_by_text("Ajouter une personne").click()
    page.get_by_label("Prénom", exact=True).fill("Marie")
    page.get_by_label("Nom", exact=True).fill("MARTIN")
    page.get_by_label("Lien", exact=True).select_option("SIS")
    page.get_by_label("Téléphone", exact=True).fill("06 12 34 56 78")
    page.get_by_role("button", name="Enregistrer").click()
    page.get_by_text("Personne de confiance : Marie MARTIN (sœur), 06 12 34 56 78").wait_for()
    page.get_by_role("button", name="Rédiger mes directives en ligne").click()
    page.get_by_label(re.compile("en bonne santé")).check()
    page.locator("fieldset", has_text="Réanimation cardiaque").get_by_label(
        "Je les refuse, ou je veux qu'on les arrête"
    ).check()
    page.get_by_role("button", name="Enregistrer mes directives").click()
    page.get_by_role("link", name="formulaire en ligne : voir ou modifier").wait_for()
    _fits(page)
    check_page(page)

    page.goto(base)
    with page.expect_download() as download:
        page.get_by_role("button", name="Télécharger la synthèse (PDF avec code QR)").click()
    assert download.value.suggested_filename.endswith(".pdf")
    page.get_by_role("button", name="Ajouter à mon dossier").click()
    page.wait_for_url(re.compile(r"/documents/[0-9a-f]{32}$"))
    page.get_by_role("heading", name=re.compile("^Profil médical au ")).wait_for()
    _fits(page)
    check_page(page, "prf_2_profile_added_to_the_record")


def test_acc_7_the_pro_portal_shows_no_treatment_but_reads_the_synthesis_added(
    site: Site,
) -> None:
    """ACC-7 through the documents: what the patient added as a document, the pro reads."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor = add_pro(site.rt, last_name="Roche", first_name="Anne")
    pro_cases.declare_consent(site.rt, pro_ctx(doctor), patient.id)
    profile.add_vaccination(
        site.rt,
        patient_ctx(patient),
        patient.id,
        VaccinationIn("GRIPPE", clock.today() - timedelta(days=30)),
    )
    page = _logged_in(site, patient)
    page.goto(f"/espace/{patient.id}/profil")
    page.get_by_role("button", name="Ajouter à mon dossier").click()
    page.wait_for_url(re.compile(r"/documents/"))
    pro = site.page()
    site.pro_log_in(pro, doctor)
    site.open_record(pro, patient)
    pro.get_by_text(re.compile("^Profil médical au ")).first.wait_for()
