"""Blob stores: a local folder and an S3-compatible server (moto's server mode on loopback),
streamed both ways, with size limits that leave nothing behind."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from datacollect.config import Settings
from datacollect.errors import InvalidInput, NotFound
from datacollect.integrations.blobs import BlobTooLarge, FileBlobStore, S3BlobStore, make_blob_store
from tests.conftest import free_port


async def chunks(total: int, size: int = 256 * 1024, seed: int = 7) -> AsyncIterator[bytes]:
    sent = 0
    n = 0
    while sent < total:
        block = hashlib.sha256(f"{seed}-{n}".encode()).digest() * (size // 32)
        block = block[: min(size, total - sent)]
        sent += len(block)
        n += 1
        yield block


async def collect(it: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in it])


@pytest.fixture(scope="module")
def s3_server() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def s3_store(endpoint: str, bucket: str) -> S3BlobStore:
    store = S3BlobStore(bucket, "tenant-a", endpoint_url=endpoint, access_key_id="test", secret_access_key="test",
                        region="us-east-1")
    store.client.create_bucket(Bucket=bucket)
    return store


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "file":
        return FileBlobStore(tmp_path / "blobs")
    endpoint = request.getfixturevalue("s3_server")
    return s3_store(endpoint, f"b-{request.node.name.split('[')[0][-20:].lower().replace('_', '-')}")


async def test_a_blob_goes_in_and_comes_back_in_chunks(store: Any) -> None:
    size = 9 * 1024 * 1024 + 123  # above one S3 part: a multipart upload
    expected = await collect(chunks(size))
    ref = await store.put("forms/r1/report.pdf", chunks(size), "application/pdf")
    assert ref["size"] == size and ref["sha256"] == hashlib.sha256(expected).hexdigest()
    assert ref["content_type"] == "application/pdf"
    parts = [c async for c in store.open("forms/r1/report.pdf")]
    assert len(parts) > 1 and b"".join(parts) == expected
    assert await store.exists("forms/r1/report.pdf")
    await store.delete("forms/r1/report.pdf")
    assert not await store.exists("forms/r1/report.pdf")
    with pytest.raises(NotFound):
        await collect(store.open("forms/r1/report.pdf"))


async def test_an_upload_over_its_limit_stops_and_leaves_nothing(store: Any, tmp_path: Path) -> None:
    with pytest.raises(BlobTooLarge):
        await store.put("forms/r1/big.bin", chunks(12 * 1024 * 1024), limit=10 * 1024 * 1024)
    assert not await store.exists("forms/r1/big.bin")
    if isinstance(store, FileBlobStore):
        assert [p for p in store.root.rglob("*") if p.is_file()] == []
    else:
        assert store.client.list_multipart_uploads(Bucket=store.bucket).get("Uploads", []) == []


async def test_keys_cannot_leave_the_store(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    for key in ("../etc/passwd", "/abs", "a/../../b", ""):
        with pytest.raises(InvalidInput):
            await store.put(key, chunks(10))


def test_the_store_is_chosen_by_url(tmp_path: Path, s3_server: str) -> None:
    s = Settings(env="test", data_dir=tmp_path)
    local = make_blob_store(s)
    assert isinstance(local, FileBlobStore) and local.root == tmp_path / "blobs"
    s3 = make_blob_store(Settings(env="test", data_dir=tmp_path, blob_url="s3://uploads/forms",
                                  s3_endpoint_url=s3_server, s3_access_key_id="k", s3_secret_access_key="s",
                                  s3_region="eu-central-1"))
    assert isinstance(s3, S3BlobStore) and s3.bucket == "uploads" and s3.prefix == "forms"


def test_run_data_is_written_read_and_deleted_by_activation_without_awaiting(store: Any) -> None:
    from datacollect.db.run_data import RunData

    rd = RunData(store, threshold=100)
    assert rd.put("act-1", "output", {"main": [{"n": 1}]}) is None  # small: it stays in the row
    big = {"main": [{"n": i, "notes": "x" * 50} for i in range(10)]}
    ref = rd.put("act-1", "output", big)
    other = rd.put("act-2", "input", big)
    assert ref is not None and other is not None and ref["$blob"].startswith("run-data/act-1/output.")
    assert rd.load(ref) == big and ref["bytes"] == len(store.read_bytes(ref["$blob"]))
    rd.delete_activations(["act-1"])
    with pytest.raises(NotFound, match="no longer in the blob store"):
        rd.load(ref)
    assert rd.load(other) == big  # another activation's data stays
