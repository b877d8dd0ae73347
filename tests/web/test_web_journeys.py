"""The main journeys in a real browser, a patient and pros side by side (each in his own browser
context), every page checked by axe-core, each journey's last page kept as a screenshot."""

from __future__ import annotations

import re
from pathlib import Path

from factories import add_patient, add_pro, add_representative, pro_ctx, upload
from smtp_support import add_mailbox
from web_support import Site, check_page, set_password

from carnet.access import pro as pro_cases
from carnet.demo.load import pdf
from carnet.messaging.delivery import deliver_due
from carnet.population.rules import RepresentativeKind

IMAGING = "Compte rendu d'IRM du genou"


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "compte-rendu.pdf"
    path.write_bytes(pdf(text))
    return path


def test_doc_3_imaging_report_invisible_to_the_patient_until_the_pro_shows_it(
    site: Site, tmp_path: Path
) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    radiologist = add_pro(site.rt, specialty="SM44", last_name="Roche", first_name="Anne")

    doctor = site.page()
    site.pro_log_in(doctor, radiologist)
    check_page(doctor)
    site.open_record(doctor, patient)
    doctor.get_by_label("Fichier", exact=True).set_input_files(str(_file(tmp_path, "IRM")))
    doctor.get_by_label("Titre", exact=True).fill(IMAGING)
    doctor.get_by_label("Type", exact=True).select_option("18748-4")
    doctor.get_by_label("Invisible au patient").check()
    doctor.get_by_role("button", name="Ajouter").click()
    row = doctor.locator("tr", has_text=IMAGING)
    row.get_by_text("Invisible au patient").wait_for()
    check_page(doctor)

    me = site.page()
    site.log_in(me, patient)
    assert me.get_by_text(IMAGING).count() == 0

    row.get_by_role("button", name="Rendre visible au patient").click()
    doctor.locator("tr", has_text=IMAGING).get_by_text("Visible").wait_for()

    me.reload()
    me.get_by_role("link", name=IMAGING, exact=True).wait_for()
    check_page(me)
    site.deliver()
    me.get_by_role("link", name="Notifications", exact=True).click()
    me.get_by_text(f"Un nouveau document a été ajouté à votre dossier : {IMAGING}.").wait_for()
    check_page(me, "doc_3_patient_notified")


def test_doc_4_masked_document_hidden_from_a_nurse_seen_by_the_administrator(
    site: Site, tmp_path: Path
) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    radiologist = add_pro(site.rt, last_name="Roche")
    cardiologist = add_pro(site.rt, specialty="SM04", last_name="Moreau", first_name="Inès")
    nurse = add_pro(site.rt, profession="60", specialty=None, last_name="Girard")
    upload(site.rt, pro_ctx(radiologist), patient, type_code="18748-4", title=IMAGING)
    pro_cases.declare_consent(site.rt, pro_ctx(cardiologist), patient.id)

    me = site.page()
    site.log_in(me, patient)
    row = me.locator("tr", has_text=IMAGING)
    row.get_by_role("button", name="Masquer").click()
    me.locator("tr", has_text=IMAGING).get_by_text("Masqué aux professionnels").wait_for()
    check_page(me)
    me.get_by_role("link", name="Qui voit mes données", exact=True).click()
    me.locator("tr", has_text="Moreau").get_by_role("button", name="Nommer administrateur").click()
    me.locator("tr", has_text="Moreau").get_by_text("Administrateur").wait_for()
    check_page(me)

    nurse_page = site.page()
    site.pro_log_in(nurse_page, nurse)
    site.open_record(nurse_page, patient)
    nurse_page.get_by_text("J'atteste avoir recueilli le consentement").check()
    nurse_page.get_by_role("button", name="Déclarer le consentement").click()
    nurse_page.get_by_role("heading", name="Documents").wait_for()
    assert nurse_page.get_by_text(IMAGING).count() == 0
    check_page(nurse_page)

    admin = site.page()
    site.pro_log_in(admin, cardiologist)
    site.open_record(admin, patient)
    admin.locator("tr", has_text=IMAGING).get_by_text("Masqué aux professionnels").wait_for()
    check_page(admin, "doc_4_administrator_sees_masked")


def test_acc_6_bris_de_glace_shows_in_the_history_with_its_reason(site: Site) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    author = add_pro(site.rt)
    upload(site.rt, pro_ctx(author), patient, title="Compte rendu de consultation")
    urgentist = add_pro(site.rt, last_name="Urgences", first_name="Paul")
    reason = "Patiente inconsciente aux urgences, allergies à vérifier"

    doctor = site.page()
    site.pro_log_in(doctor, urgentist)
    site.open_record(doctor, patient)
    doctor.get_by_text("Vous n'avez pas accès à ce dossier").wait_for()
    check_page(doctor)
    doctor.get_by_label("Motif du bris de glace").fill(reason)
    doctor.get_by_role("button", name="Accéder en urgence (bris de glace)").click()
    banner = doctor.locator("#mode-banner")
    assert "bris de glace" in banner.inner_text()
    doctor.get_by_role("link", name="Compte rendu de consultation", exact=True).click()
    assert reason in doctor.locator("#mode-banner").inner_text()
    check_page(doctor)

    me = site.page()
    site.log_in(me, patient)
    me.get_by_role("link", name="Historique", exact=True).click()
    line = me.locator("li.emergency", has_text="a consulté « Compte rendu de consultation »")
    assert f"accès en urgence : bris de glace, motif : {reason}" in line.first.inner_text()
    assert "Dr Paul Urgences, médecin," in line.first.inner_text()
    check_page(me, "acc_6_history_bris_de_glace")


def test_msg_3_patient_replies_the_doctor_ends_with_fin_and_the_reply_box_goes(site: Site) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor_pro = add_pro(site.rt, last_name="Bernard")
    add_mailbox(
        site.rt, pro=doctor_pro, hosted_here=True, address="louis.bernard@medecin.mssante.fr"
    )

    doctor = site.page()
    site.pro_log_in(doctor, doctor_pro)
    doctor.get_by_role("link", name="Messagerie", exact=True).click()
    doctor.get_by_role("button", name="Écrire à un patient").click()
    doctor.get_by_label("Matricule INS du patient").fill(patient.ins)
    doctor.get_by_label("Objet").fill("Vos résultats")
    doctor.get_by_label("Message").fill("Bonjour, vos résultats sont normaux.")
    doctor.get_by_label("Demander un accusé de lecture").check()
    doctor.get_by_role("button", name="Envoyer").click()
    doctor.get_by_text("Message envoyé.").wait_for()
    check_page(doctor)

    me = site.page()
    site.log_in(me, patient)
    me.get_by_role("link", name="Messagerie", exact=True).click()
    me.get_by_role("link", name="Vos résultats", exact=True).click()
    me.get_by_text("vos résultats sont normaux").wait_for()
    me.get_by_label("Votre réponse").fill("Merci docteur, bonne journée.")
    me.get_by_role("button", name="Envoyer").click()
    me.get_by_text("Merci docteur, bonne journée.").wait_for()
    check_page(me)
    deliver_due(site.rt)

    doctor.reload()
    doctor.get_by_text("Accusé de lecture").first.wait_for()
    doctor.get_by_role("link", name=re.compile("Re: Vos résultats")).click()
    doctor.get_by_text("Merci docteur, bonne journée.").wait_for()
    check_page(doctor)
    doctor.get_by_role("button", name="Clore la conversation ([FIN])").click()
    doctor.get_by_text("Message envoyé.").wait_for()

    me.reload()
    me.locator("#closed-notice").wait_for()
    assert me.locator("#reply-form").count() == 0
    check_page(me, "msg_3_conversation_closed")


def test_acc_8_parent_sees_the_childs_space_without_the_document_invisible_to_him(
    site: Site,
) -> None:
    parent = add_patient(site.rt, first_names="Paul", birth_names="DUBOIS", sex="M")
    set_password(site.rt, parent)
    child = add_patient(site.rt, age=15, first_names="Léa", birth_names="DUBOIS", email=None)
    add_representative(site.rt, child, parent, RepresentativeKind.LEGAL_REPRESENTATIVE)
    doctor = add_pro(site.rt)
    upload(site.rt, pro_ctx(doctor), child, type_code="87273-9", title="Vaccination ROR")
    upload(
        site.rt,
        pro_ctx(doctor),
        child,
        type_code="57833-6",
        title="Prescription confidentielle",
        invisible_representatives=True,
    )

    page = site.page(phone=True)
    site.log_in(page, parent)
    page.goto("/espaces")
    page.get_by_role("main").get_by_role("list").get_by_role("link", name="Léa DUBOIS").click()
    page.get_by_role("link", name="Vaccination ROR", exact=True).wait_for()
    assert page.get_by_text("Prescription confidentielle").count() == 0
    assert page.get_by_text("Vous agissez pour").count() == 1
    check_page(page)
    site.go(page, "Historique")
    assert page.get_by_text("Prescription confidentielle").count() == 0
    site.go(page, "Documents")
    check_page(page, "acc_8_parent_in_child_space")
