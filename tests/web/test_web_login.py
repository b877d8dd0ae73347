"""LC-4 in the browser: activation, log-in with the second factor, lock-out, log-out; the demo
page exists in demo mode only."""

from __future__ import annotations

import dataclasses
import re

import httpx
from factories import add_patient
from live_api import LiveApp
from web_support import PASSWORD, Site, check_page, form_token, set_password

from carnet.lifecycle.service import reissue_code
from carnet.population.rules import ProfileState


def test_lc_4_activation_then_log_in_with_code_by_email(site: Site) -> None:
    patient = add_patient(site.rt, state=ProfileState.CREATED, email=None)
    letter = reissue_code(site.rt, patient.ins)
    page = site.page(phone=True)
    page.goto("/activation")
    check_page(page)
    page.get_by_label("Code d'activation").fill(letter.code)
    page.get_by_label("Date de naissance").fill(patient.birth_date.isoformat())
    page.get_by_label("Adresse e-mail personnelle").fill("claire.perso@example.org")
    page.get_by_label("Mot de passe (12 caractères au moins)").fill(PASSWORD)
    page.get_by_label("Non").check()  # ACC-6: the SAMU question, nothing pre-selected
    page.get_by_role("button", name="Activer mon profil").click()
    page.get_by_text("Votre profil est activé").wait_for()
    check_page(page)

    page.get_by_label("Matricule INS ou adresse e-mail").fill("claire.perso@example.org")
    page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.get_by_text("Un code à 6 chiffres a été envoyé à c•••@example.org").wait_for()
    check_page(page)
    page.get_by_label("Code reçu par e-mail").fill(site.last_code("claire.perso@example.org"))
    page.get_by_role("button", name="Valider").click()
    page.get_by_role("heading", name=re.compile("^Bonjour ")).wait_for()  # the home (issue 15)
    check_page(page, "lc_4_logged_in")

    site.go(page, "Historique")
    assert page.get_by_text("Vous avez ouvert une session").count() >= 1
    site.menu(page).get_by_role("button", name="Se déconnecter").click()
    page.get_by_text("Vous êtes déconnecté.").wait_for()
    page.goto(f"/espace/{patient.id}/documents")
    assert "/connexion" in page.url


def _five_wrong_then_the_right_one(client: httpx.Client, token: str, ins: str) -> httpx.Response:
    """Five wrong passwords (each refused), then the right one: the answer to the last."""
    for _ in range(5):
        wrong = client.post(
            "/connexion", data={"csrf": token, "identifier": ins, "password": "pas le bon mot"}
        )
        assert wrong.status_code == 401
    return client.post("/connexion", data={"csrf": token, "identifier": ins, "password": PASSWORD})


def test_lc_4_wrong_code_refused_and_lock_out_after_repeated_failures(http_site: Site) -> None:
    patient = add_patient(http_site.rt)
    set_password(http_site.rt, patient)
    with httpx.Client(base_url=http_site.url) as client:
        token = form_token(client, "/connexion")
        answer = client.post(
            "/connexion", data={"csrf": token, "identifier": patient.ins, "password": PASSWORD}
        )
        assert answer.status_code == 200
        refused = client.post("/connexion/code", data={"csrf": token, "code": "000000"})
        if http_site.last_code(patient.email or "") != "000000":
            assert refused.status_code == 401
            assert "Code incorrect ou expiré" in refused.text
        locked = _five_wrong_then_the_right_one(client, token, patient.ins)
        assert locked.status_code == 401
        assert "verrouillé" in locked.text


def _whole_log_in(site: Site, client: httpx.Client, ins: str, email: str) -> httpx.Response:
    token = form_token(client, "/connexion")
    client.post("/connexion", data={"csrf": token, "identifier": ins, "password": PASSWORD})
    return client.post("/connexion/code", data={"csrf": token, "code": site.last_code(email)})


def test_lc_4_a_stranger_locking_the_account_leaves_the_persons_browser_in(
    http_site: Site,
) -> None:
    """Issue 15: the browser that logged in before keeps a known-device cookie; five wrong
    passwords from another browser, even on the same network, lock that one out, not her."""
    patient = add_patient(http_site.rt, email="claire@example.org")
    set_password(http_site.rt, patient)
    with httpx.Client(base_url=http_site.url) as hers, httpx.Client(base_url=http_site.url) as his:
        assert _whole_log_in(http_site, hers, patient.ins, "claire@example.org").status_code == 303
        assert hers.cookies.get("carnet_appareil")
        locked = _five_wrong_then_the_right_one(his, form_token(his, "/connexion"), patient.ins)
        assert locked.status_code == 401
        again = _whole_log_in(http_site, hers, patient.ins, "claire@example.org")
        assert again.status_code == 303
        assert again.headers["location"].startswith("/espace")


def test_web_forms_refuse_a_missing_csrf_token(http_site: Site) -> None:
    patient = add_patient(http_site.rt)
    set_password(http_site.rt, patient)
    with httpx.Client(base_url=http_site.url) as client:
        answer = client.post("/connexion", data={"identifier": patient.ins, "password": PASSWORD})
    assert answer.status_code == 403
    assert "Formulaire expiré" in answer.text
    assert http_site.sink.received == []


def test_web_session_cookie_is_http_only_and_same_site(http_site: Site) -> None:
    patient = add_patient(http_site.rt)
    set_password(http_site.rt, patient)
    with httpx.Client(base_url=http_site.url) as client:
        token = form_token(client, "/connexion")
        client.post(
            "/connexion", data={"csrf": token, "identifier": patient.ins, "password": PASSWORD}
        )
        code = http_site.last_code(patient.email or "")
        answer = client.post("/connexion/code", data={"csrf": token, "code": code})
    assert answer.status_code == 303
    cookie = next(
        v for k, v in answer.headers.multi_items() if k == "set-cookie" and "carnet_session" in v
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")


def test_web_demo_page_exists_in_demo_mode_only(live_app: LiveApp, http_site: Site) -> None:
    patient = add_patient(http_site.rt)
    with httpx.Client(base_url=http_site.url) as client:
        assert client.get("/demo").status_code == 200
        production = dataclasses.replace(
            http_site.rt, settings=http_site.rt.settings.model_copy(update={"demo": False})
        )
        live_app.app.state.runtime = production
        assert client.get("/demo").status_code == 404
        token = form_token(client, "/connexion")
        refused = client.post("/demo/patient", data={"csrf": token, "ins": patient.ins})
        assert refused.status_code == 403
        assert re.search("mode démonstration", refused.text)
        refused_pro = client.post("/pro/demo", data={"csrf": token, "rpps": "10000000001"})
        assert refused_pro.status_code == 403
