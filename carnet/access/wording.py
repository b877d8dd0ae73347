"""The access decisions in plain words, French first: why an act went through or was refused,
and who did it, as the patient reads them in his history (TR-1). Pure: no I/O.
"""

from __future__ import annotations

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
