"""Identifier systems and code systems of the French FHIR guides (REFERENCE.md)."""

from __future__ import annotations

INS_NIR = "urn:oid:1.2.250.1.213.1.4.8"
INS_NIA = "urn:oid:1.2.250.1.213.1.4.9"
INS_TEST = "urn:oid:1.2.250.1.213.1.4.10"
INS_DEMO = "urn:oid:1.2.250.1.213.1.4.11"
#: The systems under which a matricule INS may be looked up (production, test and demo patients).
INS_SYSTEMS = frozenset({INS_NIR, INS_TEST, INS_DEMO})

ID_NAT_PS = "urn:oid:1.2.250.1.71.4.2.1"
RPPS = "https://rpps.esante.gouv.fr"
STRUCTURE = "urn:oid:1.2.250.1.71.4.2.2"

CLASS_SYSTEM = "urn:oid:1.2.250.1.213.1.1.4.1"  # TRE_A03
TRE_A07 = (
    "https://mos.esante.gouv.fr/NOS/TRE_A07-StatutVisibiliteDocument/FHIR/"
    "TRE-A07-StatutVisibiliteDocument"
)
V3_CONFIDENTIALITY = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
RFC3986 = "urn:ietf:rfc:3986"

#: PDSm's extension telling an archived (still current) document.
IS_ARCHIVED = "https://interop.esante.gouv.fr/ig/fhir/pdsm/StructureDefinition/pdsm-isArchived"
#: Carnet's extensions on Patient (TD0.2): the caller's authorisation status and the closure date.
AUTHORISATION = "https://carnet.example/fhir/StructureDefinition/dmp-authorisation-status"
CLOSURE_DATE = "https://carnet.example/fhir/StructureDefinition/profile-closure-date"
#: Who uploaded a document whose author the producer named (PDSm author kept as submitted).
UPLOADER = "https://carnet.example/fhir/StructureDefinition/document-uploader"
#: A trace's inclusion proof in the transparency log (TR-3), on its AuditEvent.
INCLUSION_PROOF = "https://carnet.example/fhir/StructureDefinition/trace-inclusion-proof"
BIRTH_PLACE = "http://hl7.org/fhir/StructureDefinition/patient-birthPlace"
INSEE_CODE = "https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-address-insee-code"

FHIR_JSON = "application/fhir+json"
