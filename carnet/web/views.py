"""Words for what the services return: a trace in plain French (TR-1), labels of categories,
professions and visibility. Presentation only: what is shown was decided by the services."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from carnet.access.history import HistoryEntry
from carnet.access.wording import history_sentence
from carnet.identity.labels import PROFESSIONS
from carnet.records.catalog import CATEGORIES, TYPES
from carnet.records.service import AnyDocument
from carnet.texts import N_


def sentence(entry: HistoryEntry, lang: str) -> str:
    """« Dr Louis Bernard, médecin, a consulté « Compte rendu » — accès en urgence : bris de
    glace, motif : … » (``access.wording.history_sentence``)."""
    return history_sentence(entry, lang)


@dataclass(frozen=True)
class HistoryLine:
    """One line of the history page: a run of the same act by the same person on the same
    thing, told once (« six fois, de 10:02 à 10:15 ») — a bank statement, not a log."""

    first: HistoryEntry  # the newest of the run
    text: str
    count: int
    oldest: HistoryEntry

    @property
    def emergency(self) -> bool:
        return self.first.mode != "normal" and self.first.outcome != "denied"


def _same(a: HistoryEntry, b: HistoryEntry) -> bool:
    return (
        a.actor_kind,
        a.actor_id,
        a.action,
        a.outcome,
        a.mode,
        a.reason,
        a.document_id,
        a.target_label,
        a.why,
        a.on_behalf_of,
    ) == (
        b.actor_kind,
        b.actor_id,
        b.action,
        b.outcome,
        b.mode,
        b.reason,
        b.document_id,
        b.target_label,
        b.why,
        b.on_behalf_of,
    )


def history_lines(entries: list[HistoryEntry], lang: str) -> tuple[list[HistoryLine], list[int]]:
    """Consecutive repeats grouped; with, for each entry, the index of the line showing it
    (the page's proof check marks the line of an entry that fails)."""
    lines: list[HistoryLine] = []
    rows: list[int] = []
    for entry in entries:
        if lines and _same(lines[-1].first, entry):
            last = lines[-1]
            lines[-1] = HistoryLine(last.first, last.text, last.count + 1, entry)
        else:
            lines.append(HistoryLine(entry, sentence(entry, lang), 1, entry))
        rows.append(len(lines) - 1)
    return lines, rows


#: The history's « what » filter: plain groups of acts (issue 15 finding 8).
HISTORY_ACTS: dict[str, tuple[str, str, frozenset[str]]] = {
    "consultations": (
        "Consultations",
        "Readings",
        frozenset({"read_document", "list_documents", "read_profile", "find_patient"}),
    ),
    "documents": (
        "Ajouts, remplacements, suppressions",
        "Additions, replacements, deletions",
        frozenset(
            {
                "upload_document",
                "replace_document",
                "delete_document",
                "archive_document",
                "unarchive_document",
                "change_profile",
                "import_care",
            }
        ),
    ),
    "visibilite": (
        "Masquages et visibilité",
        "Masking and visibility",
        frozenset({"mask_document", "unmask_document", "show_to_patient", "hide_from_patient"}),
    ),
    "droits": (
        N_("Qui voit mes données"),
        "Who sees my data",
        frozenset(
            {
                "declare_consent",
                "block_pro",
                "unblock_pro",
                "authorise_pro",
                "designate_administrator",
                "revoke_administrator",
                "set_medecin_traitant",
                "change_settings",
            }
        ),
    ),
    "connexions": ("Connexions", "Log-ins", frozenset({"log_in", "activate_profile"})),
    "messagerie": (
        N_("Messagerie"),
        "Messages",
        frozenset(
            {
                "receive_message",
                "list_messages",
                "read_message",
                "send_message",
                "send_read_receipt",
                "read_attachment",
                "save_attachment",
                "message_undeliverable",
            }
        ),
    ),
}

#: The history's « who » filter: (actor kind, French, English).
HISTORY_WHO: dict[str, tuple[str, str, str]] = {
    "moi": ("patient", "Vous et vos représentants", "You and your representatives"),
    "professionnels": ("pro", "Les professionnels de santé", "Health professionals"),
    "assurance-maladie": ("operator", "L'Assurance Maladie", "The insurer"),
}


#: Where each kind of notification leads (under /espace/<id>/), and the link's words.
NOTIFICATION_LINKS: dict[str, tuple[str, str]] = {
    "document_added": ("documents", N_("Voir mes documents")),
    "first_access": ("acces", N_("Voir qui voit mes données")),
    "emergency_access": ("historique?urgences=true", N_("Voir les accès en urgence")),
    "blocked_by_administrator": ("acces", N_("Voir qui voit mes données")),
    "message_received": ("messagerie", N_("Lire mes messages")),
    "profile_changed": ("droits", N_("Voir mes droits")),
    "archives_destroyed": ("droits", N_("Voir mes droits")),
    "profile_shared": ("droits", N_("Voir mes droits")),
    "export_ready": ("droits", N_("Télécharger l'export")),
}


@dataclass(frozen=True)
class CategoryReach:
    """How much of one category a profession reads by default: all, some (with which), none."""

    label: str
    reach: str  # "all", "some", "none"
    readable: list[str]
    total: int


def profession_reach(readable: frozenset[str], lang: str) -> list[CategoryReach]:
    """« Ce que peut voir une profession » in the patient's categories, not ~60 technical
    document types (issue 15 finding 10); types are named only where it reads some."""
    found = []
    for code in CATEGORIES:
        kinds = sorted((t for t in TYPES.values() if t.category == code), key=lambda t: t.label)
        if not kinds:
            continue
        names = [t.label for t in kinds if t.code in readable]
        reach = "all" if len(names) == len(kinds) else "some" if names else "none"
        found.append(CategoryReach(category_label(code, lang), reach, names, len(kinds)))
    return found


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
