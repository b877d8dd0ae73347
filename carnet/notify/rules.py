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
    # The profile's life (LC-2…LC-7, LC-6): ``payload["change"]`` names the change of state.
    PROFILE_CHANGED = "profile_changed"
    ARCHIVES_DESTROYED = "archives_destroyed"
    PROFILE_SHARED = "profile_shared"
    EXPORT_READY = "export_ready"


#: What each change of state (``population.rules.Change``) tells the patient: (French, English).
PROFILE_CHANGES: dict[str, tuple[str, str]] = {
    "activate": (
        "Votre profil Mon espace santé est activé.",
        "Your Mon espace santé profile is activated.",
    ),
    "close": (
        "Votre profil a été clôturé : votre messagerie et votre profil médical sont supprimés, "
        "vos documents et l'historique sont archivés pour 10 ans, illisibles par quiconque.",
        "Your profile was closed: your mailbox and medical profile are deleted, your documents "
        "and history are archived for 10 years, unreadable by anyone.",
    ),
    "oppose": (
        "Votre opposition est enregistrée : votre profil est fermé et ne sera pas recréé.",
        "Your opposition is recorded: your profile is closed and will not be created again.",
    ),
    "withdraw_opposition": (
        "Votre profil est créé : un courrier d'activation vous est adressé.",
        "Your profile is created: an activation letter is on its way.",
    ),
    "reopen": (
        "Votre profil est rouvert : un courrier d'activation vous est adressé.",
        "Your profile is reopened: an activation letter is on its way.",
    ),
    "come_of_age": (
        "Vous avez 18 ans : votre espace santé est désormais le vôtre seul. Un courrier "
        "d'activation vous est adressé.",
        "You are 18: your health space is now yours alone. An activation letter is on its way.",
    ),
}


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
    if kind is Kind.PROFILE_CHANGED:
        return PROFILE_CHANGES.get(payload.get("change", ""), ("", ""))
    if kind is Kind.ARCHIVES_DESTROYED:
        return (
            "Les données archivées de votre profil ont été détruites à votre demande ou au terme "
            "de leur conservation ; un certificat de suppression signé vous est adressé.",
            "Your profile's archived data were destroyed, at your request or at the end of their "
            "retention; a signed deletion certificate is on its way.",
        )
    if kind is Kind.PROFILE_SHARED:
        return (
            "Vous partagez désormais la gestion de l'espace santé d'un enfant : il apparaît "
            "parmi vos espaces.",
            "You now share the management of a child's health space: it is among your spaces.",
        )
    if kind is Kind.EXPORT_READY:
        return (
            "Votre export complet est prêt : téléchargez-le depuis la page « Mes droits ».",
            "Your full export is ready: download it from the « My rights » page.",
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
        Kind.PROFILE_CHANGED: "L'état de votre profil Mon espace santé a changé.",
        Kind.ARCHIVES_DESTROYED: "Les données archivées de votre profil ont été détruites.",
        Kind.PROFILE_SHARED: "Vous partagez désormais la gestion d'un espace santé.",
        Kind.EXPORT_READY: "L'export complet de votre espace santé est prêt.",
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
