"""Growth (issue 18): upload, listing, history, mailbox and FHIR search latency as the database
fills, on PostgreSQL or Citus.

One measured patient (50 documents, 10 conversations of 3 messages received as the SMTP door
files them, a pro authorised on his record) among others whose documents, traces, conversations
and messages are loaded with ``COPY`` in steps: 10⁴ then 10⁶ documents (``--full``: 10⁷ too;
``--quick``: 10³ and 10⁴), as many traces, one message for every 10 documents (3 to a
conversation; the country receives ~7 M messages a month against ~1 G documents in all, so this is
more mail than real). At each size, in alternating rounds: ``upload_document`` (300 KB, into a
second patient's record, so that the reads meet the same 50 documents at every size),
``list_documents`` by the pro, ``read_history`` and ``list_conversations`` (the mailbox, what
``GET /api/v1/patients/{id}/conversations`` calls) by the patient, and an ITI-67 search by the pro
over HTTP (``GET /fhir/DocumentReference`` by INS with a bearer token, to a server on loopback:
door, token, gate, trace, FHIR JSON), median and p99. At the largest size, the plans of the reads'
queries, taken from the SQL the use cases sent. Goal: flat — the cost at the largest size within
1/0.8 of the smallest's (every query single-patient and indexed).
"""

from __future__ import annotations

import email.policy
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import httpx
from _common import (
    Result,
    activated_patient,
    alternate,
    bare_url,
    database_label,
    database_on,
    finish,
    interrupted_by_signals,
    options,
    print_header,
    runtime_in,
    serving,
    temporary_folder,
)
from listing import (
    DOCUMENT_COLUMNS,
    PATIENT_COLUMNS,
    PER_OTHER_PATIENT,
    PG_DOCUMENT_DEFAULTS,
    document_rows,
    patient_rows,
)
from smtp import BODY
from sqlalchemy import Engine, event
from upload import RPPS, add_people, big_pdf

from carnet import clock
from carnet.access.acts import authorise_pro
from carnet.access.space import read_history
from carnet.auth.instance import issue_pro_token, load_or_create_instance_key
from carnet.auth.verify import TokenVerifier
from carnet.blobs.crypto import generate_key
from carnet.context import AuthLevel, RequestContext
from carnet.http.app import create_app
from carnet.identity.ins import make_ins
from carnet.identity.models import Mailbox
from carnet.ids import new_id
from carnet.logs import configure_logging
from carnet.messaging import store
from carnet.messaging.inbound import InboundMail, receive_message
from carnet.messaging.rules import patient_address
from carnet.messaging.service import list_conversations
from carnet.population.models import Patient
from carnet.records.service import NewDocument, list_documents, upload_document
from carnet.runtime import Runtime

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET = 0.8  # the smallest size's median ≥ 0.8 × the largest's (flat)
SAMPLES = 30
WARM_UP = 3
MEASURED_DOCUMENTS = 50
DOCUMENTS_PER_MESSAGE = 10
MESSAGES_PER_CONVERSATION = 3
MEASURED_CONVERSATIONS = 10
SENDER = "louis.bernard@medecin.mssante.fr"
#: The pro's ITI-67 search names the patient by INS, as an MHD consumer does.
INS_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"
OPERATIONS = ("upload", "listing", "history", "mailbox", "FHIR search")
#: The tables whose plans say whether a read grows with the data (the gate's own look-ups are
#: the same for every read and shown in bench/README.md's Citus section).
PLANNED = {
    "listing": ("documents",),
    "history": ("traces",),
    "mailbox": ("conversations", "messages"),
    "FHIR search": ("patient_ins", "documents"),
}
TRACE_COLUMNS = (
    "patient_id, seq, id, at, actor_kind, actor_id, action, outcome, mode, door, request_id, "
    "prev_hash, hash"
)
CONVERSATION_COLUMNS = (
    "patient_id, id, counterpart, counterpart_name, counterpart_kind, pharmacy, key_id, "
    "subject_sealed, started_by, state, created_at, last_message_at, closed_at"
)
MESSAGE_COLUMNS = (
    "patient_id, id, conversation_id, direction, counterpart, rfc_message_id, author_name, "
    "key_id, subject_sealed, body_sealed, raw_sealed, raw_size, raw_sha256, fin, created_at, "
    "read_at"
)
SCAN = re.compile(
    r"(?:Seq Scan|Index Only Scan|Index Scan Backward|Index Scan|Bitmap Heap Scan"
    r"|Bitmap Index Scan)(?: using \S+)? on \S+"
)


def trace_rows(patients: list[str], count: int, first_seq: int) -> Iterator[tuple[Any, ...]]:
    """``count`` traces spread over ``patients``, numbered from ``first_seq`` in each chain (a
    load: their hashes are not a chain's, nothing verifies them here). Each patient's share is
    rounded up, so that a count the patients do not divide never wraps onto a chain twice."""
    at = datetime(2020, 1, 1, tzinfo=UTC)
    per = max(1, -(-count // len(patients)))
    for n in range(count):
        patient = patients[n // per]
        yield (
            patient,
            first_seq + n % per,
            new_id(),
            at + timedelta(seconds=n),
            "pro",
            RPPS,
            "read",
            "allowed",
            "normal",
            "api",
            new_id(),
            "0" * 64,
            "0" * 64,
        )


@dataclass(frozen=True)
class Sealed:
    """A real message's sealed fields, made once: the loaded rows weigh what real ones do (the
    raw message ~1.1 KB, so a row passes PostgreSQL's TOAST threshold as real ones do), though
    nothing ever opens them."""

    subject: bytes
    body: bytes
    raw: bytes
    raw_size: int
    raw_sha256: str


def sealed_sample() -> Sealed:
    import hashlib

    key, row = generate_key(), new_id()
    raw = outgoing_mail(0, 0, f"{'1' * 15}@patients.example").as_bytes(policy=email.policy.SMTP)
    return Sealed(
        store.seal(key, "Compte rendu de consultation", row, row, "subject"),
        store.seal(key, BODY, row, row, "body"),
        store.seal_raw(key, raw, row, row),
        len(raw),
        hashlib.sha256(raw).hexdigest(),
    )


@dataclass
class Talk:
    """A loaded conversation: its row is written once its messages are, which set its times."""

    patient_id: str
    id: str
    counterpart: str
    created: datetime | None = None
    last: datetime | None = None


class Mail:
    """``conversations`` conversations over ``patients`` and their messages,
    ``MESSAGES_PER_CONVERSATION`` each, in time order over a year, each conversation's spread at
    random through it — so a patient's messages lie all over the table, as in life. The first
    message of a conversation comes from the pro; then answers both ways, now and then a
    delivery notice; most are read."""

    def __init__(
        self, patients: list[str], conversations: int, rng: random.Random, sealed: Sealed
    ) -> None:
        self.rng, self.sealed, self.key_id = rng, sealed, new_id()
        self.talks = [
            Talk(patients[rng.randrange(len(patients))], new_id(), f"dr.{n % 5000}@mssante.fr")
            for n in range(conversations)
        ]
        self.order = [c for c in range(conversations) for _ in range(MESSAGES_PER_CONVERSATION)]
        rng.shuffle(self.order)

    def messages(self) -> Iterator[tuple[Any, ...]]:
        began = datetime(2024, 1, 1, tzinfo=UTC)
        step = timedelta(days=365) / max(1, len(self.order))
        for n, c in enumerate(self.order):
            talk, at = self.talks[c], began + step * n
            roll = self.rng.random()
            first = talk.created is None
            direction = "in" if first or roll < 0.5 else "notice" if roll < 0.53 else "out"
            talk.created, talk.last = talk.created or at, at
            message_id = new_id()
            yield (
                talk.patient_id,
                message_id,
                talk.id,
                direction,
                talk.counterpart,
                f"<{message_id}@mssante.fr>",
                "Dr Louis Bernard",
                self.key_id,
                self.sealed.subject,
                self.sealed.body,
                self.sealed.raw,
                self.sealed.raw_size,
                self.sealed.raw_sha256,
                False,
                at,
                at + timedelta(hours=3) if direction == "in" and self.rng.random() < 0.85 else None,
            )

    def conversations(self) -> Iterator[tuple[Any, ...]]:
        """Once ``messages`` is drained: each row carries its last message's time."""
        for talk in self.talks:
            assert talk.created is not None, "the messages are loaded first"
            closed = talk.last if self.rng.random() < 0.2 else None
            yield (
                talk.patient_id,
                talk.id,
                talk.counterpart,
                "Dr Louis Bernard",
                "PER",
                False,
                self.key_id,
                self.sealed.subject,
                "pro",
                "closed" if closed else "open",
                talk.created,
                talk.last,
                closed,
            )


def grow(
    url: str, documents: int, step: int, first_serial: int, measured_ins: str, sealed: Sealed
) -> int:
    """``documents`` more documents, as many traces, a tenth as many messages, by ``COPY``, over
    new patients (with their INS look-ups: the FHIR search finds its patient among them); the
    serial numbers used, so that the next step's INS differ from these."""
    import psycopg

    rng = random.Random(step)
    count = max(1, documents // PER_OTHER_PATIENT)
    pairs = [p for p in patient_rows(count, first_serial) if p[1][1] != measured_ins]
    others = [pid for pid, _ in pairs]
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        cols = f"COPY patients ({PATIENT_COLUMNS}, ins_status, birth_place, state) FROM STDIN"
        with cursor.copy(cols) as copy:
            for _, row in pairs:
                copy.write_row((*row, "VALI", "75056", "activated"))
        with cursor.copy("COPY patient_ins (ins, patient_id) FROM STDIN") as copy:
            for patient_id, row in pairs:
                copy.write_row((row[1], patient_id))
        for column, value in PG_DOCUMENT_DEFAULTS.items():
            cursor.execute(f"ALTER TABLE documents ALTER COLUMN {column} SET DEFAULT {value}")
        with cursor.copy(f"COPY documents ({DOCUMENT_COLUMNS}) FROM STDIN") as copy:
            for row in document_rows(documents, others[0], others, rng):
                copy.write_row(row)
        for column in PG_DOCUMENT_DEFAULTS:
            cursor.execute(f"ALTER TABLE documents ALTER COLUMN {column} DROP DEFAULT")
        with cursor.copy(f"COPY traces ({TRACE_COLUMNS}) FROM STDIN") as copy:
            for row in trace_rows(others, documents, 1):
                copy.write_row(row)
        conversations = max(1, documents // DOCUMENTS_PER_MESSAGE // MESSAGES_PER_CONVERSATION)
        mail = Mail(others, conversations, rng, sealed)
        with cursor.copy(f"COPY messages ({MESSAGE_COLUMNS}) FROM STDIN") as copy:
            for row in mail.messages():
                copy.write_row(row)
        with cursor.copy(f"COPY conversations ({CONVERSATION_COLUMNS}) FROM STDIN") as copy:
            for row in mail.conversations():
                copy.write_row(row)
        connection.commit()
    return count


LOADED = ("patients", "patient_ins", "documents", "traces", "conversations", "messages")


def settle(url: str) -> None:
    """What a bulk load leaves behind done before measuring: the tables vacuumed and analysed
    (else autovacuum starts on them during the timings), the checkpoint written (else its
    writes and fsyncs fall on the uploads'). A country's database is measured in its steady
    state, not in the minute after a gigabyte arrived."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        for table in LOADED:
            connection.execute(f"VACUUM (ANALYZE) {table}")
        try:
            connection.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            print("  (no CHECKPOINT: the server's user may not; the next one may fall on timings)")


def database_size(url: str) -> str:
    """The size on disk, for whoever runs ``--full`` on a disk of his own."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        row = connection.execute(
            "SELECT pg_size_pretty(pg_database_size(current_database()))"
        ).fetchone()
    return str(row[0]) if row else "?"


def outgoing_mail(conversation: int, number: int, to: str) -> EmailMessage:
    """A pro's message as his MSSanté software sends it; after the first, each answers the
    conversation's first (``In-Reply-To``), so the door threads them."""
    mail = EmailMessage()
    mail["From"] = f"Dr Louis Bernard <{SENDER}>"
    mail["To"] = to
    mail["Subject"] = f"Compte rendu de consultation {conversation}"
    mail["Message-ID"] = f"<scale-{conversation}-{number}@medecin.mssante.fr>"
    if number:
        mail["In-Reply-To"] = f"<scale-{conversation}-0@medecin.mssante.fr>"
    mail.set_content(BODY)
    return mail


def fill_mailbox(rt: Runtime, ins: str) -> None:
    """The measured patient's mailbox, filed by ``receive_message`` as the SMTP door files it
    (sealed with his key, threaded): the listing opens real conversations."""
    with rt.transaction() as session:
        session.add(
            Mailbox(
                address=SENDER,
                kind="PER",
                display_name="Dr Louis Bernard",
                owner_rpps=RPPS,
                establishment_id=None,
                hosted_here=False,
                updated_at=clock.now(),
            )
        )
    address = patient_address(ins, rt.settings.patient_mail_domain)
    for conversation in range(MEASURED_CONVERSATIONS):
        for number in range(MESSAGES_PER_CONVERSATION):
            raw = outgoing_mail(conversation, number, address).as_bytes(policy=email.policy.SMTP)
            receive_message(rt, InboundMail(SENDER, [address], raw))


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement ``engine`` sends meanwhile, with its parameters: the plans printed are
    those of the SQL the use cases really run, not of a hand-written likeness."""
    seen: list[tuple[str, Any]] = []

    def keep(*args: Any) -> None:
        seen.append((args[2], args[3]))  # (conn, cursor, statement, parameters, …)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def plans(url: str, seen: list[tuple[str, Any]], tables: tuple[str, ...]) -> list[str]:
    """One line per ``SELECT`` of ``seen`` reading one of ``tables`` first: the scans of its
    plan (``EXPLAIN``, the same parameters) and the statement's condition, shortened."""
    import psycopg

    lines = []
    with psycopg.connect(url, autocommit=True) as connection:
        for statement, parameters in seen:
            found = re.search(r"\bFROM (\w+)", statement)
            if not statement.lstrip().upper().startswith("SELECT") or not found:
                continue
            if found.group(1) not in tables:
                continue
            plan = [row[0] for row in connection.execute("EXPLAIN " + statement, parameters)]
            scans = [m.group(0) for line in plan for m in [SCAN.search(line)] if m]
            where = " ".join(statement.split()).partition(" WHERE ")[2]
            lines.append(f"{found.group(1)}: {'; '.join(scans)}  -- WHERE {where[:120]}")
    return lines


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def expect(what: str, got: object, wanted: object) -> None:
    """Stops the bench when a read does not return what it should: a fast read of nothing
    would time nothing."""
    if got != wanted:
        raise SystemExit(f"{what}: {got!r}, expected {wanted!r}")


def main() -> int:
    def more(parser: Any) -> None:
        parser.add_argument("--full", action="store_true", help="up to 10⁷ documents")

    args = options(__doc__.splitlines()[0] if __doc__ else "", more)
    configure_logging("WARNING")  # the server's line per request would drown the results
    sizes = [1_000, 10_000] if args.quick else [10_000, 1_000_000]
    if args.full:
        sizes.append(10_000_000)
    server = args.database or DEFAULT_SERVER
    measured_at: dict[int, dict[str, tuple[float, float]]] = {}
    with (
        interrupted_by_signals(),
        temporary_folder(args.dir) as folder,
        database_on(server, args.citus_workers) as url,
    ):
        assert url is not None
        bare = bare_url(url)
        rt = runtime_in(folder, database_url=url)
        patient_id = add_people(rt)
        uploaded = activated_patient(make_ins("2850175056002"), email="ana@example.org")
        with rt.transaction() as session:
            session.add(uploaded)
            ins = session.get_one(Patient, patient_id).ins
        for pid in (patient_id, uploaded.id):
            with rt.transaction() as session:
                authorise_pro(session, RequestContext.for_patient(pid), pid, RPPS)
        pro = RequestContext.for_pro(RPPS, "10", "SM26")
        me = RequestContext.for_patient(patient_id)
        small = NewDocument("11488-4", "Compte rendu", "application/pdf", big_pdf(300 * 1024))
        for _ in range(MEASURED_DOCUMENTS):
            upload_document(rt, pro, small, patient_id=patient_id)
        fill_mailbox(rt, ins)
        sealed = sealed_sample()
        key = load_or_create_instance_key(folder / "keys" / "instance.jwk")
        token = issue_pro_token(
            key,
            rpps=RPPS,
            profession="10",
            specialty="SM26",
            level=AuthLevel.CPS,
            ttl_seconds=86400,
        )
        print_header(
            "Growth (issue 18): upload, listing, history, mailbox, FHIR search as the database fills",
            [
                ("sizes", ", ".join(f"{s:,}" for s in sizes) + " documents, as many traces"),
                (
                    "messages",
                    f"1 per {DOCUMENTS_PER_MESSAGE} documents, "
                    f"{MESSAGES_PER_CONVERSATION} to a conversation",
                ),
                ("server", database_label(url)),
                ("Citus workers", "all" if args.citus_workers is None else str(args.citus_workers)),
            ],
        )
        with (
            serving(create_app(rt, TokenVerifier(key))) as base_url,
            httpx.Client(base_url=base_url, timeout=60) as client,
        ):

            def search() -> httpx.Response:
                answer = client.get(
                    "/fhir/DocumentReference",
                    headers={"Authorization": f"Bearer {token}"},
                    params={
                        "patient.identifier": f"{INS_SYSTEM}|{ins}",
                        "status": "current",
                        "_count": "500",
                    },
                )
                expect("ITI-67 search", answer.status_code, 200)
                return answer

            sides: dict[str, Callable[[], object]] = {
                "upload": lambda: upload_document(rt, pro, small, patient_id=uploaded.id),
                "listing": lambda: list_documents(rt, pro, patient_id),
                "history": lambda: read_history(rt, me, patient_id),
                "mailbox": lambda: list_conversations(rt, me, patient_id),
                "FHIR search": search,
            }
            loaded = serial = 0
            for step, size in enumerate(sizes):
                began = time.perf_counter()
                serial += grow(bare, size - loaded, step, 1000 + serial, ins, sealed)
                loaded, copied = size, time.perf_counter() - began
                settle(bare)
                print(
                    f"  {size:,} documents, traces loaded ({copied:.0f} s; vacuumed, analysed, "
                    f"checkpointed in {time.perf_counter() - began - copied:.0f} s; "
                    f"database {database_size(bare)})"
                )
                expect("listing", len(list_documents(rt, pro, patient_id)[1]), MEASURED_DOCUMENTS)
                expect("search", search().json()["total"], MEASURED_DOCUMENTS)
                mailbox = list_conversations(rt, me, patient_id).conversations
                expect("mailbox", len(mailbox), MEASURED_CONVERSATIONS)
                taken = alternate(list(sides.values()), SAMPLES, rounds=SAMPLES, warm_up=WARM_UP)
                measured_at[size] = {
                    name: percentiles(seconds) for name, seconds in zip(sides, taken, strict=True)
                }
                for name, (mid, p99) in measured_at[size].items():
                    print(f"    {name}: median {mid * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms")
            print(f"\n  plans at {sizes[-1]:,} documents:")
            for name, tables in PLANNED.items():
                with statements(rt.uow.engine) as seen:
                    sides[name]()
                for line in plans(bare, seen, tables):
                    print(f"    {name}: {line}")
        rt.uow.engine.dispose()
    first, last = sizes[0], sizes[-1]
    results = []
    for name in OPERATIONS:
        ratio = measured_at[first][name][0] / measured_at[last][name][0]
        results.append(
            Result(
                f"{name}: median at {last:,} vs {first:,}",
                f"{measured_at[last][name][0] * 1e3:.1f} ms",
                f"{measured_at[first][name][0] * 1e3:.1f} ms",
                f"{ratio:.2f}x",
                f">= {TARGET}x",
                ratio >= TARGET,
            )
        )
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
