"""The medical profile's pages (PRF-1, PRF-2), phone first: one page per section, measures
entered in a few taps and drawn over time (uPlot, with units, dates and the normal range),
vaccinations with the next dose due, Entourage et volontés, the summary as a PDF with a QR code,
and « Ajouter à mon dossier ». Every page reads and every form writes through the profile's use
cases; refusals become the error page."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carnet import clock
from carnet.access.rules import Section
from carnet.access.wording import SECTION_TEXT
from carnet.errors import Invalid, NotFound
from carnet.profile import catalog
from carnet.profile import entourage as ent
from carnet.profile import service as profile
from carnet.profile import summary as summaries
from carnet.profile.printout import entry_line
from carnet.profile.rules import DIRECTIVE_FILE_MAX, ContactIn, EntryIn, MeasureIn, VaccinationIn
from carnet.texts import N_
from carnet.web import profile_views as views
from carnet.web.deps import Csrf, PageRoute, PatientCtx, Rt
from carnet.web.patient import _page, content_response
from carnet.web.render import PARIS, redirect

router = APIRouter(route_class=PageRoute, include_in_schema=False)
S = "/espace/{patient_id}/profil"

#: The sections of entries, by their slug in the address.
SLUGS: dict[str, Section] = {
    "traitements": Section.TREATMENTS,
    "allergies": Section.ALLERGIES,
    "antecedents": Section.HISTORY,
    "problemes": Section.CONDITIONS,
}


def _here(patient_id: str, slug: str = "") -> str:
    return f"/espace/{patient_id}/profil" + (f"/{slug}" if slug else "")


def _number(text: str, what: str) -> float:
    try:
        return float(text.replace(",", ".").replace(" ", ""))
    except ValueError:
        raise Invalid(
            f"{what} : un nombre est attendu ({text}).",
            f"{what}: a number is expected ({text}).",
            code="bad_number",
        ) from None


def _moment(day: date | None, at: time | None) -> datetime:
    """The moment of a measure, in Paris time as the patient enters it: now by default."""
    now = clock.now()
    if day is None and at is None:
        return now
    local = datetime.combine(day or now.astimezone(PARIS).date(), at or time(12, 0), PARIS)
    if at is None and local.date() == now.astimezone(PARIS).date():
        return now
    return local


# ------------------------------------------------------------------------------------------
# The profile's home
# ------------------------------------------------------------------------------------------


@router.get(S)
def profile_home(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    readable = profile.readable_sections(rt, ctx, patient_id)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "profile_home.html",
        {
            "title": N_("Profil médical"),
            "links": views.section_links(patient_id, readable),
        },
        "profile",
    )


@router.post(S + "/ajouter", dependencies=[Csrf])
def add_to_record(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    """« Ajouter à mon dossier »: the dated synthesis becomes a document (DOC-1)."""
    document = summaries.add_to_record(rt, ctx, patient_id, views.fhir_base(request))
    return redirect(request, f"/espace/{patient_id}/documents/{document.id}")


@router.get(S + "/synthese.pdf")
def summary_pdf(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    """The summary (IPS) as a PDF with a QR code, for paper or offline use."""
    found, pdf = summaries.summary_document(rt, ctx, patient_id, views.fhir_base(request))
    title = f"Synthese {found.patient.first_names} {found.made_at:%Y-%m-%d}"
    return content_response(title, "application/pdf", pdf, download=True)


# ------------------------------------------------------------------------------------------
# Measures
# ------------------------------------------------------------------------------------------


@router.get(S + "/mesures")
def measures_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    series = profile.measures(rt, ctx, patient_id)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "profile_measures.html",
        {
            "title": N_("Mesures"),
            "series": series,
            "chart_data": views.chart_data(series),
            "kinds": [catalog.MEASURES[k] for k in catalog.ENTERED],
            "today": clock.now().astimezone(PARIS).date(),
        },
        "profile",
    )


@router.post(S + "/mesures", dependencies=[Csrf])
def add_measure(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    kind: Annotated[str, Form(max_length=20)],
    value: Annotated[str, Form(max_length=20)],
    unit: Annotated[str, Form(max_length=20)],
    value2: Annotated[str, Form(max_length=20)] = "",
    day: Annotated[date | None, Form()] = None,
    at: Annotated[time | None, Form()] = None,
) -> Response:
    """PRF-1: a measure in a few taps (its value; the unit and the moment are preset)."""
    new = MeasureIn(
        kind,
        _number(value, N_("Valeur")),
        unit,
        _moment(day, at),
        _number(value2, N_("Diastolique")) if value2.strip() else None,
    )
    profile.add_measure(rt, ctx, patient_id, new)
    return redirect(request, _here(patient_id, "mesures") + f"?ok=fait#mesure-{kind}")


@router.post(S + "/mesures/{measure_id}/supprimer", dependencies=[Csrf])
def delete_measure(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, measure_id: str
) -> Response:
    profile.delete_measure(rt, ctx, patient_id, measure_id)
    return redirect(request, _here(patient_id, "mesures") + "?ok=fait")


# ------------------------------------------------------------------------------------------
# Vaccinations and reimbursed care
# ------------------------------------------------------------------------------------------


@router.get(S + "/vaccinations")
def vaccinations_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    found = profile.vaccinations(rt, ctx, patient_id)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "profile_vaccinations.html",
        {
            "title": N_("Vaccinations"),
            "v": found,
            "vaccines": sorted(catalog.VACCINES.values(), key=lambda v: v.label_fr),
            "series": catalog.SERIES,
            "today": clock.now().astimezone(PARIS).date(),
        },
        "profile",
    )


@router.post(S + "/vaccinations", dependencies=[Csrf])
def add_vaccination(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    vaccine: Annotated[str, Form(max_length=20)],
    given_on: Annotated[date, Form()],
    dose: Annotated[int | None, Form(ge=1, le=20)] = None,
    lot: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    profile.add_vaccination(
        rt, ctx, patient_id, VaccinationIn(vaccine, given_on, dose, lot or None)
    )
    return redirect(request, _here(patient_id, "vaccinations") + "?ok=fait")


@router.post(S + "/vaccinations/{vaccination_id}/supprimer", dependencies=[Csrf])
def delete_vaccination(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, vaccination_id: str
) -> Response:
    profile.delete_vaccination(rt, ctx, patient_id, vaccination_id)
    return redirect(request, _here(patient_id, "vaccinations") + "?ok=fait")


@router.get(S + "/soins")
def care_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "profile_care.html",
        {"title": N_("Historique de soins"), "lines": profile.care(rt, ctx, patient_id)},
        "profile",
    )


# ------------------------------------------------------------------------------------------
# Entourage et volontés
# ------------------------------------------------------------------------------------------


@router.get(S + "/entourage")
def entourage_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "profile_entourage.html",
        {
            "title": N_("Entourage et volontés"),
            "e": ent.entourage(rt, ctx, patient_id),
            "roles": catalog.CONTACT_ROLES,
            "relationships": catalog.RELATIONSHIPS,
            "max_mb": DIRECTIVE_FILE_MAX // (1024 * 1024),
        },
        "profile",
    )


@router.post(S + "/entourage/contacts", dependencies=[Csrf])
def save_contact(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    role: Annotated[str, Form(max_length=20)],
    first_names: Annotated[str, Form(max_length=200)],
    last_name: Annotated[str, Form(max_length=200)],
    relationship: Annotated[str, Form(max_length=10)],
    phone: Annotated[str, Form(max_length=40)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    contact_id: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    new = ContactIn(role, first_names, last_name, relationship, phone or None, email or None)
    ent.save_contact(rt, ctx, patient_id, new, contact_id or None)
    return redirect(request, _here(patient_id, "entourage") + "?ok=fait")


@router.post(S + "/entourage/contacts/{contact_id}/supprimer", dependencies=[Csrf])
def delete_contact(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, contact_id: str
) -> Response:
    ent.delete_contact(rt, ctx, patient_id, contact_id)
    return redirect(request, _here(patient_id, "entourage") + "?ok=fait")


@router.get(S + "/directives")
def directives_page(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, id: str = ""
) -> Response:
    """The official model's questions (to write directives online, or rewrite them)."""
    found = ent.entourage(rt, ctx, patient_id)
    current = next((d for d in found.directives if d.id == id and d.kind == "form"), None)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "profile_directives.html",
        {
            "title": N_("Directives anticipées"),
            "questions": catalog.DIRECTIVE_QUESTIONS,
            "choices": catalog.DIRECTIVE_CHOICES,
            "answers": current.answers if current else {},
            "directive_id": current.id if current else "",
        },
        "profile",
    )


@router.post(S + "/directives", dependencies=[Csrf])
async def write_directives(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    form = await request.form()
    answers = {q.id: str(form.get(q.id) or "") for q in catalog.DIRECTIVE_QUESTIONS if q.id in form}
    directive_id = str(form.get("directive_id") or "") or None
    await run_in_threadpool(ent.write_directives, rt, ctx, patient_id, answers, directive_id)
    return redirect(request, _here(patient_id, "entourage") + "?ok=fait")


@router.post(S + "/directives/fichier", dependencies=[Csrf])
async def upload_directives(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    file: Annotated[UploadFile, File()],
) -> Response:
    data = await file.read(DIRECTIVE_FILE_MAX + 1)
    await run_in_threadpool(
        ent.upload_directives, rt, ctx, patient_id, data, file.content_type or ""
    )
    return redirect(request, _here(patient_id, "entourage") + "?ok=fait")


@router.get(S + "/directives/{directive_id}/fichier")
def directive_file(rt: Rt, ctx: PatientCtx, patient_id: str, directive_id: str) -> Response:
    view, data = ent.directive_file(rt, ctx, patient_id, directive_id)
    return content_response(
        f"Directives anticipees {view.written_on:%Y-%m-%d}", "application/pdf", data, False
    )


@router.post(S + "/directives/{directive_id}/supprimer", dependencies=[Csrf])
def delete_directive(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, directive_id: str
) -> Response:
    ent.delete_directive(rt, ctx, patient_id, directive_id)
    return redirect(request, _here(patient_id, "entourage") + "?ok=fait")


# ------------------------------------------------------------------------------------------
# Treatments, allergies, history, conditions
# ------------------------------------------------------------------------------------------


def _section(slug: str) -> Section:
    found = SLUGS.get(slug)
    if found is None:
        raise NotFound()
    return found


@router.get(S + "/{slug}")
def entries_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, slug: str) -> Response:
    section = _section(slug)
    entries = profile.list_entries(rt, ctx, patient_id, section)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "profile_entries.html",
        {
            "title": SECTION_TEXT[section][0],
            "slug": slug,
            "entry_section": section.value,
            "entries": [(e, entry_line(e)) for e in entries],
            "catalog": catalog,
            "today": clock.now().astimezone(PARIS).date(),
        },
        "profile",
    )


@router.post(S + "/{slug}", dependencies=[Csrf])
def add_entry(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    slug: str,
    label: Annotated[str, Form(max_length=1000)],
    detail: Annotated[str, Form(max_length=5000)] = "",
    kind: Annotated[str, Form(max_length=20)] = "",
    category: Annotated[str, Form(max_length=20)] = "",
    criticality: Annotated[str, Form(max_length=20)] = "",
    relation: Annotated[str, Form(max_length=10)] = "",
    status: Annotated[str, Form(max_length=20)] = "",
    start_date: Annotated[date | None, Form()] = None,
    end_date: Annotated[date | None, Form()] = None,
) -> Response:
    new = EntryIn(
        _section(slug),
        label,
        detail or None,
        kind or None,
        category or None,
        criticality or None,
        relation or None,
        status or None,
        start_date,
        end_date,
    )
    profile.add_entry(rt, ctx, patient_id, new)
    return redirect(request, _here(patient_id, slug) + "?ok=fait")


@router.post(S + "/{slug}/{entry_id}/supprimer", dependencies=[Csrf])
def delete_entry(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, slug: str, entry_id: str
) -> Response:
    profile.delete_entry(rt, ctx, patient_id, _section(slug), entry_id)
    return redirect(request, _here(patient_id, slug) + "?ok=fait")
