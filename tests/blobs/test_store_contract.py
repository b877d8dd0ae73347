"""The one contract every blob store keeps, run against files and against a real S3 server.

S3 is moto's server on 127.0.0.1, spoken to over a real socket by the real boto3 client.
"""

from __future__ import annotations

import itertools
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from carnet.blobs import BlobMissing, BlobStore, LocalBlobStore, open_store
from carnet.blobs.s3 import S3BlobStore

_FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_SESSION_TOKEN": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent/carnet-test-aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/carnet-test-aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_bucket_numbers = itertools.count()


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    for name, value in _FAKE_AWS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "local":
        return LocalBlobStore(tmp_path / "blobs")
    request.getfixturevalue("fake_aws")
    endpoint: str = request.getfixturevalue("s3_endpoint")
    bucket = f"carnet-test-{os.getpid()}-{next(_bucket_numbers)}"
    return S3BlobStore(bucket, "instance-a", endpoint, create_bucket=True)


def test_put_then_get_returns_the_bytes(store: BlobStore) -> None:
    store.put("p1/b1", b"compte rendu")
    assert store.get("p1/b1") == b"compte rendu"


def test_create_stores_its_parts_one_after_the_other(store: BlobStore) -> None:
    store.create("p1/b1", [b"\x01nonce", b"", b"ciphertext" * 40_000, b"tag"])
    store.create("p2/b1", [])
    assert store.get("p1/b1") == b"\x01nonce" + b"ciphertext" * 40_000 + b"tag"
    assert store.get("p2/b1") == b""
    assert list(store.keys()) == ["p1/b1", "p2/b1"]


def test_put_overwrites_whole(store: BlobStore) -> None:
    store.put("p1/b1", b"a longer first version")
    store.put("p1/b1", b"short")
    store.put("p1/b1", b"short")
    assert store.get("p1/b1") == b"short"


def test_get_of_absent_key_raises_blob_missing(store: BlobStore) -> None:
    with pytest.raises(BlobMissing) as caught:
        store.get("p1/absent")
    assert isinstance(caught.value, KeyError)


def test_delete_removes_and_is_idempotent(store: BlobStore) -> None:
    store.put("p1/b1", b"x")
    store.put("p1/b2", b"y")
    store.delete("p1/b1")
    store.delete("p1/b1")
    store.delete("p9/never-there")
    assert not store.exists("p1/b1")
    with pytest.raises(BlobMissing):
        store.get("p1/b1")
    assert store.get("p1/b2") == b"y"


def test_exists_tells_present_from_absent(store: BlobStore) -> None:
    assert not store.exists("p1/b1")
    store.put("p1/b1", b"x")
    assert store.exists("p1/b1")
    assert not store.exists("p1")


def test_keys_lists_by_string_prefix_in_sorted_order(store: BlobStore) -> None:
    for key in ["p2/z", "p1/b.pdf", "p1/a", "p10/a", "p1-x/a", "p1/sub/c"]:
        store.put(key, b"x")
    assert list(store.keys()) == ["p1-x/a", "p1/a", "p1/b.pdf", "p1/sub/c", "p10/a", "p2/z"]
    assert list(store.keys("p1/")) == ["p1/a", "p1/b.pdf", "p1/sub/c"]
    assert list(store.keys("p1")) == ["p1-x/a", "p1/a", "p1/b.pdf", "p1/sub/c", "p10/a"]
    assert list(store.keys("p1/b")) == ["p1/b.pdf"]
    assert list(store.keys("p3/")) == []


def test_keys_of_an_empty_store_is_empty(store: BlobStore) -> None:
    assert list(store.keys()) == []


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/p1/b1",
        "p1/b1/",
        "p1//b1",
        "p1/../b1",
        "..",
        "p1/./b1",
        "p1/.hidden",
        "p1/b 1",
        "p1/é",
        "p1\\b1",
        "p1/b1\n",
        "p1/b1\x00",
        "x" * 600,
    ],
)
def test_bad_keys_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError, match="invalid blob key"):
        store.put(key, b"x")
    with pytest.raises(ValueError, match="invalid blob key"):
        store.get(key)
    with pytest.raises(ValueError, match="invalid blob key"):
        store.exists(key)
    with pytest.raises(ValueError, match="invalid blob key"):
        store.delete(key)


@pytest.mark.parametrize("prefix", ["/p1", "../", "p1/../", "p1/.", "p1 "])
def test_bad_prefixes_are_refused(store: BlobStore, prefix: str) -> None:
    """Refused at the call, not at the first item, so a caller that never iterates still hears."""
    with pytest.raises(ValueError, match="invalid blob key prefix"):
        store.keys(prefix)


def test_megabyte_payload_roundtrips(store: BlobStore) -> None:
    data = bytes(range(256)) * 4096
    store.put("p1/big", data)
    assert store.get("p1/big") == data


def test_empty_payload_roundtrips(store: BlobStore) -> None:
    store.put("p1/empty", b"")
    assert store.exists("p1/empty")
    assert store.get("p1/empty") == b""
    assert list(store.keys()) == ["p1/empty"]


def test_concurrent_puts_from_threads_lose_nothing(store: BlobStore) -> None:
    """Distinct keys all land; one key written by many ends whole, as one writer left it."""
    versions = [bytes([n]) * (1000 + n) for n in range(16)]
    start = threading.Barrier(16)

    def write(n: int) -> None:
        start.wait()
        store.put(f"p{n % 4}/own-{n:02d}", versions[n])
        store.put("shared/b", versions[n])

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(write, range(16)))
    for n in range(16):
        assert store.get(f"p{n % 4}/own-{n:02d}") == versions[n]
    assert store.get("shared/b") in versions
    assert len(list(store.keys())) == 17


def test_open_store_picks_files_for_file_urls(tmp_path: Path) -> None:
    root = tmp_path / "with space"
    store = open_store(root.as_uri())
    assert isinstance(store, LocalBlobStore)
    store.put("p1/b1", b"x")
    assert (root / "p1" / "b1").read_bytes() == b"x"


@pytest.mark.usefixtures("fake_aws")
def test_open_store_picks_s3_for_s3_urls(s3_endpoint: str) -> None:
    S3BlobStore("carnet-open-store", endpoint_url=s3_endpoint, create_bucket=True)
    store = open_store("s3://carnet-open-store/some/prefix/", s3_endpoint_url=s3_endpoint)
    assert isinstance(store, S3BlobStore)
    store.put("p1/b1", b"x")
    assert store.prefix == "some/prefix/"
    assert list(store.keys()) == ["p1/b1"]


@pytest.mark.parametrize(
    "url", ["relative/path", "file://host/srv/blobs", "http://x/y", "s3:///prefix", "file:x?a=b"]
)
def test_open_store_refuses_other_urls(url: str) -> None:
    with pytest.raises(ValueError, match="blob URL"):
        open_store(url)
