"""The public form API behind ``/f/{token}``: no login, the personal token is the only proof.

* ``GET    /api/public/forms/{token}``         the form, the answers to start from, the link's state
* ``PUT    /api/public/forms/{token}/draft``   keep a draft (``{"answers": {...}}``)
* ``POST   /api/public/forms/{token}/files``   upload one file for a file field (streamed)
* ``POST   /api/public/forms/{token}/submit``  submit (``{"answers": {...}}``)
* ``POST   /api/public/forms/{token}/delegate`` pass the form on to a colleague

Errors have the platform's one shape; the codes a page shows: ``link_not_found`` (404),
``link_expired`` / ``link_used`` / ``link_delegated`` (410), ``link_used`` (409, a second submit),
``invalid_answers`` (422, ``details`` lists every bad field as ``{"field", "message", "code"}``),
``file_too_large`` (413), ``file_type_refused`` (415), ``too_large`` (413, a body over the limit).

Uploads take the raw file as the body (``Content-Type`` the file's type, ``?field=`` the field
id, table columns as ``table.column``, ``?name=`` the file name) or a ``multipart/form-data``
body with one ``file`` part. The answer is the reference to put in the answers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Query, Request

from datacollect.api.deps import PlatformDep
from datacollect.api.forms_schemas import (
    Delegated,
    DelegateWrite,
    DraftSaved,
    DraftWrite,
    FileRef,
    PublicForm,
    Submitted,
    SubmitWrite,
)
from datacollect.errors import InvalidInput

router = APIRouter(prefix="/api/public/forms", tags=["public-forms"])
UPLOAD_SUFFIX = "/files"


def is_upload_path(path: str) -> bool:
    """Uploads are limited by their field's own size limit, not by the body limit of the API."""
    return path.startswith("/api/public/forms/") and path.endswith(UPLOAD_SUFFIX)


@router.get("/{token}", response_model=PublicForm, operation_id="public-forms-read")
def read_form(token: str, platform: PlatformDep) -> Any:
    return platform.services.forms.view(token)


@router.put("/{token}/draft", response_model=DraftSaved, operation_id="public-forms-draft")
def save_draft(token: str, body: DraftWrite, platform: PlatformDep) -> Any:
    return platform.services.forms.save_draft(token, body.answers)


@router.post("/{token}/submit", response_model=Submitted, operation_id="public-forms-submit")
async def submit(token: str, body: SubmitWrite, request: Request, platform: PlatformDep) -> Any:
    meta = {"user_agent": request.headers.get("user-agent", "")[:500],
            "client": request.client.host if request.client else None}
    return await platform.services.forms.submit(token, body.answers, meta)


@router.post("/{token}/delegate", response_model=Delegated, operation_id="public-forms-delegate")
def delegate(token: str, body: DelegateWrite, platform: PlatformDep) -> Any:
    return platform.services.forms.delegate(token, body.email, body.name, body.message)


@router.post("/{token}/files", response_model=FileRef, status_code=201, operation_id="public-forms-upload",
             openapi_extra={"requestBody": {"content": {"application/octet-stream": {"schema": {
                 "type": "string", "format": "binary"}}, "multipart/form-data": {"schema": {
                     "type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}}}})
async def upload(token: str, request: Request, platform: PlatformDep,
                 field: str = Query(description="The file field's id (a table column as table.column)"),
                 name: str | None = Query(None, description="The file's name (raw uploads)")) -> Any:
    ctype = request.headers.get("content-type", "application/octet-stream")
    length = request.headers.get("content-length")
    declared = int(length) if length and length.isdigit() else None
    forms = platform.services.forms
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        part = form.get("file")
        if part is None or isinstance(part, str):
            raise InvalidInput("The multipart body needs one 'file' part")

        async def parts() -> AsyncIterator[bytes]:
            while chunk := await part.read(1024 * 1024):
                yield chunk

        try:
            return await forms.upload(token, field, part.filename or name or "upload", part.content_type or
                                      "application/octet-stream", parts(), part.size)
        finally:
            await form.close()
    filename = name or unquote(request.headers.get("x-file-name", "")) or "upload"
    return await forms.upload(token, field, filename, ctype, request.stream(), declared)
