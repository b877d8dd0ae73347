"""LC-5: the deletion certificate — what was destroyed of a space and when, signed with the
transparency log's Ed25519 key (``audit.signer``), so that anyone holding the log's public key
(``GET /api/v1/transparency/key``) can check it without trusting the database.

The signature covers a context string then the certificate's canonical JSON (sorted keys, no
spaces, UTF-8): the context keeps a certificate's signature from ever passing for a tree head's
(RFC 9162 signs binary ``TreeHeadDataV2``) and the other way round.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_der_public_key

from carnet.audit.heads import b64, key_id_of, unb64
from carnet.audit.rules import canonical

CONTEXT = b"carnet deletion certificate v1\n"


def signed_bytes(body: dict[str, Any]) -> bytes:
    return CONTEXT + canonical(body).encode("utf-8")


def document(body: dict[str, Any], signature: bytes, key_id: bytes) -> dict[str, Any]:
    """The certificate as it is handed out (a JSON file)."""
    return {"certificate": body, "signature": b64(signature), "key_id": b64(key_id)}


def check(found: dict[str, Any], public_key: bytes) -> str | None:
    """What is wrong with a certificate handed out (``None``: signed by this key, unaltered)."""
    try:
        body, signature = found["certificate"], unb64(found["signature"], "signature")
        key_id = unb64(found["key_id"], "key_id")
    except (KeyError, TypeError, ValueError) as error:
        return f"not a certificate ({error})"
    if not isinstance(body, dict):
        return "not a certificate (no body)"
    if key_id != key_id_of(public_key):
        return "signed with another key"
    key = load_der_public_key(public_key)
    if not isinstance(key, Ed25519PublicKey):
        return "not an Ed25519 key"
    try:
        key.verify(signature, signed_bytes(body))
    except InvalidSignature:
        return "bad signature (altered, or not this log's)"
    return None


def loads(text: str) -> dict[str, Any]:
    found = json.loads(text)
    if not isinstance(found, dict):
        raise ValueError("a certificate is a JSON object")
    return found
