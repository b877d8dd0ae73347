"""Signed tree heads (RFC 9162 §4.9–4.10): what is signed, how it travels, how it is checked.

https://www.rfc-editor.org/rfc/rfc9162#section-4.10 — the signature covers ``TreeHeadDataV2``
in TLS encoding: ``uint64 timestamp`` (milliseconds since the epoch), ``uint64 tree_size``, the
root as ``opaque NodeHash<32..2^8-1>`` (a length byte, then the hash) and empty extensions (two
zero bytes). The key id is, as RFC 6962's LogID, the SHA-256 of the public key's
SubjectPublicKeyInfo (DER). In JSON every byte string is base64 (standard alphabet, padded).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from carnet.audit.merkle import HASH_SIZE


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object, what: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"{what}: base64 text expected")
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError(f"{what}: not base64") from None


def key_id_of(public_key: bytes) -> bytes:
    """RFC 6962 §3.2's LogID: SHA-256 over the key's SubjectPublicKeyInfo (DER)."""
    return hashlib.sha256(public_key).digest()


def signed_data(tree_size: int, root_hash: bytes, timestamp: int) -> bytes:
    """``TreeHeadDataV2`` as the TLS presentation language encodes it (RFC 9162 §4.9)."""
    if len(root_hash) != HASH_SIZE:
        raise ValueError("a root hash is 32 bytes")
    return struct.pack(">QQB", timestamp, tree_size, HASH_SIZE) + root_hash + b"\x00\x00"


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    root_hash: bytes
    timestamp: int
    key_id: bytes
    signature: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "tree_size": self.tree_size,
            "root_hash": b64(self.root_hash),
            "timestamp": self.timestamp,
            "key_id": b64(self.key_id),
            "signature": b64(self.signature),
        }

    @classmethod
    def from_json(cls, data: object) -> TreeHead:
        """A head as ``GET /api/v1/transparency/head`` gives it (``ValueError`` otherwise)."""
        if not isinstance(data, dict):
            raise ValueError("a tree head is a JSON object")
        size, timestamp = data.get("tree_size"), data.get("timestamp")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("tree_size: a whole number >= 0 expected")
        if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp < 0:
            raise ValueError("timestamp: milliseconds since 1970 expected")
        return cls(
            tree_size=size,
            root_hash=unb64(data.get("root_hash"), "root_hash"),
            timestamp=timestamp,
            key_id=unb64(data.get("key_id"), "key_id"),
            signature=unb64(data.get("signature"), "signature"),
        )

    def problem(self, public_key: bytes) -> str | None:
        """Why this head is not one the key signed, or ``None``: the key id must be the key's
        and the Ed25519 signature must cover this size, root and time."""
        if self.key_id != key_id_of(public_key):
            return "signed with another key"
        if len(self.root_hash) != HASH_SIZE:
            return "root hash is not 32 bytes"
        key = load_der_public_key(public_key)
        if not isinstance(key, Ed25519PublicKey):
            return "the log's key is not an Ed25519 key"
        try:
            key.verify(self.signature, signed_data(self.tree_size, self.root_hash, self.timestamp))
        except InvalidSignature:
            return "bad signature"
        return None
