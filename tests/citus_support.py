"""The PostgreSQL test tier on a Citus cluster (issue 18, ``make test-citus``).

A test run makes its own database. On Citus a database is a cluster of its own: it must exist
on every node with the extension, and the coordinator must know its workers. When the server
``CARNET_TEST_DATABASE_URL`` names has the ``citus`` extension (``scripts/citus.sh up``), the
run's database is made so, with few shards (4 instead of 32: each test empties every table of
every shard) — migration 0017 then distributes the schema as in production.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine, make_url, text

#: Shards per distributed table in the tests' databases: enough to spread patients over both
#: workers, few enough that emptying every table between tests stays quick.
TEST_SHARD_COUNT = 4


def workers(admin: Connection) -> list[tuple[str, int]] | None:
    """The workers of the coordinator ``admin`` is connected to; ``None`` if it is no Citus."""
    if admin.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'citus'")).first() is None:
        return None
    rows = admin.execute(
        text(
            "SELECT nodename, nodeport FROM pg_dist_node "
            "WHERE groupid <> 0 AND noderole = 'primary' ORDER BY nodeport"
        )
    ).all()
    return [(str(host), int(port)) for host, port in rows]


def _url(base: str, host: str, port: int, database: str) -> str:
    return (
        make_url(base)
        .set(drivername="postgresql+psycopg", host=host, port=port, database=database)
        .render_as_string(hide_password=False)
    )


def _on(url: str, *statements: str) -> None:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        engine.dispose()


def create_database(base: str, name: str, nodes: list[tuple[str, int]]) -> None:
    """``name`` on the coordinator and on each worker, the extension in each, the workers
    registered with the coordinator's copy."""
    coordinator = make_url(base)
    host, port = coordinator.host or "127.0.0.1", coordinator.port or 5432
    for worker_host, worker_port in nodes:
        _on(_url(base, worker_host, worker_port, "postgres"), f'CREATE DATABASE "{name}"')
        _on(_url(base, worker_host, worker_port, name), "CREATE EXTENSION citus")
    _on(
        _url(base, host, port, name),
        "CREATE EXTENSION citus",
        f'ALTER DATABASE "{name}" SET citus.shard_count = {TEST_SHARD_COUNT}',
        f"SELECT citus_set_coordinator_host('{host}', {port})",
        *(f"SELECT citus_add_node('{h}', {p})" for h, p in nodes),
    )


def drop_database(base: str, name: str, nodes: list[tuple[str, int]]) -> None:
    for worker_host, worker_port in nodes:
        _on(
            _url(base, worker_host, worker_port, "postgres"),
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        )


def is_citus(connection: Connection) -> bool:
    return (
        connection.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'citus'").first()
        is not None
    )


_nodes: dict[str, Engine] = {}


def truncate_all(engine: Engine, tables: list[str]) -> None:
    """Empty ``tables`` on every node, shard by shard, TR-3's triggers silenced.

    Citus does not propagate a ``TRUNCATE`` run under ``session_replication_role = replica``
    (its own replication runs so): each node's shards and reference copies are emptied there."""
    with engine.connect() as connection:
        placements = connection.execute(
            text(
                "SELECT nodename, nodeport, shard_name FROM citus_shards "
                "WHERE table_name::text = ANY(:tables)"
            ),
            {"tables": tables},
        ).all()
    by_node: dict[tuple[str, int], list[str]] = {}
    for host, port, shard in placements:
        by_node.setdefault((str(host), int(port)), []).append(str(shard))
    database = engine.url.database or "postgres"
    for (host, port), shards in by_node.items():
        url = _url(engine.url.render_as_string(hide_password=False), host, port, database)
        node = _nodes.get(url)
        if node is None:
            node = _nodes[url] = create_engine(url)
        with node.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.exec_driver_sql("SET LOCAL citus.enable_manual_changes_to_shards = on")
            connection.exec_driver_sql(f"TRUNCATE {', '.join(shards)}")
