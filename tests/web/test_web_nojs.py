"""Every page works with JavaScript off for reading: htmx only enhances (RGAA 7.1)."""

from __future__ import annotations

from factories import add_patient, add_pro, pro_ctx, upload
from web_support import Site, check_page, set_password

from carnet.records import service as records


def test_tr_1_documents_and_history_read_without_javascript(site: Site) -> None:
    patient = add_patient(site.rt)
    set_password(site.rt, patient)
    doctor = add_pro(site.rt)
    upload(site.rt, pro_ctx(doctor), patient, title="Lettre de liaison")
    records.list_documents(site.rt, pro_ctx(doctor), patient.id)

    page = site.page(javascript=False)
    site.log_in(page, patient)
    page.get_by_role("link", name="Lettre de liaison", exact=True).wait_for()
    row = page.locator("tr", has_text="Lettre de liaison")
    row.get_by_role("button", name="Masquer").click()
    page.locator("tr", has_text="Lettre de liaison").get_by_text(
        "Masqué aux professionnels"
    ).wait_for()
    page.get_by_role("link", name="Historique", exact=True).click()
    page.get_by_text("Dr Louis Bernard, médecin, a ajouté « Lettre de liaison »").wait_for()
    page.get_by_text("Vous avez masqué « Lettre de liaison »").wait_for()
    page.get_by_role("link", name="Documents", exact=True).click()
    page.get_by_role("link", name="Lettre de liaison", exact=True).click()
    page.get_by_role("heading", name="Lettre de liaison").wait_for()
    check_page(page, "tr_1_no_javascript_document", axe=False)
