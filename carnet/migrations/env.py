"""Alembic environment: the connection comes from ``carnet.db.migrate``, the metadata from every table."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from carnet.models import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("carnet migrations run through carnet.db.migrate")
run(connection)
