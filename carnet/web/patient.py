"""The patient's space: getting in (LC-4), spaces (ACC-8, LC-8), documents (DOC-*), history and
notifications (TR-1, TR-2), who sees my data (ACC-2…ACC-6). Every act calls the use case the JSON
API calls."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from urllib.parse import quote, urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from carnet.access import space
from carnet.access.history import HistoryFilter
from carnet.access.rules import Viewer
from carnet.access.space import read_history
from carnet.access.wording import why_text
from carnet.auth import totp
from carnet.context import Door, RequestContext
from carnet.errors import Invalid, NotFound
from carnet.identity import portal
from carnet.identity.labels import PROFESSIONS
from carnet.lifecycle.activation import activate_profile
from carnet.messaging import service as messaging
from carnet.notify.service import smtp_mailer
from carnet.population import login, login_rules
from carnet.records import service as records
from carnet.records.catalog import PATIENT_TYPES, PERSONAL_SPACE, TYPES
from carnet.records.content import PATIENT_MAX_BYTES, file_name
from carnet.records.service import DocumentFilter, NewDocument
from carnet.texts import N_
from carnet.transparency import service as transparency
from carnet.web import views
from carnet.web.deps import (
    SESSION_COOKIE,
    Csrf,
    LoginRequired,
    PageRoute,
    PatientCtx,
    Person,
    Rt,
    patient_context,
    person_id,
    throttle,
)
from carnet.web.render import LANG_COOKIE, PARIS, lang_of, redirect, render, secure

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PENDING_COOKIE = "carnet_login"
#: A browser that completed a log-in keeps this: its failures are counted apart from a
#: stranger's, and it still gets in while unknown sources are locked out (issue 15).
DEVICE_COOKIE = "carnet_appareil"
S = "/espace/{patient_id}"
#: Documents a page in the patient's list.
DOCUMENTS_PAGE = 50

NOTICES = {
    "active": N_("Votre profil est activé : connectez-vous."),
    "sortie": N_("Vous êtes déconnecté."),
    "ajoute": N_("Document ajouté."),
    "supprime": N_("Document supprimé."),
    "fait": N_("Fait."),
    "tout-lu": N_("Toutes vos notifications sont marquées comme lues."),
    "masques": N_(
        "Vos documents sont masqués aux professionnels (sauf leurs auteurs, vos "
        "administrateurs et votre médecin traitant)."
    ),
    "demasques": N_("Vos documents sont de nouveau visibles des professionnels autorisés."),
    "masque": N_("Document masqué aux professionnels."),
    "demasque": N_("Document de nouveau visible des professionnels autorisés."),
    "bloque": N_("Professionnel bloqué : il n'a plus accès à votre profil, même en urgence."),
    "debloque": N_("Professionnel débloqué."),
    "autorise": N_("Professionnel autorisé à consulter votre profil."),
    "administrateur": N_("Administrateur nommé."),
    "retire": N_("Administration retirée."),
    "urgence": N_("Vos choix pour les accès en urgence sont enregistrés."),
    "medecin-traitant": N_("Médecin traitant enregistré."),
    "code-demande": N_(
        "Demande enregistrée : si elle correspond à un profil à activer, un nouveau "
        "code vous sera adressé par courrier."
    ),
    "cloture": N_("Le profil est clôturé. Un e-mail vous le confirme."),
    "opposition": N_("L'opposition est enregistrée : le profil est fermé."),
    "demande": N_("Votre demande est enregistrée : l'Assurance Maladie la traitera."),
    "partage": N_("Le profil est partagé : le second représentant le trouve dans ses espaces."),
    "espace-active": N_("L'espace est activé."),
}


def _notice(key: str | None) -> str | None:
    return NOTICES.get(key or "")


def _space(rt: Rt, ctx: RequestContext, patient_id: str) -> tuple[list[space.Space], space.Space]:
    spaces = space.my_spaces(rt, ctx)
    current = next((s for s in spaces if s.patient_id == patient_id), None)
    if current is None:
        raise NotFound()
    return spaces, current


def _page(
    request: Request,
    rt: Rt,
    ctx: RequestContext,
    patient_id: str,
    template: str,
    values: dict[str, object],
    section: str,
) -> Response:
    spaces, current = _space(rt, ctx, patient_id)
    values.update(spaces=spaces, current=current, section=section, pid=patient_id)
    values.setdefault("notice", _notice(request.query_params.get("ok")))
    return render(request, template, values)


# ------------------------------------------------------------------------------------------
# Getting in
# ------------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request, rt: Rt) -> Response:
    """The patient's home: his own space's, else the choice of the spaces he manages."""
    try:
        person = person_id(request, rt)
    except LoginRequired:
        return render(
            request, "login.html", {"title": N_("Connexion"), "suite": "", "notice": None}
        )
    ctx = patient_context(person)
    if not any(s.patient_id == person for s in space.my_spaces(rt, ctx)):
        return redirect(request, "/espaces")
    return _home(request, rt, ctx, person)


@router.get(S + "/accueil")
def space_home_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    """The home of a space (his own, or one he manages)."""
    return _home(request, rt, ctx, patient_id)


def _home(request: Request, rt: Rt, ctx: RequestContext, patient_id: str) -> Response:
    """A greeting, what is new since the last visit (documents, messages, accesses by pros,
    notifications), shortcuts — each read through the use case its own page calls."""
    lang = lang_of(request)
    log_ins = read_history(
        rt, ctx, patient_id, 1, HistoryFilter(actions=frozenset({"log_in"}), actor_kind="patient")
    ).entries
    since = log_ins[1].at if len(log_ins) > 1 else None
    _, documents = records.list_documents(rt, ctx, patient_id, DocumentFilter())
    new_documents = sorted(
        (d for d in documents if since is None or d.created_at > since),
        key=lambda d: d.created_at,
        reverse=True,
    )
    accesses = read_history(rt, ctx, patient_id, 1, HistoryFilter(since=since, actor_kind="pro"))
    lines, _ = views.history_lines(accesses.entries, lang)
    box = messaging.list_conversations(rt, ctx, patient_id)
    notes = space.notifications(rt, ctx, patient_id)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "home.html",
        {
            "title": N_("Accueil"),
            "since": since,
            "new_documents": new_documents[:5],
            "new_documents_count": len(new_documents),
            "access_lines": lines[:5],
            "access_count": accesses.total,
            "unread_messages": sum(c.unread for c in box.conversations),
            "unread_notifications": sum(1 for n in notes if n.read_at is None),
        },
        "home",
    )


@router.get("/connexion")
def login_page(request: Request, suite: str = "", ok: str | None = None) -> Response:
    return render(
        request,
        "login.html",
        {
            "title": N_("Connexion"),
            "suite": suite if suite.startswith("/") else "",
            "notice": _notice(ok),
        },
    )


@router.post("/connexion", dependencies=[Csrf])
def login_submit(
    request: Request,
    rt: Rt,
    identifier: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    suite: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    throttle(request, "connexion")
    settings = rt.settings
    mailer = smtp_mailer(settings) if settings.smtp_relay else None
    source = login.Source(
        address=rt.pseudonym(request.client.host if request.client else "?"),
        device=request.cookies.get(DEVICE_COOKIE, ""),
    )
    challenge = login.start_login(rt.uow, settings, identifier, password, mailer, source)
    response = render(
        request,
        "code.html",
        {
            "title": N_("Code de vérification"),
            "sent_to": challenge.sent_to,
            "shown_code": challenge.shown_code,
            "factor": challenge.factor,
            "suite": suite if suite.startswith("/") else "",
        },
    )
    response.set_cookie(
        PENDING_COOKIE,
        challenge.id,
        max_age=600,
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/connexion",
    )
    return response


@router.post("/connexion/code", dependencies=[Csrf])
def code_submit(
    request: Request,
    rt: Rt,
    code: Annotated[str, Form(max_length=20)],
    suite: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    throttle(request, "code")
    opened = login.finish_login(
        rt.uow,
        rt.master_key,
        request.cookies.get(PENDING_COOKIE, ""),
        code,
        request.cookies.get(DEVICE_COOKIE, ""),
    )
    response = redirect(request, suite if suite.startswith("/espace/") else "/espaces")
    _set_session(request, response, opened.token)
    response.delete_cookie(PENDING_COOKIE, path="/connexion")
    response.set_cookie(
        DEVICE_COOKIE,
        opened.device,
        max_age=int(login_rules.KNOWN_DEVICE.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure(request),
        path="/connexion",
    )
    return response


# ------------------------------------------------------------------------------------------
# The second factor by authenticator app (issue 15): the person's own credentials
# ------------------------------------------------------------------------------------------


def _security(request: Request, values: dict[str, object]) -> Response:
    values.setdefault("title", N_("Sécurité de la connexion"))
    for key in ("secret", "uri", "codes", "enabled"):
        values.setdefault(key, None)
    return render(request, "security.html", values)


@router.get("/securite")
def security_page(request: Request, rt: Rt, person: Person) -> Response:
    return _security(request, {"enabled": login.app_enabled(rt.uow, person)})


@router.post("/securite/application", dependencies=[Csrf])
def security_begin(request: Request, rt: Rt, person: Person) -> Response:
    """A new secret to add to the app; active once a code from it confirms it."""
    secret = login.begin_app(rt.uow, rt.master_key, person)
    return _security(
        request,
        {
            "secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
            "uri": totp.otpauth_uri(secret, N_("Mon espace santé")),
        },
    )


@router.post("/securite/application/confirmer", dependencies=[Csrf])
def security_confirm(
    request: Request, rt: Rt, person: Person, code: Annotated[str, Form(max_length=12)]
) -> Response:
    throttle(request, "code")
    codes = login.confirm_app(rt.uow, rt.master_key, person, code)
    return _security(request, {"codes": codes, "enabled": True})


@router.post("/securite/application/retirer", dependencies=[Csrf])
def security_end(request: Request, rt: Rt, person: Person) -> Response:
    login.end_app(rt.uow, person)
    return redirect(request, "/securite")


def _set_session(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=secure(request), path="/"
    )


@router.post("/deconnexion", dependencies=[Csrf])
def logout(request: Request, rt: Rt) -> Response:
    login.end_session(rt.uow, request.cookies.get(SESSION_COOKIE, ""))
    response = redirect(request, "/connexion?ok=sortie")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/activation")
def activation_page(request: Request) -> Response:
    return render(request, "activation.html", {"title": N_("Activation")})


@router.post("/activation", dependencies=[Csrf])
def activation_submit(
    request: Request,
    rt: Rt,
    code: Annotated[str, Form(max_length=100)],
    birth_date: Annotated[date, Form()],
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1000)],
    samu: Annotated[str | None, Form(max_length=3)] = None,
) -> Response:
    """LC-4: the letter's code and the birth date, then a personal e-mail and a password, and
    the SAMU question answered (ACC-6: nothing pre-selected)."""
    activate_profile(
        rt,
        RequestContext.operator(door=Door.WEB),
        code=code,
        birth_date=birth_date,
        email=email,
        password=password,
        emergency_samu={"oui": True, "non": False}.get(samu or ""),
    )
    return redirect(request, "/connexion?ok=active")


@router.post("/langue", dependencies=[Csrf])
def language(
    request: Request,
    lang: Annotated[str, Form(max_length=2)],
    suite: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    response = redirect(
        request, suite if suite.startswith("/") and not suite.startswith("//") else "/"
    )
    response.set_cookie(
        LANG_COOKIE, "en" if lang == "en" else "fr", max_age=365 * 86400, samesite="lax", path="/"
    )
    return response


@router.get("/espaces")
def spaces_page(request: Request, rt: Rt, ctx: PatientCtx, person: Person) -> Response:
    """ACC-8, LC-8: one's own space and those of the people one represents (and those he may
    activate for them, LC-7)."""
    spaces = space.my_spaces(rt, ctx)
    to_activate = space.spaces_to_activate(rt, ctx)
    if len(spaces) == 1 and not to_activate:
        return redirect(request, f"/espace/{spaces[0].patient_id}/accueil")  # the home first
    return render(
        request,
        "spaces.html",
        {
            "title": N_("Mes espaces"),
            "spaces": spaces,
            "to_activate": to_activate,
            "notice": _notice(request.query_params.get("ok")),
            "current": spaces[0] if spaces else None,
            "section": "",
            "pid": person,
        },
    )


@router.get(S)
def space_home(request: Request, patient_id: str, person: Person) -> Response:
    return redirect(request, f"/espace/{patient_id}/documents")


# ------------------------------------------------------------------------------------------
# Documents (DOC-*)
# ------------------------------------------------------------------------------------------


def _day(value: str, fr: str, en: str) -> date | None:
    """A search form's date: left empty, no bound (the form always sends the field)."""
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(
            f"La date {fr} n'est pas une date (attendu : jj/mm/aaaa).",
            f"The {en} date is not a date (expected: dd/mm/yyyy).",
            code="bad_date",
        ) from None


@router.get(S + "/documents")
def documents_page(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    categorie: str | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    depuis_: Annotated[str, Query(alias="depuis", max_length=10)] = "",
    jusqu_: Annotated[str, Query(alias="jusqu", max_length=10)] = "",
    archives: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The documents, newest first, ``DOCUMENTS_PAGE`` a page: a phone shows what fits, and a
    large record's page answers as fast as the JSON listing (bench/pages.py)."""
    lang = lang_of(request)
    depuis = _day(depuis_, "de début", "start")
    jusqu = _day(jusqu_, "de fin", "end")
    flt = DocumentFilter(text=q or None, since=depuis, until=jusqu, include_archived=archives)
    _, documents = records.list_documents(rt, ctx, patient_id, flt)
    matching = [d for d in documents if categorie is None or d.category == categorie]
    matching.sort(key=lambda d: d.service_date or d.created_at.date(), reverse=True)
    pages = max(1, -(-len(matching) // DOCUMENTS_PAGE))
    page = min(page, pages)
    shown = matching[(page - 1) * DOCUMENTS_PAGE : page * DOCUMENTS_PAGE]
    authors = portal.directory_labels(
        rt.uow, {d.author_id for d in shown if d.author_kind == "pro"}
    )
    kept = {"categorie": categorie or "", "q": q or "", "depuis": depuis_, "jusqu": jusqu_}
    query = urlencode(
        {k: v for k, v in kept.items() if v} | ({"archives": "true"} if archives else {})
    )
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "documents.html",
        {
            "title": N_("Mes documents"),
            "documents": shown,
            "page": page,
            "pages": pages,
            "count": len(matching),
            "query": query,
            "tabs": views.tabs(documents, lang),
            "categorie": categorie,
            "q": q or "",
            "depuis": depuis,
            "jusqu": jusqu,
            "archives": archives,
            "authors": authors,
            "category_label": lambda c: views.category_label(c, lang),
            "patient_types": sorted((TYPES[c] for c in PATIENT_TYPES), key=lambda t: t.label),
            "personal": PERSONAL_SPACE,
            "max_mb": PATIENT_MAX_BYTES // (1024 * 1024),
        },
        "documents",
    )


@router.get(S + "/documents/{document_id}")
def document_page(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, document_id: str
) -> Response:
    document = records.get_document(rt, ctx, patient_id, document_id)
    lang = lang_of(request)
    # Only a pro is named from the directory; the patient's own documents need no author line.
    pros = {document.author_id} if document.author_kind == "pro" else set()
    authors = portal.directory_labels(rt.uow, pros)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "document.html",
        {
            "title": document.title,
            "d": document,
            "kind": views.viewable(document.mime_type),
            "author": authors.get(document.author_id, ""),
            "category": views.category_label(document.category, lang),
            "type_label": views.type_label(document.type_code),
            "base": f"/espace/{patient_id}",
        },
        "documents",
    )


def _disposition(kind: str, name: str) -> str:
    """RFC 6266: an ASCII name for old clients, the exact one in UTF-8 for the others."""
    fallback = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def content_response(document_title: str, mime: str, data: bytes, download: bool) -> Response:
    disposition = "attachment" if download else "inline"
    return Response(
        data,
        media_type=mime + ("; charset=utf-8" if mime == "text/plain" else ""),
        headers={
            "Content-Disposition": _disposition(disposition, file_name(document_title, mime)),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; plugin-types application/pdf",
        },
    )


@router.get(S + "/documents/{document_id}/contenu")
def document_content(
    rt: Rt, ctx: PatientCtx, patient_id: str, document_id: str, telecharger: bool = False
) -> Response:
    document, data = records.read_content(rt, ctx, patient_id, document_id)
    return content_response(document.title, document.mime_type, data, telecharger)


@router.post(S + "/documents", dependencies=[Csrf])
async def upload(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    file: Annotated[UploadFile, File()],
    title: Annotated[str, Form(max_length=500)] = "",
    type_code: Annotated[str, Form(max_length=20)] = "EXPPAT_2",
) -> Response:
    """DOC-8: the records service checks the content (type, size); the page only carries it."""
    data = await file.read(PATIENT_MAX_BYTES + 1)
    new = NewDocument(
        type_code=type_code,
        title=title or (file.filename or ""),
        mime_type=file.content_type or "",
        content=data,
    )
    await run_in_threadpool(records.upload_document, rt, ctx, new, patient_id=patient_id)
    return redirect(request, f"/espace/{patient_id}/documents?ok=ajoute")


@router.post(S + "/documents/{document_id}/masquer", dependencies=[Csrf])
def mask(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    document_id: str,
    masked: Annotated[bool, Form()],
) -> Response:
    """DOC-4: one document masked from pros (but its author, administrators, médecin traitant)."""
    document = records.set_masked(rt, ctx, patient_id, document_id, masked)
    if request.headers.get("hx-request"):
        pros = {document.author_id} if document.author_kind == "pro" else set()
        authors = portal.directory_labels(rt.uow, pros)
        lang = lang_of(request)
        return render(
            request,
            "_document_row.html",
            {
                "d": document,
                "pid": patient_id,
                "authors": authors,
                "category_label": lambda c: views.category_label(c, lang),
            },
        )
    done = "masque" if masked else "demasque"
    return redirect(request, f"/espace/{patient_id}/documents?ok={done}")


def _confirm(
    request: Request,
    rt: Rt,
    ctx: RequestContext,
    patient_id: str,
    section: str,
    values: dict[str, object],
) -> Response:
    """The page asking before a destructive act: the same form again, with ``confirm``."""
    values.setdefault("subject", "")
    values.setdefault("fields", {})
    values["action"] = request.url.path
    values.setdefault("title", values["heading"])
    return _page(request, rt, ctx, patient_id, "confirm.html", values, section)


@router.post(S + "/documents/masquer-tout", dependencies=[Csrf])
def mask_all(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    masked: Annotated[bool, Form()],
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    """DOC-4 in one act: masking everything asks first, then says what it did."""
    if masked and not confirm:
        return _confirm(
            request,
            rt,
            ctx,
            patient_id,
            "documents",
            {
                "heading": N_("Masquer tous vos documents ?"),
                "consequences": [
                    N_(
                        "Les professionnels ne les verront plus, sauf leurs auteurs, vos "
                        "administrateurs et votre médecin traitant."
                    ),
                    N_("En urgence, ils restent cachés, sauf si vous l'avez autorisé."),
                    N_("Vous pourrez les démasquer à tout moment, un par un ou tous ensemble."),
                ],
                "fields": {"masked": "true"},
                "button": N_("Masquer tous les documents"),
                "cancel": f"/espace/{patient_id}/documents",
            },
        )
    records.mask_all(rt, ctx, patient_id, masked)
    done = "masques" if masked else "demasques"
    return redirect(request, f"/espace/{patient_id}/documents?ok={done}")


@router.post(S + "/documents/{document_id}/supprimer", dependencies=[Csrf])
def delete(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    document_id: str,
    confirm: Annotated[bool, Form()] = False,
) -> Response:
    """DOC-6: deleting asks first, naming the document."""
    if not confirm:
        document = records.get_document(rt, ctx, patient_id, document_id)
        return _confirm(
            request,
            rt,
            ctx,
            patient_id,
            "documents",
            {
                "heading": N_("Supprimer ce document ?"),
                "subject": document.title,
                "consequences": [
                    N_(
                        "Il disparaît de votre profil : ni vous ni les professionnels ne le verrez "
                        "plus."
                    ),
                    N_("Cette suppression est définitive."),
                ],
                "button": N_("Supprimer définitivement"),
                "cancel": f"/espace/{patient_id}/documents/{document_id}",
            },
        )
    records.delete_document(rt, ctx, patient_id, document_id)
    return redirect(request, f"/espace/{patient_id}/documents?ok=supprime")


# ------------------------------------------------------------------------------------------
# History and notifications (TR-1, TR-2)
# ------------------------------------------------------------------------------------------


@router.get(S + "/historique")
def history_page(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    qui: Annotated[str, Query(max_length=30)] = "",
    quoi: Annotated[str, Query(max_length=30)] = "",
    depuis_: Annotated[str, Query(alias="depuis", max_length=10)] = "",
    jusqu_: Annotated[str, Query(alias="jusqu", max_length=10)] = "",
    urgences: bool = False,
    avant: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """TR-1 as a bank statement: repeats grouped, filtered by who, what, when, emergencies.
    Older lines by cursor (``avant``, a line's place in the chain): each visit adds a line on
    top, so pages cut by offset would show a line twice; ``page`` still answers old links."""
    since, until = _day(depuis_, "de début", "start"), _day(jusqu_, "de fin", "end")
    flt = HistoryFilter(
        since=datetime.combine(since, time.min, PARIS) if since else None,
        until=datetime.combine(until, time.max, PARIS) if until else None,
        actions=views.HISTORY_ACTS[quoi][2] if quoi in views.HISTORY_ACTS else None,
        actor_kind=views.HISTORY_WHO[qui][0] if qui in views.HISTORY_WHO else None,
        emergency_only=urgences,
    )
    result = read_history(rt, ctx, patient_id, page, flt, before=avant)
    lang = lang_of(request)
    lines, rows = views.history_lines(result.entries, lang)
    proofs = transparency.page_verification(rt, patient_id, result)
    for line, row in zip(proofs["lines"], rows, strict=True):  # type: ignore[call-overload]
        line["row"] = row
    kept = {"qui": qui, "quoi": quoi, "depuis": depuis_, "jusqu": jusqu_}
    query = urlencode(
        {k: v for k, v in kept.items() if v} | ({"urgences": "true"} if urgences else {})
    )
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "history.html",
        {
            "title": N_("Historique"),
            "lines": lines,
            "older": result.next_before,
            "first": avant is None and page == 1,
            "total": result.total,
            "transparency": proofs,
            "who_choices": [
                (k, fr if lang == "fr" else en) for k, (_, fr, en) in views.HISTORY_WHO.items()
            ],
            "what_choices": [
                (k, fr if lang == "fr" else en) for k, (fr, en, _) in views.HISTORY_ACTS.items()
            ],
            "qui": qui,
            "quoi": quoi,
            "depuis": depuis_,
            "jusqu": jusqu_,
            "urgences": urgences,
            "filtered": bool(query),
            "query": query,
        },
        "history",
    )


@router.get(S + "/notifications")
def notifications_page(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    """TR-2: newest first, the unread counted, each leading to what it is about."""
    found = space.notifications(rt, ctx, patient_id)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "notifications.html",
        {
            "title": N_("Notifications"),
            "notifications": found,
            "unread": sum(1 for n in found if n.read_at is None),
            "links": views.NOTIFICATION_LINKS,
        },
        "notifications",
    )


@router.post(S + "/notifications/tout-lu", dependencies=[Csrf])
def notifications_all_read(request: Request, rt: Rt, ctx: PatientCtx, patient_id: str) -> Response:
    """« Tout marquer comme lu »."""
    space.mark_all_notifications_read(rt, ctx, patient_id)
    return redirect(request, f"/espace/{patient_id}/notifications?ok=tout-lu")


@router.post(S + "/notifications/{notification_id}/lue", dependencies=[Csrf])
def notification_read(
    request: Request, rt: Rt, ctx: PatientCtx, patient_id: str, notification_id: str
) -> Response:
    space.mark_notification_read(rt, ctx, patient_id, notification_id)
    return redirect(request, f"/espace/{patient_id}/notifications")


# ------------------------------------------------------------------------------------------
# Who sees my data (ACC-2…ACC-6, ACC-1 explained)
# ------------------------------------------------------------------------------------------


@router.get(S + "/acces")
def access_page(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    profession: Annotated[str, Query(max_length=4)] = "80",
) -> Response:
    relations = space.relations(rt, ctx, patient_id)
    settings = space.settings(rt, ctx, patient_id)
    readable = space.profession_reads(rt, profession)
    lang = lang_of(request)
    doctor = PROFESSIONS["10"]
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "access.html",
        {
            "title": N_("Qui voit mes données"),
            "relations": relations,
            "settings": settings,
            "professions": sorted(PROFESSIONS.items(), key=lambda kv: kv[1]),
            "profession": profession,
            "profession_label": views.profession_label(profession),
            "reach": views.profession_reach(readable, lang),
            # ACC-5: the médecin traitant is chosen by name among the doctors of the care team.
            "doctors": [r for r in relations if r.profession == doctor and not r.blocked],
        },
        "access",
    )


@router.get(S + "/voir-comme")
def seen_as_page(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    comme: Annotated[str, Query(max_length=20)] = "samu",
) -> Response:
    """« Voir mon dossier comme… »: exactly the list that person would see now, by the same
    decision; nothing traced (no one but the patient reads)."""
    kind, _, code = comme.partition(":")
    viewers = {
        "profession": Viewer.PROFESSION,
        "pro": Viewer.PRO,
        "samu": Viewer.SAMU,
        "representant": Viewer.REPRESENTATIVE,
    }
    if kind not in viewers or (kind == "profession" and code not in PROFESSIONS):
        raise NotFound()
    seen = space.preview(
        rt, ctx, patient_id, viewers[kind], profession=code, rpps=code if kind == "pro" else ""
    )
    lang = lang_of(request)
    who = {
        "profession": f"un(e) {views.profession_label(code)}",
        "pro": seen.label,
        "samu": N_("le régulateur du SAMU (centre 15)"),
        "representant": N_("votre représentant légal"),
    }[kind]
    seen.documents.sort(key=lambda d: d.service_date or d.created_at.date(), reverse=True)
    return _page(
        request,
        rt,
        ctx,
        patient_id,
        "seen_as.html",
        {
            "title": N_("Voir mon dossier comme…"),
            "who": who,
            "kind": kind,
            "seen": seen,
            "why": why_text(seen.entry.why.value, None, english=lang == "en"),
            "category_label": lambda c: views.category_label(c, lang),
        },
        "access",
    )


@router.post(S + "/acces/{rpps}/{act}", dependencies=[Csrf])
def access_act(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    rpps: str,
    act: str,
    confirm: Annotated[bool, Form()] = False,
    label: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    """ACC-2…ACC-4 from the patient's side; blocking asks first."""
    acts = {
        "bloquer": space.block,
        "debloquer": space.unblock,
        "autoriser": space.authorise,
        "administrateur": space.designate_administrator,
        "retirer-administrateur": space.revoke_administrator,
    }
    if act not in acts:
        raise NotFound()
    if act == "bloquer" and not confirm:
        return _confirm(
            request,
            rt,
            ctx,
            patient_id,
            "access",
            {
                "heading": N_("Bloquer ce professionnel ?"),
                "subject": label[:200],
                "consequences": [
                    N_("Il ne pourra plus consulter votre profil, même en urgence."),
                    N_("Il pourra encore y déposer des documents."),
                    N_("Vous pourrez le débloquer à tout moment."),
                ],
                "button": N_("Bloquer"),
                "cancel": f"/espace/{patient_id}/acces",
            },
        )
    acts[act](rt, ctx, patient_id, rpps)
    done = {
        "bloquer": "bloque",
        "debloquer": "debloque",
        "autoriser": "autorise",
        "administrateur": "administrateur",
        "retirer-administrateur": "retire",
    }[act]
    return redirect(request, f"/espace/{patient_id}/acces?ok={done}")


@router.post(S + "/urgence", dependencies=[Csrf])
def emergency(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    samu: Annotated[bool, Form()] = False,
    others: Annotated[bool, Form()] = False,
    masked: Annotated[bool, Form()] = False,
) -> Response:
    """ACC-6: the three switches (unchecked boxes are not sent: off)."""
    space.set_emergency(rt, ctx, patient_id, samu=samu, others=others, masked=masked)
    return redirect(request, f"/espace/{patient_id}/acces?ok=urgence")


@router.post(S + "/medecin-traitant", dependencies=[Csrf])
def medecin_traitant(
    request: Request,
    rt: Rt,
    ctx: PatientCtx,
    patient_id: str,
    rpps: Annotated[str, Form(max_length=11)] = "",
) -> Response:
    space.set_medecin_traitant(rt, ctx, patient_id, rpps.strip() or None)
    return redirect(request, f"/espace/{patient_id}/acces?ok=medecin-traitant")
