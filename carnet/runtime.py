"""What a use case needs from the running instance: transactions, the blob store, keys, and
the counters of what it did (``/metrics``).

Built once by a door (``carnet serve``, the CLI, a test) from the settings.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy.orm import Session

from carnet.blobs.crypto import load_or_create_master_key
from carnet.blobs.store import BlobStore, open_store
from carnet.db.engine import make_engine
from carnet.db.migrate import upgrade
from carnet.db.uow import UnitOfWork
from carnet.logs import pseudonym
from carnet.metrics import Metrics
from carnet.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    uow: UnitOfWork
    blobs: BlobStore
    master_key: bytes
    metrics: Metrics = field(default_factory=Metrics)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.uow.transaction() as session:
            yield session

    @cached_property
    def _log_key(self) -> bytes:
        """The key of log pseudonyms, derived from the master key (never the key itself)."""
        return pseudonym_key(self.master_key)

    def pseudonym(self, address: str) -> str:
        """What a log line says instead of an address (``carnet.logs.pseudonym``)."""
        return pseudonym(self._log_key, address)


def pseudonym_key(master_key: bytes) -> bytes:
    return hmac.new(master_key, b"carnet log pseudonyms", hashlib.sha256).digest()


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
