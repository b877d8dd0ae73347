"""What a use case needs from the running instance: transactions, the blob store, keys.

Built once by a door (``carnet serve``, the CLI, a test) from the settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carnet.blobs.crypto import load_or_create_master_key
from carnet.blobs.store import BlobStore, open_store
from carnet.db.engine import make_engine
from carnet.db.migrate import upgrade
from carnet.db.uow import UnitOfWork
from carnet.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    uow: UnitOfWork
    blobs: BlobStore
    master_key: bytes

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.uow.transaction() as session:
            yield session


def build_runtime(settings: Settings, *, migrate: bool = True) -> Runtime:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.resolved_database_url)
    if migrate:
        upgrade(engine)
    return Runtime(
        settings=settings,
        uow=UnitOfWork(engine),
        blobs=open_store(settings.resolved_blob_url, s3_endpoint_url=settings.s3_endpoint_url),
        master_key=load_or_create_master_key(settings.resolved_master_key_file),
    )
