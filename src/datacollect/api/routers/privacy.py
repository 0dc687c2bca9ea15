"""Privacy (GDPR, DESIGN §10): export and erasure of a respondent's data, and the retention of
responses. Admins only (``privacy:manage``); see ``security/privacy.py`` for what is covered.

* ``GET  /api/privacy/respondents/{email}/export``  everything stored about the person, as JSON
* ``POST /api/privacy/respondents/{email}/erase``   erase it everywhere (``{"reason"}``); answers
  the count per kind of what was erased
* ``GET  /api/privacy/retention``                   how long each form's responses are kept
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from datacollect.api.deps import PlatformDep, Principal, require
from datacollect.errors import NotFound
from datacollect.security import privacy as svc

router = APIRouter(prefix="/api/privacy", tags=["privacy"])


class ErasureCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why (the request's reference, say); it goes in "
                                                                     "the audit log.")


class ErasureRead(BaseModel):
    email_sha256: str = Field(description="SHA-256 of the address: the audit log's entity id for this erasure.")
    erased_at: datetime
    counts: dict[str, int] = Field(description="What was erased, per kind (responses, files, requests, "
                                               "review_items, review_trail_values, run_data, runs...).")
    files_deleted: int = Field(description="Files deleted from the blob store.")


class RetentionRead(BaseModel):
    default_days: float | None = Field(description="DATACOLLECT_RESPONSE_RETENTION_DAYS (None: kept).")
    forms: dict[str, float] = Field(description="Days each form's responses are kept (forms kept forever left out).")


def _nothing(email: str) -> NotFound:
    return NotFound(f"Nothing is stored about {email}: no form was sent to this address and no response names it",
                    details={"email": email})


@router.get("/respondents/{email}/export", operation_id="privacy-export")
def export_respondent(email: str, platform: PlatformDep, p: Principal = require("privacy:manage")) -> Any:
    """Everything stored about the respondent: requests and links (never their tokens), responses with
    every revision, uploaded files, review items with their comments and trail, and the run data that
    carries their email or response ids."""
    with platform.db.write() as s:
        found = svc.find_respondent(s, email)
        if not found.requests and not found.responses:
            raise _nothing(email)
        return svc.export_respondent(s, email, p.actor)


@router.post("/respondents/{email}/erase", response_model=ErasureRead, operation_id="privacy-erase")
async def erase_respondent(email: str, body: ErasureCreate, platform: PlatformDep,
                           p: Principal = require("privacy:manage")) -> ErasureRead:
    """Erase the respondent's data everywhere (responses and revisions, drafts, files, recipient data,
    review values, run data); the erasure, with its reason, goes in the audit log."""
    import asyncio

    def erase() -> svc.Erasure:
        with platform.db.write() as s:
            found = svc.find_respondent(s, email)
            if not found.requests and not found.responses:
                raise _nothing(email)
            return svc.erase_respondent(s, email, p.actor, body.reason)

    result = await asyncio.to_thread(erase)
    reviews = platform.services.extra.get("reviews")
    if reviews is not None:  # the workflows that waited for the review items the erasure closed
        reviews.after_commit(result.closed_items)
    deleted = await svc.delete_blobs(platform.services.blobs, result.blob_keys)
    return ErasureRead(email_sha256=svc.email_digest(svc.normalise_email(email)), erased_at=svc.now(),
                       counts=result.counts, files_deleted=deleted)


@router.get("/retention", response_model=RetentionRead, operation_id="privacy-retention")
def retention(platform: PlatformDep, p: Principal = require("privacy:manage")) -> RetentionRead:
    default = platform.settings.response_retention_days
    with platform.db.session() as s:
        return RetentionRead(default_days=default, forms=svc.retention_days(s, default))
