"""A database on a Citus cluster (issue 18): made on every node, with the extension, the workers
registered with the coordinator's copy — what a new Carnet database needs before its migrations
(migration 0017 then distributes the schema). Used by the tests and the benchmarks; an operator
does the same once by hand.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, create_engine, make_url, text


def is_citus(connection: Connection) -> bool:
    """Whether the database ``connection`` is on has the ``citus`` extension."""
    found = connection.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
    return found.first() is not None


def workers(admin: Connection) -> list[tuple[str, int]] | None:
    """The workers of the coordinator ``admin`` is connected to; ``None`` if it is no Citus."""
    if not is_citus(admin):
        return None
    rows = admin.execute(
        text(
            "SELECT nodename, nodeport FROM pg_dist_node "
            "WHERE groupid <> 0 AND noderole = 'primary' ORDER BY nodeport"
        )
    ).all()
    return [(str(host), int(port)) for host, port in rows]


def node_url(base: str, host: str, port: int, database: str) -> str:
    """``base`` (a coordinator's URL) pointed at another node and database."""
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


def _admin(base: str) -> Engine:
    """An autocommit engine on the maintenance database of the server ``base`` names (its
    coordinator on Citus): databases are made and dropped from there."""
    coordinator = make_url(base)
    return create_engine(
        node_url(
            base,
            coordinator.host or "127.0.0.1",
            coordinator.port or 5432,
            coordinator.database or "postgres",
        ),
        isolation_level="AUTOCOMMIT",
    )


def create_database(
    base: str, name: str, shard_count: int | None = None, worker_count: int | None = None
) -> None:
    """``name`` on the server ``base`` names; on Citus on every worker too, with the extension,
    registered with the coordinator (``shard_count``: shards per distributed table;
    ``worker_count``: only the cluster's first workers hold its shards, to compare sizes of one
    cluster — the bench's one worker against two)."""
    coordinator = make_url(base)
    admin = _admin(base)
    try:
        with admin.connect() as connection:
            nodes = workers(connection)
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    if nodes is None:
        return
    if worker_count is not None:
        nodes = nodes[:worker_count]
    host, port = coordinator.host or "127.0.0.1", coordinator.port or 5432
    for worker_host, worker_port in nodes:
        _on(node_url(base, worker_host, worker_port, "postgres"), f'CREATE DATABASE "{name}"')
        _on(node_url(base, worker_host, worker_port, name), "CREATE EXTENSION citus")
    settings = (
        [f'ALTER DATABASE "{name}" SET citus.shard_count = {shard_count}'] if shard_count else []
    )
    _on(
        node_url(base, host, port, name),
        "CREATE EXTENSION citus",
        *settings,
        f"SELECT citus_set_coordinator_host('{host}', {port})",
        *(f"SELECT citus_add_node('{h}', {p})" for h, p in nodes),
    )


def drop_database(base: str, name: str) -> None:
    """``name`` dropped on the server ``base`` names, and on its workers if it is a Citus."""
    admin = _admin(base)
    try:
        with admin.connect() as connection:
            nodes = workers(connection)
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            for role in (f"{name}_owner", f"{name}_app"):  # made by the migrations (TR-3)
                connection.execute(text(f'DROP ROLE IF EXISTS "{role}"'))
    finally:
        admin.dispose()
    for worker_host, worker_port in nodes or []:
        _on(
            node_url(base, worker_host, worker_port, "postgres"),
            f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
        )


def distribute_table(
    connection: Connection, table: str, column: str = "patient_id", colocate_with: str = "patients"
) -> None:
    """For a migration after 0017 that creates a table: on Citus, distribute it like the others
    (a patient's table by ``patient_id``, colocated with ``patients``). Nothing elsewhere. Its
    unique keys must include ``column``; its triggers may only read the same patient's rows
    (migration 0017, ``carnet_shard``). The migration ends with ``db.roles.apply_roles``, so
    the application role gets its rights on the new table (migration 0018)."""
    if connection.dialect.name == "postgresql" and is_citus(connection):
        connection.execute(
            text("SELECT create_distributed_table(:t, :c, colocate_with => :w)"),
            {"t": table, "c": column, "w": colocate_with},
        )


def reference_table(connection: Connection, table: str) -> None:
    """For a migration after 0017 that creates a global table (directory, settings): on Citus, a
    reference table, copied to every node. Nothing elsewhere."""
    if connection.dialect.name == "postgresql" and is_citus(connection):
        connection.execute(text("SELECT create_reference_table(:t)"), {"t": table})
