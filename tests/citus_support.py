"""The PostgreSQL test tier on a Citus cluster (issue 18, ``make test-citus``).

A test run makes its own database. On Citus a database is a cluster of its own: it must exist
on every node with the extension, and the coordinator must know its workers. When the server
``CARNET_TEST_DATABASE_URL`` names has the ``citus`` extension (``scripts/citus.sh up``), the
run's database is made so, with few shards (4 instead of 32: each test empties every table of
every shard) — migration 0017 then distributes the schema as in production.
"""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text

from carnet.db.citus import is_citus as is_citus
from carnet.db.citus import node_url

#: Shards per distributed table in the tests' databases: enough to spread patients over both
#: workers, few enough that emptying every table between tests stays quick.
TEST_SHARD_COUNT = 4


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
        url = node_url(engine.url.render_as_string(hide_password=False), host, port, database)
        node = _nodes.get(url)
        if node is None:
            # Pre-pinged: a test that terminates backends (tests/http/test_load) may have ended
            # this engine's pooled connections on the node too.
            node = _nodes[url] = create_engine(url, pool_pre_ping=True)
        with node.begin() as connection:
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")
            connection.exec_driver_sql("SET LOCAL citus.enable_manual_changes_to_shards = on")
            connection.exec_driver_sql(f"TRUNCATE {', '.join(shards)}")


def dispose_nodes() -> None:
    """Close the connections to the nodes (before the run's database is dropped)."""
    for node in _nodes.values():
        node.dispose()
    _nodes.clear()
