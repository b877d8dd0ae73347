"""A file sealed with a patient's data key, written and read as a stream: an export's zip.

Exports can be large, so they are neither built nor served in memory: the writer seals each
chunk of ``CHUNK`` bytes as it fills (AES-256-GCM, ``blobs.crypto``), the reader opens one chunk
at a time. Each chunk's associated data names the file, the chunk's place and whether it is the
last: chunks cannot be reordered, dropped, moved to another file, or the file cut short, without
the reader refusing it. Destroying the patient's keys (LC-5) makes the file unreadable too.

Layout: ``MAGIC``, then for each chunk a 4-byte big-endian length and the sealed chunk.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from carnet.blobs.crypto import decrypt, encrypt
from carnet.blobs.local import fsync_folder, make_folders_durably

MAGIC = b"CARNET-SEALED-1\n"
CHUNK = 1024 * 1024


def _associated(name: str, index: int, last: bool) -> bytes:
    return f"{name}/{index}/{int(last)}".encode()


class SealedWriter:
    """A write-only, unseekable file object (``zipfile`` writes to it as to a pipe)."""

    def __init__(self, path: Path, key: bytes, name: str) -> None:
        make_folders_durably(path.parent, 0o700)
        self._file = path.open("wb")
        os.chmod(path, 0o600)
        self._file.write(MAGIC)
        self._key, self._name = key, name
        self._buffer = bytearray()
        self._index = 0
        self._written = 0
        self.path = path

    def write(self, data: bytes) -> int:
        self._buffer += data
        self._written += len(data)
        while len(self._buffer) > CHUNK:
            self._seal(bytes(self._buffer[:CHUNK]), last=False)
            del self._buffer[:CHUNK]
        return len(data)

    def tell(self) -> int:
        return self._written

    def flush(self) -> None:
        """Chunks are sealed whole: nothing to flush before ``close``."""

    def _seal(self, plain: bytes, *, last: bool) -> None:
        sealed = encrypt(self._key, plain, _associated(self._name, self._index, last))
        self._file.write(struct.pack(">I", len(sealed)))
        self._file.write(sealed)
        self._index += 1

    def close(self) -> None:
        """Seal the last chunk, and make the file durable."""
        if self._file.closed:
            return
        self._seal(bytes(self._buffer), last=True)
        self._buffer.clear()
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        fsync_folder(self.path.parent)

    def abandon(self) -> None:
        """A build that failed: the unfinished file goes."""
        self._file.close()
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> SealedWriter:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if kind is None:
            self.close()
        else:
            self.abandon()


class SealedFileDamaged(Exception):
    """The file was altered, cut short, or sealed under another key or name."""


def read_sealed(path: Path, key: bytes, name: str) -> Iterator[bytes]:
    """The file's bytes, a chunk at a time; ``SealedFileDamaged`` as soon as one does not open
    (a consumer that already sent earlier chunks must abort: the end never came)."""
    with path.open("rb") as handle:
        if handle.read(len(MAGIC)) != MAGIC:
            raise SealedFileDamaged("not a sealed file")
        index = 0
        header = handle.read(4)
        while header:
            if len(header) != 4:
                raise SealedFileDamaged("cut short")
            (size,) = struct.unpack(">I", header)
            sealed = handle.read(size)
            if len(sealed) != size:
                raise SealedFileDamaged("cut short")
            header = handle.read(4)
            try:
                yield decrypt(key, sealed, _associated(name, index, last=not header))
            except Exception as error:  # DecryptionFailed: altered, reordered, truncated
                raise SealedFileDamaged(str(error)) from None
            index += 1
        if index == 0:
            raise SealedFileDamaged("empty")
