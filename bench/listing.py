"""Listing (ACC-1, DOC-4, TR-1): one patient's 500 documents among many, as an authorised pro.

Ours: ``list_documents`` (enter the record, load the facts, fetch the patient's documents as
plain rows within the decision's outline and the caller's filter, decide each one, write one
trace, commit). Baseline: the unfiltered indexed select
``SELECT * FROM documents WHERE patient_id = ? AND status != 'deleted'`` on the same database
file, through a bare ``sqlite3`` connection. The documents table is filled with synthetic rows by
``executemany`` (listing reads no content, so there are no blobs), spread over many patients and
interleaved in time, so the measured patient's rows lie all over the table as in real life.

With ``--database URL`` (PostgreSQL or a Citus coordinator, issue 18) the same rows are loaded
with ``COPY`` into a fresh database on that server, and the baseline is the same select by a bare
psycopg connection to it.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from _common import (
    Result,
    alternate,
    bare_url,
    connect_pg,
    connect_raw,
    database_file,
    database_label,
    database_on,
    finish,
    median,
    options,
    print_header,
    print_profile,
    runtime_in,
    sql_date,
    sql_datetime,
    temporary_folder,
)

from carnet import clock
from carnet.access.acts import authorise_pro
from carnet.context import RequestContext
from carnet.identity.ins import make_ins
from carnet.identity.models import Pro
from carnet.ids import new_id
from carnet.records.catalog import TYPES
from carnet.records.service import list_documents

DOCUMENTS_FULL = 1_000_000
DOCUMENTS_QUICK = 50_000
MEASURED_DOCUMENTS = 500
PER_OTHER_PATIENT = 200
LISTINGS_FULL = 60
LISTINGS_QUICK = 20
WARM_UP = 3
TARGET = 2.0  # ours ≤ 2 × the baseline's time
INSERT_BATCH = 50_000
PRO_RPPS = "10000000601"  # a pharmacist: the habilitation matrix hides part of the record
OTHER_AUTHORS = tuple(f"{10000001000 + n:011d}" for n in range(60))

BASELINE_QUERY = "SELECT * FROM documents WHERE patient_id = ? AND status != 'deleted'"
PATIENT_INSERT = (
    "INSERT INTO patients (id, ins, ins_status, birth_names, first_names, used_name, sex, "
    "birth_date, birth_place, email, phone, state, password_hash, created_at, updated_at, "
    "activated_at, closed_at, opposed_at) "
    "VALUES (?, ?, 'VALI', ?, ?, NULL, ?, ?, '75056', NULL, NULL, 'activated', NULL, ?, ?, ?, "
    "NULL, NULL)"
)
#: The register's look-up by INS (migration 0017): a patient written by hand needs his row there
#: too, or tokens and feeds naming his INS find no one.
PATIENT_INS_INSERT = "INSERT INTO patient_ins (ins, patient_id) VALUES (?, ?)"
DOCUMENT_INSERT = (
    "INSERT INTO documents (patient_id, id, unique_id, set_id, version, replaces_id, type_system, "
    "type_code, class_code, category, title, author_kind, author_id, author_establishment_id, "
    "service_date, created_at, updated_at, mime_type, size, sha256, sha1, blob_key, key_id, "
    "masked, invisible_patient, invisible_representatives, status, archived, meta_version, "
    "deleted_at) VALUES (?, ?, ?, ?, 1, NULL, ?, ?, ?, ?, ?, 'pro', ?, NULL, ?, ?, ?, "
    "'application/pdf', ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, 1, ?)"
)

Row = tuple[str | int | None, ...]


def ins_row(row: Row) -> Row:
    """A patient row's line in ``patient_ins``."""
    return (row[1], row[0])


def patient_rows(count: int, first_serial: int) -> Iterator[tuple[str, Row]]:
    """``count`` activated adults with distinct synthetic INS; (id, row) pairs."""
    stamp = sql_datetime(clock.now())
    for n in range(first_serial, first_serial + count):
        patient_id = new_id()
        sex = "M" if n % 2 else "F"
        nir = f"{1 if sex == 'M' else 2}8501{n // 999 % 99 + 1:02d}{n % 999 + 1:03d}001"
        row = (patient_id, make_ins(nir), "MARTIN", "Claire", sex, "1985-01-01")
        yield patient_id, (*row, stamp, stamp, stamp)


def document_rows(
    total: int, measured_id: str, others: list[str], rng: random.Random
) -> Iterator[Row]:
    """``total`` documents in time order; every ``total // 500``-th one is the measured
    patient's (500 in all), the rest go to random other patients. A realistic mix: 5 % masked,
    2 % invisible to the patient, 5 % superseded, 3 % deleted, 2 % archived, 5 % by the pro."""
    types = list(TYPES.values())
    every = total // MEASURED_DOCUMENTS
    given = 0
    began = datetime(2015, 1, 1, tzinfo=UTC)
    step = timedelta(days=10 * 365) / total
    sha256, sha1, key_id = "ab" * 32, "cd" * 20, new_id()
    for n in range(total):
        if n % every == every - 1 and given < MEASURED_DOCUMENTS:
            patient_id = measured_id
            given += 1
        else:
            patient_id = others[rng.randrange(len(others))]
        document_id = new_id()
        kind = types[rng.randrange(len(types))]
        at = sql_datetime(began + step * n)
        roll = rng.random()
        status = "deleted" if roll < 0.03 else "superseded" if roll < 0.08 else "current"
        author = PRO_RPPS if rng.random() < 0.05 else OTHER_AUTHORS[n % len(OTHER_AUTHORS)]
        yield (
            patient_id,
            document_id,
            f"urn:uuid:{document_id}",
            document_id,
            kind.system,
            kind.code,
            kind.class_code,
            kind.category,
            f"{kind.label} n° {n}",
            author,
            sql_date(date(2015, 1, 1) + timedelta(days=n * 3650 // total)) if n % 4 else None,
            at,
            at,
            120_000 + n % 90_000,
            sha256,
            sha1,
            f"{patient_id}/{document_id}",
            key_id,
            rng.random() < 0.05,
            rng.random() < 0.02,
            status,
            rng.random() < 0.02,
            at if status == "deleted" else None,
        )


def populate(database: Path, measured_id: str, total: int) -> int:
    """Other patients and every document, by raw ``executemany``; the number of patients."""
    rng = random.Random(1_000_000)
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA synchronous=OFF")  # filling, not measuring
    connection.execute("PRAGMA cache_size=-262144")
    count = max(1, (total - MEASURED_DOCUMENTS) // PER_OTHER_PATIENT)
    pairs = list(patient_rows(count, first_serial=1000))
    connection.execute("BEGIN")
    connection.executemany(PATIENT_INSERT, [row for _, row in pairs])
    connection.executemany(PATIENT_INS_INSERT, [ins_row(row) for _, row in pairs])
    connection.execute("COMMIT")
    batch: list[Row] = []
    for row in document_rows(total, measured_id, [pid for pid, _ in pairs], rng):
        batch.append(row)
        if len(batch) == INSERT_BATCH:
            connection.execute("BEGIN")
            connection.executemany(DOCUMENT_INSERT, batch)
            connection.execute("COMMIT")
            batch.clear()
    if batch:
        connection.execute("BEGIN")
        connection.executemany(DOCUMENT_INSERT, batch)
        connection.execute("COMMIT")
    connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    connection.close()
    return count + 1


PATIENT_COLUMNS = (
    "id, ins, birth_names, first_names, sex, birth_date, created_at, updated_at, activated_at"
)
DOCUMENT_COLUMNS = (
    "patient_id, id, unique_id, set_id, type_system, type_code, class_code, category, title, "
    "author_id, service_date, created_at, updated_at, size, sha256, sha1, blob_key, key_id, "
    "masked, invisible_patient, status, archived, deleted_at"
)
PG_DOCUMENT_DEFAULTS = {
    "version": "1",
    "author_kind": "'pro'",
    "mime_type": "'application/pdf'",
    "invisible_representatives": "false",
    "meta_version": "1",
}


def populate_pg(url: str, measured_id: str, total: int) -> int:
    """The same rows as ``populate``, by ``COPY`` into PostgreSQL; the number of patients. The
    columns the rows leave out get their constant by a default set for the load, then dropped."""
    import psycopg

    rng = random.Random(1_000_000)
    count = max(1, (total - MEASURED_DOCUMENTS) // PER_OTHER_PATIENT)
    pairs = list(patient_rows(count, first_serial=1000))
    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(
            f"COPY patients ({PATIENT_COLUMNS}, ins_status, birth_place, state) FROM STDIN"
        ) as copy:
            for _, row in pairs:
                copy.write_row((*row, "VALI", "75056", "activated"))
        with cursor.copy("COPY patient_ins (ins, patient_id) FROM STDIN") as copy:
            for patient_id, row in pairs:
                copy.write_row((row[1], patient_id))
        for column, value in PG_DOCUMENT_DEFAULTS.items():
            cursor.execute(f"ALTER TABLE documents ALTER COLUMN {column} SET DEFAULT {value}")
        with cursor.copy(f"COPY documents ({DOCUMENT_COLUMNS}) FROM STDIN") as copy:
            for row in document_rows(total, measured_id, [pid for pid, _ in pairs], rng):
                copy.write_row(row)
        for column in PG_DOCUMENT_DEFAULTS:
            cursor.execute(f"ALTER TABLE documents ALTER COLUMN {column} DROP DEFAULT")
        connection.commit()
        connection.autocommit = True
        cursor.execute("VACUUM ANALYZE documents")
    return count + 1


def main() -> int:
    args = options(__doc__.splitlines()[0] if __doc__ else "")
    total = DOCUMENTS_QUICK if args.quick else DOCUMENTS_FULL
    listings = LISTINGS_QUICK if args.quick else LISTINGS_FULL
    with (
        temporary_folder(args.dir) as folder,
        database_on(args.database, args.citus_workers) as url,
    ):
        rt = runtime_in(folder, database_url=url)
        patient_id, patient_row = next(patient_rows(1, first_serial=0))
        with rt.transaction() as session:
            for statement, row in (
                (PATIENT_INSERT, patient_row),
                (PATIENT_INS_INSERT, ins_row(patient_row)),
            ):
                insert = statement if url is None else statement.replace("?", "%s")
                session.connection().exec_driver_sql(insert, row)
            session.add(
                Pro(
                    rpps=PRO_RPPS,
                    last_name="Petit",
                    first_name="Anne",
                    civility="Mme",
                    profession="21",
                    specialty=None,
                    samu_regulator=False,
                    updated_at=clock.now(),
                )
            )
        with rt.transaction() as session:
            authorise_pro(session, RequestContext.for_patient(patient_id), patient_id, PRO_RPPS)
        began = time.perf_counter()
        if url is None:
            patients = populate(database_file(folder), patient_id, total)
            raw: Any = connect_raw(database_file(folder))
            query = BASELINE_QUERY
        else:
            patients = populate_pg(bare_url(url), patient_id, total)
            raw = connect_pg(url, autocommit=True)
            query = BASELINE_QUERY.replace("?", "%s")
        filled = time.perf_counter() - began
        ctx = RequestContext.for_pro(PRO_RPPS, "21")

        def ours() -> int:
            return len(list_documents(rt, ctx, patient_id)[1])

        def baseline() -> int:
            return len(raw.execute(query, (patient_id,)).fetchall())

        print_header(
            "Listing (ACC-1): list_documents by an authorised pro vs the bare indexed select",
            [
                ("documents", f"{total:,} over {patients:,} patients ({filled:.1f} s to fill)"),
                ("measured patient", f"{MEASURED_DOCUMENTS} documents"),
                ("listings", f"{listings} each side, alternating"),
                ("database", database_label(url)),
            ],
        )
        ours_s, base_s = alternate([ours, baseline], listings, rounds=listings, warm_up=WARM_UP)
        print(f"  rows: ours lists {ours()} documents, the baseline returns {baseline()} rows")
        if args.profile:
            print_profile(lambda: [ours() for _ in range(20)], "20 listings")
        raw.close()
        rt.uow.engine.dispose()
    ours_median, base_median = median(ours_s), median(base_s)
    ratio = ours_median / base_median
    results = [
        Result(
            "list 500 docs (median)",
            f"{ours_median * 1e3:.2f} ms",
            f"{base_median * 1e3:.2f} ms",
            f"{ratio:.2f}x",
            f"<= {TARGET}x time",
            ratio <= TARGET,
        )
    ]
    return finish(results, strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
