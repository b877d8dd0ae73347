"""DOC-7: what is stored is what was sent — an altered blob is refused, never served."""

from __future__ import annotations

import base64
import stat
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carnet.blobs.crypto import (
    FORMAT_VERSION,
    DecryptionFailed,
    decrypt,
    encrypt,
    generate_key,
    load_or_create_master_key,
    unwrap_key,
    wrap_key,
)

AAD = b"patient-1/blob-1"


@given(plaintext=st.binary(max_size=4096), associated_data=st.binary(max_size=64))
def test_doc_7_encrypted_blob_roundtrips(plaintext: bytes, associated_data: bytes) -> None:
    key = generate_key()
    assert decrypt(key, encrypt(key, plaintext, associated_data), associated_data) == plaintext


def test_doc_7_encryption_is_randomised_and_versioned() -> None:
    key = generate_key()
    first, second = encrypt(key, b"same", AAD), encrypt(key, b"same", AAD)
    assert first != second
    assert first[0] == FORMAT_VERSION
    assert len(first) == 1 + 12 + len(b"same") + 16


def test_doc_7_generated_keys_are_32_distinct_bytes() -> None:
    keys = {generate_key() for _ in range(8)}
    assert len(keys) == 8
    assert all(len(key) == 32 for key in keys)


@given(plaintext=st.binary(max_size=512), data=st.data())
def test_doc_7_tampered_ciphertext_is_refused(plaintext: bytes, data: st.DataObject) -> None:
    key = generate_key()
    blob = bytearray(encrypt(key, plaintext, AAD))
    index = data.draw(st.integers(min_value=0, max_value=len(blob) - 1), label="index")
    bit = data.draw(st.integers(min_value=0, max_value=7), label="bit")
    blob[index] ^= 1 << bit
    with pytest.raises(DecryptionFailed):
        decrypt(key, bytes(blob), AAD)


@given(plaintext=st.binary(max_size=64), cut=st.integers(min_value=1, max_value=200))
def test_doc_7_truncated_blob_is_refused(plaintext: bytes, cut: int) -> None:
    key = generate_key()
    blob = encrypt(key, plaintext, AAD)
    with pytest.raises(DecryptionFailed):
        decrypt(key, blob[: max(0, len(blob) - cut)], AAD)


def test_doc_7_appended_bytes_are_refused() -> None:
    key = generate_key()
    with pytest.raises(DecryptionFailed):
        decrypt(key, encrypt(key, b"ordonnance", AAD) + b"\x00", AAD)


def test_doc_7_wrong_associated_data_is_refused() -> None:
    key = generate_key()
    blob = encrypt(key, b"ordonnance", AAD)
    with pytest.raises(DecryptionFailed):
        decrypt(key, blob, b"patient-2/blob-1")
    with pytest.raises(DecryptionFailed):
        decrypt(key, blob, b"")


def test_doc_7_wrong_key_is_refused() -> None:
    blob = encrypt(generate_key(), b"ordonnance", AAD)
    with pytest.raises(DecryptionFailed):
        decrypt(generate_key(), blob, AAD)


def test_doc_7_unknown_format_version_is_refused() -> None:
    key = generate_key()
    blob = encrypt(key, b"ordonnance", AAD)
    with pytest.raises(DecryptionFailed):
        decrypt(key, bytes([FORMAT_VERSION + 1]) + blob[1:], AAD)


def test_doc_7_key_of_wrong_size_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        encrypt(b"short", b"x", AAD)
    with pytest.raises(ValueError, match="32 bytes"):
        wrap_key(generate_key(), b"short", "patient-1")


def test_doc_7_wrapped_data_key_roundtrips() -> None:
    master, data_key = generate_key(), generate_key()
    wrapped = wrap_key(master, data_key, "patient-1")
    assert data_key not in wrapped
    assert unwrap_key(master, wrapped, "patient-1") == data_key


def test_doc_7_wrapped_key_under_another_key_id_is_refused() -> None:
    master = generate_key()
    wrapped = wrap_key(master, generate_key(), "patient-1")
    with pytest.raises(DecryptionFailed):
        unwrap_key(master, wrapped, "patient-2")


def test_doc_7_wrapped_key_under_another_master_is_refused() -> None:
    wrapped = wrap_key(generate_key(), generate_key(), "patient-1")
    with pytest.raises(DecryptionFailed):
        unwrap_key(generate_key(), wrapped, "patient-1")


def test_doc_7_an_encrypted_blob_is_not_a_wrapped_key() -> None:
    """Wrapping is domain-separated: a blob sealed with AAD = key_id does not unwrap."""
    master = generate_key()
    blob = encrypt(master, generate_key(), b"patient-1")
    with pytest.raises(DecryptionFailed):
        unwrap_key(master, blob, "patient-1")


def test_doc_7_master_key_file_is_created_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    key = load_or_create_master_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert base64.b64decode(path.read_bytes().strip()) == key
    assert load_or_create_master_key(path) == key
    assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]


def test_doc_7_master_key_created_by_racing_threads_is_one_key(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "master.key"
    start = threading.Barrier(8)
    keys: list[bytes] = []

    def load() -> None:
        start.wait()
        keys.append(load_or_create_master_key(path))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(keys) == 8
    assert len(set(keys)) == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["master.key"]


@pytest.mark.parametrize("content", [b"not base64!\n", base64.b64encode(b"16 bytes only!!!"), b""])
def test_doc_7_corrupt_master_key_file_is_refused_not_replaced(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(content)
    with pytest.raises(ValueError, match="master key file"):
        load_or_create_master_key(path)
    assert path.read_bytes() == content
