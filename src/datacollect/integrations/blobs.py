"""Blob stores: where uploaded files and large payloads live (``engine.ports.BlobStore``).

* ``FileBlobStore``  a local folder (the embedded shape's default, ``<data_dir>/blobs``);
* ``S3BlobStore``    any S3-compatible store by URL (``s3://bucket/prefix``), through boto3.

Both are streamed: ``put`` takes an async iterator of chunks and never holds the whole file
(the S3 store sends parts of ``PART_SIZE`` as a multipart upload); ``open`` yields chunks.
``put`` answers ``{"key", "size", "content_type", "sha256"}``; a ``limit`` (bytes) stops the
upload with ``BlobTooLarge`` as soon as it is passed, and nothing is left behind::

    store = make_blob_store(settings)
    ref = await store.put("uploads/ab/cd.pdf", request.stream(), "application/pdf", limit=10 << 20)
    async for chunk in store.open(ref["key"]): ...
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from datacollect.errors import DatacollectError, InvalidInput, NotFound

CHUNK = 1024 * 1024
PART_SIZE = 8 * 1024 * 1024  # S3 parts are at least 5 MB, except the last
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/=-]{0,299}$")


class BlobTooLarge(DatacollectError):
    """The upload passed its size limit; ``limit`` is that limit in bytes."""

    code = "too_large"

    def __init__(self, limit: int, message: str | None = None) -> None:
        super().__init__(message or f"The file is larger than the limit of {limit} bytes")
        self.limit = limit


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key.split("/"):
        raise InvalidInput(f"'{key}' is not a valid blob key")
    return key


def new_key(prefix: str, filename: str = "") -> str:
    """A fresh unguessable key under ``prefix``, keeping the file's extension."""
    ext = os.path.splitext(filename)[1].lower()
    ext = ext if re.fullmatch(r"\.[a-z0-9]{1,10}", ext) else ""
    return f"{prefix.strip('/')}/{uuid.uuid4().hex}{ext}"


class FileBlobStore:
    """Blobs as files under ``root``; a blob is written to a temporary name and renamed when
    complete, so a reader never sees half a file."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str | None = None,
                  limit: int | None = None) -> dict[str, Any]:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        digest = hashlib.sha256()
        size = 0
        f = await asyncio.to_thread(open, tmp, "wb")
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if limit is not None and size > limit:
                    raise BlobTooLarge(limit)
                digest.update(chunk)
                await asyncio.to_thread(f.write, chunk)
            await asyncio.to_thread(f.close)
            await asyncio.to_thread(os.replace, tmp, target)
        except BaseException:
            f.close()
            tmp.unlink(missing_ok=True)
            raise
        return {"key": key, "size": size, "content_type": content_type or "application/octet-stream",
                "sha256": digest.hexdigest()}

    async def open(self, key: str) -> AsyncIterator[bytes]:  # type: ignore[override]
        path = self.path(key)
        if not path.is_file():
            raise NotFound(f"There is no file '{key}'")
        f = await asyncio.to_thread(open, path, "rb")
        try:
            while True:
                chunk = await asyncio.to_thread(f.read, CHUNK)
                if not chunk:
                    break
                yield chunk
        finally:
            f.close()

    async def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    # whole small objects, from code that cannot await (the engine's store, in its transaction)
    def write_bytes(self, key: str, data: bytes) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            tmp.write_bytes(data)
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"There is no file '{key}'") from None

    def delete_now(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix_now(self, prefix: str) -> None:
        """Every blob whose key is under the folder ``prefix`` (ending in /)."""
        folder = self.path(prefix.rstrip("/"))
        if folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


class S3BlobStore:
    """Blobs in an S3 bucket (AWS, MinIO, Ceph, Garage... anything speaking S3)."""

    def __init__(self, bucket: str, prefix: str = "", *, endpoint_url: str | None = None,
                 access_key_id: str | None = None, secret_access_key: str | None = None,
                 region: str | None = None, client: Any = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if client is None:
            import boto3
            from botocore.config import Config

            client = boto3.client("s3", endpoint_url=endpoint_url, aws_access_key_id=access_key_id,
                                  aws_secret_access_key=secret_access_key, region_name=region,
                                  config=Config(retries={"max_attempts": 5, "mode": "standard"}))
        self.client = client

    def _k(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    async def put(self, key: str, chunks: AsyncIterator[bytes], content_type: str | None = None,
                  limit: int | None = None) -> dict[str, Any]:
        k = self._k(key)
        ctype = content_type or "application/octet-stream"
        digest = hashlib.sha256()
        size = 0
        buf = bytearray()
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                size += len(chunk)
                if limit is not None and size > limit:
                    raise BlobTooLarge(limit)
                digest.update(chunk)
                buf += chunk
                if len(buf) >= PART_SIZE:
                    if upload_id is None:
                        res = await asyncio.to_thread(self.client.create_multipart_upload, Bucket=self.bucket,
                                                      Key=k, ContentType=ctype)
                        upload_id = res["UploadId"]
                    body, buf = bytes(buf), bytearray()
                    n = len(parts) + 1
                    res = await asyncio.to_thread(self.client.upload_part, Bucket=self.bucket, Key=k,
                                                  UploadId=upload_id, PartNumber=n, Body=body)
                    parts.append({"PartNumber": n, "ETag": res["ETag"]})
            if upload_id is None:
                await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=k, Body=bytes(buf),
                                        ContentType=ctype)
            else:
                if buf or not parts:
                    n = len(parts) + 1
                    res = await asyncio.to_thread(self.client.upload_part, Bucket=self.bucket, Key=k,
                                                  UploadId=upload_id, PartNumber=n, Body=bytes(buf))
                    parts.append({"PartNumber": n, "ETag": res["ETag"]})
                await asyncio.to_thread(self.client.complete_multipart_upload, Bucket=self.bucket, Key=k,
                                        UploadId=upload_id, MultipartUpload={"Parts": parts})
        except BaseException:
            if upload_id is not None:
                try:
                    await asyncio.to_thread(self.client.abort_multipart_upload, Bucket=self.bucket, Key=k,
                                            UploadId=upload_id)
                except Exception:  # the abort is best effort; a lifecycle rule cleans the rest
                    pass
            raise
        return {"key": key, "size": size, "content_type": ctype, "sha256": digest.hexdigest()}

    async def open(self, key: str) -> AsyncIterator[bytes]:  # type: ignore[override]
        k = self._k(key)
        try:
            res = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=k)
        except self.client.exceptions.NoSuchKey:
            raise NotFound(f"There is no file '{key}'") from None
        body = res["Body"]
        try:
            while True:
                chunk = await asyncio.to_thread(body.read, CHUNK)
                if not chunk:
                    break
                yield chunk
        finally:
            body.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._k(key))

    # whole small objects, from code that cannot await (the engine's store, in its transaction)
    def write_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._k(key), Body=data, ContentType="application/json")

    def read_bytes(self, key: str) -> bytes:
        try:
            res = self.client.get_object(Bucket=self.bucket, Key=self._k(key))
        except self.client.exceptions.NoSuchKey:
            raise NotFound(f"There is no file '{key}'") from None
        with res["Body"] as body:
            return bytes(body.read())

    def delete_now(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._k(key))

    def delete_prefix_now(self, prefix: str) -> None:
        """Every blob whose key starts with ``prefix`` (a folder, ending in /)."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self._k(prefix))
        for page in pages:
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys, "Quiet": True})

    async def exists(self, key: str) -> bool:
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=self._k(key))
            return True
        except Exception:
            return False


def make_blob_store(settings: Any) -> FileBlobStore | S3BlobStore:
    """The store named by ``DATACOLLECT_BLOB_URL`` (a folder, or ``s3://bucket/prefix``)."""
    url = settings.blob_url
    if url and url.startswith("s3://"):
        u = urlparse(url)
        return S3BlobStore(u.netloc, u.path, endpoint_url=settings.s3_endpoint_url,
                           access_key_id=settings.s3_access_key_id,
                           secret_access_key=settings.s3_secret_access_key, region=settings.s3_region)
    if url and url.startswith("file://"):
        url = urlparse(url).path
    return FileBlobStore(Path(url) if url else Path(settings.data_dir) / "blobs")


async def iter_bytes(data: bytes, size: int = CHUNK) -> AsyncIterator[bytes]:
    """An async iterator over ``data`` in chunks (to ``put`` bytes already in hand)."""
    for i in range(0, len(data), size):
        yield data[i:i + size]
