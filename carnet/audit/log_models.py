"""The transparency log's tables (TR-3): every trace is a leaf of one Merkle tree (RFC 9162).

A request appends its trace to its patient's chain only (``traces``, ``trace_heads``); a trigger
puts ``(patient_id, seq)`` in ``log_queue`` in the same transaction, so no request waits on the
log. The sequencer then gives queued traces their places in the tree, in batches, under one
lock that only it takes (``audit/sequencer.py``), and the signer signs tree heads
(``audit/publish.py``).

What is stored, append-only: each leaf (``log_leaves``, by place and by trace), the hashes of
the complete subtrees whose level is a multiple of ``STRIDE`` (``log_nodes``: a sixteenth of the
leaves' count in all, yet any complete subtree hashes from at most ``2**(STRIDE-1)`` stored
ones, so a proof costs O(log n) reads), the signed tree heads (``tree_heads``) and each chain's
secret salt (``log_salts``: a leaf commits to its trace through an HMAC keyed by it, so a proof
shown to one patient says nothing about another's traces). Destroying a patient's data under
LC-5 forgets the salt and keeps the leaves: the tree stays whole and verifiable.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, LargeBinary, SmallInteger, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from carnet.db.base import Base

#: Levels of the tree whose complete subtrees are stored (0, 4, 8, …).
STRIDE = 4

#: SQLite makes an ``INTEGER PRIMARY KEY`` the row id itself (no second copy, no index).
Position = BigInteger().with_variant(Integer(), "sqlite")


class LogQueue(Base):
    """Traces committed but not yet in the tree. Filled by a trigger on ``traces``; emptied by
    the sequencer (a work list, not evidence: a row removed unsequenced leaves a trace outside
    the tree, which ``verify-log`` reports)."""

    __tablename__ = "log_queue"

    id: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)


class LogLeaf(Base):
    """A trace's place in the tree and its leaf hash, ``SHA-256(0x00 || HMAC(salt, hash))``."""

    __tablename__ = "log_leaves"
    __table_args__ = (UniqueConstraint("patient_id", "seq"),)

    idx: Mapped[int] = mapped_column(Position, primary_key=True, autoincrement=False)
    patient_id: Mapped[str] = mapped_column(String(32))
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogNode(Base):
    """The hash of the complete subtree ``(level, idx)``, for levels that are multiples of
    ``STRIDE`` above the leaves."""

    __tablename__ = "log_nodes"
    __table_args__ = ({"sqlite_with_rowid": False},)

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class ChainSalt(Base):
    """A chain's secret, keying its leaves' HMAC. ``salt`` is emptied when the patient's data
    is destroyed (LC-5): his leaves stay in the tree, and can no longer be tied to anything."""

    __tablename__ = "log_salts"

    patient_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    salt: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime]
    destroyed_at: Mapped[datetime | None]


class SignedHead(Base):
    """A signed tree head (RFC 9162 §4.10): the tree's size and root at a time, signed with a
    key kept outside the database. Each is also appended to the witness file."""

    __tablename__ = "tree_heads"

    tree_size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    timestamp: Mapped[int] = mapped_column(BigInteger)
    key_id: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))


class ChainCut(Base):
    """LC-5: a chain whose traces were destroyed up to ``upto_seq`` (its salt forgotten first),
    and the hash of the last one. The one sanctioned deletion of traces (``trail.destroy_chain``)
    records it; the database refuses any other (migration 0011). ``verify-log`` walks a cut
    chain from here: its leaves stay in the tree, the rest of the chain links to ``last_hash``."""

    __tablename__ = "chain_cuts"

    patient_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    upto_seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]
