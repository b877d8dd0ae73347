"""LC-1, LC-2: the operator's feed creates, updates or marks opposed, idempotently; bad rows are
reported with their line and reason and change nothing."""

from __future__ import annotations

import gc
import io
import sys
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from carnet.context import RequestContext
from carnet.identity.ins import make_ins
from carnet.lifecycle.feed import import_population
from carnet.population.feed import read_feed
from carnet.population.models import Patient, PatientIns, Representative
from carnet.population.service import (
    FreshMaker,
    ImportReport,
    Letter,
    hash_code,
    import_batch,
    parse_batch,
)
from carnet.runtime import Runtime

ADULT = make_ins("2850475056012")
PARENT = make_ins("1820969123034")
CHILD = make_ins("2110669123036")
BABY = make_ins("1261069123037")
OPPOSED = make_ins("1750575056042")

HEADER = (
    "ins,birth_names,first_names,sex,birth_date,birth_place,email,legal_representatives,opposed\n"
)
FEED = HEADER + (
    f"{ADULT},MARTIN,Claire Anne,F,1985-04-12,75056,claire@example.org,,0\n"
    f"{PARENT},DUBOIS,Paul,M,1982-09-03,69123,paul@example.org,,0\n"
    f"{CHILD},DUBOIS,Léa,F,2011-06-01,69123,,{PARENT},0\n"
    f"{BABY},DUBOIS,Hugo,M,2026-10-02,69123,,{PARENT},0\n"
    f"{OPPOSED},PETIT,Oscar,M,1975-05-05,75056,,,1\n"
)


def _import(rt: Runtime, text: str, letters: list[Letter] | None = None):  # type: ignore[no-untyped-def]
    sink = letters if letters is not None else []
    return import_population(
        rt, RequestContext.operator(), read_feed(io.StringIO(text)), on_letter=sink.append
    )


def _states(rt: Runtime) -> dict[str, str]:
    with rt.transaction() as session:
        return {p.ins: p.state for p in session.scalars(select(Patient))}


def test_lc_1_feed_creates_profiles_newborns_included_except_opposed(rt: Runtime) -> None:
    letters: list[Letter] = []
    report = _import(rt, FEED, letters)
    assert (report.created, report.opposed, report.errors) == (5, 1, [])
    assert _states(rt) == {
        ADULT: "created",
        PARENT: "created",
        CHILD: "created",
        BABY: "created",
        OPPOSED: "opposed",
    }
    assert sorted(letter.ins for letter in letters) == sorted([ADULT, PARENT, CHILD, BABY])
    with rt.transaction() as session:
        links = {(r.representative_ins, r.kind) for r in session.scalars(select(Representative))}
    assert links == {(PARENT, "legal_representative")}


def test_lc_4_activation_codes_are_random_single_and_stored_hashed(rt: Runtime) -> None:
    letters: list[Letter] = []
    _import(rt, FEED, letters)
    codes = [letter.code for letter in letters]
    assert len(set(codes)) == len(codes)
    assert all(len(code) >= 22 for code in codes)  # 16 random bytes = 128 bits, base64url
    with rt.transaction() as session:
        stored = {
            p.ins: p.activation_code_hash
            for p in session.scalars(select(Patient))
            if p.activation_code_hash is not None
        }
    assert set(stored) == {letter.ins for letter in letters}  # the opposed profile has none
    assert {letter.ins: hash_code(letter.code) for letter in letters} == stored
    assert not {code.encode() for code in codes} & set(stored.values())


def test_lc_1_import_is_idempotent(rt: Runtime) -> None:
    _import(rt, FEED)
    letters: list[Letter] = []
    again = _import(rt, FEED, letters)
    assert (again.created, again.updated, again.unchanged, again.errors) == (0, 0, 5, [])
    assert letters == []
    with rt.transaction() as session:
        assert session.execute(select(func.count()).select_from(Patient)).scalar_one() == 5
        assert session.execute(select(func.count()).select_from(Representative)).scalar_one() == 2


def test_lc_1_update_email_and_opposition(rt: Runtime) -> None:
    _import(rt, FEED)
    changed = FEED.replace("claire@example.org,,0", "claire.new@example.org,,1").replace(
        "PETIT,Oscar,M,1975-05-05,75056,,,1", "PETIT,Oscar,M,1975-05-05,75056,,,0"
    )
    letters: list[Letter] = []
    report = _import(rt, changed, letters)
    assert (report.updated, report.opposed, report.unchanged) == (2, 1, 3)
    assert _states(rt)[ADULT] == "opposed"
    assert _states(rt)[OPPOSED] == "created"
    assert [letter.ins for letter in letters] == [OPPOSED]


def test_lc_1_same_ins_other_traits_is_reported_never_overwritten(rt: Runtime) -> None:
    _import(rt, FEED)
    report = _import(rt, HEADER + f"{ADULT},DURAND,Claire,F,1985-04-12,75056,,,0\n")
    assert [(e.line, e.ins) for e in report.errors] == [(2, ADULT)]
    assert "autres traits" in report.errors[0].fr
    with rt.transaction() as session:
        claire = session.execute(select(Patient).where(Patient.ins == ADULT)).scalar_one()
    assert claire.birth_names == "MARTIN"


def test_lc_1_bad_rows_are_reported_with_line_and_reason(rt: Runtime) -> None:
    wrong_key = ADULT[:13] + f"{(int(ADULT[13:]) + 1) % 100:02d}"
    text = HEADER + (
        f"{wrong_key},MARTIN,Claire,F,1985-04-12,75056,,,0\n"
        f"{PARENT},,Paul,M,1982-09-03,69123,,,0\n"
        f"{CHILD},DUBOIS,Léa,X,2011-06-01,69123,,,0\n"
        f"{BABY},DUBOIS,Hugo,M,2026-13-02,69123,,,0\n"
        f"{OPPOSED},PETIT,Oscar,M,1975-05-05,75056,,,1\n"
    )
    report = _import(rt, text)
    assert [(e.line, e.en.split(":")[0]) for e in report.errors] == [
        (2, "The INS key is wrong."),
        (3, "Missing trait"),
        (4, "Unknown sex (M, F or I)."),
        (5, "Unreadable birth date (YYYY-MM-DD)."),
    ]
    assert report.created == 1
    assert _states(rt) == {OPPOSED: "opposed"}


def test_lc_1_semicolon_separated_feed(rt: Runtime) -> None:
    report = _import(rt, FEED.replace(",", ";"))
    assert report.created == 5


def test_lc_1_issue_18_the_collector_is_as_it_was_after_an_import_even_a_failed_one(
    rt: Runtime,
) -> None:
    """The import eases the garbage collector and the switch interval while it runs
    (``lifecycle.feed``, ``carnet.interpreter``); after it, the process's are back as they were,
    whether the import ended or failed."""
    before, switch_interval = gc.get_threshold(), sys.getswitchinterval()
    _import(rt, FEED)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert sys.getswitchinterval() == switch_interval

    def failing(_letter: Letter) -> None:
        assert gc.get_threshold() != before  # eased while the import runs
        assert sys.getswitchinterval() < switch_interval
        raise OSError("the letters' disk is full")

    with pytest.raises(OSError, match="disk is full"):
        import_population(
            rt,
            RequestContext.operator(),
            read_feed(
                io.StringIO(
                    FEED.replace("1985-04-12", "1985-04-13").replace(
                        ADULT, make_ins("2850475056099")
                    )
                )
            ),
            on_letter=failing,
        )
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert sys.getswitchinterval() == switch_interval


def test_lc_1_issue_18_a_feed_that_cannot_be_read_stops_the_import_where_it_broke(
    rt: Runtime,
) -> None:
    """The file is read a batch ahead, by a thread of its own (``carnet.ahead``): a file that
    breaks half way is still the operator's error, raised by the import, after the batches
    before it were stored."""
    from carnet.population.service import BATCH

    people = [make_ins(f"1850175{n:06d}") for n in range(BATCH + 5)]
    lines = [HEADER] + [f"{ins},MARTIN,Paul,M,1985-01-01,75056,,,0\n" for ins in people]

    def breaking() -> Iterator[str]:
        yield from lines
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    with pytest.raises(UnicodeDecodeError):
        import_population(rt, RequestContext.operator(), read_feed(breaking()))
    with rt.transaction() as session:
        stored = session.scalar(select(func.count()).select_from(Patient))
    assert stored == BATCH  # the first batch, whole; the broken one not at all


def test_lc_4_issue_18_letters_go_out_only_for_stored_profiles(rt: Runtime) -> None:
    """A batch's letters are handed over once it is committed: a feed that breaks half way
    leaves letters for the stored batch only, never a code that opens nothing."""
    from carnet.population.service import BATCH

    people = [make_ins(f"1850275{n:06d}") for n in range(BATCH + 5)]
    lines = [HEADER] + [f"{ins},MARTIN,Paul,M,1985-02-01,75056,,,0\n" for ins in people]

    def breaking() -> Iterator[str]:
        yield from lines
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    letters: list[Letter] = []
    with pytest.raises(UnicodeDecodeError):
        import_population(
            rt, RequestContext.operator(), read_feed(breaking()), on_letter=letters.append
        )
    with rt.transaction() as session:
        stored = set(session.scalars(select(Patient.ins)))
    assert len(stored) == BATCH
    assert {letter.ins for letter in letters} == stored


@pytest.mark.parametrize("expect_new", [True, False])
def test_lc_1_issue_18_a_batch_expected_new_that_names_known_profiles_is_looked_up(
    rt: Runtime, expect_new: bool
) -> None:
    """A first import's batches claim their INS as new at once (``expect_new``); a batch that
    names known profiles after all — unchanged, updated, or with other traits — is imported as
    if looked up first: nothing created twice, nothing overwritten, the new ones created."""
    _import(rt, FEED)
    newcomer = make_ins("1850375056017")
    rows = (
        FEED.replace("claire@example.org", "claire.new@example.org")
        .replace("DUBOIS,Paul,M,1982-09-03", "DUBOIS,Pierre,M,1982-09-03")
        .replace(HEADER, "")
        + f"{newcomer},BERNARD,Luc,M,1985-03-01,75056,,,0\n"
    )
    batch = parse_batch(
        [(line, raw) for line, raw in enumerate(read_feed(io.StringIO(HEADER + rows)), start=2)]
    )
    report, letters = ImportReport(), list[Letter]()
    with rt.transaction() as session:
        if expect_new:  # its rows made ahead as new ones, as lifecycle.feed does
            batch = batch._replace(fresh=FreshMaker(session.connection(), 90)(batch))
        moves = import_batch(session, batch, report, 90, letters.append, expect_new=expect_new)
    assert moves == []
    assert (report.created, report.updated, report.unchanged) == (1, 1, 3)
    assert [(e.line, e.ins) for e in report.errors] == [(3, PARENT)]
    assert [letter.ins for letter in letters] == [newcomer]
    with rt.transaction() as session:
        count = session.scalar(select(func.count()).select_from(Patient))
        looked_up = session.scalar(select(func.count()).select_from(PatientIns))
        parent = session.scalars(select(Patient).where(Patient.ins == PARENT)).one()
        adult = session.scalars(select(Patient).where(Patient.ins == ADULT)).one()
    assert count == looked_up == 6
    assert (parent.first_names, adult.email) == ("Paul", "claire.new@example.org")


def test_lc_1_issue_18_a_first_import_claims_its_batches_without_looking_up(
    rt: Runtime,
) -> None:
    """Whether the claim is used at all: a first import's batch writes the INS look-up before
    any search of it (the statement a first import saves)."""
    from sqlalchemy import event

    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(rt.uow.engine, "before_cursor_execute", record)
    try:
        report = _import(rt, FEED)
    finally:
        event.remove(rt.uow.engine, "before_cursor_execute", record)
    assert report.created == 5
    assert not [s for s in seen if s.startswith("select") and "from patient_ins" in s]


def test_lc_1_lc_4_issue_18_a_profile_made_ahead_is_the_profile_made_after_a_look_up(
    rt: Runtime,
) -> None:
    """The two ways a new profile is made — its batch's rows made ahead and its INS claimed (a
    first import), or after a look-up found that the batch names known ones — store the same
    profile: traits, state, representatives, a code on its letter that opens it, its INS
    look-up."""
    first: list[Letter] = []
    _import(rt, FEED, first)  # one batch of new profiles: made ahead
    newcomer = make_ins("1850475056011")
    again: list[Letter] = []
    report = _import(  # names a known profile: looked up
        rt,
        HEADER
        + f"{ADULT},MARTIN,Claire Anne,F,1985-04-12,75056,claire@example.org,,0\n"
        + f"{newcomer},DUBOIS,Léa,F,2011-06-01,69123,,{PARENT},0\n",
        again,
    )
    assert (report.created, report.unchanged, report.errors) == (1, 1, [])
    letters = {letter.ins: letter for letter in first + again}
    with rt.transaction() as session:
        made = {p.ins: p for p in session.scalars(select(Patient))}
        looked_up = dict(session.execute(select(PatientIns.ins, PatientIns.patient_id)).all())
        represented = {
            (r.patient_id, r.representative_ins) for r in session.scalars(select(Representative))
        }

    def stored(ins: str) -> tuple[object, ...]:
        profile = made[ins]
        assert profile.activation_code_hash == hash_code(letters[ins].code)
        assert profile.activation_expires_at is not None
        assert profile.activation_expires_at.date() == letters[ins].expires
        assert looked_up[ins] == profile.id
        return (
            profile.birth_names,
            profile.first_names,
            profile.sex,
            profile.birth_date.isoformat(),
            profile.birth_place,
            profile.state,
            profile.ins_status,
            profile.email,
            profile.opposed_at,
            (profile.id, PARENT) in represented,
        )

    assert stored(CHILD) == stored(newcomer)  # the same traits under another INS


def test_lc_1_issue_18_two_feeds_naming_the_same_people_at_once_create_each_once(
    rt: Runtime,
) -> None:
    """Two imports of one register at the same time (an operator's retry while the first still
    runs), its rows in two orders: both end, every profile made once — the second waits on the
    first's claim of an INS, then finds it known — and one letter per profile in all."""
    people = [make_ins(f"1850675{n:06d}") for n in range(60)]
    lines = [f"{ins},MARTIN,Paul,M,1985-06-01,75056,,,0\n" for ins in people]
    feeds = [HEADER + "".join(lines), HEADER + "".join(reversed(lines))]
    reports: list[ImportReport] = []
    letters: list[Letter] = []
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(feed: str) -> None:
        try:
            start.wait()
            reports.append(_import(rt, feed, letters))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=run, args=(feed,)) for feed in feeds]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sorted((r.created, r.unchanged) for r in reports) == [(0, 60), (60, 0)]
    assert sorted(letter.ins for letter in letters) == sorted(people)
    with rt.transaction() as session:
        assert session.scalar(select(func.count()).select_from(Patient)) == 60
        assert session.scalar(select(func.count()).select_from(PatientIns)) == 60
