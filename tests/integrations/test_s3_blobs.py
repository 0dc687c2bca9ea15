"""The S3 blob store against moto's S3 server on loopback (a real HTTP S3 endpoint): files go
up streamed (multipart above 8 MB) and come back in chunks, a file over its limit leaves
nothing behind, and a bucket that does not exist is a clear error."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from datacollect.integrations.blobs import BlobTooLarge, S3BlobStore, make_blob_store
from datacollect.integrations.s3 import blob_error, check_blob_store
from tests.conftest import free_port, make_settings

KEYS = {"access_key_id": "AKIAEXAMPLEKEY", "secret_access_key": "example-secret-key", "region": "eu-central-1"}


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


def client(url: str) -> Any:
    return boto3.client("s3", endpoint_url=url, aws_access_key_id=KEYS["access_key_id"],
                        aws_secret_access_key=KEYS["secret_access_key"], region_name=KEYS["region"])


@pytest.fixture
def bucket(s3_url: str, request: pytest.FixtureRequest) -> str:
    name = f"figures-{abs(hash(request.node.name)) % 10**8}"
    client(s3_url).create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": KEYS["region"]})
    return name


def store(url: str, bucket: str, prefix: str = "") -> S3BlobStore:
    return S3BlobStore(bucket, prefix, endpoint_url=url, **KEYS)


async def chunks(n_mb: int, seen: list[int] | None = None) -> AsyncIterator[bytes]:
    for i in range(n_mb):
        if seen is not None:
            seen.append(i)
        yield bytes([i % 251]) * (1 << 20)


async def test_a_large_file_goes_up_in_parts_and_comes_back_in_chunks(s3_url: str, bucket: str) -> None:
    s = store(s3_url, bucket, "tenant-a")
    expected = hashlib.sha256(b"".join(bytes([i % 251]) * (1 << 20) for i in range(20))).hexdigest()
    ref = await s.put("email/report.pdf", chunks(20), "application/pdf")
    assert ref == {"key": "email/report.pdf", "size": 20 << 20, "content_type": "application/pdf", "sha256": expected}
    head = client(s3_url).head_object(Bucket=bucket, Key="tenant-a/email/report.pdf")
    assert head["ContentLength"] == 20 << 20 and head["ETag"].strip('"').endswith("-3")  # 8 + 8 + 4 MB parts
    digest, sizes = hashlib.sha256(), []
    async for chunk in s.open("email/report.pdf"):
        sizes.append(len(chunk))
        digest.update(chunk)
    assert digest.hexdigest() == expected and max(sizes) <= 1 << 20
    assert await s.exists("email/report.pdf")
    await s.delete("email/report.pdf")
    assert not await s.exists("email/report.pdf")


async def test_a_file_over_its_limit_stops_the_upload_and_leaves_nothing(s3_url: str, bucket: str) -> None:
    s = store(s3_url, bucket)
    read: list[int] = []
    with pytest.raises(BlobTooLarge):
        await s.put("big.bin", chunks(30, read), limit=10 << 20)
    assert len(read) <= 11  # the upload stopped as soon as the limit was passed
    c = client(s3_url)
    assert c.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert not c.list_multipart_uploads(Bucket=bucket).get("Uploads")


async def test_a_bucket_that_does_not_exist_is_a_clear_error(s3_url: str) -> None:
    s = store(s3_url, "no-such-bucket")
    with pytest.raises(Exception) as info:
        await s.put("a.txt", chunks(1))
    message = blob_error(info.value, s)
    assert message is not None
    assert message.startswith("The bucket 'no-such-bucket' does not exist at http://127.0.0.1:")
    assert "DATACOLLECT_BLOB_URL" in message
    assert await check_blob_store(s) == message


async def test_the_store_is_chosen_by_url_and_checked(s3_url: str, bucket: str, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, blob_url=f"s3://{bucket}/uploads", s3_endpoint_url=s3_url,
                             s3_access_key_id=KEYS["access_key_id"], s3_secret_access_key=KEYS["secret_access_key"],
                             s3_region=KEYS["region"])
    s = make_blob_store(settings)
    assert isinstance(s, S3BlobStore) and await check_blob_store(s) is None
    await s.put("x.csv", chunks(1), "text/csv")
    assert client(s3_url).head_object(Bucket=bucket, Key="uploads/x.csv")["ContentLength"] == 1 << 20


async def test_an_s3_connection_test_says_when_the_bucket_is_missing(api: Any, s3_url: str, bucket: str) -> None:
    for id_, name, stage in (("s3-ok", bucket, "ok"), ("s3-missing", "no-such-bucket", "not_found")):
        r = await api.post("/api/connections", json={"id": id_, "name": id_, "kind": "s3", "config": {
            "bucket": name, "endpoint_url": s3_url, **KEYS}})
        assert r.status_code == 201, r.text
        answer = (await api.post(f"/api/connections/{id_}/test")).json()
        assert answer["stage"] == stage, answer
        assert KEYS["secret_access_key"] not in str(answer)


@pytest.fixture
def db_url() -> None:
    return None
