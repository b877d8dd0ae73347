"""Issue 18: on Citus (``make test-citus``), the schema is distributed by patient and every hot
query of a request inside a record reads or writes one shard (``EXPLAIN``: one task).

Skipped on SQLite and plain PostgreSQL, where there is nothing to distribute."""

from __future__ import annotations

import re

import citus_support
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.dialects import postgresql

from carnet.access.loading import standing_query
from carnet.db.citus import distribute_table, reference_table

#: The statements a request runs on its hot paths, with the key each is routed by.
HOT = {
    "upload: the decision's facts, by patient id": (
        "SELECT p.id, p.state, a.emergency_samu, c.authorised, pr.samu_regulator "
        "FROM patients p LEFT JOIN access_settings a ON a.patient_id = p.id "
        "LEFT JOIN care_relations c ON c.patient_id = p.id AND c.rpps = '1' "
        "LEFT JOIN pros pr ON pr.rpps = '1' WHERE p.id = 'p1'"
    ),
    "every opening: the facts, the chain's head locked, an upload's key and structure": str(
        standing_query(True, True)
        .params(key="p1", rpps="1")
        .compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})  # type: ignore[no-untyped-call]
    ),
    "an append to a chain the opening did not lock: its head, locked": (
        "SELECT patient_id, seq, hash FROM trace_heads WHERE patient_id IN ('p1') FOR UPDATE"
    ),
    "upload: the document's row": (
        "INSERT INTO documents (patient_id, id, unique_id, set_id, version, type_system, "
        "type_code, class_code, category, title, author_kind, author_id, created_at, updated_at, "
        "mime_type, size, sha256, sha1, blob_key, key_id, masked, invisible_patient, "
        "invisible_representatives, status, archived, meta_version) VALUES ('p1', 'd', 'u', 's', "
        "1, 'x', 'x', 'x', 'x', 't', 'pro', 'a', now(), now(), 'm', 1, 'h', 'h', 'b', 'k', "
        "false, false, false, 'current', false, 1)"
    ),
    "upload: the trace": (
        "INSERT INTO traces (patient_id, seq, id, at, actor_kind, actor_id, action, outcome, "
        "mode, door, request_id, prev_hash, hash) VALUES ('p1', 1, 'x', now(), 'pro', '1', "
        "'read', 'allowed', 'normal', 'api', 'r', 'h', 'h')"
    ),
    "every traced request: the trace appended and its chain's head moved (two tasks)": (
        "WITH moved_head AS (UPDATE trace_heads SET seq = 2, hash = 'h' WHERE patient_id = 'p1') "
        "INSERT INTO traces (patient_id, seq, id, at, actor_kind, actor_id, action, outcome, "
        "mode, door, request_id, prev_hash, hash) VALUES ('p1', 2, 'x', now(), 'pro', '1', "
        "'read', 'allowed', 'normal', 'api', 'r', 'h', 'h')"
    ),
    "listing: the record's documents": (
        "SELECT * FROM documents WHERE patient_id = 'p1' AND status = 'current' "
        "ORDER BY created_at DESC"
    ),
    "history: the last 100 traces": (
        "SELECT * FROM traces WHERE patient_id = 'p1' ORDER BY seq DESC LIMIT 100"
    ),
    "FHIR search, SMTP RCPT TO, patient token: the id of an INS": (
        "SELECT patient_id FROM patient_ins WHERE ins = '285017512345678'"
    ),
    "activation: whose code": ("SELECT patient_id FROM pending_codes WHERE code_hash = '\\x00'"),
    "web: the session a cookie names": "SELECT * FROM web_sessions WHERE id = 's1'",
    "messaging: a conversation's messages": (
        "SELECT * FROM messages WHERE patient_id = 'p1' AND conversation_id = 'c'"
    ),
}


@pytest.fixture
def citus(engine: Engine) -> Engine:
    with engine.connect() as connection:
        if engine.dialect.name != "postgresql" or not citus_support.is_citus(connection):
            pytest.skip("Citus only (make test-citus)")
    return engine


def test_issue18_patient_tables_are_distributed_by_patient_and_colocated(citus: Engine) -> None:
    with citus.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT table_name::text, citus_table_type, distribution_column, colocation_id "
                "FROM citus_tables"
            )
        ).all()
    tables = {name: (kind, column, group) for name, kind, column, group in rows}
    group = tables["patients"][2]
    for name in ("documents", "traces", "trace_heads", "messages", "conversations", "log_queue"):
        assert tables[name] == ("distributed", "patient_id", group), name
    for name in ("pros", "establishments", "mailboxes", "log_leaves", "tree_heads"):
        assert tables[name][0] == "reference", name
    assert tables["patient_ins"][:2] == ("distributed", "ins")
    assert tables["web_sessions"][:2] == ("distributed", "id")


@pytest.mark.parametrize("name", sorted(HOT))
def test_issue18_a_hot_query_routes_to_one_shard(citus: Engine, name: str) -> None:
    with citus.connect() as connection:
        plan = "\n".join(connection.exec_driver_sql(f"EXPLAIN (COSTS OFF) {HOT[name]}").scalars())
    counts = re.findall(r"Task Count: (\d+)", plan)
    assert counts, plan
    assert set(counts) == {"1"}, plan  # every step (a CTE's subplan too) on one shard


def _later_tables(engine: Engine) -> dict[str, str]:
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE later_notes (patient_id VARCHAR(32) NOT NULL, id VARCHAR(32) NOT NULL, "
            "PRIMARY KEY (patient_id, id))"
        )
        connection.exec_driver_sql("CREATE TABLE later_codes (code VARCHAR(10) PRIMARY KEY)")
        distribute_table(connection, "later_notes")
        reference_table(connection, "later_codes")
    try:
        with engine.connect() as connection:
            if engine.dialect.name != "postgresql" or not citus_support.is_citus(connection):
                return {}
            rows = connection.execute(
                text(
                    "SELECT table_name::text, citus_table_type FROM citus_tables "
                    "WHERE table_name::text LIKE 'later_%'"
                )
            ).all()
            return {name: kind for name, kind in rows}
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE later_notes")
            connection.exec_driver_sql("DROP TABLE later_codes")


def test_issue18_a_later_migration_lays_out_its_tables_with_the_helpers(citus: Engine) -> None:
    assert _later_tables(citus) == {"later_notes": "distributed", "later_codes": "reference"}


def test_issue18_the_layout_helpers_do_nothing_without_citus(engine: Engine) -> None:
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql" and citus_support.is_citus(connection):
            pytest.skip("without Citus only")
    assert _later_tables(engine) == {}
