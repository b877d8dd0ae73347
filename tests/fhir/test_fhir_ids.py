"""A DocumentReference's FHIR id: the patient's and the document's ids in one (base32 of their
32 bytes, lower case, unpadded), so that a read finds its shard directly. Written by hand for
speed (a search makes one per document): checked against the standard library's base32."""

from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from carnet.http.fhir.shapes import fhir_id_of, parse_document_id
from carnet.ids import new_id

ids = st.binary(min_size=16, max_size=16).map(bytes.hex)


def _library(patient_id: str, document_id: str) -> str:
    raw = bytes.fromhex(patient_id) + bytes.fromhex(document_id)
    return base64.b32encode(raw).decode().rstrip("=").lower()


@given(ids, ids)
def test_fhir_document_id_is_the_base32_of_both_ids(patient_id: str, document_id: str) -> None:
    fhir_id = fhir_id_of(patient_id, document_id)
    assert fhir_id == _library(patient_id, document_id)
    assert len(fhir_id) == 52
    assert parse_document_id(fhir_id) == (patient_id, document_id)


def test_fhir_document_id_of_the_extremes_and_of_new_ids() -> None:
    for patient_id, document_id in [
        ("0" * 32, "0" * 32),
        ("f" * 32, "f" * 32),
        ("0" * 32, "f" * 32),
        (new_id(), new_id()),
    ]:
        assert fhir_id_of(patient_id, document_id) == _library(patient_id, document_id)


@given(ids, st.lists(ids, min_size=2, max_size=5), ids)
def test_fhir_document_ids_of_one_patient_share_its_head(
    patient_id: str, document_ids: list[str], other: str
) -> None:
    """A search's documents share their patient: the id's first 24 characters are made once
    a patient and kept; every id is still the library's, another patient's too."""
    for document_id in [*document_ids, *document_ids]:
        assert fhir_id_of(patient_id, document_id) == _library(patient_id, document_id)
        assert fhir_id_of(other, document_id) == _library(other, document_id)
