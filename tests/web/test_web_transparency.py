"""TR-3 in the patient's browser: the history page proves each of its lines against a signed
head and that head against the last one the browser kept, and says so plainly."""

from __future__ import annotations

import re

import pytest
from factories import add_patient, add_pro, pro_ctx, upload
from playwright.sync_api import Page, expect
from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session
from support import CITUS, NOT_ON_CITUS
from web_support import Site, check_page, set_password

from carnet.audit.models import Trace
from carnet.audit.rules import GENESIS, entry_hash
from carnet.audit.trail import hashed_fields
from carnet.population.models import Patient
from carnet.transparency import service


def _history(site: Site, page: Page, patient: Patient) -> None:
    page.goto(f"/espace/{patient.id}/historique")


def test_tr_3_history_page_verifies_its_lines_and_the_log_growth(site: Site) -> None:
    patient, pro = add_patient(site.rt), add_pro(site.rt)
    set_password(site.rt, patient)
    upload(site.rt, pro_ctx(pro), patient)
    page = site.page()
    site.log_in(page, patient)
    service.advance(site.rt)
    _history(site, page, patient)
    verdict = page.locator("#verification")
    expect(verdict).to_have_class(re.compile(r"\bverified\b"))
    expect(verdict).to_contain_text("Historique vérifié")
    expect(verdict).to_contain_text("première vérification")
    check_page(page, "history-verified")

    upload(site.rt, pro_ctx(pro), patient)
    service.advance(site.rt)
    _history(site, page, patient)  # a bigger tree: proven consistent with the one kept
    expect(verdict).to_have_class(re.compile(r"\bverified\b"))
    expect(verdict).to_contain_text("il prolonge celui vu le")


@pytest.mark.skipif(CITUS, reason=NOT_ON_CITUS)
def test_tr_3_history_page_says_what_failed(site: Site) -> None:
    patient, pro = add_patient(site.rt), add_pro(site.rt)
    set_password(site.rt, patient)
    upload(site.rt, pro_ctx(pro), patient)
    page = site.page()
    site.log_in(page, patient)
    service.advance(site.rt)
    _history(site, page, patient)
    verdict = page.locator("#verification")
    expect(verdict).to_have_class(re.compile(r"\bverified\b"))

    # The database's holder rewrites the upload's trace and its whole chain: the page shows the
    # rewritten line, which no longer gives the leaf the signed tree holds.
    with site.rt.uow.engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("DROP TRIGGER traces_no_update")
            connection.exec_driver_sql("DROP TRIGGER trace_heads_forward")
        else:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
        connection.execute(
            text("UPDATE traces SET mode = 'bris-de-glace' WHERE patient_id = :p AND seq = 1"),
            {"p": patient.id},
        )
        _rechain(connection, patient.id)
    _history(site, page, patient)
    expect(verdict).to_have_class(re.compile(r"\bfailed\b"))
    expect(verdict).to_contain_text("Historique NON vérifié")
    expect(verdict).to_contain_text("ligne non prouvée")
    # Every line from the rewritten one on fails: each leaf commits to its chain link.
    expect(page.locator("ol.history > li.proof-failed")).not_to_have_count(0)

    # A browser that kept a head the log does not extend says so too.
    page.evaluate(
        """() => localStorage.setItem('carnet.transparency.head', JSON.stringify(
             {tree_size: 1, root_hash: btoa('x'.repeat(32)), timestamp: 0}))"""
    )
    _history(site, page, patient)
    expect(verdict).to_contain_text("le journal ne prolonge pas la tête vue auparavant")


def _rechain(connection: Connection, patient_id: str) -> None:
    with Session(bind=connection) as session:
        prev = GENESIS
        for trace in session.scalars(
            select(Trace).where(Trace.patient_id == patient_id).order_by(Trace.seq)
        ):
            trace.prev_hash = prev
            trace.hash = prev = entry_hash(prev, hashed_fields(trace))
        session.flush()
    connection.execute(
        text("UPDATE trace_heads SET hash = :h WHERE patient_id = :p"), {"h": prev, "p": patient_id}
    )
