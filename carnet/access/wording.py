"""The access decisions in plain words, French first: why an act went through or was refused,
and who did it, as the patient reads them in his history (TR-1). Pure: no I/O.
"""

from __future__ import annotations

from typing import Protocol

from carnet.access.rules import ActorLabel, Section, Why, section_of_target

#: Each rule that lets an act through or refuses it, as the patient reads it: (French, English).
WHY_TEXT: dict[Why, tuple[str, str]] = {
    Why.PATIENT: ("accès autorisé : titulaire du dossier", "allowed: the record's holder"),
    Why.REPRESENTATIVE: (
        "accès autorisé : représentant légal ou tuteur",
        "allowed: legal representative or guardian",
    ),
    Why.CARE_TEAM: (
        "accès autorisé : membre de votre équipe de soins",
        "allowed: a member of your care team",
    ),
    Why.CONSENT_DECLARED: (
        "accès autorisé : le professionnel a déclaré avoir recueilli votre consentement",
        "allowed: the professional declared he obtained your consent",
    ),
    Why.AUTHOR: ("accès autorisé : auteur du document", "allowed: the document's author"),
    Why.EMERGENCY_SAMU: (
        "accès en urgence : régulation du SAMU (centre 15)",
        "emergency access: SAMU regulation (centre 15)",
    ),
    Why.EMERGENCY_BRIS_DE_GLACE: (
        "accès en urgence : bris de glace",
        "emergency access: break the glass",
    ),
    Why.ADMINISTRATOR: (
        "accès autorisé : administrateur de votre profil",
        "allowed: an administrator of your profile",
    ),
    Why.MEDECIN_TRAITANT: (
        "accès autorisé : votre médecin traitant",
        "allowed: your médecin traitant",
    ),
    Why.OWN_DOCUMENTS: (
        "accès limité aux documents dont il est l'auteur",
        "access limited to the documents he wrote",
    ),
    Why.UPLOAD_RIGHT: (
        "dépôt : tout professionnel de santé peut alimenter votre dossier",
        "upload: every health professional may add to your record",
    ),
    Why.OPERATOR_FEED: (
        "dépôt par l'Assurance Maladie (remboursements, vaccinations)",
        "added by the insurer (reimbursements, vaccinations)",
    ),
    Why.LOOKUP: (
        "recherche de votre dossier par un professionnel",
        "a professional looked your record up",
    ),
    Why.NO_PROFILE: ("refusé : le profil est fermé", "refused: the profile is closed"),
    Why.NOT_ACTIVATED: (
        "refusé : le profil n'est pas encore activé",
        "refused: the profile is not activated yet",
    ),
    Why.MINOR_OWN_ACCESS: (
        "refusé : l'espace d'un mineur est géré par ses représentants légaux",
        "refused: a minor's space is managed by his legal representatives",
    ),
    Why.NOT_A_REPRESENTATIVE: (
        "refusé : aucun droit sur ce dossier",
        "refused: no right on this record",
    ),
    Why.THIRD_PARTY: (
        "refusé : personne extérieure aux soins",
        "refused: not involved in your care",
    ),
    Why.LEVEL_TOO_LOW: (
        "refusé : la lecture demande une carte CPS ou e-CPS",
        "refused: reading needs a CPS or e-CPS card",
    ),
    Why.BLOCKED: ("refusé : professionnel bloqué", "refused: a blocked professional"),
    Why.NO_CONSENT: (
        "refusé : ni membre de votre équipe de soins, ni consentement déclaré",
        "refused: neither in your care team nor with your declared consent",
    ),
    Why.EMERGENCY_REFUSED: (
        "refusé : vous avez refusé cet accès en urgence",
        "refused: you refused this emergency access",
    ),
    Why.NO_REASON: (
        "refusé : accès en urgence sans motif",
        "refused: emergency access without a reason",
    ),
    Why.NOT_REGULATOR: (
        "refusé : réservé aux régulateurs du SAMU",
        "refused: for SAMU regulators only",
    ),
    Why.EMERGENCY_DOCUMENTS_ONLY: (
        "refusé : un accès en urgence n'ouvre que les documents",
        "refused: an emergency access opens the documents only",
    ),
    Why.NOT_ADMINISTRATOR: (
        "refusé : réservé aux administrateurs de votre profil et au médecin traitant",
        "refused: for your profile's administrators and médecin traitant only",
    ),
    Why.PATIENT_SIDE_ONLY: (
        "refusé : réservé à vous et à vos représentants",
        "refused: for you and your representatives only",
    ),
    Why.DELETED: ("refusé : document supprimé", "refused: a deleted document"),
    Why.HABILITATION: (
        "refusé : sa profession ne lit pas ce type de document",
        "refused: his profession does not read this type of document",
    ),
    Why.MASKED: ("refusé : document masqué", "refused: a masked document"),
    Why.INVISIBLE_TO_PATIENT: (
        "refusé : document pas encore visible",
        "refused: a document not visible yet",
    ),
    Why.INVISIBLE_TO_REPRESENTATIVES: (
        "refusé : document réservé au mineur",
        "refused: a document kept for the minor",
    ),
    Why.ABSENT: ("refusé : introuvable", "refused: not found"),
    Why.ACT_NOT_ALLOWED: ("refusé : action non permise", "refused: act not allowed"),
    Why.SECTION_NOT_FOR_PROS: (
        "refusé : cette rubrique du profil médical n'est visible que de vous",
        "refused: this section of the medical profile is yours only",
    ),
    Why.PATIENT_FILLS_PROFILE: (
        "refusé : seul le patient remplit son profil médical (les professionnels déposent des"
        " documents)",
        "refused: only the patient fills in his medical profile (professionals add documents)",
    ),
    Why.OPERATOR_SECTIONS_ONLY: (
        "refusé : l'Assurance Maladie n'alimente que les vaccinations et l'historique de soins",
        "refused: the insurer feeds only the vaccinations and the care history",
    ),
    Why.FED_BY_OPERATOR: (
        "refusé : l'historique de soins est alimenté par l'Assurance Maladie",
        "refused: the care history is fed by the insurer",
    ),
    Why.MINOR_SECRET_ACT: (
        "refusé : soin qu'un mineur peut garder secret",
        "refused: care a minor may keep secret",
    ),
    Why.DMP_CLOSED: (
        "refusé : le DMP est fermé (profil clôturé ou opposé)",
        "refused: the DMP is closed (profile closed or opposed)",
    ),
    Why.OPERATOR_ACT: (
        "par l'Assurance Maladie, à votre demande ou selon son registre",
        "by the insurer, at your request or from its register",
    ),
    Why.DAILY_JOB: (
        "automatiquement, à l'échéance prévue",
        "automatically, when it fell due",
    ),
    Why.DELAY_PASSED: (
        "visible : le délai fixé par le professionnel est passé",
        "visible: the delay the professional set has passed",
    ),
    Why.YEARLY_STATEMENT: (
        "relevé d'activité annuel (vous n'avez pas d'adresse e-mail connue)",
        "yearly activity statement (no e-mail address is known for you)",
    ),
    Why.COME_OF_AGE: (
        "majorité : l'espace est désormais le vôtre seul",
        "coming of age: the space is now yours alone",
    ),
    Why.NOT_A_MINOR: (
        "refusé : réservé aux représentants légaux d'un mineur",
        "refused: for a minor's legal representatives only",
    ),
}


def why_text(why: str | None, reason: str | None = None, *, english: bool = False) -> str | None:
    """The rule in plain words; an emergency's justification follows it (ACC-6)."""
    try:
        texts = WHY_TEXT[Why(why)] if why else None
    except ValueError:
        return None
    if texts is None:
        return None
    text = texts[1] if english else texts[0]
    if why == Why.EMERGENCY_BRIS_DE_GLACE and reason:
        text += f", {'reason' if english else 'motif'} : {reason}"
    return text


def actor_text(label: ActorLabel, name: str | None) -> str:
    """Who did it, in French: ``name`` is the pro's or the person's, where one is known."""
    if label is ActorLabel.YOU:
        return "Vous"
    if label is ActorLabel.HOLDER:
        return f"{name} (titulaire du dossier)" if name else "Le titulaire du dossier"
    if label is ActorLabel.REPRESENTATIVE:
        return f"{name} (représentant légal ou tuteur)" if name else "Un représentant légal"
    if label is ActorLabel.PRO or label is ActorLabel.PRO_UNLISTED:
        return name or "Un professionnel de santé"
    if label is ActorLabel.OPERATOR:
        return "L'Assurance Maladie"
    if label is ActorLabel.SOMEONE_WITHOUT_RIGHTS:
        return "Une personne sans droit sur ce dossier"
    return "Le système"


#: The medical profile's sections (PRF-1), as the patient reads them: (French, English).
SECTION_TEXT: dict[Section, tuple[str, str]] = {
    Section.TREATMENTS: ("Traitements", "Treatments"),
    Section.ALLERGIES: ("Allergies et intolérances", "Allergies and intolerances"),
    Section.HISTORY: ("Antécédents", "Medical history"),
    Section.CONDITIONS: ("Problèmes de santé", "Health conditions"),
    Section.MEASURES: ("Mesures", "Measures"),
    Section.VACCINATIONS: ("Vaccinations", "Vaccinations"),
    Section.REIMBURSED_CARE: ("Historique de soins", "Care history"),
    Section.ENTOURAGE: ("Entourage et volontés", "Entourage and wishes"),
}


def section_text(target: str | None) -> str | None:
    """A trace's section, in words (« rubrique « Vaccinations » »), when it names one."""
    section = section_of_target(target)
    return f"(rubrique « {SECTION_TEXT[section][0]} »)" if section is not None else None


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
    # Neutral wording: « vous vous êtes connecté » is wrong for a woman (issue 15 finding 8).
    "log_in": ("a ouvert une session", "avez ouvert une session", "logged in"),
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
    "close_profile": ("a clôturé le profil", "avez clôturé le profil", "closed the profile"),
    "oppose_profile": (
        "a enregistré l'opposition au profil",
        "avez enregistré votre opposition au profil",
        "recorded the opposition to the profile",
    ),
    "withdraw_opposition": (
        "a levé l'opposition au profil",
        "avez levé l'opposition au profil",
        "withdrew the opposition to the profile",
    ),
    "reopen_profile": ("a rouvert le profil", "avez rouvert le profil", "reopened the profile"),
    "come_of_age": (
        "a remis l'espace à son titulaire majeur",
        "avez reçu la gestion de votre espace à votre majorité",
        "handed the space to its holder, now of age",
    ),
    "issue_activation_code": (
        "a émis un code d'activation",
        "avez reçu un code d'activation",
        "issued an activation code",
    ),
    "request_activation_code": (
        "a demandé un nouveau code d'activation",
        "avez demandé un nouveau code d'activation",
        "asked for a new activation code",
    ),
    "share_profile": (
        "a partagé la gestion du profil avec",
        "avez partagé la gestion du profil avec",
        "shared the profile's management with",
    ),
    "record_request": (
        "a déposé une demande (droits)",
        "avez déposé une demande (droits)",
        "made a request (rights)",
    ),
    "request_export": (
        "a demandé l'export complet",
        "avez demandé l'export complet",
        "asked for the full export",
    ),
    "export_record": (
        "a préparé l'export complet",
        "avez reçu l'export complet",
        "built the full export",
    ),
    "yearly_statement": (
        "a émis le relevé d'activité annuel",
        "avez reçu le relevé d'activité annuel",
        "issued the yearly activity statement",
    ),
}

MODES = {
    "bris-de-glace": ("accès en urgence : bris de glace", "emergency access: break-the-glass"),
    "centre-de-regulation": (
        "accès en urgence : centre de régulation (SAMU-Centre 15)",
        "emergency access: SAMU regulation centre",
    ),
}


class HistoryLine(Protocol):
    """What a sentence needs of a history entry (``access.history.HistoryEntry``)."""

    @property
    def action(self) -> str: ...
    @property
    def actor_category(self) -> str: ...
    @property
    def actor_label(self) -> str: ...
    @property
    def profession(self) -> str | None: ...
    @property
    def document_title(self) -> str | None: ...
    @property
    def target_label(self) -> str | None: ...
    @property
    def why(self) -> str | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def mode(self) -> str: ...
    @property
    def outcome(self) -> str: ...


def history_sentence(entry: HistoryLine, lang: str) -> str:
    """« Dr Louis Bernard, médecin, a consulté « Compte rendu » — accès en urgence : bris de
    glace, motif : … » (TR-1): the history page and the export say it alike."""
    third, second, english = VERBS.get(entry.action, (entry.action, entry.action, entry.action))
    you = entry.actor_category == "you"
    who = "You" if you and lang == "en" else entry.actor_label
    if entry.profession:
        who = f"{who}, {entry.profession},"
    verb = english if lang == "en" else (second if you else third)
    tried = attempt(verb, english=lang == "en") if entry.outcome == "denied" else None
    text = f"{who} {tried or verb}"
    if entry.document_title:
        text += f" « {entry.document_title} »"
    if entry.target_label and entry.target_label != entry.actor_label:
        text += f" {entry.target_label}"  # never the actor named twice (issue 15 finding 8)
    why = why_text(entry.why, entry.reason, english=lang == "en")
    if why:
        text += f" — {why}"  # the rule that let it through or refused it, a reason with it
    elif entry.mode in MODES:
        fr, en = MODES[entry.mode]
        text += f" — {en if lang == 'en' else fr}"
        if entry.reason:
            text += f", {'reason' if lang == 'en' else 'motif'} : {entry.reason}"
    if entry.outcome == "denied" and tried is None:
        text = ("Refused: " if lang == "en" else "Tentative refusée : ") + text
    return text


#: Past participles → infinitives, for what someone tried and was refused.
_INFINITIVES = {"lu": "lire", "rendu": "rendre", "ouvert": "ouvrir", "rouvert": "rouvrir"}
_BASE_FORMS = {
    "viewed": "view",
    "added": "add",
    "replaced": "replace",
    "deleted": "delete",
    "archived": "archive",
    "unarchived": "unarchive",
    "masked": "mask",
    "unmasked": "unmask",
    "made": "make",
    "declared": "declare",
    "looked": "look",
    "blocked": "block",
    "unblocked": "unblock",
    "authorised": "authorise",
    "designated": "designate",
    "revoked": "revoke",
    "set": "set",
    "changed": "change",
    "read": "read",
    "opened": "open",
    "sent": "send",
    "saved": "save",
}


def attempt(verb: str, *, english: bool = False) -> str | None:
    """« a consulté la liste » → « a tenté de consulter la liste » (« avez tenté de… »,
    « tried to view… »): a refused act reads as an attempt, not as done (issue 15 finding 8);
    ``None`` when the verb has no such form here."""
    if english:
        first, _, rest = verb.partition(" ")
        base = _BASE_FORMS.get(first)
        return f"tried to {base}{' ' + rest if rest else ''}" if base else None
    for aux in ("a ", "avez "):
        if verb.startswith(aux):
            first, _, rest = verb[len(aux) :].partition(" ")
            infinitive = _INFINITIVES.get(first) or (
                first[:-1] + "er" if first.endswith("é") else ""
            )
            if infinitive:
                de = "d'" if infinitive[0] in "aeiouéèêh" else "de "
                return f"{aux}tenté {de}{infinitive}{' ' + rest if rest else ''}"
    return None
