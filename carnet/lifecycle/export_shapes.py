"""What an export says, shaped: FHIR R4 resources for ``fhir/bundle.json`` (a ``collection``
Bundle: https://hl7.org/fhir/R4/bundle.html) and the pieces of ``index.html`` to browse offline.
Pure: plain values in, dicts and text out.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"  # INS-NIR (ANS)
TRACE_SYSTEM = "https://carnet.example/fhir/CodeSystem/trace-action"
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/tiff": ".tif",
    "text/plain": ".txt",
    "application/rtf": ".rtf",
    "text/xml": ".xml",
}


def urn(row_id: str) -> str:
    """A row's 32-hex id as a ``urn:uuid:`` (a Bundle entry's fullUrl must be absolute)."""
    h = row_id.ljust(32, "0")[:32]
    return f"urn:uuid:{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def instant(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def document_path(document_id: str, title: str, mime_type: str) -> str:
    """Where a document's file sits in the zip: its id first (unique), then a readable stem."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", title).strip("-.")[:60] or "document"
    return f"documents/{document_id}-{stem}{_EXTENSIONS.get(mime_type, '.bin')}"


def attachment_path(attachment_id: str, filename: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-.")[:80] or "piece-jointe"
    return f"messages/{attachment_id}-{stem}"


@dataclass(frozen=True)
class Person:
    id: str
    ins: str
    first_names: str
    birth_names: str
    sex: str
    birth_date: date


def patient_resource(person: Person) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": person.id,
        "identifier": [{"system": INS_SYSTEM, "value": person.ins}],
        "name": [
            {"family": person.birth_names, "given": person.first_names.split(), "use": "official"}
        ],
        "gender": {"M": "male", "F": "female"}.get(person.sex, "unknown"),
        "birthDate": person.birth_date.isoformat(),
    }


def document_reference(
    *,
    document_id: str,
    patient_id: str,
    status: str,
    type_system: str,
    type_code: str,
    title: str,
    created_at: datetime,
    mime_type: str,
    size: int,
    sha1: str,
    path: str,
    author: str,
) -> dict[str, Any]:
    """DOC-*: a document's metadata; its file is ``path`` in the zip."""
    return {
        "resourceType": "DocumentReference",
        "id": document_id,
        "status": "superseded" if status == "superseded" else "current",
        "type": {"coding": [{"system": type_system, "code": type_code}]},
        "subject": {"reference": urn(patient_id)},
        "date": instant(created_at),
        "author": [{"display": author}],
        "description": title,
        "content": [
            {
                "attachment": {
                    "contentType": mime_type,
                    "url": path,
                    "size": size,
                    "hash": _b64_hex(sha1),
                    "title": title,
                }
            }
        ],
    }


def _b64_hex(hex_digest: str) -> str:
    import base64

    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def audit_event(
    *,
    trace_id: str,
    patient_id: str,
    at: datetime,
    action: str,
    outcome: str,
    who: str,
    what: str,
) -> dict[str, Any]:
    """TR-1: one line of the history, as the patient reads it."""
    return {
        "resourceType": "AuditEvent",
        "id": trace_id,
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
        },
        "subtype": [{"system": TRACE_SYSTEM, "code": action}],
        "recorded": instant(at),
        "outcome": "0" if outcome == "allowed" else "4",
        "outcomeDesc": what,
        "agent": [{"who": {"display": who}, "requestor": True}],
        "source": {"observer": {"display": "Carnet"}},
        "entity": [{"what": {"reference": urn(patient_id)}}],
    }


def communication(
    *,
    message_id: str,
    patient_id: str,
    inbound: bool,
    counterpart: str,
    author: str,
    subject: str,
    body: str,
    at: datetime,
    attachments: list[tuple[str, str, str]],
) -> dict[str, Any]:
    """MSG-*: one message of the mailbox; ``attachments`` are ``(path, mime, filename)``."""
    payload: list[dict[str, Any]] = [{"contentString": body or "(sans texte)"}]
    payload += [
        {"contentAttachment": {"contentType": mime, "url": path, "title": filename}}
        for path, mime, filename in attachments
    ]
    party = {"display": f"{author} <{counterpart}>"}
    me = {"reference": urn(patient_id)}
    return {
        "resourceType": "Communication",
        "id": message_id,
        "status": "completed",
        "subject": me,
        "topic": {"text": subject or "(sans objet)"},
        "sent": instant(at),
        "sender": party if inbound else me,
        "recipient": [me if inbound else party],
        "payload": payload,
    }


def entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": urn(resource["id"]), "resource": resource}


# ------------------------------------------------------------------------------------------
# index.html: readable offline, on a phone too; no script, nothing loaded from outside
# ------------------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem;"
    "line-height:1.5;color:#1b1b1b}table{border-collapse:collapse;width:100%}"
    "td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top;"
    "overflow-wrap:anywhere}h1,h2{line-height:1.2}article{border:1px solid #ddd;"
    "border-radius:.4rem;margin:.6rem 0;padding:.6rem}pre{white-space:pre-wrap;"
    "overflow-wrap:anywhere;font-family:inherit}"
)


def e(text: object) -> str:
    return html.escape(str(text), quote=True)


def html_head(person: Person, generated: datetime) -> str:
    name = f"{person.first_names} {person.birth_names}"
    return (
        '<!doctype html><html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Mon espace santé — export de {e(name)}</title><style>{_STYLE}</style>"
        f"</head><body><h1>Mon espace santé — {e(name)}</h1>"
        f"<p>Matricule INS {e(person.ins)}, né(e) le {person.birth_date:%d/%m/%Y}. "
        f"Export du {generated:%d/%m/%Y à %H:%M} (UTC). Chaque fichier et son empreinte "
        'SHA-256 sont listés dans <a href="manifest.json">manifest.json</a> ; les mêmes '
        'données au format FHIR R4 : <a href="fhir/bundle.json">fhir/bundle.json</a>.</p>'
        '<nav><a href="#documents">Documents</a> · <a href="#historique">Historique</a> · '
        '<a href="#messagerie">Messagerie</a></nav>'
        '<h2 id="documents">Documents</h2><table><thead><tr><th scope="col">Date</th>'
        '<th scope="col">Document</th><th scope="col">Auteur</th></tr></thead><tbody>'
    )


def html_document(
    day: date, title: str, path: str | None, author: str, status: str, damaged: bool
) -> str:
    label = e(title) + (" (version remplacée)" if status == "superseded" else "")
    cell = f'<a href="{e(path)}">{label}</a>' if path and not damaged else label
    if damaged:
        cell += " — contenu altéré, non exporté"
    return f"<tr><td>{day:%d/%m/%Y}</td><td>{cell}</td><td>{e(author)}</td></tr>"


def html_history_start() -> str:
    return (
        '</tbody></table><h2 id="historique">Historique</h2><table><thead><tr>'
        '<th scope="col">Date</th><th scope="col">Qui, quoi</th></tr></thead><tbody>'
    )


def html_trace(at: datetime, sentence: str) -> str:
    return f"<tr><td>{at:%d/%m/%Y %H:%M}</td><td>{e(sentence)}</td></tr>"


def html_messages_start() -> str:
    return '</tbody></table><h2 id="messagerie">Messagerie</h2>'


def html_message(
    at: datetime,
    author: str,
    counterpart: str,
    subject: str,
    body: str,
    files: list[tuple[str, str]],
) -> str:
    links = "".join(f'<li><a href="{e(path)}">{e(name)}</a></li>' for path, name in files)
    return (
        f"<article><h3>{e(subject or '(sans objet)')}</h3><p>{at:%d/%m/%Y %H:%M} — "
        f"{e(author)} &lt;{e(counterpart)}&gt;</p><pre>{e(body)}</pre>"
        + (f"<ul>{links}</ul>" if links else "")
        + "</article>"
    )


def html_end() -> str:
    return "</body></html>\n"
