"""Shared fixtures: a real database per test (SQLite file, or PostgreSQL when
``CARNET_TEST_DATABASE_URL`` is set), a fixed clock, a runtime, a live HTTP server.

Light at import: the database, the app and the browser load when a test first asks for the
fixture that needs them, so a test of a pure rule pays for none of them.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import citus_support
import pytest
from support import NOW, PG_URL

from carnet.clock import FixedClock, set_clock

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from carnet.runtime import Runtime
    from carnet.settings import Settings

pytest_plugins = ["live_api", "web_support", "oidc_support"]


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[FixedClock]:
    """One clock for every test: time moves only when a test moves it."""
    fixed = FixedClock(NOW)
    previous = set_clock(fixed)
    yield fixed
    set_clock(previous)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once; each test copies the file (faster than migrating again)."""
    from carnet.db.engine import make_engine
    from carnet.db.migrate import upgrade

    path = tmp_path_factory.mktemp("template") / "carnet.db"
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def pg_engine() -> Iterator[Engine | None]:
    """A fresh PostgreSQL database for this run, migrated once, dropped at the end. On a Citus
    coordinator (``make test-citus``) it is made on every node (``carnet.db.citus``), with few
    shards: each test empties every shard."""
    from carnet.db.citus import create_database, drop_database
    from carnet.db.engine import make_engine
    from carnet.db.migrate import upgrade

    if not PG_URL:
        yield None
        return
    name = f"carnet_test_{uuid.uuid4().hex[:8]}"
    create_database(PG_URL, name, shard_count=citus_support.TEST_SHARD_COUNT)
    url = PG_URL.rsplit("/", 1)[0] + "/" + name
    engine = make_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()
    citus_support.dispose_nodes()
    drop_database(PG_URL, name)


def _truncate_all(engine: Engine) -> None:
    from carnet.models import Base

    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.connect() as connection:
        citus = citus_support.is_citus(connection)
    if citus:
        citus_support.truncate_all(engine, [t.name for t in Base.metadata.sorted_tables])
        return
    with engine.begin() as connection:
        # The append-only triggers (TR-3) would refuse; the tests' superuser steps around them.
        connection.exec_driver_sql("SET session_replication_role = replica")
        connection.exec_driver_sql(f"TRUNCATE {tables}")
        connection.exec_driver_sql("SET session_replication_role = DEFAULT")


@pytest.fixture
def engine(tmp_path: Path, sqlite_template: Path, pg_engine: Engine | None) -> Iterator[Engine]:
    from carnet.db.engine import make_engine

    if pg_engine is not None:
        _truncate_all(pg_engine)
        yield pg_engine
        return
    path = tmp_path / "carnet.db"
    shutil.copy(sqlite_template, path)
    eng = make_engine(f"sqlite:///{path}")
    yield eng
    eng.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from carnet.settings import Settings

    return Settings(
        data_dir=tmp_path / "data", database_url=PG_URL or f"sqlite:///{tmp_path / 'carnet.db'}"
    )


@pytest.fixture
def rt(engine: Engine, tmp_path: Path, settings: Settings) -> Runtime:
    from carnet.blobs.crypto import load_or_create_master_key
    from carnet.blobs.local import LocalBlobStore
    from carnet.db.uow import UnitOfWork
    from carnet.runtime import Runtime

    return Runtime(
        settings=settings,
        uow=UnitOfWork(engine),
        blobs=LocalBlobStore(tmp_path / "blobs"),
        master_key=load_or_create_master_key(tmp_path / "keys" / "master.key"),
    )
