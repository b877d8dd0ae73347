"""Proofs as documents: what the server hands out and what anyone checks with no database.

An inclusion proof carries the trace as it was hashed (its canonical JSON, the link before it,
its chain hash, its chain's salt), the RFC 9162 inclusion path and the signed head it leads to.
Checking it: the trace's content gives its chain hash, the salt its leaf, the path the head's
root, and the log's public key the head's signature. A consistency proof carries two sizes, the
path, and the two signed heads when they are known. ``carnet verify-proof``, the tests and the
history page's script (``web/static/transparency.js``) check them the same way.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from carnet.audit import merkle
from carnet.audit.heads import TreeHead, b64, unb64
from carnet.audit.rules import trace_leaf


@dataclass(frozen=True)
class TraceContent:
    """A trace as its chain hashed it."""

    canonical: str
    prev_hash: str
    hash: str
    salt: bytes


@dataclass(frozen=True)
class InclusionProof:
    trace_id: str
    leaf_index: int
    path: list[bytes]
    trace: TraceContent
    head: TreeHead

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "inclusion",
            "trace_id": self.trace_id,
            "leaf_index": self.leaf_index,
            "tree_size": self.head.tree_size,
            "inclusion_path": [b64(h) for h in self.path],
            "trace": {
                "canonical": self.trace.canonical,
                "prev_hash": self.trace.prev_hash,
                "hash": self.trace.hash,
                "salt": b64(self.trace.salt),
            },
            "head": self.head.to_json(),
        }


@dataclass(frozen=True)
class ConsistencyProof:
    first: int
    second: int
    path: list[bytes]
    first_head: TreeHead | None
    second_head: TreeHead | None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": "consistency",
            "first": self.first,
            "second": self.second,
            "consistency_path": [b64(h) for h in self.path],
            "first_head": self.first_head.to_json() if self.first_head else None,
            "second_head": self.second_head.to_json() if self.second_head else None,
        }


def trace_problem(content: TraceContent) -> str | None:
    """Why the content does not give its chain hash, or ``None``."""
    digest = hashlib.sha256((content.prev_hash + "\n" + content.canonical).encode()).hexdigest()
    return None if digest == content.hash else "the trace's content does not give its hash"


def check_inclusion(document: object, public_key: bytes) -> list[str]:
    """What is wrong with an inclusion proof document; empty when it proves its trace."""
    try:
        proof = _inclusion_of(document)
    except (ValueError, KeyError, TypeError) as error:
        return [f"unreadable proof: {error}"]
    problems = []
    if (signed := proof.head.problem(public_key)) is not None:
        problems.append(f"head: {signed}")
    if (content := trace_problem(proof.trace)) is not None:
        problems.append(content)
    try:
        if json.loads(proof.trace.canonical).get("id") != proof.trace_id:
            problems.append("the trace's content is another trace's")
    except ValueError:
        problems.append("the trace's content is not JSON")
    leaf = merkle.leaf_hash(trace_leaf(proof.trace.salt, proof.trace.hash))
    if not merkle.verify_inclusion(
        proof.leaf_index, proof.head.tree_size, leaf, proof.path, proof.head.root_hash
    ):
        problems.append("the inclusion path does not lead to the head's root")
    return problems


def check_consistency(document: object, public_key: bytes) -> list[str]:
    """What is wrong with a consistency proof document between two signed heads."""
    try:
        proof = _consistency_of(document)
    except (ValueError, KeyError, TypeError) as error:
        return [f"unreadable proof: {error}"]
    if proof.first_head is None or proof.second_head is None:
        return ["a consistency proof is checked between two signed heads"]
    problems = []
    for name, head in (("first head", proof.first_head), ("second head", proof.second_head)):
        if (signed := head.problem(public_key)) is not None:
            problems.append(f"{name}: {signed}")
    if (proof.first_head.tree_size, proof.second_head.tree_size) != (proof.first, proof.second):
        problems.append("the heads are not of the proof's sizes")
    if not merkle.verify_consistency(
        proof.first,
        proof.second,
        proof.first_head.root_hash,
        proof.second_head.root_hash,
        proof.path,
    ):
        problems.append("the second head does not extend the first")
    return problems


def check_document(document: object, public_key: bytes) -> list[str]:
    kind = document.get("kind") if isinstance(document, dict) else None
    if kind == "inclusion":
        return check_inclusion(document, public_key)
    if kind == "consistency":
        return check_consistency(document, public_key)
    return ['not a proof: "kind" is neither "inclusion" nor "consistency"']


def _whole(value: object, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"{what}: a whole number >= 0 expected")
    return value


def _path(value: object, what: str) -> list[bytes]:
    if not isinstance(value, list):
        raise ValueError(f"{what}: a list expected")
    return [unb64(v, what) for v in value]


def _inclusion_of(document: object) -> InclusionProof:
    if not isinstance(document, dict) or not isinstance(document.get("trace"), dict):
        raise ValueError("an inclusion proof is a JSON object with a trace")
    trace = document["trace"]
    fields = {k: trace.get(k) for k in ("canonical", "prev_hash", "hash")}
    if not all(isinstance(v, str) for v in fields.values()):
        raise ValueError("trace: canonical, prev_hash and hash are text")
    if len(bytes.fromhex(str(fields["hash"]))) != merkle.HASH_SIZE:
        raise ValueError("trace: hash is 64 hexadecimal digits")
    head = TreeHead.from_json(document.get("head"))
    if _whole(document.get("tree_size"), "tree_size") != head.tree_size:
        raise ValueError("tree_size is not the head's")
    return InclusionProof(
        trace_id=str(document.get("trace_id")),
        leaf_index=_whole(document.get("leaf_index"), "leaf_index"),
        path=_path(document.get("inclusion_path"), "inclusion_path"),
        trace=TraceContent(
            canonical=str(fields["canonical"]),
            prev_hash=str(fields["prev_hash"]),
            hash=str(fields["hash"]),
            salt=unb64(trace.get("salt"), "salt"),
        ),
        head=head,
    )


def _consistency_of(document: object) -> ConsistencyProof:
    if not isinstance(document, dict):
        raise ValueError("a consistency proof is a JSON object")
    first_head, second_head = document.get("first_head"), document.get("second_head")
    return ConsistencyProof(
        first=_whole(document.get("first"), "first"),
        second=_whole(document.get("second"), "second"),
        path=_path(document.get("consistency_path"), "consistency_path"),
        first_head=TreeHead.from_json(first_head) if first_head is not None else None,
        second_head=TreeHead.from_json(second_head) if second_head is not None else None,
    )
