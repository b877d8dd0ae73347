"""Envelope encryption of blobs: a data key per patient encrypts, a master key wraps data keys.

Blobs leave the process encrypted, so neither a copied disk nor the object store's operator reads
a document; the master key stays outside the database and the store (``CARNET_MASTER_KEY_FILE``).
Everything here but ``load_or_create_master_key`` is a pure function of its arguments.

Format of an encrypted blob, version 1: ``0x01 || nonce (12 bytes) || ciphertext || tag (16)``,
AES-256-GCM (NIST SP 800-38D, https://doi.org/10.6028/NIST.SP.800-38D). The version byte is
authenticated with the caller's associated data, so it cannot be swapped for another format's.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from carnet.blobs.local import fsync_folder, make_folders_durably, write_file_durably

KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16
FORMAT_VERSION = 1
_HEADER = bytes([FORMAT_VERSION])
_WRAP_CONTEXT = b"carnet/data-key/"
_CONTENT_CONTEXT = b"carnet/content-key/"


class DecryptionFailed(Exception):
    """The blob was altered, or the key or the associated data is not the one it was sealed with.

    The causes are deliberately not told apart: an attacker learns nothing from the refusal.
    Named, like ``BlobMissing``, for what the caller learns rather than with an ``Error`` suffix.
    """


def generate_key() -> bytes:
    return os.urandom(KEY_SIZE)


def encrypt(key: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    """Seal ``plaintext``; ``associated_data`` (e.g. the blob key) must be given again to open it.

    The nonce is random: 96 random bits stay safe for 2**32 messages under one key (SP 800-38D
    §8.3), far above the documents of one patient.
    """
    return b"".join(seal(key, plaintext, associated_data))


def seal(key: bytes, plaintext: bytes, associated_data: bytes) -> tuple[bytes, bytes]:
    """``encrypt``'s blob in two parts, header then ciphertext, to be written one after the other.

    Joining them copies the whole ciphertext into a fresh buffer; for a large document that
    copy (and the new pages it touches) cost ten times the encryption itself.
    """
    nonce = os.urandom(NONCE_SIZE)
    sealed = AESGCM(_checked(key)).encrypt(nonce, plaintext, _HEADER + associated_data)
    return _HEADER + nonce, sealed


def decrypt(key: bytes, blob: bytes, associated_data: bytes) -> bytes:
    aead = AESGCM(_checked(key))
    if len(blob) < 1 + NONCE_SIZE + TAG_SIZE or blob[0] != FORMAT_VERSION:
        raise DecryptionFailed("unknown format or truncated blob")
    nonce, sealed = blob[1 : 1 + NONCE_SIZE], blob[1 + NONCE_SIZE :]
    try:
        return aead.decrypt(nonce, sealed, _HEADER + associated_data)
    except InvalidTag:
        raise DecryptionFailed("blob refused: altered, or wrong key or associated data") from None


def wrap_key(master: bytes, data_key: bytes, key_id: str) -> bytes:
    """Seal a data key under the master key, bound to ``key_id``.

    AES-GCM rather than AES key wrap (RFC 3394): key wrap takes no associated data, so a wrapped
    key could be moved to another patient's row unnoticed; GCM binds it to its ``key_id``, and
    shares the blob format, its version byte and its tests.
    """
    return encrypt(master, _checked(data_key), _WRAP_CONTEXT + key_id.encode())


def unwrap_key(master: bytes, wrapped: bytes, key_id: str) -> bytes:
    return _unwrapped(master, wrapped, _WRAP_CONTEXT + key_id.encode(), "a data key")


def _unwrapped(key: bytes, wrapped: bytes, context: bytes, what: str) -> bytes:
    """A key sealed under ``key`` for ``context``; refused unless it is a key's size."""
    unwrapped = decrypt(key, wrapped, context)
    if len(unwrapped) != KEY_SIZE:
        raise DecryptionFailed(f"wrapped value is not {what}")
    return unwrapped


def wrap_content_key(data_key: bytes, content_key: bytes, blob_key: str) -> bytes:
    """Seal one blob's own key under the patient's data key, bound to that blob: the content can
    be sealed and written before the patient's key is read (the upload's write then overlaps
    its statements), and destroying the data key still makes it unreadable (LC-5)."""
    return encrypt(data_key, _checked(content_key), _CONTENT_CONTEXT + blob_key.encode())


def unwrap_content_key(data_key: bytes, wrapped: bytes, blob_key: str) -> bytes:
    return _unwrapped(data_key, wrapped, _CONTENT_CONTEXT + blob_key.encode(), "a content key")


def open_content(data_key: bytes, content_key: bytes | None, blob_key: str, blob: bytes) -> bytes:
    """A stored file's bytes: under its own key when its row seals one (documents since 0019),
    else under the patient's data key itself."""
    key = data_key if content_key is None else unwrap_content_key(data_key, content_key, blob_key)
    return decrypt(key, blob, blob_key.encode())


def load_or_create_master_key(path: Path) -> bytes:
    """The instance's master key, made on first start: 32 bytes, base64 in a 0o600 file.

    A key file that exists but does not hold a key is an error, never overwritten: replacing it
    would make every stored document unreadable. When two processes start together, the file
    is published with ``os.link``, which refuses to replace, so both end with the same key.
    """
    try:
        return _read_master_key(path)
    except FileNotFoundError:
        pass
    folder = path.parent
    make_folders_durably(folder)
    staging = folder / f".{path.name}.new.{os.getpid()}.{os.urandom(4).hex()}"
    write_file_durably(staging, base64.b64encode(generate_key()) + b"\n")
    try:
        with contextlib.suppress(FileExistsError):
            os.link(staging, path)
    finally:
        os.unlink(staging)
        fsync_folder(folder)
    return _read_master_key(path)


def _read_master_key(path: Path) -> bytes:
    text = path.read_bytes().strip()
    try:
        key = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError(f"master key file {path} does not hold base64") from None
    if len(key) != KEY_SIZE:
        raise ValueError(f"master key file {path} holds {len(key)} bytes, not {KEY_SIZE}")
    return key


def _checked(key: bytes) -> bytes:
    """A key of the wrong size is a programming error, not a refused blob."""
    if len(key) != KEY_SIZE:
        raise ValueError(f"AES-256 keys are {KEY_SIZE} bytes, not {len(key)}")
    return key
