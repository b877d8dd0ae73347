"""DOC-7 on the local store: a put is on disk when it returns; a killed writer leaves no blob."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from carnet.blobs import BlobMissing, LocalBlobStore


def _files_in(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir())


def _kill_writer_before_rename(root: Path, key: str, data: bytes) -> None:
    """Run a put in another process that SIGKILLs itself once the temp file is fsynced."""
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from pathlib import Path
        from carnet.blobs import local
        def die(source, target):
            os.kill(os.getpid(), signal.SIGKILL)
        local.os.replace = die
        local.LocalBlobStore(Path({str(root)!r})).put({key!r}, {data!r})
        """
    )
    done = subprocess.run([sys.executable, "-c", script], check=False, timeout=60)
    assert done.returncode == -signal.SIGKILL


def _broken_fsync(fd: int) -> None:
    raise OSError(5, "Input/output error")


def test_doc_7_put_leaves_no_temp_file(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("p1/b1", b"first")
    store.put("p1/b1", b"second")
    store.put("p1/b2", b"")
    assert _files_in(tmp_path / "p1") == ["b1", "b2"]


def test_doc_7_failed_put_leaves_no_temp_file_and_the_old_blob(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("p1/b1", b"old")
    monkeypatch.setattr(os, "fsync", _broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        store.put("p1/b1", b"new")
    monkeypatch.undo()
    assert _files_in(tmp_path / "p1") == ["b1"]
    assert store.get("p1/b1") == b"old"


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names fds through /proc")
def test_doc_7_put_fsyncs_the_file_its_folder_and_new_folders_parents(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        link = os.readlink(f"/proc/self/fd/{fd}")
        synced.append("dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file")
        synced.append(os.path.relpath(link, tmp_path))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    store.put("p1/b1", b"x")
    pairs = list(zip(synced[::2], synced[1::2], strict=True))
    assert pairs[0] == ("dir", "blobs")
    assert pairs[1][0] == "file"
    assert pairs[1][1].startswith("blobs/p1/.b1.")
    assert pairs[2] == ("dir", "blobs/p1")


def test_doc_7_create_refuses_a_key_that_exists_and_keeps_its_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("p1/b1", b"old")
    with pytest.raises(FileExistsError):
        store.create("p1/b1", [b"new"])
    assert store.get("p1/b1") == b"old"
    with pytest.raises(ValueError, match="collides"):
        store.create("p1/b1/c", [b"y"])


def test_doc_7_failed_create_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("p1/b0", b"other")
    monkeypatch.setattr(os, "fsync", _broken_fsync)
    with pytest.raises(OSError, match="Input/output"):
        store.create("p1/b1", [b"head", b"body"])
    monkeypatch.undo()
    assert _files_in(tmp_path / "p1") == ["b0"]
    with pytest.raises(BlobMissing):
        store.get("p1/b1")


def test_doc_7_create_writes_every_part_when_the_kernel_takes_them_bit_by_bit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``writev`` may write less than asked (a signal, a full pipe): the rest follows."""
    store = LocalBlobStore(tmp_path)
    real_writev = os.writev
    calls: list[int] = []

    def short_writev(fd: int, buffers: list[memoryview]) -> int:
        calls.append(len(buffers))
        return real_writev(fd, [buffers[0][:7]])

    monkeypatch.setattr(os, "writev", short_writev)
    parts = [b"\x01" + bytes(range(12)), b"ciphertext and tag " * 3]
    store.create("p1/b1", parts)
    monkeypatch.undo()
    assert store.get("p1/b1") == b"".join(parts)
    assert len(calls) == -(-len(parts[0]) // 7) + -(-len(parts[1]) // 7)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="names fds through /proc")
def test_doc_7_create_fsyncs_the_file_under_its_name_then_its_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.put("p1/b0", b"folder made")
    synced: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        kind = "dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        synced.append((kind, os.path.relpath(os.readlink(f"/proc/self/fd/{fd}"), tmp_path)))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording_fsync)
    store.create("p1/b1", [b"x"])
    assert synced == [("file", "blobs/p1/b1"), ("dir", "blobs/p1")]
    assert stat.S_IMODE((tmp_path / "blobs" / "p1" / "b1").stat().st_mode) == 0o600


def test_doc_7_blob_files_are_private(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = LocalBlobStore(tmp_path / "blobs")
        store.put("p1/b1", b"x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "blobs" / "p1" / "b1").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "blobs" / "p1").stat().st_mode) == 0o700


@pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL")
def test_doc_7_killed_writer_leaves_a_temp_file_that_is_never_a_blob(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("p1/kept", b"acknowledged")

    _kill_writer_before_rename(tmp_path, "p1/new", b"never acknowledged")
    _kill_writer_before_rename(tmp_path, "p1/kept", b"overwrite never acknowledged")

    leftovers = [name for name in _files_in(tmp_path / "p1") if name.startswith(".")]
    assert len(leftovers) == 2
    assert all(name.endswith(".tmp") for name in leftovers)
    with pytest.raises(BlobMissing):
        store.get("p1/new")
    assert not store.exists("p1/new")
    assert store.get("p1/kept") == b"acknowledged"
    assert list(store.keys()) == ["p1/kept"]
    assert list(store.keys("p1/")) == ["p1/kept"]

    store.put("p1/new", b"second try")
    assert store.get("p1/new") == b"second try"
    assert list(store.keys()) == ["p1/kept", "p1/new"]


def test_doc_7_writers_in_several_processes_never_tear_a_blob(tmp_path: Path) -> None:
    """Four processes rewrite one key while this one reads it: every read is one whole version."""
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from carnet.blobs import LocalBlobStore
        n = int(sys.argv[1])
        store = LocalBlobStore(Path({str(tmp_path)!r}))
        for _ in range(50):
            store.put("shared/b", bytes([n]) * 200_000)
            store.put(f"p{{n}}/own", bytes([n]) * 10)
        """
    )
    store = LocalBlobStore(tmp_path)
    store.put("shared/b", bytes([9]) * 200_000)
    writers = [subprocess.Popen([sys.executable, "-c", script, str(n)]) for n in range(4)]
    while any(writer.poll() is None for writer in writers):
        data = store.get("shared/b")
        assert data == bytes([data[0]]) * 200_000
    assert all(writer.wait(timeout=60) == 0 for writer in writers)
    assert list(store.keys()) == ["p0/own", "p1/own", "p2/own", "p3/own", "shared/b"]
    assert _files_in(tmp_path / "shared") == ["b"]


def test_a_key_cannot_also_be_a_folder_of_keys(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    store.put("p1/b1", b"x")
    with pytest.raises(ValueError, match="collides"):
        store.put("p1/b1/c", b"y")
    with pytest.raises(ValueError, match="collides"):
        store.put("p1", b"y")
    with pytest.raises(BlobMissing):
        store.get("p1")
    with pytest.raises(BlobMissing):
        store.get("p1/b1/c")
    store.delete("p1")
    assert list(store.keys()) == ["p1/b1"]
    assert _files_in(tmp_path / "p1") == ["b1"]
