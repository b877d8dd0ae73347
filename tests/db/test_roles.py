"""TR-3 on PostgreSQL: the application's role cannot rewrite the evidence nor silence the
triggers that guard it, yet runs the whole service; ``carnet serve`` refuses to run as the
owner or a superuser unless told to."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from factories import add_patient, add_pro, patient_ctx, pro_ctx, upload
from sqlalchemy import Engine
from sqlalchemy.exc import DatabaseError
from support import CITUS, PG_URL

from carnet.audit.publish import advance_log
from carnet.audit.signer import load_or_create_signer
from carnet.audit.verify import verify_log
from carnet.db.engine import make_engine
from carnet.db.roles import add_app_login, privileged_login, role_names
from carnet.db.uow import UnitOfWork
from carnet.ids import new_id
from carnet.lifecycle import service as lifecycle
from carnet.lifecycle.destruction import destroy_archives
from carnet.records import service as records
from carnet.runtime import Runtime
from carnet.serve import PrivilegedLogin, refuse_privileged_login

pytestmark = pytest.mark.skipif(not PG_URL, reason="PostgreSQL roles")


def _login_engine(rt: Runtime, login: str) -> Engine:
    url = rt.uow.engine.url.set(username=login, password="secret")
    return make_engine(url.render_as_string(hide_password=False))


@pytest.fixture
def app_engine(rt: Runtime) -> Iterator[Engine]:
    """A login of the application's role, as an operator makes it (``carnet db roles``)."""
    login = f"carnet_app_{new_id()[:8]}"
    with rt.uow.engine.begin() as connection:
        add_app_login(connection, login, "secret")
    engine = _login_engine(rt, login)
    yield engine
    engine.dispose()
    with rt.uow.engine.begin() as connection:
        connection.exec_driver_sql(f'DROP ROLE "{login}"')


#: How the database refuses. On Citus the application may DELETE from traces (migration 0017:
#: the sanctioned deletion runs as the invoker there): the trigger on each shard refuses instead.
REFUSED = r"permission denied|must be owner" + (r"|append-only \(TR-3\)" if CITUS else "")


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE traces SET outcome = 'denied'",
        "DELETE FROM traces",
        "TRUNCATE traces",
        "UPDATE tree_heads SET timestamp = 0",
        "DELETE FROM tree_heads",
        "DELETE FROM log_leaves",
        "UPDATE log_nodes SET level = 0",
        "DELETE FROM trace_heads",
        "DELETE FROM log_salts",
        "DELETE FROM chain_cuts",
        "UPDATE chain_cuts SET upto_seq = 0",
        "ALTER TABLE traces DISABLE TRIGGER ALL",
        "DROP TRIGGER traces_append_only ON traces",
        "SET session_replication_role = replica",
        "ALTER TABLE traces OWNER TO CURRENT_USER",
    ],
)
def test_tr_3_app_role_cannot_rewrite_or_silence(
    rt: Runtime, app_engine: Engine, statement: str
) -> None:
    # Evidence in place: on Citus a DELETE that matches no row would have nothing to refuse.
    upload(rt, pro_ctx(add_pro(rt)), add_patient(rt))
    with (
        pytest.raises(DatabaseError, match=REFUSED),
        app_engine.begin() as connection,
    ):
        connection.exec_driver_sql(statement)


def test_tr_3_app_role_runs_the_service(rt: Runtime, app_engine: Engine, tmp_path: Path) -> None:
    app = Runtime(rt.settings, UnitOfWork(app_engine), rt.blobs, rt.master_key)
    patient, pro = add_patient(app), add_pro(app)
    doc = upload(app, pro_ctx(pro), patient)
    records.read_content(app, pro_ctx(pro), patient.id, doc.id)
    signer = load_or_create_signer(tmp_path / "log.key")
    head = advance_log(app.uow, signer, tmp_path / "heads.jsonl")
    assert head is not None
    assert head.tree_size == 2
    with app.transaction() as session:
        assert verify_log(session, public_key=signer.public_key, against=head).breach is None
    assert privileged_login(app_engine) is None
    refuse_privileged_login(app)


def test_tr_3_serve_refuses_the_owner_and_a_superuser(rt: Runtime) -> None:
    assert privileged_login(rt.uow.engine) == "superuser"
    with pytest.raises(PrivilegedLogin, match="superuser"):
        refuse_privileged_login(rt)
    allowed = rt.settings.model_copy(update={"allow_owner": True})
    refuse_privileged_login(Runtime(allowed, rt.uow, rt.blobs, rt.master_key))
    login = f"carnet_owner_{new_id()[:8]}"
    with rt.uow.engine.begin() as connection:
        owner, _ = role_names(connection)
        connection.exec_driver_sql(f'CREATE ROLE "{login}" LOGIN IN ROLE "{owner}"')
    engine = _login_engine(rt, login)
    try:
        assert privileged_login(engine) == "owner"
        with pytest.raises(PrivilegedLogin, match="owner"):
            refuse_privileged_login(
                Runtime(rt.settings, UnitOfWork(engine), rt.blobs, rt.master_key)
            )
    finally:
        engine.dispose()
        with rt.uow.engine.begin() as connection:
            connection.exec_driver_sql(f'DROP ROLE "{login}"')


def test_lc_5_tr_3_the_app_role_destroys_archives_by_the_owner_s_function_only(
    rt: Runtime, app_engine: Engine, tmp_path: Path
) -> None:
    """LC-5: the application's role has no DELETE on traces, yet destroys a closed space's
    archives — through ``carnet_destroy_chain``, the one sanctioned path — and the log still
    verifies; the same role cannot call it to delete an open profile's chain."""
    app = Runtime(rt.settings, UnitOfWork(app_engine), rt.blobs, rt.master_key)
    patient, other, pro = add_patient(app), add_patient(app), add_pro(app)
    for who in (patient, other):
        upload(app, pro_ctx(pro), who)
    signer = load_or_create_signer(rt.settings.resolved_log_key_file)
    before = advance_log(app.uow, signer, tmp_path / "heads.jsonl")
    lifecycle.close_profile(
        app, patient_ctx(patient), patient.id, confirm=True, delete_archives=True
    )
    assert destroy_archives(app, patient.id) is not None
    with app.transaction() as session:
        assert verify_log(session, public_key=signer.public_key, against=before).breach is None
    with app_engine.begin() as connection:  # an open profile: nothing is cut, nothing goes
        deleted = connection.exec_driver_sql(
            "SELECT carnet_destroy_chain(%(p)s)", {"p": other.id}
        ).scalar_one()
    assert deleted == 0
    with pytest.raises(DatabaseError, match=REFUSED), app_engine.begin() as c:
        c.exec_driver_sql("DELETE FROM traces WHERE patient_id = %(p)s", {"p": other.id})
