"""Errors of forms and links, each with the HTTP status the API answers with::

    InvalidInput
    ├── AnswersInvalid      422  answers that do not pass the form's validation (every bad field)
    LinkGone                410  an expired, used or passed-on link (``code`` says which)
    FileTooLarge            413  an upload above the field's limit
    FileTypeRefused         415  an upload of a type the field does not take
    LinkUsed (Conflict)     409  a second submission of a link that was already submitted
"""

from __future__ import annotations

from typing import Any

from datacollect.errors import Conflict, DatacollectError, InvalidInput


class AnswersInvalid(InvalidInput):
    code = "invalid_answers"
    http_status = 422

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        n = len(errors)
        if n == 1:
            e = errors[0]
            message = f"{e['field']}: {e['message']}" if e.get("field") else e["message"]
        else:
            message = f"{n} answers need attention"
        super().__init__(message, details=errors)
        self.errors = errors


class LinkGone(DatacollectError):
    http_status = 410

    def __init__(self, code: str, message: str, details: Any = None) -> None:
        super().__init__(message, details)
        self.code = code


class LinkUsed(Conflict):
    code = "link_used"


class FileTooLarge(DatacollectError):
    code = "file_too_large"
    http_status = 413


class FileTypeRefused(DatacollectError):
    code = "file_type_refused"
    http_status = 415
