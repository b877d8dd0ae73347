"""What each notification says, in French and English (TR-2, DOC-2, ACC-6). Pure.

E-mails leave the platform: they carry no medical content, only that something happened.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class Kind(StrEnum):
    DOCUMENT_ADDED = "document_added"
    FIRST_ACCESS = "first_access"
    EMERGENCY_ACCESS = "emergency_access"
    BLOCKED_BY_ADMINISTRATOR = "blocked_by_administrator"
    MESSAGE_RECEIVED = "message_received"


MODE_LABELS = {
    "bris-de-glace": ("bris de glace", "break-the-glass"),
    "centre-de-regulation": ("centre de régulation (SAMU-Centre 15)", "SAMU regulation centre"),
}


def texts(kind: Kind, payload: dict[str, str]) -> tuple[str, str]:
    who = payload.get("who", "")
    if kind is Kind.DOCUMENT_ADDED:
        return (
            f"Un nouveau document a été ajouté à votre dossier : {payload.get('title', '')}.",
            f"A new document was added to your record: {payload.get('title', '')}.",
        )
    if kind is Kind.FIRST_ACCESS:
        return (
            f"{who} a accédé à votre dossier pour la première fois.",
            f"{who} accessed your record for the first time.",
        )
    if kind is Kind.EMERGENCY_ACCESS:
        fr, en = MODE_LABELS.get(payload.get("mode", ""), ("urgence", "emergency"))
        return (
            f"{who} a accédé à votre dossier en urgence (mode : {fr}).",
            f"{who} accessed your record in an emergency (mode: {en}).",
        )
    if kind is Kind.BLOCKED_BY_ADMINISTRATOR:
        return (
            f"À votre demande, votre administrateur {who} a bloqué l'accès de {payload.get('target', '')}.",
            f"At your request, your administrator {who} blocked {payload.get('target', '')}.",
        )
    return ("Vous avez reçu un nouveau message.", "You received a new message.")


EMAIL_SUBJECT = (
    "Mon espace santé : du nouveau dans votre espace",
    "Your health space: something new",
)


def email_body(kind: Kind, log_head: str | None = None) -> str:
    """No medical content and no name leaves by e-mail: only an invitation to log in — and the
    access log's latest signed head (TR-3), which the patient keeps outside Carnet: any later
    rewrite of his history becomes provable against it."""
    what = {
        Kind.DOCUMENT_ADDED: "Un nouveau document a été ajouté à votre espace santé.",
        Kind.FIRST_ACCESS: "Un professionnel de santé a accédé à votre dossier pour la première fois.",
        Kind.EMERGENCY_ACCESS: "Un professionnel de santé a accédé à votre dossier en urgence.",
        Kind.BLOCKED_BY_ADMINISTRATOR: "Un accès à votre dossier a été bloqué à votre demande.",
        Kind.MESSAGE_RECEIVED: "Vous avez reçu un nouveau message dans votre messagerie santé.",
    }[kind]
    body = f"Bonjour,\n\n{what}\nConnectez-vous à votre espace pour en savoir plus.\n"
    if log_head:
        body += (
            "\n-- \nEmpreinte signée du journal des accès, à garder pour vérifier votre "
            f"historique / signed head of the access log, kept to check your history:\n{log_head}\n"
        )
    return body


def backoff(attempts: int) -> timedelta:
    """Retry after 10 s, 20 s, 40 s … capped at one hour."""
    return timedelta(seconds=min(3600, 10 * 2 ** max(0, attempts - 1)))
