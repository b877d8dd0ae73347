"""Applying and checking migrations without an alembic.ini: the engine is the settings' one."""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

import carnet
from carnet.db.roles import apply_roles, become_owner, has_citus

SCRIPTS = Path(carnet.__file__).parent / "migrations"


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_locations", str(SCRIPTS / "versions"))
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    with engine.begin() as connection:
        become_owner(connection)  # PostgreSQL: what migrations create belongs to the owner role
        cfg = _config(engine)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
        if connection.dialect.name == "postgresql" and has_citus(connection):
            apply_roles(connection)  # migrated as the login (become_owner): the owner's now


def check(engine: Engine) -> None:
    """Fails when the models and the migrations disagree (``alembic check``)."""
    with engine.begin() as connection:
        cfg = _config(engine)
        cfg.attributes["connection"] = connection
        command.check(cfg)


def revision(engine: Engine, message: str) -> None:
    with engine.begin() as connection:
        cfg = _config(engine)
        cfg.attributes["connection"] = connection
        command.revision(cfg, message=message, autogenerate=True)


if __name__ == "__main__":  # python -m carnet.db.migrate check|revision "msg" (development)
    from carnet.db.engine import make_engine
    from carnet.settings import Settings

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    eng = make_engine(settings.resolved_database_url)
    if sys.argv[1] == "check":
        upgrade(eng)
        check(eng)
    elif sys.argv[1] == "revision":
        upgrade(eng)
        revision(eng, sys.argv[2])
