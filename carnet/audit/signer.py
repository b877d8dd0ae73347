"""The key that signs tree heads, kept outside the database (TR-3).

``Signer`` is all the log asks of it: its public key and a signature. ``FileSigner`` keeps an
Ed25519 key in a PEM file (0o600, in a 0o700 folder) made on first start; a KMS or an HSM can
stand in its place by implementing the same two members. Whoever holds only the database can
rewrite rows but cannot sign a head, so every head given out pins the past.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_der_public_key,
    load_pem_private_key,
    load_pem_public_key,
)

from carnet.blobs.local import fsync_folder, make_folders_durably, write_file_durably
from carnet.ids import new_id


class Signer(Protocol):
    @property
    def public_key(self) -> bytes:
        """SubjectPublicKeyInfo, DER."""
        ...

    def sign(self, message: bytes) -> bytes:
        """An Ed25519 signature of ``message``."""
        ...


class SignerKeyError(RuntimeError):
    """The key file exists but cannot be used: an operator's problem, never a user's."""


class FileSigner:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key = key.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def load_or_create_signer(path: Path) -> FileSigner:
    """The log's signing key, made on first use. An existing file that holds no Ed25519 key is
    an error and is never replaced: heads already given out were signed with it. Two processes
    starting together end with one key (the file is published with ``os.link``)."""
    if not path.exists():
        folder = path.parent
        make_folders_durably(folder, 0o700)
        staging = folder / f".{path.name}.{new_id()}.new"
        pem = Ed25519PrivateKey.generate().private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
        )
        write_file_durably(staging, pem)
        try:
            with contextlib.suppress(FileExistsError):
                os.link(staging, path)
        finally:
            os.unlink(staging)
            fsync_folder(folder)
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except ValueError as error:
        raise SignerKeyError(f"{path}: unreadable signing key ({error})") from error
    if not isinstance(key, Ed25519PrivateKey):
        raise SignerKeyError(f"{path}: the log's signing key must be Ed25519")
    return FileSigner(key)


def public_key_of(path: Path) -> bytes:
    """The public half of an existing key file (a verifier never makes a key)."""
    if not path.is_file():
        raise SignerKeyError(f"{path}: no signing key here")
    return load_or_create_signer(path).public_key


def read_public_key(path: Path) -> bytes:
    """A public key given to a verifier, as SubjectPublicKeyInfo (DER): the JSON of
    ``GET /api/v1/transparency/key``, a PEM public key, or the instance's own key file."""
    data = path.read_bytes()
    try:
        if data.lstrip().startswith(b"{"):
            key = json.loads(data)["public_key"]
            if not isinstance(key, str):
                raise ValueError("public_key is not text")
            der = base64.b64decode(key, validate=True)
            load_der_public_key(der)
            return der
        if b"PRIVATE KEY" in data:
            return public_key_of(path)
        return load_pem_public_key(data).public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise SignerKeyError(f"{path}: not a public key ({error})") from error
