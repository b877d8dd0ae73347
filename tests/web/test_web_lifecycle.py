"""The profile's life in a real browser, on a 360-pixel phone: « Mes droits » builds the full
export with a progress bar and downloads it (LC-6); closing is explained, then confirmed (LC-5);
a lost code is asked for from the log-in page (LC-4); a parent activates his child's space,
answering the SAMU question (LC-7, ACC-6). Every page checked by axe-core, none wider than the
screen."""

from __future__ import annotations

import io
import zipfile

import pytest
from factories import add_patient, add_pro, add_representative, pro_ctx, upload
from playwright.sync_api import Page, ViewportSize
from web_support import Site, check_page, set_password

from carnet.lifecycle import requests
from carnet.population.models import Patient
from carnet.population.rules import ProfileState

PHONE: ViewportSize = {"width": 360, "height": 740}


@pytest.fixture
def phone(site: Site) -> Page:
    context = site.browser.new_context(
        locale="fr-FR", bypass_csp=True, viewport=PHONE, base_url=site.url, accept_downloads=True
    )
    context.set_default_timeout(10_000)
    site.contexts.append(context)
    return context.new_page()


def _fits(page: Page) -> None:
    """Phone-first: nothing wider than the screen (no horizontal scroll)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url}: {width}px wide"


def test_lc_6_the_full_export_with_its_progress_bar_then_the_download(
    site: Site, phone: Page
) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor = add_pro(site.rt)
    for n in range(3):
        upload(site.rt, pro_ctx(doctor), patient, title=f"Compte rendu {n}")
    site.log_in(phone, patient)
    site.go(phone, "Mes droits")
    phone.get_by_role("heading", name="Mes droits").wait_for()
    check_page(phone)
    _fits(phone)
    phone.get_by_role("button", name="Préparer l'export").click()
    link = phone.get_by_role("button", name="Télécharger l'export")
    link.wait_for()  # htmx polled the progress until the export was ready
    check_page(phone, "lc_6_export_ready")
    _fits(phone)
    with phone.expect_download() as downloading:
        link.click()
    data = downloading.value.path().read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    assert len([n for n in archive.namelist() if n.startswith("documents/")]) == 3
    assert "index.html" in archive.namelist()


def test_lc_6_a_request_reaches_the_operator(site: Site, phone: Page) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    site.log_in(phone, patient)
    phone.goto(f"/espace/{patient.id}/droits")
    phone.get_by_label("Demande", exact=True).select_option("rectification")
    phone.get_by_label("Votre demande").fill("Mon nom d'usage est Durand.")
    phone.get_by_role("button", name="Envoyer la demande").click()
    phone.get_by_text("Votre demande est enregistrée").wait_for()
    [line] = requests.list_requests(site.rt)
    assert (line.kind, line.ins, line.text) == (
        "rectification",
        patient.ins,
        "Mon nom d'usage est Durand.",
    )


def test_lc_5_closing_is_explained_then_confirmed(site: Site, phone: Page) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    site.log_in(phone, patient)
    phone.goto(f"/espace/{patient.id}/droits")
    phone.get_by_role("link", name="Clôturer le profil").click()
    phone.get_by_text("votre messagerie (messages, pièces jointes, réponses envoyées)").wait_for()
    check_page(phone, "lc_5_closing_explained")
    _fits(phone)
    button = phone.get_by_role("button", name="Clôturer définitivement le profil")
    button.click()  # not confirmed: the browser asks for the box first, nothing is sent
    assert phone.url.endswith("/cloture")
    phone.get_by_label("J'ai compris, et je confirme").check()
    button.click()
    phone.get_by_text("Le profil est clôturé.").wait_for()
    with site.rt.transaction() as session:
        row = session.get(Patient, patient.id)
        assert row is not None
        assert row.state == ProfileState.CLOSED.value
    phone.goto(f"/espace/{patient.id}/documents")  # the session ended with the space
    phone.get_by_role("heading", name="Connexion").wait_for()


def test_lc_4_a_lost_code_is_asked_for_from_the_log_in_page(site: Site, phone: Page) -> None:
    patient = add_patient(site.rt, state=ProfileState.CREATED, email=None)
    phone.goto("/activation")
    phone.get_by_role("link", name="Code perdu, expiré ou épuisé ? Demandez-en un nouveau").click()
    check_page(phone)
    _fits(phone)
    phone.get_by_label("Matricule INS (15 caractères)").fill(patient.ins)
    phone.get_by_label("Date de naissance").fill(patient.birth_date.isoformat())
    phone.get_by_role("button", name="Demander un nouveau code").click()
    phone.get_by_text("Demande enregistrée").wait_for()
    assert [r.ins for r in requests.list_requests(site.rt)] == [patient.ins]


def test_lc_7_acc_6_a_parent_activates_his_child_s_space_answering_the_samu_question(
    site: Site, phone: Page
) -> None:
    parent = add_patient(site.rt)
    set_password(site.rt, parent)
    child = add_patient(site.rt, age=9, state=ProfileState.CREATED, email=None, first_names="Léa")
    add_representative(site.rt, child, parent)
    site.log_in(phone, parent)
    phone.goto("/espaces")
    phone.get_by_role("heading", name="Espaces à activer").wait_for()
    phone.get_by_role("link", name="Activer l'espace").click()
    check_page(phone)
    _fits(phone)
    yes, no = phone.get_by_label("Oui, le SAMU peut consulter le profil"), phone.get_by_label("Non")
    assert not yes.is_checked()  # nothing pre-selected
    assert not no.is_checked()
    yes.check()
    phone.get_by_role("button", name="Activer l'espace").click()
    phone.get_by_text("L'espace est activé.").wait_for()
    phone.get_by_role("heading", name="Mes documents").wait_for()
    assert f"/espace/{child.id}/" in phone.url
