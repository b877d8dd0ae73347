"""The document types the DMP accepts, their class and the patient's category (data file)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from importlib import resources

LOINC = "http://loinc.org"
TRE_A05 = "urn:oid:1.2.250.1.213.1.1.4.12"
TRE_A03 = "urn:oid:1.2.250.1.213.1.1.4.1"

#: What the patient added goes under *Espace personnel* (DOC-1), whatever its type.
PERSONAL_SPACE = "ESPACE_PERSO"

CATEGORIES: dict[str, tuple[str, str]] = {
    "SYNTHESE": ("Ma santé en résumé", "My health in brief"),
    "ORD_SOIN": ("Ordonnances et soins", "Prescriptions and care"),
    "RADIO_SC": ("Radio, écho, scanner, IRM", "X-ray, ultrasound, CT, MRI"),
    "BIOLOGIE": ("Résultats de biologie", "Laboratory results"),
    "CPT_REND": ("Comptes rendus", "Reports"),
    "DEPISTAG": ("Prévention et dépistages", "Prevention and screening"),
    "CERT_MED": ("Certificats médicaux", "Medical certificates"),
    "DOC_ADM": ("Pièces administratives", "Administrative documents"),
    "AUTR_DOC": ("Autres documents", "Other documents"),
    PERSONAL_SPACE: ("Espace personnel", "Personal space"),
}


@dataclass(frozen=True)
class DocumentType:
    system: str
    code: str
    label: str
    class_code: str
    category: str


def _load() -> dict[str, DocumentType]:
    text = resources.files("carnet.records").joinpath("data/document_types.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return {
        r["code"]: DocumentType(r["system"], r["code"], r["label"], r["class"], r["category"])
        for r in rows
    }


TYPES: dict[str, DocumentType] = _load()

#: What the operator may add (DOC-1): the history of reimbursed care and vaccination certificates.
OPERATOR_TYPES = frozenset({"REMB", "11369-6", "87273-9", "96874-3"})

#: Types the patient may choose for his own uploads.
PATIENT_TYPES = frozenset(c for c in TYPES if c.startswith(("DOCPAT", "EXPPAT")))
