"""Words for what the services return: a trace in plain French (TR-1), labels of categories,
professions and visibility. Presentation only: what is shown was decided by the services."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from carnet.access.history import HistoryEntry
from carnet.access.wording import why_text
from carnet.identity.labels import PROFESSIONS
from carnet.records.catalog import CATEGORIES, TYPES
from carnet.records.service import AnyDocument

#: Action → (third person, "vous" form, English), each followed by the document's title if any.
VERBS: dict[str, tuple[str, str, str]] = {
    "read_document": ("a consulté", "avez consulté", "viewed"),
    "list_documents": (
        "a consulté la liste des documents",
        "avez consulté la liste des documents",
        "viewed the list of documents",
    ),
    "upload_document": ("a ajouté", "avez ajouté", "added"),
    "replace_document": ("a remplacé", "avez remplacé", "replaced"),
    "delete_document": ("a supprimé", "avez supprimé", "deleted"),
    "archive_document": ("a archivé", "avez archivé", "archived"),
    "unarchive_document": ("a désarchivé", "avez désarchivé", "unarchived"),
    "mask_document": ("a masqué", "avez masqué", "masked"),
    "unmask_document": ("a démasqué", "avez démasqué", "unmasked"),
    "show_to_patient": (
        "a rendu visible au patient",
        "avez rendu visible",
        "made visible to the patient",
    ),
    "hide_from_patient": (
        "a rendu invisible au patient",
        "avez rendu invisible",
        "hid from the patient",
    ),
    "declare_consent": (
        "a déclaré avoir recueilli votre consentement",
        "avez donné votre consentement",
        "declared your consent",
    ),
    "find_patient": (
        "a recherché votre dossier",
        "avez recherché le dossier",
        "looked your record up",
    ),
    "block_pro": ("a bloqué", "avez bloqué", "blocked"),
    "unblock_pro": ("a débloqué", "avez débloqué", "unblocked"),
    "authorise_pro": ("a autorisé", "avez autorisé", "authorised"),
    "designate_administrator": (
        "a nommé administrateur",
        "avez nommé administrateur",
        "made administrator",
    ),
    "revoke_administrator": (
        "a retiré l'administration à",
        "avez retiré l'administration à",
        "removed as administrator",
    ),
    "set_medecin_traitant": (
        "a désigné le médecin traitant",
        "avez désigné le médecin traitant",
        "set the médecin traitant",
    ),
    "change_settings": (
        "a modifié les réglages",
        "avez modifié les réglages",
        "changed the settings",
    ),
    "read_settings": (
        "a consulté les réglages",
        "avez consulté les réglages",
        "viewed the settings",
    ),
    "read_notifications": (
        "a consulté les notifications",
        "avez consulté les notifications",
        "viewed the notifications",
    ),
    "read_history": ("a consulté l'historique", "avez consulté l'historique", "viewed the history"),
    "log_in": ("s'est connecté", "vous êtes connecté", "logged in"),
    "activate_profile": ("a activé le profil", "avez activé le profil", "activated the profile"),
    "qualify_ins": (
        "a vérifié l'identité (INS)",
        "avez vérifié l'identité",
        "checked the identity (INS)",
    ),
    "receive_message": ("vous a écrit", "avez reçu un message", "wrote to you"),
    "list_messages": (
        "a consulté la messagerie",
        "avez consulté la messagerie",
        "viewed the mailbox",
    ),
    "read_message": ("a lu un message", "avez lu un message", "read a message"),
    "send_message": ("a envoyé un message", "avez envoyé un message", "sent a message"),
    "send_read_receipt": (
        "a envoyé un accusé de lecture",
        "avez envoyé un accusé de lecture",
        "sent a read receipt",
    ),
    "read_attachment": (
        "a ouvert une pièce jointe",
        "avez ouvert une pièce jointe",
        "opened an attachment",
    ),
    "save_attachment": (
        "a enregistré une pièce jointe dans les documents",
        "avez enregistré une pièce jointe dans vos documents",
        "saved an attachment into the documents",
    ),
    "message_undeliverable": (
        "n'a pas pu distribuer un message",
        "n'avez pas pu envoyer un message",
        "could not deliver a message",
    ),
    "read_profile": (
        "a consulté le profil médical",
        "avez consulté le profil médical",
        "viewed the medical profile",
    ),
    "change_profile": (
        "a modifié le profil médical",
        "avez modifié le profil médical",
        "changed the medical profile",
    ),
    "import_care": (
        "a versé des soins remboursés et des vaccinations",
        "avez versé des soins remboursés",
        "added reimbursed care and vaccinations",
    ),
}

MODES = {
    "bris-de-glace": ("accès en urgence : bris de glace", "emergency access: break-the-glass"),
    "centre-de-regulation": (
        "accès en urgence : centre de régulation (SAMU-Centre 15)",
        "emergency access: SAMU regulation centre",
    ),
}


def sentence(entry: HistoryEntry, lang: str) -> str:
    """« Dr Louis Bernard, médecin, a consulté « Compte rendu » — accès en urgence : bris de
    glace, motif : … »."""
    third, second, english = VERBS.get(entry.action, (entry.action, entry.action, entry.action))
    you = entry.actor_category == "you"
    who = "You" if you and lang == "en" else entry.actor_label
    if entry.profession:
        who = f"{who}, {entry.profession},"
    verb = english if lang == "en" else (second if you else third)
    text = f"{who} {verb}"
    if entry.document_title:
        text += f" « {entry.document_title} »"
    if entry.target_label:
        text += f" {entry.target_label}"
    why = why_text(entry.why, entry.reason, english=lang == "en")
    if why:
        text += f" — {why}"  # the rule that let it through or refused it, a reason with it
    elif entry.mode in MODES:
        fr, en = MODES[entry.mode]
        text += f" — {en if lang == 'en' else fr}"
        if entry.reason:
            text += f", {'reason' if lang == 'en' else 'motif'} : {entry.reason}"
    if entry.outcome == "denied":
        text = ("Refused: " if lang == "en" else "Tentative refusée : ") + text
    return text


def category_label(code: str, lang: str) -> str:
    fr, en = CATEGORIES.get(code, (code, code))
    return en if lang == "en" else fr


def type_label(code: str) -> str:
    found = TYPES.get(code)
    return found.label if found else code


def profession_label(code: str | None) -> str:
    return PROFESSIONS.get(code or "", code or "")


@dataclass(frozen=True)
class CategoryTab:
    code: str
    label: str
    count: int


def tabs(documents: Iterable[AnyDocument], lang: str) -> list[CategoryTab]:
    """Every category of REFERENCE.md, Espace personnel last, with how many documents each has."""
    counts = Counter(d.category for d in documents)
    return [
        CategoryTab(code, category_label(code, lang), counts.get(code, 0)) for code in CATEGORIES
    ]


def viewable(mime_type: str) -> str:
    """How the viewer shows a type: a frame (PDF), an image, text, or a download only."""
    if mime_type == "application/pdf":
        return "pdf"
    if mime_type == "image/jpeg":
        return "image"
    if mime_type == "text/plain":
        return "text"
    return "download"
