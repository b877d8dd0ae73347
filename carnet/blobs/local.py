"""Blobs as files under one folder: the default store of a single-host instance.

A put is acknowledged only once the bytes and the directory entries that reach them are on disk
(DOC-7: an acknowledged document is never lost). Writers never touch the final name until the
content is complete, so readers, other threads and other processes see the old blob or the new
one, never a torn file. See https://lwn.net/Articles/457667/ for why the folder is fsynced too.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from carnet.blobs.store import BlobMissing, is_valid_key, validate_key, validate_prefix

FOLDER_MODE = 0o700


class LocalBlobStore:
    """Keys map to paths below ``root`` one segment per folder level; files are 0o600.

    A key cannot also be a folder of another key here (``a/b`` and ``a/b/c``); such a put raises
    ``ValueError``. Keys shaped ``<patient_id>/<blob_id>`` never meet that case.
    """

    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        make_folders_durably(self.root)

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self.root)!r})"

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        folder = path.parent
        try:
            make_folders_durably(folder)
            write_file_durably(path, data)
        except (FileExistsError, NotADirectoryError, IsADirectoryError) as exc:
            raise _collision(key) from exc

    def create(self, key: str, parts: Sequence[bytes]) -> None:
        path = self._path(key)
        try:
            make_folders_durably(path.parent)
        except (FileExistsError, NotADirectoryError) as exc:
            raise _collision(key) from exc
        try:
            create_file_durably(path, parts)  # a FileExistsError here: the key exists
        except (NotADirectoryError, IsADirectoryError) as exc:
            raise _collision(key) from exc

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            with path.open("rb") as file:
                return file.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BlobMissing(key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        fsync_folder(path.parent)

    def keys(self, prefix: str = "") -> Iterator[str]:
        return self._walk(self.root, "", validate_prefix(prefix))

    def _walk(self, folder: Path, above: str, prefix: str) -> Iterator[str]:
        """Yield in sorted key order, lazily, without collecting the whole tree.

        A folder ``d`` sorts as ``d/`` among its siblings: every key below it starts so, and a
        file and a folder never share a name, so sibling order is global key order.
        """
        try:
            with os.scandir(folder) as scan:
                entries = [
                    (entry.name + "/" if entry.is_dir(follow_symlinks=False) else entry.name)
                    for entry in scan
                    if entry.is_dir(follow_symlinks=False) or entry.is_file(follow_symlinks=False)
                ]
        except (FileNotFoundError, NotADirectoryError):
            return
        for name in sorted(entries):
            path = above + name
            if name.endswith("/"):
                if path.startswith(prefix) or prefix.startswith(path):
                    yield from self._walk(folder / name, path, prefix)
            elif path.startswith(prefix) and is_valid_key(path):
                yield path

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))


def _collision(key: str) -> ValueError:
    return ValueError(f"blob key {key!r} collides with a folder of blobs")


def write_file_durably(path: Path, data: bytes) -> None:
    """Write through a temp file in the same folder, then rename it over ``path``.

    The temp name starts with ``.`` (never a valid key segment), so a writer killed halfway
    leaves a file that ``get`` and ``keys`` cannot see. ``mkstemp`` creates it 0o600 with a
    name no other thread or process can pick.
    """
    folder = path.parent
    fd, temp_name = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    fsync_folder(folder)


def create_file_durably(path: Path, parts: Sequence[bytes]) -> None:
    """Create ``path`` (``FileExistsError`` if it exists), write ``parts``, fsync it and its folder.

    On ext4 and its kin, the file's fsync commits the journal that also holds its new name, so
    the folder's fsync after it finds nothing left to write: one journal commit where
    ``write_file_durably``'s rename needs a second. A failed write removes what it created.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        try:
            _write_parts(fd, parts)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise
    fsync_folder(path.parent)


def _write_parts(fd: int, parts: Sequence[bytes]) -> None:
    """Write every part, in order, with as few system calls as the kernel allows."""
    views = [memoryview(part) for part in parts if part]
    while views:
        written = os.writev(fd, views)
        while views and written >= len(views[0]):
            written -= len(views.pop(0))
        if written:
            views[0] = views[0][written:]


def make_folders_durably(folder: Path, mode: int = FOLDER_MODE) -> None:
    """Create ``folder`` and its missing parents, and fsync the entry of each one created.

    Another thread or process may create the same folders at the same time; its folders are
    fsynced here too, since it may not have done so yet when this returns.
    """
    missing: list[Path] = []
    current = folder
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            if not path.is_dir():
                raise
        fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a folder's entries (a rename, a new file, a removal) survive a power cut."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    except OSError as exc:
        # Some file systems (and Windows) cannot fsync a folder; their renames are as durable
        # as they get.
        if exc.errno not in (errno.EINVAL, errno.EBADF):
            raise
    finally:
        os.close(fd)
