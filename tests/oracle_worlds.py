"""The oracle's worlds in Carnet's facts, for the property tests that compare Carnet's pure
decisions with the independent oracle (tests/oracle*.py). Kept out of the oracle, which knows
no Carnet: this module is the one place where the two vocabularies meet."""

from __future__ import annotations

from collections.abc import Callable
from itertools import product
from typing import TypeVar, get_args

from hypothesis import strategies as st
from oracle import (
    ActorKind,
    AuthLevel,
    Confidentiality,
    DocumentStatus,
    Mode,
    OActor,
    ODocument,
    ORequest,
    OWorld,
    ProfileState,
)

from carnet.access.facts import (
    AccessRequest,
    DocumentFacts,
    PatientFacts,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.matrix import Matrix
from carnet.context import AccessMode
from carnet.context import AuthLevel as CarnetLevel
from carnet.population.rules import ProfileState as CarnetState

T = TypeVar("T")

#: A matrix of one row where one type is readable and one is not: ``habilitation_allows`` maps
#: to the choice of type code, nothing else.
ALLOWED_TYPE, FORBIDDEN_TYPE = "TYPE-ALLOWED", "TYPE-FORBIDDEN"
TINY_MATRIX = Matrix(
    types=frozenset({ALLOWED_TYPE, FORBIDDEN_TYPE}),
    cells={("10", ""): frozenset({ALLOWED_TYPE})},
)
ACTOR_ID, OTHER_AUTHOR_ID = "10000000001", "10000000002"
CODES: tuple[Confidentiality, ...] = (
    "MASQUE_PS",
    "INVISIBLE_PATIENT",
    "INVISIBLE_REPRESENTANTS_LEGAUX",
)

MODES: tuple[Mode, ...] = get_args(Mode)
REASON = "patient inconscient, détresse respiratoire"
REASONS = (None, "", "  ", "\t\n", REASON)
BOOLS = (False, True)


def _confidentialities() -> list[frozenset[Confidentiality]]:
    """Every combination of the TRE_A07 codes (``N`` among them); no code at all is ``N``."""
    codes: tuple[Confidentiality, ...] = ("N", *CODES)
    combos = [frozenset(c for i, c in enumerate(codes) if mask >> i & 1) for mask in range(16)]
    normal: frozenset[Confidentiality] = frozenset({"N"})
    return list(dict.fromkeys(combo or normal for combo in combos))


# Each strategy picks one of every combination of its fields, listed simplest first so that a
# failure shrinks towards plain values; one draw per object keeps 10,000 examples fast.
ALL_WORLDS = [
    OWorld(age, state, samu, others, masked)
    for age, state, samu, others, masked in product(
        range(101), get_args(ProfileState), BOOLS, BOOLS, BOOLS
    )
]
ALL_ACTORS = [
    OActor(kind, represents, level, regulator, authorised, consent, blocked, admin, mt, formerly)
    for kind, represents, level, regulator, authorised, consent, blocked, admin, mt, formerly in (
        product(
            get_args(ActorKind),
            BOOLS,
            get_args(AuthLevel),
            BOOLS,
            BOOLS,
            BOOLS,
            BOOLS,
            BOOLS,
            BOOLS,
            BOOLS,
        )
    )
]
ALL_DOCUMENTS = [
    ODocument(confidentiality, author, allows, status)
    for confidentiality, author, allows, status in product(
        _confidentialities(), BOOLS, BOOLS, get_args(DocumentStatus)
    )
]
ALL_REQUESTS = [ORequest(mode, reason) for mode, reason in product(MODES, REASONS)]


def half(focus: Callable[[T], bool], everything: list[T]) -> st.SearchStrategy[T]:
    """Half the draws where the most rules meet, half anywhere: rare combinations come up."""
    return st.one_of(
        st.sampled_from([x for x in everything if focus(x)]), st.sampled_from(everything)
    )


#: An open profile at the majority boundary; a pro who may read at all; a listed document; a
#: request that may be granted.
worlds = half(
    lambda w: w.profile_state in ("created", "activated") and 16 <= w.patient_age <= 19, ALL_WORLDS
)
actors = half(lambda a: a.kind == "pro" and a.level != "cpe", ALL_ACTORS)
documents = half(lambda d: d.status != "deleted", ALL_DOCUMENTS)
requests = half(lambda r: r.mode == "normal" or bool(r.reason and r.reason.strip()), ALL_REQUESTS)


def to_facts(
    world: OWorld, actor: OActor, doc: ODocument, request: ORequest
) -> tuple[RecordFacts, DocumentFacts]:
    """The oracle's world in Carnet's facts. Every field is passed whatever the actor's kind:
    both sides must ignore what does not concern that kind (a patient's "level")."""
    return record_facts_of(world, actor, request), document_of(doc)


def record_facts_of(world: OWorld, actor: OActor, request: ORequest) -> RecordFacts:
    return RecordFacts(
        requester=Requester(
            kind=RequesterKind(actor.kind),
            actor_id=ACTOR_ID,
            represents_patient=actor.represents_patient,
            profession="10",
            specialty="SM26",
            level=CarnetLevel(actor.level),
            samu_regulator=actor.samu_regulator,
        ),
        relation=Relation(
            authorised=actor.authorised,
            blocked=actor.blocked,
            administrator=actor.administrator,
            medecin_traitant=actor.medecin_traitant,
            formerly_authorised=actor.formerly_authorised,
        ),
        patient=PatientFacts(
            age=world.patient_age,
            state=CarnetState(world.profile_state),
            emergency_samu=world.emergency_samu,
            emergency_others=world.emergency_others,
            emergency_masked=world.emergency_masked,
        ),
        request=AccessRequest(
            mode=AccessMode(request.mode),
            reason=request.reason,
            declares_consent=actor.declares_consent,
        ),
    )


def document_of(doc: ODocument) -> DocumentFacts:
    return DocumentFacts(
        type_code=ALLOWED_TYPE if doc.habilitation_allows else FORBIDDEN_TYPE,
        author_id=ACTOR_ID if doc.actor_is_author else OTHER_AUTHOR_ID,
        masked="MASQUE_PS" in doc.confidentiality,
        invisible_patient="INVISIBLE_PATIENT" in doc.confidentiality,
        invisible_representatives="INVISIBLE_REPRESENTANTS_LEGAUX" in doc.confidentiality,
        # DOC-6: archived is a flag on a current document, which Carnet's decision ignores.
        status="current" if doc.status == "archived" else doc.status,
    )
