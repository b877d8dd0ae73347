"""What a use case needs from the running instance: transactions, the blob store, keys, the
counters of what it did (``/metrics``), and the instance's own state (caches, batchers, worker
pools, the habilitation matrix).

Built once by a door (``carnet serve``, the CLI, a test) from the settings. Nothing of the
instance lives at module level: tests run many instances in one process, each with its own.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

from sqlalchemy.orm import Session

from carnet.audit import trail
from carnet.blobs.crypto import load_or_create_master_key
from carnet.blobs.store import BlobStore, open_store
from carnet.db.engine import make_engine
from carnet.db.migrate import upgrade
from carnet.db.uow import UnitOfWork
from carnet.errors import Refusal
from carnet.logs import pseudonym
from carnet.metrics import Metrics
from carnet.settings import Settings

T = TypeVar("T")


@dataclass
class Runtime:
    settings: Settings
    uow: UnitOfWork
    blobs: BlobStore
    master_key: bytes
    metrics: Metrics = field(default_factory=Metrics)
    _state: dict[type, object] = field(default_factory=dict, init=False, repr=False)
    _state_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One use case's transaction. A refusal rolls it back whole — it changes nothing —
        then the denied acts it carries (``Refusal.traced``) are traced in a transaction of
        their own: the one path by which a refusal is recorded (TR-1)."""
        try:
            with self.uow.transaction() as session:
                yield session
        except Refusal as refusal:
            if refusal.traced:
                denied = [e for e in refusal.traced if isinstance(e, trail.Entry)]
                with self.uow.transaction(refusable=False) as session:
                    trail.record_many(session, denied)
            raise

    def state(self, kind: type[T]) -> T:
        """The instance's one ``kind`` — a cache, a batcher, a worker pool — made on first use
        (``kind()``): the runtime owns what would otherwise be module-level state."""
        with self._state_lock:
            found = self._state.get(kind)
            if found is None:
                found = self._state[kind] = kind()
        assert isinstance(found, kind)
        return found

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
        uow=UnitOfWork(
            engine, max_active=settings.db_max_active, max_waiting=settings.db_max_waiting
        ),
        blobs=open_store(settings.resolved_blob_url, s3_endpoint_url=settings.s3_endpoint_url),
        master_key=load_or_create_master_key(settings.resolved_master_key_file),
    )
