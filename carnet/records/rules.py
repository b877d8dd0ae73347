"""What may be uploaded and who may change a document (DOC-1, DOC-3, DOC-4, DOC-6, DOC-8). Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from carnet.errors import Forbidden, Invalid
from carnet.population.rules import MAJORITY_AGE
from carnet.records import content as kinds
from carnet.records.catalog import OPERATOR_TYPES, PATIENT_TYPES, TYPES
from carnet.texts import checked_title


class Uploader(StrEnum):
    PRO = "pro"
    PATIENT = "patient"
    OPERATOR = "operator"


class Act(StrEnum):
    REPLACE = "replace"
    DELETE = "delete"
    ARCHIVE = "archive"
    MASK = "mask"
    SHOW_TO_PATIENT = "show_to_patient"


@dataclass(frozen=True)
class Upload:
    uploader: Uploader
    type_code: str
    declared_mime: str
    content: bytes
    masked: bool = False
    invisible_patient: bool = False
    invisible_representatives: bool = False
    #: The class (TRE_A03) the producer gave, if he gave one: it must be the type's.
    class_code: str | None = None
    title: str = ""


def check_upload(upload: Upload, patient_age: int) -> str:
    """The MIME type to store, or ``Invalid`` saying what is wrong (nothing is then stored)."""
    checked_title(upload.title)
    if upload.type_code not in TYPES:
        raise Invalid(
            f"Type de document inconnu : {upload.type_code}.",
            f"Unknown document type: {upload.type_code}.",
            code="unknown_type",
        )
    expected = TYPES[upload.type_code].class_code
    if upload.class_code is not None and upload.class_code != expected:
        # The class follows from the type (TRE_A03 / TRE_A05): a contradiction is the
        # producer's to fix, not Carnet's to « correct » silently.
        raise Invalid(
            f"La classe {upload.class_code} ne correspond pas au type {upload.type_code} "
            f"(classe attendue : {expected}).",
            f"Class {upload.class_code} does not match type {upload.type_code} "
            f"(expected class: {expected}).",
            code="type_class_mismatch",
        )
    if upload.uploader is Uploader.OPERATOR and upload.type_code not in OPERATOR_TYPES:
        raise Invalid(
            "L'opérateur n'ajoute que l'historique des remboursements et les certificats de vaccination.",
            "The operator only adds the reimbursement history and vaccination certificates.",
            code="type_not_allowed",
        )
    if upload.uploader is Uploader.PATIENT and upload.type_code not in PATIENT_TYPES:
        raise Invalid(
            "Ce type de document ne peut pas être ajouté par le patient.",
            "The patient cannot add this type of document.",
            code="type_not_allowed",
        )
    if upload.uploader is not Uploader.PRO and (
        upload.masked or upload.invisible_patient or upload.invisible_representatives
    ):
        raise Invalid(
            "Seul un professionnel choisit la visibilité au dépôt.",
            "Only a professional sets visibility at upload.",
            code="visibility_not_allowed",
        )
    if upload.invisible_representatives and patient_age >= MAJORITY_AGE:
        raise Invalid(
            "Un document ne peut être invisible aux représentants légaux que pour un patient mineur.",
            "A document can be invisible to legal representatives only for a minor.",
            code="not_a_minor",
        )
    allowed, limit = (
        (kinds.PRO_TYPES, kinds.PRO_MAX_BYTES)
        if upload.uploader is Uploader.PRO
        else (kinds.PATIENT_TYPES, kinds.PATIENT_MAX_BYTES)
    )
    if len(upload.content) == 0:
        raise Invalid("Le fichier est vide.", "The file is empty.", code="empty")
    if len(upload.content) > limit:
        raise Invalid(
            f"Le fichier dépasse {limit // (1024 * 1024)} Mo.",
            f"The file exceeds {limit // (1024 * 1024)} MB.",
            code="too_large",
        )
    declared = kinds.normalize_mime(upload.declared_mime)
    actual = kinds.sniff(upload.content)
    if actual is None or actual not in allowed:
        raise Invalid(
            "Format refusé : PDF, TXT, RTF, JPEG ou TIFF seulement.",
            "Format refused: PDF, TXT, RTF, JPEG or TIFF only.",
            code="unsupported_format",
        )
    if declared != actual:
        raise Invalid(
            f"Le contenu du fichier ({actual}) ne correspond pas au type annoncé ({declared}).",
            f"The file's content ({actual}) does not match its declared type ({declared}).",
            code="content_mismatch",
        )
    return actual


@dataclass(frozen=True)
class Actor:
    """Who acts on a document, as the act rules need him."""

    is_patient_side: bool
    is_author: bool
    is_administrator: bool = False


def may_act(act: Act, actor: Actor) -> bool:
    """DOC-6: the author replaces or deletes; the patient deletes, archives and masks in his
    space; DOC-4 and ACC-4: the patient or, at his request, an administrator masks; the author
    masks his own documents (seed 000 q.8) and makes them visible to the patient again (DOC-3).
    Pages offer an act only when this says yes (issue 15: no button leading to a refusal)."""
    return {
        Act.REPLACE: actor.is_author,
        Act.DELETE: actor.is_author or actor.is_patient_side,
        Act.ARCHIVE: actor.is_author or actor.is_patient_side,
        Act.MASK: actor.is_author or actor.is_patient_side or actor.is_administrator,
        Act.SHOW_TO_PATIENT: actor.is_author and not actor.is_patient_side,
    }[act]


def check_act(act: Act, actor: Actor) -> None:
    """``may_act``, or ``Forbidden`` saying so."""
    if not may_act(act, actor):
        raise Forbidden(
            "Vous n'avez pas le droit de faire cette action sur ce document.",
            "You may not do this to this document.",
            code="act_not_allowed",
        )
