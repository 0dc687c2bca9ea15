"""OData ``$batch`` in its multipart form (OData v2, and v4's multipart format).

A batch is a ``multipart/mixed`` body; each part is a single request (``application/http``)
or a *change set*: a nested ``multipart/mixed`` whose requests are applied all or none.
The answer has one part per batch part, in order: a change set that worked answers a nested
multipart with one response per request; a change set that failed answers a single
``application/http`` part with the error. Lines end with CRLF.

    body, ctype = build_batch([[Request("POST", "Records", {"Co2": 1}, content_id="1")]])
    parts = parse_batch(answer_bytes, answer_content_type)   # list of list[Response]
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any

CRLF = b"\r\n"


class MalformedBatch(ValueError):
    """The answer is not a ``$batch`` response we can read."""


@dataclass
class Request:
    method: str
    url: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_id: str | None = None


@dataclass
class Response:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body.strip() else None


def _http_request(req: Request) -> bytes:
    lines = [f"{req.method} {req.url} HTTP/1.1".encode()]
    payload = b""
    headers = dict(req.headers)
    if req.body is not None:
        payload = json.dumps(req.body, ensure_ascii=False, separators=(",", ":"), default=str).encode()
        headers.setdefault("Content-Type", "application/json")
        headers["Content-Length"] = str(len(payload))
    headers.setdefault("Accept", "application/json")
    lines += [f"{k}: {v}".encode() for k, v in headers.items()]
    return CRLF.join(lines) + CRLF + CRLF + payload


def build_batch(changesets: list[list[Request]], gets: list[Request] | None = None) -> tuple[bytes, str]:
    """A batch of change sets (then retrievals); answers (body, Content-Type)."""
    boundary = f"batch_{uuid.uuid4().hex}"
    out: list[bytes] = []
    for cs in changesets:
        cs_boundary = f"changeset_{uuid.uuid4().hex}"
        inner: list[bytes] = []
        for req in cs:
            head = [b"Content-Type: application/http", b"Content-Transfer-Encoding: binary"]
            if req.content_id:
                head.append(f"Content-ID: {req.content_id}".encode())
            inner.append(f"--{cs_boundary}".encode() + CRLF + CRLF.join(head) + CRLF + CRLF + _http_request(req))
        body = CRLF.join(inner) + CRLF + f"--{cs_boundary}--".encode()
        out.append(f"--{boundary}".encode() + CRLF
                   + f"Content-Type: multipart/mixed; boundary={cs_boundary}".encode() + CRLF + CRLF + body)
    for req in gets or []:
        out.append(f"--{boundary}".encode() + CRLF + b"Content-Type: application/http" + CRLF
                   + b"Content-Transfer-Encoding: binary" + CRLF + CRLF + _http_request(req))
    return CRLF.join(out) + CRLF + f"--{boundary}--".encode() + CRLF, f"multipart/mixed; boundary={boundary}"


_BOUNDARY = re.compile(r'boundary="?([^";]+)"?', re.I)


def boundary_of(content_type: str) -> str | None:
    if "multipart/mixed" not in content_type.lower():
        return None
    m = _BOUNDARY.search(content_type)
    return m.group(1).strip() if m else None


def _split(body: bytes, boundary: str) -> list[bytes]:
    delim = b"--" + boundary.encode()
    if delim not in body:
        raise MalformedBatch(f"the answer does not contain its boundary {boundary!r}")
    chunks = body.split(delim)
    parts: list[bytes] = []
    closed = False
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            closed = True
            break
        parts.append(chunk.removeprefix(b"\r\n").removeprefix(b"\n"))
    if not closed:
        raise MalformedBatch("the answer ends before its closing boundary (it was cut short)")
    return [p[:-2] if p.endswith(b"\r\n") else p[:-1] if p.endswith(b"\n") else p for p in parts]


def _headers_and_body(part: bytes) -> tuple[dict[str, str], bytes]:
    for sep in (b"\r\n\r\n", b"\n\n"):
        if sep in part:
            head, body = part.split(sep, 1)
            break
    else:
        head, body = part, b""
    headers: dict[str, str] = {}
    for line in head.replace(b"\r\n", b"\n").split(b"\n"):
        if b":" in line:
            k, v = line.split(b":", 1)
            headers[k.decode("latin-1").strip().lower()] = v.decode("latin-1").strip()
    return headers, body


def _http_response(data: bytes) -> Response:
    data = data.lstrip(b"\r\n")
    nl = data.find(b"\n")
    first = (data[:nl] if nl >= 0 else data).rstrip(b"\r")
    rest = data[nl + 1:] if nl >= 0 else b""
    m = re.match(rb"HTTP/\d\.\d\s+(\d{3})\s*(.*)", first.strip())
    if not m:
        raise MalformedBatch(f"a part does not start with an HTTP status line: {first[:80]!r}")
    if rest.startswith((b"\r\n", b"\n")):
        headers, body = {}, rest.split(b"\n", 1)[1]
    else:
        headers, body = _headers_and_body(rest)
    return Response(int(m.group(1)), m.group(2).decode("latin-1").strip(), headers, body)


def parse_batch(body: bytes, content_type: str) -> list[list[Response]]:
    """The answers of a batch: one list per batch part (a change set's responses, or the
    single response of a failed change set or a retrieval)."""
    boundary = boundary_of(content_type)
    if boundary is None:
        raise MalformedBatch(f"the answer is {content_type or 'without a content type'}, not multipart/mixed")
    out: list[list[Response]] = []
    for part in _split(body, boundary):
        headers, content = _headers_and_body(part)
        ctype = headers.get("content-type", "")
        inner = boundary_of(ctype)
        if inner is not None:
            out.append([_http_response(_headers_and_body(p)[1]) for p in _split(content, inner)])
        elif "application/http" in ctype.lower():
            out.append([_http_response(content)])
        else:
            raise MalformedBatch(f"a part has the content type {ctype or 'none'}, not application/http")
    return out


__all__ = ["MalformedBatch", "Request", "Response", "boundary_of", "build_batch", "parse_batch"]
