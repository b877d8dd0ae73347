"""Issue 15, walked through as a patient and a doctor would: each finding a browser test (or,
where a finding already held, a regression test), on a desktop and on a phone."""

from __future__ import annotations

import contextlib
import re
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import structlog
from factories import add_patient, add_pro, patient_ctx, pro_ctx, upload
from playwright.sync_api import Page
from web_support import PASSWORD, Site, assert_fits, check_page, crawl, form_token, set_password

from carnet.access import pro as pro_cases
from carnet.access import space
from carnet.clock import FixedClock
from carnet.context import AccessMode
from carnet.demo.load import pdf
from carnet.errors import NotFound
from carnet.population.models import Patient
from carnet.records import service as records


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


def _demo(site: Site) -> None:
    from carnet.demo.load import load_demo

    load_demo(site.rt, extra_patients=0)


@pytest.mark.parametrize("width", [1280, 375])
def test_issue15_phone_first_every_patient_page_fits_and_passes_axe(site: Site, width: int) -> None:
    from carnet.demo import personas

    _demo(site)
    page = site.page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/demo")
    assert_fits(page)
    check_page(page)
    page.get_by_role(
        "button", name=f"Se connecter : {personas.CLAIRE.first_names} {personas.CLAIRE.birth_names}"
    ).click()
    page.wait_for_url(re.compile(r"/espace"))
    visited = crawl(page, page.url, "/espace", shots=f"crawl{width}")
    assert len(visited) > 10, visited


@pytest.mark.parametrize("width", [1280, 375])
def test_issue15_phone_first_every_pro_page_fits_and_passes_axe(site: Site, width: int) -> None:
    from carnet.demo import personas

    _demo(site)
    page = site.page()
    page.set_viewport_size({"width": width, "height": 800})
    page.goto("/pro/")
    assert_fits(page)
    check_page(page)
    page.get_by_label("Professionnel", exact=True).select_option(personas.DR_MARTIN.rpps)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_label("Matricule INS (15 caractères)").fill(personas.CLAIRE.ins)
    page.get_by_role("button", name="Ouvrir le dossier").click()
    page.get_by_role("heading", name="Dossier du patient").wait_for()
    visited = crawl(page, page.url, "/pro")
    visited += crawl(page, "/pro/messagerie", "/pro/messagerie")
    assert len(visited) > 3, visited


def test_issue15_finding_2_on_a_phone_the_menu_folds_and_a_pdf_offers_download(site: Site) -> None:
    """375 px: the menu behind « Menu » (no script needed), the documents as cards with their
    acts in view, and a PDF (an empty box in a phone's frame) opened or downloaded instead."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor = add_pro(site.rt)
    upload(site.rt, pro_ctx(doctor), patient, title="Compte rendu de consultation")

    page = site.page()
    page.set_viewport_size({"width": 375, "height": 800})
    site.log_in(page, patient)
    nav = page.get_by_role("link", name="Historique", exact=True)
    assert not nav.is_visible()
    row = page.locator("tr", has_text="Compte rendu de consultation")
    assert row.get_by_role("button", name="Masquer").is_visible()
    assert row.bounding_box()["width"] <= 375  # type: ignore[index]
    check_page(page, "issue15_2_phone_documents")
    page.get_by_role("link", name="Compte rendu de consultation", exact=True).click()
    page.get_by_text("L'aperçu n'est pas affiché sur un petit écran").wait_for()
    assert not page.locator("iframe.viewer").is_visible()
    assert page.get_by_role("button", name=re.compile("^Télécharger")).is_visible()
    check_page(page)
    site.go(page, "Historique")
    page.get_by_role("heading", name=re.compile("Historique")).first.wait_for()


def test_issue15_finding_3_a_blocked_doctor_gets_no_emergency_banner_nor_form(site: Site) -> None:
    """ACC-3: nothing, in emergencies too — no red « Accès en urgence » above the refusal."""
    patient = add_patient(site.rt)
    doctor = add_pro(site.rt, last_name="Lambert")
    space.block(site.rt, patient_ctx(patient), patient.id, doctor.rpps)

    page = site.page()
    site.pro_log_in(page, doctor)
    site.open_record(page, patient)
    page.get_by_text("le patient vous a bloqué, y compris en urgence").wait_for()
    assert page.locator("#mode-banner").count() == 0
    assert page.get_by_role("button", name="Accéder en urgence (bris de glace)").count() == 0
    check_page(page)


def test_issue15_finding_3_regulation_offered_to_regulators_only_and_a_forced_try_is_refused(
    site: Site,
) -> None:
    """ACC-6: « Accéder comme régulateur du SAMU » for the SAMU's regulators only; a pharmacist
    who sends the mode anyway gets no emergency banner, and the patient's history shows a
    refused attempt, not an emergency access."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    pharmacist = add_pro(site.rt, profession="21", specialty=None, last_name="Petit")
    regulator = add_pro(site.rt, last_name="Samu", samu_regulator=True)
    samu = "Accéder comme régulateur du SAMU-Centre 15"

    page = site.page()
    site.pro_log_in(page, regulator)
    site.open_record(page, patient)
    page.get_by_role("button", name=samu).click()
    assert "centre de régulation" in page.locator("#mode-banner").inner_text()

    page = site.page()
    site.pro_log_in(page, pharmacist)
    site.open_record(page, patient)
    assert page.get_by_role("button", name=samu).count() == 0
    page.evaluate(
        """() => { const f = document.querySelector('form[action$="/consentement"]');
            f.action = f.action.replace('/consentement', '/mode');
            f.innerHTML += '<input type="hidden" name="mode" value="centre-de-regulation">';
            f.querySelector('[name=consent]').removeAttribute('required');
            f.submit(); }"""
    )
    page.get_by_text("Accès en urgence refusé pour ce dossier").wait_for()
    assert page.locator("#mode-banner").count() == 0
    check_page(page)

    me = site.page()
    site.log_in(me, patient)
    site.go(me, "Historique")
    line = me.locator("li", has_text="réservé aux régulateurs du SAMU")
    assert "denied" in (line.first.get_attribute("class") or "")
    assert "emergency" not in (line.first.get_attribute("class") or "")


def test_issue15_finding_4_the_document_search_with_empty_dates_finds(site: Site) -> None:
    """The form always sends its two dates: empty means no bound, not a 422 naming raw fields;
    a date that is not one is refused in words."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor = add_pro(site.rt)
    upload(site.rt, pro_ctx(doctor), patient, title="Compte rendu de consultation")
    upload(site.rt, pro_ctx(doctor), patient, title="Ordonnance de kinésithérapie")

    page = site.page()
    site.log_in(page, patient)
    page.get_by_text("Rechercher", exact=True).click()
    page.get_by_label("Titre contient").fill("ordonnance")
    page.get_by_role("button", name="Filtrer").click()
    page.get_by_role("link", name="Ordonnance de kinésithérapie", exact=True).wait_for()
    assert page.get_by_role("link", name="Compte rendu de consultation").count() == 0
    assert "depuis=" in page.url  # the empty dates were sent
    check_page(page)

    answer = page.goto(page.url.split("?")[0] + "?depuis=hier&jusqu=")
    assert answer is not None
    assert answer.status == 422
    page.get_by_text("La date de début n'est pas une date").wait_for()
    assert "jusqu" not in page.locator("main").inner_text()


def test_issue15_finding_5_the_pro_upload_asks_the_type_sorted_and_confirms(
    site: Site, tmp_path: Path
) -> None:
    """No type pre-chosen (the first of 51 was « Attestation de vaccination COVID-19 »), the
    types in alphabetical order, and a confirmation once the document is in."""
    patient = add_patient(site.rt)
    doctor = add_pro(site.rt)
    report = tmp_path / "cr.pdf"
    report.write_bytes(pdf("Compte rendu"))

    page = site.page()
    site.pro_log_in(page, doctor)
    site.open_record(page, patient)
    select = page.get_by_label("Type", exact=True)
    assert select.input_value() == ""
    labels = select.locator("option:not([disabled])").all_inner_texts()
    assert labels == sorted(labels, key=str.casefold)
    assert len(labels) > 20
    page.get_by_label("Fichier", exact=True).set_input_files(str(report))
    page.get_by_label("Titre", exact=True).fill("Compte rendu de consultation")
    page.get_by_role("button", name="Ajouter").click()
    assert page.locator("#doc-list").count() == 0  # the browser refused: no type chosen
    select.select_option("11488-4")
    page.get_by_role("button", name="Ajouter").click()
    page.get_by_role("status").get_by_text("Document ajouté au dossier.").wait_for()
    page.get_by_role("link", name="Compte rendu de consultation", exact=True).wait_for()
    check_page(page)


def test_issue15_finding_6_a_minor_logging_in_is_told_who_manages_his_space(site: Site) -> None:
    """LC-7: a minor's space is his representatives' until 18 — said, not « introuvable »."""
    from carnet.demo import personas

    _demo(site)
    page = site.page()
    page.goto("/demo")
    lea = f"{personas.LEA.first_names} {personas.LEA.birth_names}"
    row = page.locator("tr", has_text=lea)
    assert row.get_by_role("button").count() == 0
    row.get_by_text(re.compile("géré par ses représentants légaux")).wait_for()
    csrf = page.locator("input[name=csrf]").first.input_value()
    answer = page.request.post("/demo/patient", form={"csrf": csrf, "ins": personas.LEA.ins})
    assert answer.ok
    page.goto("/espaces")
    page.get_by_text("Votre espace est géré par vos représentants légaux").wait_for()
    assert "introuvable" not in page.content()
    check_page(page)


def test_issue15_finding_6_unmask_offered_only_when_allowed_and_retour_stays_in_the_portal(
    site: Site,
) -> None:
    """The médecin traitant sees a patient-masked document (ACC-5) but may not unmask it
    (DOC-4: the patient, an administrator or the author): no « Démasquer » leading to a 403.
    An error page's « Retour » leads back into the portal, not to the patient log-in."""
    patient = add_patient(site.rt)
    author = add_pro(site.rt, last_name="Roche")
    gp = add_pro(site.rt, last_name="Bernard")
    upload(site.rt, pro_ctx(author), patient, title="IRM du genou", type_code="18748-4")
    with site.rt.transaction() as session:
        from carnet.records.models import Document

        for d in session.query(Document).filter_by(patient_id=patient.id):
            d.masked = True
    space.set_medecin_traitant(site.rt, patient_ctx(patient), patient.id, gp.rpps)

    page = site.page()
    site.pro_log_in(page, gp)
    site.open_record(page, patient)
    row = page.locator("tr", has_text="IRM du genou")
    row.get_by_text("Masqué aux professionnels").wait_for()
    assert row.get_by_role("button", name=re.compile("Démasquer")).count() == 0
    assert row.get_by_role("button", name=re.compile("Supprimer")).count() == 0

    page.goto(page.url + "/documents/" + "0" * 32)
    page.get_by_role("heading", name="Erreur").wait_for()
    page.get_by_role("link", name="Retour").click()
    page.get_by_role("heading", name="Trouver un patient").wait_for()
    check_page(page)


@pytest.mark.parametrize("javascript", [True, False])
def test_issue15_finding_7_destructive_acts_ask_first_and_say_what_was_done(
    site: Site, javascript: bool
) -> None:
    """Mask all, delete, block: a confirmation page (no script needed) that can be cancelled,
    then a sentence saying what was done — never « Fait. »."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor = add_pro(site.rt, last_name="Lambert", first_name="Victor")
    upload(site.rt, pro_ctx(doctor), patient, title="Compte rendu de consultation")
    pro_cases.declare_consent(site.rt, pro_ctx(doctor), patient.id)

    page = site.page()
    site.log_in(page, patient)
    if not javascript:
        page = _without_script(site, page)

    page.get_by_role("button", name="Masquer tous les documents", exact=True).click()
    page.get_by_role("heading", name="Masquer tous vos documents ?").wait_for()
    check_page(page, axe=javascript)
    page.get_by_role("button", name="Annuler").click()
    page.locator("tr", has_text="Compte rendu de consultation").get_by_text("Visible").wait_for()
    page.get_by_role("button", name="Masquer tous les documents", exact=True).click()
    page.get_by_role("button", name="Masquer tous les documents", exact=True).click()
    page.get_by_role("status").get_by_text(
        "Vos documents sont masqués aux professionnels"
    ).wait_for()
    assert "Fait." not in page.content()

    page.goto(page.url.split("/documents")[0] + "/acces")
    page.locator("tr", has_text="Lambert").get_by_role(
        "button", name=re.compile("^Bloquer")
    ).click()
    page.get_by_role("heading", name="Bloquer ce professionnel ?").wait_for()
    page.get_by_text("Dr Victor Lambert").wait_for()
    page.get_by_role("button", name="Bloquer", exact=True).click()
    page.get_by_role("status").get_by_text("Professionnel bloqué").wait_for()
    page.locator("tr", has_text="Lambert").get_by_text("Bloqué").wait_for()

    page.goto(page.url.split("/acces")[0] + "/documents")
    page.get_by_role("link", name="Compte rendu de consultation", exact=True).click()
    page.get_by_role("button", name="Supprimer", exact=True).click()
    page.get_by_role("heading", name="Supprimer ce document ?").wait_for()
    page.get_by_text("Compte rendu de consultation").wait_for()
    check_page(page, axe=javascript)
    page.get_by_role("button", name="Supprimer définitivement").click()
    page.get_by_role("status").get_by_text("Document supprimé.").wait_for()
    assert page.get_by_role("link", name="Compte rendu de consultation").count() == 0


def _without_script(site: Site, logged_in: Page) -> Page:
    """The same session in a browser context with JavaScript off."""
    cookies = logged_in.context.cookies()
    page = site.page(javascript=False)
    page.context.add_cookies(cookies)  # type: ignore[arg-type]
    page.goto(logged_in.url)
    return page


def test_issue15_finding_7_a_pro_delete_asks_first(site: Site) -> None:
    patient = add_patient(site.rt)
    doctor = add_pro(site.rt)
    upload(site.rt, pro_ctx(doctor), patient, title="Compte rendu de consultation")

    page = site.page()
    site.pro_log_in(page, doctor)
    site.open_record(page, patient)
    page.locator("tr", has_text="Compte rendu").get_by_role(
        "button", name=re.compile("Supprimer")
    ).click()
    page.get_by_role("heading", name="Supprimer ce document ?").wait_for()
    assert "MARTIN" in page.locator("#patient-banner").inner_text()
    check_page(page)
    page.get_by_role("button", name="Supprimer définitivement").click()
    page.get_by_role("status").get_by_text("Document supprimé.").wait_for()


def test_issue15_finding_8_the_history_reads_like_a_bank_statement(site: Site) -> None:
    """Repeats grouped, filters (who, what, when, emergencies only), neutral agreement, a
    refused act told as an attempt, each line's reason in words."""
    patient = add_patient(site.rt, first_names="Claire", sex="F")
    set_password(site.rt, patient)
    author = add_pro(site.rt)
    upload(site.rt, pro_ctx(author), patient, title="Compte rendu de consultation")
    urgentist = add_pro(site.rt, last_name="Urgences", first_name="Paul")
    records.list_documents(
        site.rt,
        pro_ctx(urgentist, mode=AccessMode.BRIS_DE_GLACE, reason="Patiente inconsciente"),
        patient.id,
    )
    outsider = add_pro(site.rt, last_name="Petit", profession="21", specialty=None)
    with contextlib.suppress(NotFound):
        records.list_documents(site.rt, pro_ctx(outsider), patient.id)

    page = site.page()
    site.log_in(page, patient)
    for _ in range(5):
        page.reload()
    site.go(page, "Historique")
    lists = page.locator("li", has_text="Vous avez consulté la liste des documents")
    assert lists.filter(has_text="6 fois, depuis").count() == 1  # the six views, one line
    assert lists.count() <= 2  # and the home's own look, between other reads
    assert page.get_by_text("Vous avez ouvert une session").count() == 1
    assert "connecté" not in page.locator("ol.history").inner_text()
    refused = page.locator("li.denied", has_text="Petit")
    assert "a tenté de consulter la liste des documents" in refused.inner_text()
    assert "refusé : ni membre de votre équipe de soins" in refused.inner_text()
    check_page(page, "issue15_8_history")

    page.get_by_text("Filtrer l'historique").click()
    page.get_by_label("Accès en urgence seulement").check()
    page.get_by_role("button", name="Filtrer").click()
    lines = page.locator("ol.history > li")
    assert lines.count() == 1
    assert "bris de glace, motif : Patiente inconsciente" in lines.inner_text()
    page.get_by_role("link", name="Tout afficher").click()
    page.get_by_text("Filtrer l'historique").click()
    page.get_by_label("Qui").select_option("professionnels")
    page.get_by_label("Quoi").select_option("consultations")
    page.get_by_role("button", name="Filtrer").click()
    text = page.locator("ol.history").inner_text()
    assert "Vous avez" not in text
    assert "Urgences" in text
    check_page(page)


def test_issue15_finding_9_notifications_once_linked_counted_and_all_read(site: Site) -> None:
    """An emergency reader's reloads notify once (TR-2 per episode); each notification leads to
    its object; the unread are counted; « Tout marquer comme lu »."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    author = add_pro(site.rt)
    upload(site.rt, pro_ctx(author), patient, title="Compte rendu de consultation")
    urgentist = add_pro(site.rt, last_name="Urgences", first_name="Paul")

    doctor = site.page()
    site.pro_log_in(doctor, urgentist)
    site.open_record(doctor, patient)
    doctor.get_by_label("Motif du bris de glace").fill("Patiente inconsciente")
    doctor.get_by_role("button", name="Accéder en urgence (bris de glace)").click()
    doctor.locator("#mode-banner").wait_for()
    for _ in range(3):
        doctor.reload()
    site.deliver()

    me = site.page()
    site.log_in(me, patient)
    site.go(me, "Notifications")
    emergency = me.locator("li", has_text="en urgence (mode")
    assert emergency.count() == 1, me.locator("ul.notifications").inner_text()
    me.get_by_text("notifications non lues").wait_for()
    check_page(me, "issue15_9_notifications")
    me.get_by_role("button", name="Tout marquer comme lu").click()
    me.get_by_role("status").get_by_text(
        "Toutes vos notifications sont marquées comme lues."
    ).wait_for()
    me.get_by_text("Aucune notification non lue.").wait_for()
    assert me.locator("li.unread").count() == 0
    me.get_by_role("link", name="Voir les accès en urgence").click()
    me.locator("ol.history > li").first.wait_for()
    assert "urgences=true" in me.url
    assert "bris de glace" in me.locator("ol.history").inner_text()


def test_issue15_finding_10_no_raw_codes(site: Site) -> None:
    """The médecin traitant chosen by name among the care team's doctors (not an 11-digit
    RPPS), a profession's reach in the patient's categories, no « (SM26) », no doubled title."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    gp = add_pro(site.rt, last_name="Bernard", first_name="Louis")
    nurse = add_pro(site.rt, profession="60", specialty=None, last_name="Girard")
    for pro in (gp, nurse):
        pro_cases.declare_consent(site.rt, pro_ctx(pro), patient.id)

    page = site.page()
    site.log_in(page, patient)
    site.go(page, "Qui voit mes données")
    chooser = page.get_by_label("Médecin traitant", exact=True)
    options = chooser.locator("option").all_inner_texts()
    assert options == ["Aucun médecin traitant déclaré", "Dr Louis Bernard"]
    chooser.select_option(label="Dr Louis Bernard")
    page.get_by_role("button", name="Enregistrer").first.click()
    page.get_by_role("status").get_by_text("Médecin traitant enregistré.").wait_for()
    page.locator("tr", has_text="Bernard").get_by_text("Médecin traitant").wait_for()
    reach = page.locator("ul.reach")
    assert reach.locator(":scope > li").count() <= 10
    assert "Comptes rendus" in reach.inner_text()
    check_page(page, "issue15_10_access")

    portal = site.page()
    portal.goto("/pro/")
    assert "(SM26)" not in portal.content()
    assert "(médecine générale)" in portal.content()
    site.pro_log_in(portal, gp)
    assert portal.title() == "Espace des professionnels"


def test_issue15_home_greets_and_says_what_is_new_since_the_last_visit(
    site: Site, fixed_clock: FixedClock
) -> None:
    """`/`: the patient's name, the documents, messages and pros' accesses since his last
    visit, shortcuts — on a phone too."""
    patient = add_patient(site.rt, first_names="Claire", birth_names="MARTIN")
    set_password(site.rt, patient)
    doctor = add_pro(site.rt, last_name="Bernard")
    upload(site.rt, pro_ctx(doctor), patient, title="Ancien compte rendu")

    page = site.page()
    site.log_in(page, patient)
    site.menu(page).get_by_role("button", name="Se déconnecter").click()
    fixed_clock.advance(timedelta(days=2))
    upload(site.rt, pro_ctx(doctor), patient, title="Nouvelle ordonnance")
    pro_cases.declare_consent(site.rt, pro_ctx(doctor), patient.id)
    fixed_clock.advance(timedelta(hours=1))

    page.set_viewport_size({"width": 375, "height": 800})
    site.log_in(page, patient)
    page.goto("/")
    page.get_by_role("heading", name="Bonjour Claire MARTIN").wait_for()
    page.get_by_text("Depuis votre dernière visite").wait_for()
    docs = page.locator("section", has_text="nouveau document")
    assert "Nouvelle ordonnance" in docs.inner_text()
    assert "Ancien compte rendu" not in docs.inner_text()
    assert (
        "Dr Louis Bernard"
        in page.locator("section", has_text="Accès des professionnels").inner_text()
    )
    page.get_by_role("navigation", name="Raccourcis").get_by_role(
        "link", name="Qui voit mes données"
    ).wait_for()
    check_page(page, "issue15_home_phone")


def test_issue15_one_request_line_per_request_without_personal_data(http_site: Site) -> None:
    """The server logs method, route template, status and duration — never the path's ids nor
    the query."""
    patient = add_patient(http_site.rt)
    with structlog.testing.capture_logs() as logs, httpx.Client(base_url=http_site.url) as client:
        client.get(f"/espace/{patient.id}/documents?q=IVG")
        client.get("/healthz")
        # The line is written once the answer has gone (its duration is the whole answer's),
        # so the client may read the answer a moment before the server logs it.
        deadline = time.monotonic() + 5
        while sum(x["event"] == "http_request" for x in logs) < 2:
            assert time.monotonic() < deadline, logs
            time.sleep(0.01)
    lines = [line for line in logs if line["event"] == "http_request"]
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("GET", "/espace/{patient_id}/documents", 303),
        ("GET", "/healthz", 200),
    ]
    assert all(isinstance(x["duration_ms"], float) for x in lines)
    assert patient.id not in repr(lines)
    assert "IVG" not in repr(lines)


def test_issue15_the_demo_guide_prints_the_web_addresses() -> None:
    from types import SimpleNamespace

    from carnet.demo import personas
    from carnet.demo.guide import print_guide
    from carnet.demo.load import DemoResult

    result = DemoResult(extra_patients=0)
    for person in personas.PATIENTS:
        result.letters[person.ins] = SimpleNamespace(code="CODE")  # type: ignore[assignment]
    lines: list[str] = []
    print_guide(result, lines.append, "https://carnet.example/")
    assert any("https://carnet.example/demo " in line for line in lines)
    assert any("https://carnet.example/pro/ " in line for line in lines)


def _trace_count(site: Site, patient: Patient) -> int:
    from sqlalchemy import func, select

    from carnet.audit.models import Trace

    with site.rt.transaction() as session:
        return int(session.scalar(select(func.count()).where(Trace.patient_id == patient.id)) or 0)


def test_issue15_voir_mon_dossier_comme_shows_what_each_would_see_and_traces_nothing(
    site: Site,
) -> None:
    """A profession with consent, a named pro of the care team (the médecin traitant sees the
    masked document), the SAMU regulator, the representative — by the same decision; no trace,
    no notification."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    gp = add_pro(site.rt, last_name="Bernard", first_name="Louis")
    radiologist = add_pro(site.rt, specialty="SM44", last_name="Roche")
    upload(site.rt, pro_ctx(radiologist), patient, type_code="18748-4", title="IRM du genou")
    upload(site.rt, pro_ctx(gp), patient, type_code="11488-4", title="Compte rendu de consultation")
    pro_cases.declare_consent(site.rt, pro_ctx(gp), patient.id)
    space.set_medecin_traitant(site.rt, patient_ctx(patient), patient.id, gp.rpps)
    with site.rt.transaction() as session:
        from carnet.records.models import Document

        for d in session.query(Document).filter_by(patient_id=patient.id, title="IRM du genou"):
            d.masked = True

    page = site.page()
    site.log_in(page, patient)
    site.go(page, "Qui voit mes données")
    before = _trace_count(site, patient)
    page.get_by_label("Voir exactement ce que verrait, maintenant").select_option(
        label="Dr Louis Bernard"
    )
    page.get_by_role("button", name="Voir", exact=True).first.click()
    page.get_by_role("heading", name="Votre dossier vu par Dr Louis Bernard").wait_for()
    page.get_by_role("link", name="IRM du genou").wait_for()  # ACC-5: masked, yet his
    check_page(page, "issue15_seen_as_gp")

    page.goto(page.url.split("?")[0] + "?comme=profession:60")
    page.get_by_role("heading", name="Votre dossier vu par un(e) infirmier").wait_for()
    assert page.get_by_role("link", name="IRM du genou").count() == 0  # DOC-4: masked

    page.goto(page.url.split("?")[0] + "?comme=samu")
    page.get_by_role("link", name="Compte rendu de consultation").wait_for()
    assert page.get_by_role("link", name="IRM du genou").count() == 0  # masked in emergencies
    assert "régulation du SAMU" in page.locator("main").inner_text()

    page.goto(page.url.split("?")[0] + "?comme=representant")
    page.get_by_text("Cette personne n'aurait accès à aucun de vos documents.").wait_for()

    assert page.goto(page.url.split("?")[0] + "?comme=pro:10000000999").status == 404  # type: ignore[union-attr]
    assert _trace_count(site, patient) == before


def test_issue15_log_in_and_code_attempts_are_throttled_per_client(http_site: Site) -> None:
    """Guessing passwords, or starting e-mail challenges without end, is slowed at the door:
    past 10 tries a minute from one client, a clear 429 in French then English."""
    with httpx.Client(base_url=http_site.url) as client:
        token = form_token(client, "/connexion")
        form = {"csrf": token, "identifier": "personne@example.org", "password": "x" * 12}
        answers = [client.post("/connexion", data=form).status_code for _ in range(11)]
        assert answers[-1] == 429
        assert 429 not in answers[:10]
        refused = client.post("/connexion", data=form)
        assert "Trop de tentatives de connexion depuis cet appareil" in refused.text
        codes = [
            client.post("/connexion/code", data={"csrf": token, "code": "000000"}).status_code
            for _ in range(11)
        ]
        assert codes[-1] == 429
        assert 429 not in codes[:10]


def test_issue15_the_documents_page_shows_fifty_at_a_time(site: Site) -> None:
    """A large record reads page by page (and its page answers as fast as the JSON API)."""
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor = add_pro(site.rt)
    for n in range(55):
        upload(site.rt, pro_ctx(doctor), patient, title=f"Compte rendu {n:02d}")

    page = site.page()
    site.log_in(page, patient)
    assert page.locator("tbody tr").count() == 50
    page.get_by_text("55 documents — Page 1 / 2").wait_for()
    page.get_by_role("link", name="Suivante").click()
    page.get_by_text("Page 2 / 2").wait_for()
    assert page.locator("tbody tr").count() == 5
    check_page(page)


def test_issue15_second_factor_by_authenticator_app_with_recovery_codes(
    site: Site, fixed_clock: FixedClock
) -> None:
    """RFC 6238 codes replace the e-mailed one once set up (confirmed by a first code); ten
    recovery codes shown once, each good once; no e-mail sent at an app log-in."""
    from carnet import clock
    from carnet.auth import totp

    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    page = site.page()
    site.log_in(page, patient)
    page.goto("/securite")
    page.get_by_role("button", name="Utiliser une application d'authentification").click()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    check_page(page)
    page.get_by_label("2. Saisissez le code").fill(totp.code_at(secret, clock.now()))
    page.get_by_role("button", name="Activer").click()
    page.get_by_text("L'application d'authentification est activée.").wait_for()
    recovery = page.locator("ul.recovery-codes li").all_inner_texts()
    assert len(recovery) == 10

    def app_log_in(code: str) -> None:
        fixed_clock.advance(timedelta(minutes=1))
        page.context.clear_cookies()
        mails = len(site.sink.received)
        page.goto("/connexion")
        page.get_by_label("Matricule INS ou adresse e-mail").fill(patient.ins)
        page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.get_by_label("Code de l'application (ou code de secours)").fill(
            code or totp.code_at(secret, clock.now())
        )
        page.get_by_role("button", name="Valider").click()
        assert len(site.sink.received) == mails  # no e-mail for an app log-in

    app_log_in("")
    page.wait_for_url(re.compile(r"/espace"))
    app_log_in(recovery[0])
    page.wait_for_url(re.compile(r"/espace"))
    app_log_in(recovery[0])  # a recovery code is good once
    page.get_by_role("heading", name="Erreur").wait_for()
    assert "/espace" not in page.url


def test_issue15_tr_1_older_history_lines_page_by_cursor_none_shown_twice(site: Site) -> None:
    """The history grows while it is read (a doctor reads the record, the visit itself is a
    line): pages cut by offset then showed a line twice. « Plus anciennes » follows a cursor;
    « Les plus récentes » goes back."""
    from carnet.access.history import PAGE_SIZE

    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor = add_pro(site.rt)
    for n in range(PAGE_SIZE + 5):  # distinct lines, none grouped: one document each
        upload(site.rt, pro_ctx(doctor), patient, title=f"Compte rendu {n:03d}")
    page = site.page(phone=True)
    site.log_in(page, patient)
    site.go(page, "Historique")
    first = page.locator("ol.history > li").all_inner_texts()
    records.list_documents(site.rt, pro_ctx(doctor), patient.id)  # a line on top meanwhile
    page.get_by_role("link", name="Plus anciennes").click()
    older = page.locator("ol.history > li").all_inner_texts()
    check_page(page)
    titles = [re.search(r"Compte rendu \d{3}", t) for t in first + older]
    shown = [m.group(0) for m in titles if m]
    assert len(shown) == len(set(shown)) == PAGE_SIZE + 5
    page.get_by_role("link", name="Les plus récentes").click()
    assert page.locator("ol.history > li").count() >= PAGE_SIZE


def test_issue15_a_look_of_its_own_our_colours_and_icons_beside_words(site: Site) -> None:
    """The public-service blue really applies (Pico keeps its own unless overridden with its
    selector), destructive buttons are red, and every icon stands beside a word, hidden from
    screen readers."""
    from carnet.web import render

    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    upload(site.rt, pro_ctx(add_pro(site.rt)), patient, title="Compte rendu")
    page = site.page()
    site.log_in(page, patient)
    site.go(page, "Documents")
    current = page.locator(".tabs a[aria-current='page']")
    assert current.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 0, 145)"
    primary = page.locator("main button[type=submit]:not(.secondary):not(.danger)").first
    assert primary.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(0, 0, 145)"
    page.get_by_role("button", name="Masquer tous les documents", exact=True).click()
    danger = page.locator("button.danger").first
    assert danger.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(206, 5, 0)"
    icons = page.locator("svg.icon")
    assert icons.count() >= 8  # the menu's eight sections at least
    for n in range(icons.count()):
        one = icons.nth(n)
        assert one.get_attribute("aria-hidden") == "true"
        assert one.evaluate("e => e.parentElement.textContent.trim().length") > 0
    symbols = set(page.locator(".icon-sprite symbol").evaluate_all("s => s.map(e => e.id)"))
    assert symbols == {f"i-{name}" for name in render.ICONS}
    check_page(page)
