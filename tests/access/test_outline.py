"""ACC-1, DOC-4, DOC-5, DOC-6: a listing fetches within an outline of what the decision could
allow, and within the caller's own filter; neither may ever drop a document the decision and the
filter would keep (issue: "a test shows it never drops what the function allows")."""

from __future__ import annotations

from datetime import timedelta
from itertools import product

from factories import add_patient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import event
from support import DEFAULT_MATRIX

from carnet import clock
from carnet.access.facts import (
    AccessRequest,
    DocumentFacts,
    PatientFacts,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.loading import patient_documents
from carnet.access.rules import EVERYTHING, Outline, decide_document, decide_record, outline
from carnet.context import AccessMode, AuthLevel
from carnet.ids import new_id
from carnet.population.rules import ProfileState
from carnet.records.catalog import TYPES
from carnet.records.models import Document
from carnet.records.reading import DocumentFilter
from carnet.runtime import Runtime

ME = "10000000001"
OTHER = "10000000002"
ROWS = sorted(DEFAULT_MATRIX.cells)
TYPE_CODES = [*sorted(DEFAULT_MATRIX.types), "00000-0"]


@st.composite
def requesters(draw: st.DrawFn) -> Requester:
    kind = draw(st.sampled_from(RequesterKind))
    if kind is not RequesterKind.PRO:
        return Requester(
            kind, draw(st.sampled_from([ME, "p1"])), represents_patient=draw(st.booleans())
        )
    profession, specialty = draw(st.sampled_from(ROWS))
    return Requester(
        kind,
        ME,
        profession=profession,
        specialty=specialty or None,
        level=draw(st.sampled_from(AuthLevel)),
        samu_regulator=draw(st.booleans()),
    )


record_facts = st.builds(
    RecordFacts,
    requester=requesters(),
    relation=st.builds(
        Relation,
        authorised=st.booleans(),
        blocked=st.booleans(),
        administrator=st.booleans(),
        medecin_traitant=st.booleans(),
    ),
    patient=st.builds(
        PatientFacts,
        age=st.sampled_from([0, 12, 17, 18, 40]),
        state=st.sampled_from(ProfileState),
        emergency_samu=st.booleans(),
        emergency_others=st.booleans(),
        emergency_masked=st.booleans(),
    ),
    request=st.builds(
        AccessRequest,
        mode=st.sampled_from(AccessMode),
        reason=st.sampled_from([None, "", "  ", "Détresse respiratoire"]),
        declares_consent=st.booleans(),
    ),
)
documents = st.builds(
    DocumentFacts,
    type_code=st.sampled_from(TYPE_CODES),
    author_id=st.sampled_from([ME, OTHER, "p1"]),
    masked=st.booleans(),
    invisible_patient=st.booleans(),
    invisible_representatives=st.booleans(),
    status=st.sampled_from(["current", "superseded", "deleted"]),
)


@settings(max_examples=5000, deadline=None)
@given(facts=record_facts, document=documents)
def test_acc_1_doc_5_outline_never_drops_what_the_decision_allows(
    facts: RecordFacts, document: DocumentFacts
) -> None:
    entry = decide_record(facts)
    if decide_document(facts, entry, document, DEFAULT_MATRIX).allowed:
        assert outline(facts, entry, DEFAULT_MATRIX).admits(document)


def test_acc_1_outline_narrows_a_pharmacist_to_readable_unmasked_and_his_own() -> None:
    """Not a trivial outline: what it lets a pharmacist fetch is a strict part of the record."""
    pharmacist = Requester(RequesterKind.PRO, ME, profession="21")
    facts = RecordFacts(
        pharmacist,
        Relation(authorised=True),
        PatientFacts(40, ProfileState.ACTIVATED),
        AccessRequest(),
    )
    shape = outline(facts, decide_record(facts), DEFAULT_MATRIX)
    stay_report = "34112-3"
    assert not DEFAULT_MATRIX.allows("21", None, stay_report)
    assert not shape.admits(DocumentFacts(stay_report, OTHER))
    assert shape.admits(DocumentFacts(stay_report, ME))
    readable = sorted(DEFAULT_MATRIX.readable_types("21", None))[0]
    assert shape.admits(DocumentFacts(readable, OTHER))
    assert not shape.admits(DocumentFacts(readable, OTHER, masked=True))


def _row(
    patient_id: str, type_code: str, author: str, masked: bool, status: str, archived: bool
) -> Document:
    now = clock.now() - timedelta(minutes=len(status) + int(archived))
    return Document(
        patient_id=patient_id,
        id=new_id(),
        unique_id=new_id(),
        set_id=new_id(),
        version=1,
        replaces_id=None,
        type_system="http://loinc.org",
        type_code=type_code,
        class_code=TYPES[type_code].class_code if type_code in TYPES else "11",
        category="AUTRES",
        title="Document",
        author_kind="pro",
        author_id=author,
        author_establishment_id=None,
        service_date=None,
        created_at=now,
        updated_at=now,
        mime_type="application/pdf",
        size=1,
        sha256="0" * 64,
        sha1="0" * 40,
        blob_key="none",
        key_id="none",
        masked=masked,
        invisible_patient=False,
        invisible_representatives=False,
        status=status,
        archived=archived,
        meta_version=1,
        deleted_at=None,
    )


def _record_of_every_shape(rt: Runtime) -> tuple[str, list[Document]]:
    patient = add_patient(rt)
    readable = sorted(DEFAULT_MATRIX.readable_types("21", None))[0]
    rows = [
        _row(patient.id, type_code, author, masked, status, archived)
        for type_code, author, masked, status, archived in product(
            [readable, "34112-3"],
            [ME, OTHER],
            [False, True],
            ["current", "superseded", "deleted"],
            [False, True],
        )
    ]
    with rt.transaction() as session:
        session.add_all(rows)
    return patient.id, rows


def test_acc_1_sql_outline_fetches_exactly_what_the_outline_admits(rt: Runtime) -> None:
    patient_id, rows = _record_of_every_shape(rt)
    readable = frozenset(sorted(DEFAULT_MATRIX.readable_types("21", None))[:1])
    shapes = [
        EVERYTHING,
        Outline(),
        Outline(author_id=ME),
        Outline(others=True),
        Outline(others=True, types=readable),
        Outline(others=True, types=readable, unmasked_only=True),
        Outline(author_id=ME, others=True, types=readable),
        Outline(author_id=ME, others=True, types=readable, unmasked_only=True),
        Outline(author_id=ME, others=True, types=DEFAULT_MATRIX.types),
    ]
    for shape in shapes:
        with rt.transaction() as session:
            fetched = {d.id for d in patient_documents(session, patient_id, within=shape)}
        expected = {d.id for d in rows if d.status != "deleted" and shape.admits(d)}
        assert fetched == expected, shape


def test_doc_6_filter_narrowing_drops_nothing_the_filter_keeps(rt: Runtime) -> None:
    patient_id, _ = _record_of_every_shape(rt)
    with rt.transaction() as session:
        everything = patient_documents(session, patient_id)
    statuses = [("current",), ("superseded",), ("current", "superseded"), ("deleted",)]
    for status, include_archived, only_archived in product(statuses, [False, True], [False, True]):
        flt = DocumentFilter(
            status=status, include_archived=include_archived, only_archived=only_archived
        )
        with rt.transaction() as session:
            narrowed = patient_documents(
                session, patient_id, statuses=flt.status, archived=flt.archived_narrowing
            )
        assert all(flt.keep(d) for d in narrowed)
        assert {d.id for d in narrowed} == {d.id for d in everything if flt.keep(d)}, flt
    assert len(everything) == 32  # deleted ones never list (DOC-6)


def test_acc_1_sql_outline_of_codes_that_are_not_plain_codes_fetches_them_bound(
    rt: Runtime,
) -> None:
    """The outline's codes go into the SQL as constants (issue 19) only when they are plainly
    codes; a matrix the operator wrote may hold anything, and such a code is still matched
    exactly — as a bound value, with nothing of it read as SQL."""
    patient = add_patient(rt)
    odd = ["it's", "a b", "back\\slash", "x') OR ('1'='1", "11488-4"]
    rows = [_row(patient.id, code, OTHER, False, "current", False) for code in odd]
    rows.append(_row(patient.id, "34112-3", OTHER, False, "current", False))
    with rt.transaction() as session:
        session.add_all(rows)
    for wanted in ([*odd[:-1]], [odd[3]], ["11488-4", "34112-3"], [odd[0], "11488-4"]):
        shape = Outline(others=True, types=frozenset(wanted))
        with rt.transaction() as session:
            fetched = {d.type_code for d in patient_documents(session, patient.id, within=shape)}
        assert fetched == set(wanted), wanted


def test_issue_19_a_listing_binds_a_handful_of_values_whatever_the_outline(rt: Runtime) -> None:
    """psycopg converts a statement of more than 50 parameters again at every execution: the
    outline's dozens of codes are written into the statement, not bound."""
    patient = add_patient(rt)
    seen: list[int] = []

    def spy(_c: object, _cur: object, statement: str, params: object, *_: object) -> None:
        if "FROM documents" in statement:
            seen.append(len(params) if isinstance(params, (dict, tuple, list)) else 0)

    shape = Outline(author_id=ME, others=True, types=DEFAULT_MATRIX.types)
    assert len(shape.types) > 50
    event.listen(rt.uow.engine, "before_cursor_execute", spy)
    try:
        with rt.transaction() as session:
            patient_documents(session, patient.id, within=shape, statuses=("current",))
    finally:
        event.remove(rt.uow.engine, "before_cursor_execute", spy)
    assert seen
    assert max(seen) <= 5, seen
