"""The access decision (ACC-*, DOC-3…DOC-5): median time of one ``decide`` call.

Ours: ``carnet.access.rules.decide(facts, document, DEFAULT_MATRIX)`` over a realistic mix of
pre-built facts (mostly pros of the care team, some under consent, in emergencies, blocked or with
a CPE card; patients, representatives, guardians, third parties; masked, invisible, deleted
documents, some by the requesting pro). Baseline: the same loop over the same pairs calling a
function that returns a constant. Timed with ``perf_counter_ns`` per batch of 1,000 calls; the
batches of both sides alternate. No database: nothing but the pure rule is measured.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable

from _common import Result, finish, median, options, print_header, print_profile

from carnet.access.facts import (
    AccessRequest,
    DocumentFacts,
    PatientFacts,
    RecordFacts,
    Relation,
    Requester,
    RequesterKind,
)
from carnet.access.matrix import Matrix, load_matrix
from carnet.access.rules import Decision, Why, decide
from carnet.context import AccessMode, AuthLevel
from carnet.population.rules import ProfileState

DEFAULT_MATRIX = load_matrix()
BATCH = 1_000
BATCHES_FULL = 2_000  # 2e6 calls each side
BATCHES_QUICK = 200  # 2e5 calls each side
TARGET_US = 2.0

Pair = tuple[RecordFacts, DocumentFacts]
Decide = Callable[[RecordFacts, DocumentFacts, Matrix], Decision]
PROFESSIONS = (("10", "SM26"), ("10", "SM54"), ("21", None), ("40", None), ("60", None))
PRO_ID = "10000000701"
CONSTANT = Decision(True, Why.CARE_TEAM)


def constant(facts: RecordFacts, document: DocumentFacts, matrix: Matrix) -> Decision:
    return CONSTANT


def requester_and_request(rng: random.Random) -> tuple[Requester, Relation, AccessRequest, int]:
    """Who asks, his relation to the patient, how, and the patient's age, by a weighted draw."""
    profession, specialty = PROFESSIONS[rng.randrange(len(PROFESSIONS))]
    level = AuthLevel.CPE if rng.random() < 0.03 else AuthLevel.CPS
    pro = Requester(RequesterKind.PRO, PRO_ID, False, profession, specialty, level)
    roll = rng.random()
    if roll < 0.50:
        medecin = profession == "10" and rng.random() < 0.3
        administrator = rng.random() < 0.05
        return pro, Relation(True, False, administrator, medecin), AccessRequest(), 45
    if roll < 0.62:
        return pro, Relation(), AccessRequest(declares_consent=True), 45
    if roll < 0.66:
        return pro, Relation(), AccessRequest(AccessMode.BRIS_DE_GLACE, "Patient inconscient"), 70
    if roll < 0.68:
        regulator = Requester(RequesterKind.PRO, PRO_ID, False, "10", "SM26", samu_regulator=True)
        return regulator, Relation(), AccessRequest(AccessMode.CENTRE_DE_REGULATION), 30
    if roll < 0.71:
        return pro, Relation(blocked=True), AccessRequest(), 45
    if roll < 0.74:
        return pro, Relation(), AccessRequest(), 45  # no consent: sees only what he wrote
    if roll < 0.90:
        return Requester(RequesterKind.PATIENT, "p"), Relation(), AccessRequest(), 52
    if roll < 0.95:
        parent = Requester(RequesterKind.LEGAL_REPRESENTATIVE, "r", represents_patient=True)
        return parent, Relation(), AccessRequest(), 12
    if roll < 0.98:
        guardian = Requester(RequesterKind.GUARDIAN_OF_PERSON, "g", represents_patient=True)
        return guardian, Relation(), AccessRequest(), 80
    return Requester(RequesterKind.THIRD_PARTY, "t"), Relation(), AccessRequest(), 40


def pairs(count: int, matrix: Matrix, seed: int = 2026) -> list[Pair]:
    rng = random.Random(seed)
    types = sorted(matrix.types)
    built: list[Pair] = []
    for _ in range(count):
        requester, relation, request, age = requester_and_request(rng)
        state = ProfileState.ACTIVATED if rng.random() < 0.97 else ProfileState.CLOSED
        patient = PatientFacts(age, state, emergency_masked=rng.random() < 0.2)
        roll = rng.random()
        document = DocumentFacts(
            type_code=types[rng.randrange(len(types))],
            author_id=PRO_ID if rng.random() < 0.1 else "10000000999",
            masked=rng.random() < 0.08,
            invisible_patient=rng.random() < 0.03,
            invisible_representatives=age < 18 and rng.random() < 0.05,
            status="deleted" if roll < 0.03 else "superseded" if roll < 0.08 else "current",
        )
        built.append((RecordFacts(requester, relation, patient, request), document))
    return built


def per_call_us(function: Decide, work: list[Pair], matrix: Matrix) -> float:
    """One batch: the mean time of a call in it, in microseconds."""
    began = time.perf_counter_ns()
    for facts, document in work:
        function(facts, document, matrix)
    return (time.perf_counter_ns() - began) / len(work) / 1_000


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "")
    batches = BATCHES_QUICK if args.quick else BATCHES_FULL
    matrix = DEFAULT_MATRIX
    work = pairs(BATCH, matrix)
    allowed = sum(decide(f, d, matrix).allowed for f, d in work)
    print_header(
        "Access decision: decide() vs a function returning a constant",
        [
            ("calls", f"{batches:,} batches of {BATCH:,}, each side, alternating"),
            ("mix", f"{BATCH:,} pre-built (facts, document) pairs, {allowed / BATCH:.0%} allowed"),
        ],
    )
    for _ in range(10):  # warm-up
        per_call_us(decide, work, matrix)
        per_call_us(constant, work, matrix)
    ours: list[float] = []
    base: list[float] = []
    for _ in range(batches):
        ours.append(per_call_us(decide, work, matrix))
        base.append(per_call_us(constant, work, matrix))
    if args.profile:
        print_profile(lambda: [per_call_us(decide, work, matrix) for _ in range(100)], "1e5 calls")
    ours_us, base_us = median(ours), median(base)
    print(
        f"  ours minus the loop and call: {ours_us - base_us:.2f} µs per decision; "
        f"fastest batch {min(ours):.2f} µs (ours), {min(base):.2f} µs (baseline)"
    )
    results = [
        Result(
            "decide() per call (median)",
            f"{ours_us:.2f} µs",
            f"{base_us:.2f} µs",
            f"{ours_us / base_us:.1f}x",
            f"< {TARGET_US} µs",
            ours_us < TARGET_US,
        )
    ]
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
