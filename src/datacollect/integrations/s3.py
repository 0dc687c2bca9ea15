"""S3 errors said plainly, for the blob store (:mod:`datacollect.integrations.blobs`) and the
nodes that write to it: a bucket that does not exist, a refused key, an endpoint that does not
answer. ``blob_error`` turns what boto3 raises into one sentence; ``check_blob_store`` looks at
the configured store once (the hub logs the answer at start, so a wrong
``DATACOLLECT_BLOB_URL`` is seen before the first upload fails).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("datacollect.integrations")


def _where(store: Any) -> str:
    endpoint = getattr(getattr(getattr(store, "client", None), "meta", None), "endpoint_url", None)
    return f"{endpoint}" if endpoint else "S3"


def blob_error(e: BaseException, store: Any = None) -> str | None:
    """A plain message for an S3 failure (None when ``e`` is not one)."""
    try:
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            EndpointConnectionError,
            NoCredentialsError,
        )
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    bucket = getattr(store, "bucket", None) or "?"
    where = _where(store)
    if isinstance(e, ClientError):
        code = e.response.get("Error", {}).get("Code", "")
        if code == "NoSuchBucket":
            return (f"The bucket '{bucket}' does not exist at {where}. Create it, or correct DATACOLLECT_BLOB_URL "
                    "(s3://bucket/prefix).")
        if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
            return f"{where} refused the S3 access key ({code}); check DATACOLLECT_S3_ACCESS_KEY_ID and the secret."
        if code in ("AccessDenied", "AllAccessDisabled"):
            return f"The S3 access key may not write to the bucket '{bucket}' ({code})."
        return f"{where} answered {code or 'an error'}: {e.response.get('Error', {}).get('Message', '')}".strip()
    if isinstance(e, NoCredentialsError):
        return "No S3 access key is set (DATACOLLECT_S3_ACCESS_KEY_ID), and none was found in the environment."
    if isinstance(e, EndpointConnectionError):
        return f"The S3 endpoint {where} cannot be reached: {e}"
    if isinstance(e, BotoCoreError):
        return f"S3 failed: {e}"
    return None


async def check_blob_store(store: Any) -> str | None:
    """A problem with the blob store (a missing bucket, a refused key), or None."""
    if not hasattr(store, "bucket") or not hasattr(store, "client"):
        return None
    try:
        await asyncio.to_thread(store.client.head_bucket, Bucket=store.bucket)
    except Exception as e:
        from botocore.exceptions import ClientError

        if isinstance(e, ClientError) and e.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket"):
            return blob_error(ClientError({"Error": {"Code": "NoSuchBucket"}}, "HeadBucket"), store)
        if isinstance(e, ClientError) and e.response.get("Error", {}).get("Code") == "403":
            return f"The S3 access key may not use the bucket '{store.bucket}' (403)."
        return blob_error(e, store) or f"The blob store cannot be used: {e}"
    return None


__all__ = ["blob_error", "check_blob_store"]
