"""Signing tree heads and sending them out of the building (TR-3).

A head is signed when the tree has grown since the last one; it is stored (``tree_heads``) and,
once committed, appended to the witness file: JSON lines the operator ships elsewhere (another
machine, a notary, a public repository). A head held outside pins the past: a later database
that does not extend it is caught by ``carnet verify-log --against``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from carnet import clock
from carnet.audit.heads import TreeHead, key_id_of, signed_data
from carnet.audit.log_models import SignedHead
from carnet.audit.sequencer import BATCH, sequence_batch
from carnet.audit.signer import Signer
from carnet.audit.tree import log_size, root_at
from carnet.blobs.local import make_folders_durably
from carnet.db.base import table_of
from carnet.db.uow import UnitOfWork

_LATEST = select(SignedHead).order_by(SignedHead.tree_size.desc()).limit(1)


def head_of(row: SignedHead) -> TreeHead:
    return TreeHead(row.tree_size, row.root_hash, row.timestamp, row.key_id, row.signature)


def latest_head(session: Session) -> TreeHead | None:
    row = session.scalars(_LATEST).first()
    return head_of(row) if row is not None else None


def head_at(session: Session, tree_size: int) -> TreeHead | None:
    row = session.get(SignedHead, tree_size)
    return head_of(row) if row is not None else None


def sign_head(session: Session, signer: Signer) -> TreeHead | None:
    """Sign the tree as sequenced now, if it grew since the last head; the new head."""
    connection = session.connection()
    size = log_size(connection)
    last = latest_head(session)
    if size == 0 or (last is not None and last.tree_size >= size):
        return None
    root = root_at(connection, size)
    now = int(clock.now().timestamp() * 1000)
    timestamp = max(now, last.timestamp) if last else now
    head = TreeHead(
        tree_size=size,
        root_hash=root,
        timestamp=timestamp,
        key_id=key_id_of(signer.public_key),
        signature=signer.sign(signed_data(size, root, timestamp)),
    )
    connection.execute(
        insert(table_of(SignedHead)),
        {
            "tree_size": head.tree_size,
            "root_hash": head.root_hash,
            "timestamp": head.timestamp,
            "key_id": head.key_id,
            "signature": head.signature,
        },
    )
    return head


def witness_heads(session: Session, path: Path) -> int:
    """Append to the witness file every stored head beyond its last line, in order, durably;
    how many. Run after each signing commits, and again later should a write have failed."""
    last = _last_witnessed(path)
    rows = session.scalars(
        select(SignedHead).where(SignedHead.tree_size > last).order_by(SignedHead.tree_size)
    ).all()
    if not rows:
        return 0
    make_folders_durably(path.parent)
    lines = "".join(json.dumps(head_of(r).to_json(), sort_keys=True) + "\n" for r in rows)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, lines.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return len(rows)


def _last_witnessed(path: Path) -> int:
    """The size of the last head in the witness file (its last line), or -1."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            end = handle.tell()
            handle.seek(max(0, end - 4096))
            tail = handle.read().splitlines()
    except FileNotFoundError:
        return -1
    for line in reversed(tail):
        try:
            return int(json.loads(line)["tree_size"])
        except (ValueError, KeyError, TypeError):
            continue
    return -1


def advance_log(uow: UnitOfWork, signer: Signer, witness: Path) -> TreeHead | None:
    """One turn of the log's job: sequence everything queued (batch by batch), sign a head if
    the tree grew, then witness it. The new head, if any."""
    while True:
        with uow.transaction() as session:
            sequenced = sequence_batch(session)
        if sequenced < BATCH:
            break
    with uow.transaction() as session:
        head = sign_head(session, signer)
    if head is not None:  # heads a failed write missed go out with the next one
        with uow.transaction() as session:
            witness_heads(session, witness)
    return head
