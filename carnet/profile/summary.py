"""The whole profile as its reader may see it, at one moment: for the International Patient
Summary (``profile.ips``), its PDF with a QR code, and « Ajouter à mon dossier » — a dated
synthesis (PDF, its FHIR form embedded) that becomes a document of the patient's space under
the normal rules (DOC-1, DOC-4: masking and the rest apply to it like to any document)."""

from __future__ import annotations

import json

from carnet import clock
from carnet.access.record import Record
from carnet.access.rules import Section
from carnet.audit.rules import Action
from carnet.context import RequestContext
from carnet.profile.entourage import entourage_of
from carnet.profile.ips import ips_bundle
from carnet.profile.printout import summary_pdf
from carnet.profile.service import open_profile, vaccinations_of
from carnet.profile.views import CareLineView, EntryView, PatientLine, Summary, series_of
from carnet.records import service as records
from carnet.records.models import AnyDocument
from carnet.runtime import Runtime

#: The synthesis the patient adds: « Profil médical » (TRE_A05 DOCPAT08), under Espace personnel.
SYNTHESIS_TYPE = "DOCPAT08"
ENTRY_SECTIONS = (Section.TREATMENTS, Section.ALLERGIES, Section.HISTORY, Section.CONDITIONS)


def summary_of(record: Record) -> Summary:
    """Every section the reader may read, each read traced; the others left out."""
    profile = record.profile
    readable = profile.readable()
    entries = {
        s: tuple(EntryView.of(row) for row in profile.entries(s))
        for s in ENTRY_SECTIONS
        if s in readable
    }
    patient = record.identity()
    return Summary(
        patient=PatientLine(
            patient.id,
            patient.ins,
            patient.first_names,
            patient.birth_names,
            patient.birth_date,
            patient.sex,
        ),
        made_at=clock.now(),
        sections=tuple(readable),
        entries=entries,
        series=tuple(series_of(profile.measures())) if Section.MEASURES in readable else (),
        vaccinations=vaccinations_of(record) if Section.VACCINATIONS in readable else None,
        care=tuple(CareLineView.of(c) for c in profile.care_lines())
        if Section.REIMBURSED_CARE in readable
        else (),
        entourage=entourage_of(record) if Section.ENTOURAGE in readable else None,
    )


def read_summary(rt: Runtime, ctx: RequestContext, patient_id: str) -> Summary:
    with rt.transaction() as session:
        return summary_of(open_profile(session, rt, ctx, patient_id, Action.READ_PROFILE))


def summary_document(
    rt: Runtime, ctx: RequestContext, patient_id: str, base: str
) -> tuple[Summary, bytes]:
    """The IPS as a PDF: its essentials in a QR code, its FHIR Bundle embedded."""
    found = read_summary(rt, ctx, patient_id)
    bundle = ips_bundle(found, base)
    return found, summary_pdf(found, json.dumps(bundle, ensure_ascii=False).encode())


def add_to_record(rt: Runtime, ctx: RequestContext, patient_id: str, base: str) -> AnyDocument:
    """« Ajouter à mon dossier »: the profile as of today becomes a document (PDF, its FHIR form
    embedded), which pros then read under the normal rules (ACC-1…ACC-6, masking…)."""
    found, pdf = summary_document(rt, ctx, patient_id, base)
    new = records.NewDocument(
        type_code=SYNTHESIS_TYPE,
        title=f"Profil médical au {found.made_at:%d/%m/%Y}",
        mime_type="application/pdf",
        content=pdf,
        service_date=found.made_at.date(),
    )
    return records.upload_document(rt, ctx, new, patient_id=patient_id)
