"""French first, English second: a catalogue keyed by the French text (gettext's way, without its
tooling). A string missing here shows in French. The language comes from the ``lang`` cookie, then
the browser's ``Accept-Language``; French by default.
"""

from __future__ import annotations

LANGUAGES = ("fr", "en")
DEFAULT = "fr"

EN: dict[str, str] = {
    # layout
    "Aller au contenu": "Skip to content",
    "Mon espace santé": "My health space",
    "Espace des professionnels": "Professionals' portal",
    "Navigation principale": "Main navigation",
    "Documents": "Documents",
    "Historique": "History",
    "Notifications": "Notifications",
    "Qui voit mes données": "Who sees my data",
    "Messagerie": "Messages",
    "Se déconnecter": "Log out",
    "Langue": "Language",
    "Changer": "Change",
    "Espace affiché": "Space shown",
    "Afficher": "Show",
    "Vous agissez pour": "You are acting for",
    "mon espace": "my space",
    "Carnet — logiciel libre, d'après Mon espace santé.": "Carnet — free software, after Mon espace santé.",
    # log-in
    "Connexion": "Log in",
    "Se connecter": "Log in",
    "Matricule INS ou adresse e-mail": "INS number or e-mail address",
    "Mot de passe": "Password",
    "Première connexion ? Activez votre profil": "First time? Activate your profile",
    "Code de vérification": "Verification code",
    "Un code à 6 chiffres a été envoyé à": "A 6-digit code was sent to",
    "Code reçu par e-mail": "Code received by e-mail",
    "Valider": "Confirm",
    "Mode démonstration : votre code est": "Demo mode: your code is",
    "Activer mon profil": "Activate my profile",
    "Activation": "Activation",
    "Code d'activation (courrier de l'Assurance Maladie)": "Activation code (letter from the insurer)",
    "Date de naissance": "Birth date",
    "Adresse e-mail personnelle": "Personal e-mail address",
    "Mot de passe (12 caractères au moins)": "Password (at least 12 characters)",
    "Votre profil est activé : connectez-vous.": "Your profile is activated: log in.",
    "Vous êtes déconnecté.": "You are logged out.",
    "Démonstration": "Demo",
    # spaces
    "Mes espaces": "My spaces",
    "Mon propre espace": "My own space",
    "représentant légal": "legal representative",
    "tuteur": "guardian",
    # documents
    "Mes documents": "My documents",
    "Catégories": "Categories",
    "Toutes": "All",
    "Rechercher": "Search",
    "Titre contient": "Title contains",
    "Depuis le": "From",
    "Jusqu'au": "Until",
    "Inclure les archivés": "Include archived",
    "Filtrer": "Filter",
    "Titre": "Title",
    "Date": "Date",
    "Auteur": "Author",
    "Visibilité": "Visibility",
    "Actions": "Actions",
    "Aucun document.": "No document.",
    "Ouvrir": "Open",
    "Télécharger": "Download",
    "Masquer": "Mask",
    "Démasquer": "Unmask",
    "Supprimer": "Delete",
    "Masqué aux professionnels": "Masked from professionals",
    "Invisible aux représentants légaux": "Invisible to legal representatives",
    "Invisible au patient": "Invisible to the patient",
    "Visible": "Visible",
    "Masquer tous les documents": "Mask all documents",
    "Démasquer tous les documents": "Unmask all documents",
    "Ajouter un document": "Add a document",
    "Fichier (PDF, TXT, RTF, JPEG ou TIFF, 5 Mo au plus)": "File (PDF, TXT, RTF, JPEG or TIFF, 5 MB at most)",
    "Type": "Type",
    "Ajouter": "Add",
    "Envoi en cours": "Uploading",
    "Retour aux documents": "Back to documents",
    "Aperçu du document": "Document preview",
    "Ce document n'est pas visible par les représentants légaux du patient.": "This document is not visible to the patient's legal representatives.",
    "Document ajouté.": "Document added.",
    "Document supprimé.": "Document deleted.",
    "Fait.": "Done.",
    # history
    "Historique des accès et des actions": "History of accesses and actions",
    "Page": "Page",
    "Précédente": "Previous",
    "Suivante": "Next",
    "Aucune action enregistrée.": "No action recorded.",
    "Quand": "When",
    "Quoi": "What",
    # notifications
    "Centre de notifications": "Notification centre",
    "Marquer comme lue": "Mark as read",
    "Aucune notification.": "No notification.",
    "non lue": "unread",
    # access
    "Professionnels": "Professionals",
    "Autorisé": "Authorised",
    "Bloqué": "Blocked",
    "Administrateur": "Administrator",
    "Médecin traitant": "Médecin traitant",
    "Bloquer": "Block",
    "Débloquer": "Unblock",
    "Nommer administrateur": "Make administrator",
    "Retirer l'administration": "Remove administrator",
    "Accès en urgence": "Emergency access",
    "Enregistrer": "Save",
    "Ce que peut voir une profession": "What a profession may see",
    "Profession": "Profession",
    "Voir": "See",
    "Aucun professionnel n'a encore accédé à votre profil.": "No professional has accessed your profile yet.",
    "RPPS du médecin traitant": "RPPS of the médecin traitant",
    # messaging
    "Conversations": "Conversations",
    "Close": "Closed",
    "Ouverte": "Open",
    "Répondre": "Reply",
    "Votre réponse": "Your reply",
    "Envoyer": "Send",
    "Écrire à une pharmacie": "Write to a pharmacy",
    "Pharmacie": "Pharmacy",
    "Ordonnance à joindre": "Prescription to attach",
    "Message": "Message",
    "Enregistrer dans mes documents": "Save into my documents",
    "Pièces jointes": "Attachments",
    "Aucune conversation.": "No conversation.",
    "Cette conversation est close : vous ne pouvez plus y répondre.": "This conversation is closed: you can no longer reply.",
    "Votre adresse de messagerie": "Your mailbox address",
    "Rechercher une pharmacie": "Search a pharmacy",
    "Aucune": "None",
    # errors
    "Erreur": "Error",
    "Retour": "Back",
}


def pick(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    for part in (accept_language or "").split(","):
        tag = part.split(";")[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return DEFAULT


def translate(lang: str, text: str) -> str:
    return EN.get(text, text) if lang == "en" else text


def both(lang: str, fr: str, en: str) -> str:
    """A refusal or a notification carries both texts: show the reader's."""
    return en if lang == "en" else fr
