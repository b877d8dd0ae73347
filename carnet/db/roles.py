"""PostgreSQL roles (TR-3): an owner that migrates, an application role that may not rewrite.

The owner, ``<database>_owner``, owns every table: only it (or a superuser) may ``ALTER`` them,
disable their triggers or grant. The application, ``<database>_app``, reads and writes what a
use case needs, but on the evidence — ``traces``, ``tree_heads``, ``log_leaves``, ``log_nodes``,
``chain_cuts`` — only ``SELECT`` and ``INSERT``; a chain's head and a chain's salt are never
deleted either. A destroyed space's traces (LC-5) go only through ``carnet_destroy_chain``, the
owner's function the application may call (migration 0011). It is no superuser, so
``session_replication_role`` (which silences triggers) is out of its reach.
Both are group roles without log-in: logins join them (``carnet db roles --app-login NAME``).

Roles belong to the whole cluster, so their names carry the database's: two instances on one
server do not share an owner. Migrations run as the owner when the connected user may become it,
so the tables they create belong to it and get the application's rights by default privileges.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine

#: Tables the application may only read and append to.
APPEND_ONLY = ("traces", "tree_heads", "log_leaves", "log_nodes", "chain_cuts")
#: The owner's functions the application may call, and no one else: the one sanctioned deletion
#: of traces (LC-5, migration 0011), which runs with the owner's rights.
OWNER_FUNCTIONS = ("carnet_destroy_chain(varchar)",)
#: On Citus the sanctioned deletion runs as the application (migration 0017): a function running
#: as the owner cannot touch shards the application changed earlier in the same transaction
#: (another role, another connection). The trigger on each shard still refuses every deletion
#: but that one (a cut covers it, its salt is forgotten, its leaf is in the tree).
DELETED_BY_INVOKER_ON_CITUS = ("traces",)
#: Tables whose rows the application may change but never delete.
NEVER_DELETED = ("trace_heads", "log_salts")
#: Tables the application only reads.
READ_ONLY = ("alembic_version",)


def role_names(connection: Connection) -> tuple[str, str]:
    """``(owner, app)`` for the database ``connection`` is on."""
    database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
    return f"{database}_owner", f"{database}_app"


def _quoted(connection: Connection, name: str) -> str:
    return connection.dialect.identifier_preparer.quote(name)


def _exists(connection: Connection, role: str) -> bool:
    found = connection.exec_driver_sql("SELECT 1 FROM pg_roles WHERE rolname = %(r)s", {"r": role})
    return found.first() is not None


def may_manage_roles(connection: Connection) -> bool:
    row = connection.exec_driver_sql(
        "SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user"
    ).scalar_one()
    return bool(row)


def apply_roles(connection: Connection) -> bool:
    """Create the two roles if needed, give the owner every table and sequence, and the
    application its rights (today's tables, and by default the owner's future ones). Does
    nothing and answers ``False`` where the connected user may not manage roles."""
    if connection.dialect.name != "postgresql" or not may_manage_roles(connection):
        return False
    owner, app = role_names(connection)
    q_owner, q_app = _quoted(connection, owner), _quoted(connection, app)
    for role in (owner, app):
        if not _exists(connection, role):
            connection.exec_driver_sql(f"CREATE ROLE {_quoted(connection, role)} NOLOGIN")
    connection.exec_driver_sql(f"GRANT {q_owner} TO CURRENT_USER")
    schema = _quoted(connection, connection.exec_driver_sql("SELECT current_schema()").scalar_one())
    tables = connection.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
    ).scalars()
    sequences = connection.exec_driver_sql(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()"
    ).scalars()
    citus = has_citus(connection)
    for table in list(tables):
        name = _quoted(connection, table)
        connection.exec_driver_sql(f"ALTER TABLE {name} OWNER TO {q_owner}")
        connection.exec_driver_sql(f"REVOKE ALL ON {name} FROM {q_app}")
        connection.exec_driver_sql(f"GRANT {_rights(table, citus=citus)} ON {name} TO {q_app}")
    for sequence in list(sequences):
        name = _quoted(connection, sequence)
        connection.exec_driver_sql(f"ALTER SEQUENCE {name} OWNER TO {q_owner}")
        connection.exec_driver_sql(f"GRANT USAGE, SELECT ON SEQUENCE {name} TO {q_app}")
    functions = connection.exec_driver_sql(
        "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = current_schema()"
    ).scalars()
    present = set(functions)
    for function in OWNER_FUNCTIONS:
        if function.partition("(")[0] in present:
            connection.exec_driver_sql(f"ALTER FUNCTION {function} OWNER TO {q_owner}")
            connection.exec_driver_sql(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
            connection.exec_driver_sql(f"GRANT EXECUTE ON FUNCTION {function} TO {q_app}")
    connection.exec_driver_sql(f"GRANT USAGE ON SCHEMA {schema} TO {q_app}")
    connection.exec_driver_sql(
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q_owner} IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {q_app}"
    )
    connection.exec_driver_sql(
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {q_owner} IN SCHEMA {schema} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {q_app}"
    )
    return True


def _rights(table: str, *, citus: bool = False) -> str:
    if citus and table in DELETED_BY_INVOKER_ON_CITUS:
        return "SELECT, INSERT, DELETE"
    if table in APPEND_ONLY:
        return "SELECT, INSERT"
    if table in NEVER_DELETED:
        return "SELECT, INSERT, UPDATE"
    if table in READ_ONLY:
        return "SELECT"
    return "SELECT, INSERT, UPDATE, DELETE"


def has_citus(connection: Connection) -> bool:
    """Whether this PostgreSQL database is a Citus coordinator (migration 0017 distributes the
    schema then)."""
    found = connection.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
    return found.first() is not None


def become_owner(connection: Connection) -> None:
    """Act as the owner for the rest of this transaction (migrations), when allowed to.

    Not on Citus: it opens its connections to the workers as the current role, so the
    migrations run as the connected login there and ``apply_roles`` hands every table to the
    owner afterwards (``migrate.upgrade``)."""
    if connection.dialect.name != "postgresql" or has_citus(connection):
        return
    owner, _ = role_names(connection)
    may = connection.exec_driver_sql(
        "SELECT pg_has_role(current_user, %(r)s, 'MEMBER') FROM pg_roles WHERE rolname = %(r)s",
        {"r": owner},
    ).scalar()
    if not may:
        return
    creates = connection.exec_driver_sql(
        "SELECT has_schema_privilege(%(r)s, current_schema(), 'CREATE')", {"r": owner}
    ).scalar()
    if not creates:
        # An owner role left by an earlier database of the same name (roles are the cluster's)
        # may not create in this one's schema yet: give it that right if we may, else migrate
        # as ourselves (apply_roles hands every table to the owner afterwards).
        grants = connection.exec_driver_sql(
            "SELECT has_schema_privilege(current_user, current_schema(), 'CREATE') "
            "AND (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)"
        ).scalar()
        if not grants:
            return
        schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
        connection.exec_driver_sql(
            f"GRANT CREATE, USAGE ON SCHEMA {_quoted(connection, schema)} "
            f"TO {_quoted(connection, owner)}"
        )
    connection.exec_driver_sql(f"SET LOCAL ROLE {_quoted(connection, owner)}")


def privileged_login(engine: Engine) -> str | None:
    """Why the connected user is too powerful to serve requests (``superuser``, ``owner``), or
    ``None``: a server that may alter the trace tables could also silence their defences."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as connection:
        row = connection.exec_driver_sql(
            "SELECT r.rolsuper, "
            "EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = current_schema() "
            "AND t.tablename = 'traces' AND pg_has_role(current_user, t.tableowner, 'MEMBER')) "
            "FROM pg_roles r WHERE r.rolname = current_user"
        ).one()
    if row[0]:
        return "superuser"
    if row[1]:
        return "owner"
    return None


def add_app_login(connection: Connection, login: str, password: str) -> None:
    """A login role in the application's group (created, or given a new password)."""
    _, app = role_names(connection)
    name = _quoted(connection, login)
    literal = "'" + password.replace("'", "''") + "'"
    verb = "ALTER" if _exists(connection, login) else "CREATE"
    connection.exec_driver_sql(f"{verb} ROLE {name} LOGIN NOSUPERUSER PASSWORD {literal}")
    connection.exec_driver_sql(f"GRANT {_quoted(connection, app)} TO {name}")
