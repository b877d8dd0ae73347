"""The professionals' portal at ``/pro``: the web DMP of a pro without DMP-ready software.

Log-in by OpenID Connect against the configured issuer (or, in demo mode only, a chooser of the
directory's pros); finding a patient by INS or by the five traits (ID-3); declaring consent
(ACC-2); reading in the access mode chosen for the record, shown on every page, the reason asked
first for bris de glace (ACC-6); uploading with the visibility choices (DOC-3), replacing,
deleting, masking (DOC-4, DOC-6, ACC-4). Each act calls the use case the pros' JSON API calls.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Callable
from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carnet.access import pro as pro_cases
from carnet.auth.login import LoginRefused, RelyingParty
from carnet.auth.verify import TokenVerifier
from carnet.context import AccessMode
from carnet.errors import NotFound
from carnet.identity import portal
from carnet.identity.labels import PROFESSIONS
from carnet.identity.traits import Sex, Traits
from carnet.population.identity import find_ins
from carnet.population.insi import RateLimiter
from carnet.records import service as records
from carnet.records.catalog import PATIENT_TYPES, TYPES
from carnet.records.content import PRO_MAX_BYTES
from carnet.records.rules import Act, Actor, may_act
from carnet.records.service import AnyDocument, DocumentFilter, NewDocument
from carnet.runtime import Runtime
from carnet.texts import N_
from carnet.web import views
from carnet.web.deps import PRO_COOKIE, Csrf, PageRoute, ProSession, Rt
from carnet.web.patient import content_response
from carnet.web.render import lang_of, redirect, render, secure

router = APIRouter(prefix="/pro", route_class=PageRoute, include_in_schema=False)
OIDC_COOKIE = "carnet_oidc"
P = "/patients/{patient_id}"
PRO_TYPES = sorted((t for c, t in TYPES.items() if c not in PATIENT_TYPES), key=lambda t: t.label)
#: What a pro's act on a record did, said after it (``?ok=``).
NOTICES = {
    "ajoute": N_("Document ajouté au dossier."),
    "remplace": N_("Nouvelle version enregistrée ; l'ancienne est conservée."),
    "supprime": N_("Document supprimé."),
    "masque": N_("Document masqué aux autres professionnels."),
    "demasque": N_("Document de nouveau visible des professionnels autorisés."),
    "visible": N_("Document rendu visible au patient."),
    "consentement": N_("Consentement déclaré : vous êtes dans l'équipe de soins du patient."),
}


def _callback(request: Request) -> str:
    public: str = request.app.state.runtime.settings.public_url
    return public.rstrip("/") + "/pro/connexion/retour"


def _ctx(rt: Rt, me: portal.PortalSession, patient_id: str) -> tuple[AccessMode, str | None]:
    return portal.mode_for(rt.uow, me, patient_id)


def _banner(
    rt: Rt, me: portal.PortalSession, patient_id: str, mode: AccessMode, reason: str | None
) -> pro_cases.PatientBanner | None:
    """Identitovigilance: who the patient is, on every page of his record; with the record's
    decision in the chosen mode (the emergency banner only over an emergency access)."""
    return pro_cases.patient_banner(rt, me.context(mode, reason), patient_id)


def _may(
    me: portal.PortalSession, banner: pro_cases.PatientBanner | None
) -> Callable[[str, AnyDocument], bool]:
    """Which acts to offer on a document: the act rule's answer (records.rules.may_act), so no
    button leads to a refusal (issue 15 finding 6)."""

    def may(act: str, document: AnyDocument) -> bool:
        actor = Actor(
            is_patient_side=False,
            is_author=document.author_id == me.rpps,
            is_administrator=bool(banner and banner.administrator),
        )
        return may_act(Act(act), actor)

    return may


def _page(
    request: Request, template: str, me: portal.PortalSession | None, values: dict[str, object]
) -> Response:
    values.setdefault("me", me)
    if me is not None and "banner" in values:
        values.setdefault("may", _may(me, values["banner"]))  # type: ignore[arg-type]
    values.setdefault("notice", NOTICES.get(request.query_params.get("ok") or ""))
    values.setdefault("profession_label", views.profession_label(me.profession) if me else "")
    return render(request, template, values)


@router.get("/")
def home(request: Request, rt: Rt) -> Response:
    me = portal.current(rt.uow, request.cookies.get(PRO_COOKIE, ""))
    if me is None:
        settings = rt.settings
        return _page(
            request,
            "pro/login.html",
            None,
            {
                "title": N_("Connexion"),
                "oidc": bool(settings.oidc_issuer and settings.oidc_client_id),
                "demo": settings.demo,
                "pros": portal.demo_pros(rt.uow) if settings.demo else [],
                "professions": PROFESSIONS,
            },
        )
    return _page(
        request, "pro/home.html", me, {"title": N_("Espace des professionnels"), "found": None}
    )


def _relying_party(request: Request, rt: Runtime) -> RelyingParty:
    verifier: TokenVerifier = request.app.state.verifier
    if verifier.provider is None or not rt.settings.oidc_client_id:
        raise NotFound(
            N_("Aucun fournisseur d'identité n'est configuré."),
            "No identity provider is configured.",
        )
    return RelyingParty.from_settings(rt.settings, verifier.provider)


def _login_expired() -> LoginRefused:
    return LoginRefused(
        "Connexion expirée ou commencée ailleurs : recommencez depuis l'espace des professionnels.",
        "Log-in expired or started elsewhere: please start again from the professionals' portal.",
        code="login_expired",
    )


@router.get("/connexion/oidc")
async def oidc_start(request: Request, rt: Rt) -> Response:
    auth = await _relying_party(request, rt).begin(_callback(request))
    response = redirect(request, auth.url)
    response.set_cookie(
        OIDC_COOKIE,
        f"{auth.state}.{auth.nonce}.{auth.verifier}",
        max_age=600,
        httponly=True,
        samesite="lax",
        secure=secure(request),
        path="/pro/connexion",
    )
    return response


@router.get("/connexion/retour")
async def oidc_back(
    request: Request,
    rt: Rt,
    code: str = "",
    state: str = "",
    error: str = "",
    iss: str = "",
) -> Response:
    """The provider's answer (RFC 6749 §4.1.2): a code for this browser's ``state``, or an error;
    ``iss``, when sent, must be our provider (RFC 9207, against mix-ups)."""
    rp = _relying_party(request, rt)
    kept = request.cookies.get(OIDC_COOKIE, "").split(".")
    kept_state, nonce, verifier = kept if len(kept) == 3 else ("", "", "")
    if not state or not kept_state or not hmac.compare_digest(state, kept_state):
        raise _login_expired()
    if iss and iss != rp.provider.issuer:
        raise LoginRefused(
            "Connexion refusée : la réponse vient d'un autre fournisseur d'identité.",
            "Log-in refused: the answer comes from another identity provider.",
            code="login_issuer_mismatch",
        )
    if error or not code:
        shown = error[:40] if error.replace("_", "").isalnum() else "?"
        raise LoginRefused(
            f"Connexion annulée ou refusée par le fournisseur d'identité (« {shown} »).",
            f"Log-in cancelled or refused by the identity provider ('{shown}').",
            code="login_refused_by_provider",
        )
    result = await rp.finish(code, verifier, nonce, _callback(request))
    me = await run_in_threadpool(portal.open_session, rt.uow, result.claims, result.id_token)
    response = redirect(request, "/pro/")
    response.delete_cookie(OIDC_COOKIE, path="/pro/connexion")
    _set(request, response, me.token)
    return response


def _set(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        PRO_COOKIE, token, httponly=True, samesite="lax", secure=secure(request), path="/pro"
    )


@router.post("/demo", dependencies=[Csrf])
def demo_login(request: Request, rt: Rt, rpps: Annotated[str, Form(max_length=11)]) -> Response:
    me = portal.demo_login(rt.uow, rt.settings, rpps)
    response = redirect(request, "/pro/")
    _set(request, response, me.token)
    return response


@router.post("/deconnexion", dependencies=[Csrf])
def logout(request: Request, rt: Rt) -> Response:
    """Ends Carnet's session, then the provider's (RP-Initiated Logout): on a shared computer the
    next « Se connecter » must ask for the card again. The way to the provider is a page that
    moves on by itself, not a redirect: a form's redirect to another origin would break the
    pages' ``form-action 'self'``."""
    id_token = portal.end(rt.uow, request.cookies.get(PRO_COOKIE, ""))
    verifier: TokenVerifier = request.app.state.verifier
    provider_logout = None
    if id_token and verifier.provider is not None and rt.settings.oidc_client_id:
        back_to = rt.settings.public_url.rstrip("/") + "/pro/"
        rp = RelyingParty.from_settings(rt.settings, verifier.provider)
        provider_logout = rp.logout_url(id_token, back_to)
    if provider_logout is None:
        response = redirect(request, "/pro/")
    else:
        response = _page(
            request,
            "pro/logout.html",
            None,
            {"title": N_("Déconnexion"), "target": provider_logout},
        )
    response.delete_cookie(PRO_COOKIE, path="/pro")
    return response


@router.post("/recherche", dependencies=[Csrf])
def search(
    request: Request, rt: Rt, me: ProSession, ins: Annotated[str, Form(max_length=20)]
) -> Response:
    """By INS (kept out of URLs): the record's status for this pro (TD0.2), then the record."""
    found = pro_cases.find_patient(rt, me.context(), ins.replace(" ", ""))
    return redirect(request, f"/pro/patients/{found.patient.id}")


@router.post("/insi", dependencies=[Csrf])
def insi(
    request: Request,
    rt: Rt,
    me: ProSession,
    birth_names: Annotated[str, Form(max_length=200)],
    first_names: Annotated[str, Form(max_length=200)],
    sex: Annotated[str, Form(max_length=1)],
    birth_date: Annotated[date, Form()],
    birth_place: Annotated[str, Form(max_length=5)],
) -> Response:
    """ID-3: the INSi-like look-up by the five traits."""
    limiter: RateLimiter = request.app.state.insi_limiter
    answer = find_ins(
        rt.uow,
        me.context(),
        limiter,
        Traits(birth_names, first_names, Sex(sex), birth_date, birth_place),
    )
    return _page(
        request, "pro/home.html", me, {"title": N_("Espace des professionnels"), "found": answer}
    )


@router.get(P)
def record(request: Request, rt: Rt, me: ProSession, patient_id: str) -> Response:
    mode, reason = _ctx(rt, me, patient_id)
    lang = lang_of(request)
    try:
        _, documents = records.list_documents(
            rt, me.context(mode, reason), patient_id, DocumentFilter()
        )
        refused = False
    except NotFound:
        documents, refused = [], True
    documents.sort(key=lambda d: d.service_date or d.created_at.date(), reverse=True)
    authors = portal.directory_labels(
        rt.uow, {d.author_id for d in documents if d.author_kind == "pro"}
    )
    return _page(
        request,
        "pro/record.html",
        me,
        {
            "title": N_("Dossier du patient"),
            "banner": _banner(rt, me, patient_id, mode, reason),
            "pid": patient_id,
            "mode": mode.value,
            "reason": reason,
            "documents": documents,
            "refused": refused,
            "authors": authors,
            "category_label": lambda c: views.category_label(c, lang),
            "types": PRO_TYPES,
        },
    )


@router.post(P + "/consentement", dependencies=[Csrf])
def consent(
    request: Request,
    rt: Rt,
    me: ProSession,
    patient_id: str,
    consent: Annotated[bool, Form()] = False,
) -> Response:
    """ACC-2: the ticked box."""
    if consent:
        portal.choose_mode(rt.uow, me, patient_id, AccessMode.NORMAL, None)
        pro_cases.declare_consent(rt, me.context(), patient_id)
        return redirect(request, f"/pro/patients/{patient_id}?ok=consentement")
    return redirect(request, f"/pro/patients/{patient_id}")


@router.post(P + "/mode", dependencies=[Csrf])
def choose_mode(
    request: Request,
    rt: Rt,
    me: ProSession,
    patient_id: str,
    mode: Annotated[str, Form(max_length=30)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """ACC-6: bris de glace (reason first) or régulation; the gate decides at each read. The
    reason is typed in a text area: its line breaks are spaces; other control characters are
    refused (``texts.checked_reason``)."""
    try:
        chosen = AccessMode(mode)
    except ValueError:
        raise NotFound() from None
    portal.choose_mode(rt.uow, me, patient_id, chosen, re.sub(r"\r\n|\r|\n", " ", reason))
    return redirect(request, f"/pro/patients/{patient_id}")


@router.get(P + "/documents/{document_id}")
def document_page(
    request: Request, rt: Rt, me: ProSession, patient_id: str, document_id: str
) -> Response:
    mode, reason = _ctx(rt, me, patient_id)
    document = records.get_document(rt, me.context(mode, reason), patient_id, document_id)
    lang = lang_of(request)
    return _page(
        request,
        "pro/document.html",
        me,
        {
            "title": document.title,
            "banner": _banner(rt, me, patient_id, mode, reason),
            "pid": patient_id,
            "mode": mode.value,
            "reason": reason,
            "d": document,
            "kind": views.viewable(document.mime_type),
            "author": portal.directory_labels(rt.uow, {document.author_id}).get(
                document.author_id, ""
            ),
            "category": views.category_label(document.category, lang),
            "type_label": views.type_label(document.type_code),
            "base": f"/pro/patients/{patient_id}",
            "types": PRO_TYPES,
        },
    )


@router.get(P + "/documents/{document_id}/contenu")
def document_content(
    rt: Rt, me: ProSession, patient_id: str, document_id: str, telecharger: bool = False
) -> Response:
    mode, reason = _ctx(rt, me, patient_id)
    document, data = records.read_content(rt, me.context(mode, reason), patient_id, document_id)
    return content_response(document.title, document.mime_type, data, telecharger)


async def _new(
    file: UploadFile,
    title: str,
    type_code: str,
    service_date: date | None,
    masked: bool,
    invisible_patient: bool,
    invisible_representatives: bool,
) -> NewDocument:
    data = await file.read(PRO_MAX_BYTES + 1)
    return NewDocument(
        type_code=type_code,
        title=title or (file.filename or ""),
        mime_type=file.content_type or "",
        content=data,
        service_date=service_date,
        masked=masked,
        invisible_patient=invisible_patient,
        invisible_representatives=invisible_representatives,
    )


@router.post(P + "/documents", dependencies=[Csrf])
async def upload(
    request: Request,
    rt: Rt,
    me: ProSession,
    patient_id: str,
    file: Annotated[UploadFile, File()],
    type_code: Annotated[str, Form(max_length=20)],
    title: Annotated[str, Form(max_length=500)] = "",
    service_date: Annotated[date | None, Form()] = None,
    masked: Annotated[bool, Form()] = False,
    invisible_patient: Annotated[bool, Form()] = False,
    invisible_representatives: Annotated[bool, Form()] = False,
) -> Response:
    """DOC-1, DOC-3: feeding needs no consent; the visibility is chosen here."""
    new = await _new(
        file, title, type_code, service_date, masked, invisible_patient, invisible_representatives
    )
    await run_in_threadpool(records.upload_document, rt, me.context(), new, patient_id=patient_id)
    return redirect(request, f"/pro/patients/{patient_id}?ok=ajoute")


@router.post(P + "/documents/{document_id}/remplacer", dependencies=[Csrf])
async def replace(
    request: Request,
    rt: Rt,
    me: ProSession,
    patient_id: str,
    document_id: str,
    file: Annotated[UploadFile, File()],
    type_code: Annotated[str, Form(max_length=20)],
    title: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """DOC-6: the author's new version; the old one is kept, superseded."""
    new = await _new(file, title, type_code, None, False, False, False)
    mode, reason = _ctx(rt, me, patient_id)
    document = await run_in_threadpool(
        records.replace_document, rt, me.context(mode, reason), patient_id, document_id, new
    )
    return redirect(request, f"/pro/patients/{patient_id}/documents/{document.id}?ok=remplace")


@router.post(P + "/documents/{document_id}/{act}", dependencies=[Csrf])
def act(
    request: Request,
    rt: Rt,
    me: ProSession,
    patient_id: str,
    document_id: str,
    act: str,
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    """DOC-6 delete (the author, asked first), DOC-4 / ACC-4 mask at the patient's request
    (author or administrator), DOC-3 make visible to the patient (the author)."""
    mode, reason = _ctx(rt, me, patient_id)
    ctx = me.context(mode, reason)
    if act == "supprimer" and not confirm:
        document = records.get_document(rt, ctx, patient_id, document_id)
        return _page(
            request,
            "pro/confirm.html",
            me,
            {
                "title": N_("Supprimer ce document ?"),
                "heading": N_("Supprimer ce document ?"),
                "banner": _banner(rt, me, patient_id, mode, reason),
                "subject": document.title,
                "consequences": [
                    N_(
                        "Il disparaît du dossier du patient : ni lui ni les professionnels ne le "
                        "verront plus."
                    ),
                    N_("Pour corriger un document, remplacez-le plutôt par une nouvelle version."),
                ],
                "fields": {},
                "action": request.url.path,
                "button": N_("Supprimer définitivement"),
                "cancel": f"/pro/patients/{patient_id}/documents/{document_id}",
            },
        )
    if act == "supprimer":
        records.delete_document(rt, ctx, patient_id, document_id)
        done = "supprime"
    elif act == "masquer":
        records.set_masked(rt, ctx, patient_id, document_id, True)
        done = "masque"
    elif act == "demasquer":
        records.set_masked(rt, ctx, patient_id, document_id, False)
        done = "demasque"
    elif act == "rendre-visible":
        records.show_to_patient(rt, ctx, patient_id, document_id)
        done = "visible"
    else:
        raise NotFound()
    return redirect(request, f"/pro/patients/{patient_id}?ok={done}")
