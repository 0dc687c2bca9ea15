"""Connections: typed credentials that nodes name by id (DESIGN §9, §10).

A connection is a ``kind`` (smtp, imap, http, database, s3, sap, netsuite, oracle) and the
fields of that kind. Fields typed ``SecretStr`` are secrets: they are encrypted together in
``connections.secret`` (see :mod:`datacollect.integrations.crypto`), never returned by the API
(an answer says only which secrets are set), never written to the audit log or a log line.
Everything else is kept in ``connections.config`` and shown.

Services (plain functions on a session)::

    conn = create_connection(session, box, {"name": "SAP prod", "kind": "sap", "config": {...}}, actor)
    read_connection(session, "sap-prod")                      # the public view
    resolve(session, box, "sap-prod")                         # a Resolved with the secrets, for nodes
    rotate_secrets(session, box)                              # re-encrypt under the first key

Nodes reach connections through ``ctx.services.connections`` (a :class:`ConnectionStore`), which
also answers the one connection of a kind when a node names none (the plan's
``{"system": "SAP", "mapping": "carbon_to_sap_v2"}`` names no connection).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from datacollect.db.integrations_models import Connection
from datacollect.errors import Conflict, InvalidInput, NodeError, NotFound
from datacollect.integrations.crypto import SecretBox
from datacollect.security import audit

KINDS = ("smtp", "imap", "http", "database", "s3", "sap", "netsuite", "oracle")
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,99}$")


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------------- kinds
class _Kind(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _url(value: str) -> str:
    v = value.strip().rstrip("/")
    if not v.lower().startswith(("http://", "https://")) or len(v) < 10:
        raise ValueError("must be a URL starting with http:// or https://")
    return v


#: An http(s) URL, without a trailing slash.
Url = Annotated[str, AfterValidator(_url)]


class _Tls(_Kind):
    verify_tls: bool = Field(True, description="Check the server's TLS certificate (leave on).")
    ca_cert: str | None = Field(None, description="A PEM certificate (or bundle) to trust besides the "
                                                  "system's, for servers with a private CA.")


class SmtpSettings(_Tls):
    host: str = Field(min_length=1, description="SMTP server name.")
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    from_address: str | None = Field(None, description="Sender address (From:).")


class ImapSettings(_Tls):
    host: str = Field(min_length=1, description="IMAP server name.")
    port: int = Field(993, ge=1, le=65535)
    security: Literal["tls", "starttls", "none"] = "tls"
    username: str = Field(min_length=1)
    password: SecretStr
    folder: str = Field("INBOX", description="The mailbox folder to read.")


class HttpSettings(_Tls):
    base_url: Url = Field(description="The API's base URL, e.g. https://api.example.com/v1.")
    auth_type: Literal["none", "basic", "bearer", "api_key", "oauth2"] = "none"
    username: str | None = None
    password: SecretStr | None = None
    token: SecretStr | None = Field(None, description="Bearer token.")
    api_key_name: str = Field("X-API-Key", description="Header (or query parameter) carrying the API key.")
    api_key_in: Literal["header", "query"] = "header"
    api_key: SecretStr | None = None
    token_url: Url | None = Field(None, description="OAuth2 token endpoint (client credentials grant).")
    client_id: str | None = None
    client_secret: SecretStr | None = None
    scope: str | None = None
    audience: str | None = None
    test_path: str = Field("", description="A path answered with 2xx when the credentials work (for the test).")

    @model_validator(mode="after")
    def _check(self) -> HttpSettings:
        need = {"basic": ("username", "password"), "bearer": ("token",), "api_key": ("api_key",),
                "oauth2": ("token_url", "client_id", "client_secret")}.get(self.auth_type, ())
        missing = [n for n in need if not getattr(self, n)]
        if missing:
            raise ValueError(f"auth_type {self.auth_type} needs {', '.join(missing)}")
        return self


class DatabaseSettings(_Kind):
    url: SecretStr = Field(description="SQLAlchemy URL with the password, e.g. postgresql://app:pw@db/erp.")


class S3Settings(_Kind):
    bucket: str = Field(min_length=3, max_length=63)
    prefix: str = ""
    endpoint_url: Url | None = Field(None, description="For stores other than AWS (MinIO, Ceph...).")
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None


class SapSettings(_Tls):
    base_url: Url = Field(description="The S/4HANA or Gateway host, e.g. https://s4.example.com.")
    service_path: str = Field(min_length=1, description="The OData service, e.g. /sap/opu/odata/sap/ZCARBON_SRV "
                                                        "(v2) or /sap/opu/odata4/sap/zcarbon/srvd/.../0001 (v4).")
    odata_version: Literal["2", "4"] = "2"
    sap_client: str | None = Field(None, description="The SAP client (sap-client), e.g. 100.")
    username: str = Field(min_length=1)
    password: SecretStr
    entity_set: str | None = Field(None, description="Default entity set for exports, e.g. EmissionRecords.")
    external_ref_field: str = Field("ExternalReference",
                                    description="The property that holds datacollect's reference of a record.")

    @model_validator(mode="after")
    def _check(self) -> SapSettings:
        self.service_path = "/" + self.service_path.strip().strip("/")
        return self


class NetSuiteSettings(_Tls):
    account_id: str = Field(min_length=1, description="The account id, e.g. 1234567 or 1234567_SB1.")
    base_url: Url | None = Field(None, description="Defaults to https://<account>.suitetalk.api.netsuite.com.")
    consumer_key: str = Field(min_length=1)
    consumer_secret: SecretStr
    token_id: str = Field(min_length=1)
    token_secret: SecretStr
    record_type: str | None = Field(None, description="Default record type for exports, e.g. customrecord_co2.")

    @property
    def rest_url(self) -> str:
        host = self.account_id.strip().lower().replace("_", "-")
        return self.base_url or f"https://{host}.suitetalk.api.netsuite.com"


class OracleSettings(_Tls):
    base_url: Url = Field(description="The Fusion pod, e.g. https://abcd.fa.us2.oraclecloud.com.")
    api_version: str = Field("11.13.18.05", description="The REST API version in resource URLs.")
    username: str = Field(min_length=1)
    password: SecretStr
    resource: str | None = Field(None, description="Default resource for exports, e.g. suppliers.")
    external_ref_field: str | None = Field(None, description="The attribute that holds datacollect's reference.")


SETTINGS: dict[str, type[_Kind]] = {
    "smtp": SmtpSettings, "imap": ImapSettings, "http": HttpSettings, "database": DatabaseSettings,
    "s3": S3Settings, "sap": SapSettings, "netsuite": NetSuiteSettings, "oracle": OracleSettings,
}


def secret_fields(kind: str) -> tuple[str, ...]:
    model = SETTINGS[kind]
    return tuple(n for n, f in model.model_fields.items()
                 if f.annotation is SecretStr or "SecretStr" in str(f.annotation))


def _validate(kind: str, values: dict[str, Any]) -> _Kind:
    try:
        return SETTINGS[kind].model_validate(values)
    except ValidationError as exc:
        details = [{"field": ".".join(str(p) for p in e["loc"]) or None,
                    "message": e["msg"].removeprefix("Value error, ")} for e in exc.errors(include_url=False)]
        first = details[0]
        raise InvalidInput(f"The {kind} connection is not valid: "
                           f"{first['field'] + ': ' if first['field'] else ''}{first['message']}",
                           details=details) from None


def _split(kind: str, model: _Kind) -> tuple[dict[str, Any], dict[str, str]]:
    secrets = set(secret_fields(kind))
    public: dict[str, Any] = {}
    hidden: dict[str, str] = {}
    for name in type(model).model_fields:
        value = getattr(model, name)
        if name in secrets:
            if value is not None:
                hidden[name] = value.get_secret_value()
        else:
            public[name] = value
    if kind == "database" and "url" in hidden:
        from datacollect.integrations.sqldb import mask_url

        public["display_url"] = mask_url(hidden["url"])
    return public, hidden


# --------------------------------------------------------------------------- resolved
@dataclass
class Resolved:
    """A connection with its secrets, for the code that uses it. Its repr hides the secrets."""

    id: str
    name: str
    kind: str
    values: dict[str, Any] = field(repr=False)

    def settings(self) -> Any:
        """The typed settings (secrets as ``SecretStr``)."""
        return SETTINGS[self.kind].model_validate(self.values)

    def secrets(self) -> list[str]:
        """The secret values (to keep them out of messages)."""
        return [str(self.values[n]) for n in secret_fields(self.kind) if self.values.get(n)]


# ---------------------------------------------------------------------------- services
def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.strip().lower()).strip("-")[:80]
    return s or uuid.uuid4().hex[:12]


def public_view(conn: Connection) -> dict[str, Any]:
    secrets = set(secret_fields(conn.kind)) if conn.kind in SETTINGS else set()
    stored = set((conn.config or {}).get("_secrets_set", []))
    return {"id": conn.id, "name": conn.name, "kind": conn.kind,
            "config": {k: v for k, v in (conn.config or {}).items() if not k.startswith("_")},
            "secrets": {n: n in stored for n in sorted(secrets)},
            "created_at": conn.created_at, "updated_at": conn.updated_at, "created_by": conn.created_by,
            "last_test": conn.last_test}


def create_connection(session: Session, box: SecretBox, data: dict[str, Any], actor: str) -> Connection:
    kind = data.get("kind")
    if kind not in SETTINGS:
        raise InvalidInput(f"'{kind}' is not a connection kind; kinds are {', '.join(KINDS)}")
    name = str(data.get("name") or "").strip()
    if not name:
        raise InvalidInput("A connection needs a name")
    cid = str(data.get("id") or _slug(name))
    if not _ID.match(cid):
        raise InvalidInput(f"'{cid}' is not a valid connection id: use lower-case letters, digits, - and _")
    if session.get(Connection, cid) is not None:
        raise Conflict(f"A connection with the id '{cid}' exists already")
    model = _validate(kind, dict(data.get("config") or {}))
    public, hidden = _split(kind, model)
    public["_secrets_set"] = sorted(hidden)
    now = _now()
    conn = Connection(id=cid, name=name, kind=kind, config=public, secret=box.encrypt(hidden) if hidden else None,
                      created_at=now, updated_at=now, created_by=actor)
    session.add(conn)
    session.flush()
    audit.record(session, actor, "connection.create", "connection", cid, after=public_view(conn)["config"])
    return conn


def get_connection(session: Session, connection_id: str) -> Connection:
    conn = session.get(Connection, connection_id)
    if conn is None:
        raise NotFound(f"There is no connection '{connection_id}'")
    return conn


def list_connections(session: Session, kind: str | None = None) -> list[Connection]:
    q = select(Connection).order_by(Connection.name)
    if kind:
        q = q.where(Connection.kind == kind)
    return list(session.scalars(q))


def update_connection(session: Session, box: SecretBox, connection_id: str, data: dict[str, Any],
                      actor: str) -> Connection:
    """Change the name and/or fields. Secret fields left out keep their stored value; a secret
    set to null is removed."""
    conn = get_connection(session, connection_id)
    before = public_view(conn)["config"]
    current = {k: v for k, v in (conn.config or {}).items() if not k.startswith("_") and k != "display_url"}
    current.update(box.decrypt(conn.secret) if conn.secret else {})
    current.update(dict(data.get("config") or {}))
    model = _validate(conn.kind, current)
    public, hidden = _split(conn.kind, model)
    public["_secrets_set"] = sorted(hidden)
    if data.get("name"):
        conn.name = str(data["name"]).strip()
    conn.config = public
    conn.secret = box.encrypt(hidden) if hidden else None
    conn.updated_at = _now()
    conn.last_test = None
    changed = sorted(k for k in (data.get("config") or {}) if k in secret_fields(conn.kind))
    audit.record(session, actor, "connection.update", "connection", conn.id, before=before,
                 after={**public_view(conn)["config"], **({"secrets_changed": changed} if changed else {})})
    return conn


def delete_connection(session: Session, connection_id: str, actor: str) -> None:
    conn = get_connection(session, connection_id)
    audit.record(session, actor, "connection.delete", "connection", conn.id, before=public_view(conn)["config"])
    session.delete(conn)


def resolve(session: Session, box: SecretBox, connection_id: str) -> Resolved:
    conn = get_connection(session, connection_id)
    return _resolved(conn, box)


def _resolved(conn: Connection, box: SecretBox) -> Resolved:
    values = {k: v for k, v in (conn.config or {}).items() if not k.startswith("_") and k != "display_url"}
    if conn.secret:
        values.update(box.decrypt(conn.secret))
    return Resolved(conn.id, conn.name, conn.kind, values)


def record_test(session: Session, connection_id: str, result: dict[str, Any]) -> None:
    conn = session.get(Connection, connection_id)
    if conn is not None:
        conn.last_test = result


def rotate_secrets(session: Session, box: SecretBox) -> int:
    """Encrypt every stored secret again under the first key; answers how many changed."""
    from datacollect.db.integrations_models import WebhookSubscription

    n = 0
    for conn in session.scalars(select(Connection).where(Connection.secret.is_not(None))):
        if not box.is_current(conn.secret):  # type: ignore[arg-type]
            conn.secret = box.rotate(conn.secret)  # type: ignore[arg-type]
            n += 1
    for sub in session.scalars(select(WebhookSubscription)):
        if not box.is_current(sub.secret):
            sub.secret = box.rotate(sub.secret)
            n += 1
    return n


def count_by_kind(session: Session) -> dict[str, int]:
    return dict(session.execute(select(Connection.kind, func.count()).group_by(Connection.kind)).all())  # type: ignore[arg-type]


# ----------------------------------------------------------------- the nodes' service
class ConnectionStore:
    """``ctx.services.connections``: the connections nodes use, decrypted on demand."""

    def __init__(self, db: Any, box: SecretBox) -> None:
        self.db = db
        self.box = box

    def get(self, connection_id: str, kind: str | tuple[str, ...] | None = None) -> Resolved:
        kinds = (kind,) if isinstance(kind, str) else kind
        with self.db.session() as s:
            conn = s.get(Connection, connection_id)
            if conn is None:
                raise NodeError(f"There is no connection '{connection_id}'. Create it under Connections, or "
                                "choose another one.")
            if kinds and conn.kind not in kinds:
                raise NodeError(f"The connection '{connection_id}' is a {conn.kind} connection; this step "
                                f"needs a {' or '.join(kinds)} connection.")
            return _resolved(conn, self.box)

    def only(self, kind: str) -> Resolved:
        """The one connection of ``kind`` (for a node that names none)."""
        with self.db.session() as s:
            rows = list(s.scalars(select(Connection).where(Connection.kind == kind).limit(2)))
            if not rows:
                raise NodeError(f"This step names no connection and there is no {kind} connection. Create one "
                                "under Connections and name it in the step's 'connection'.")
            if len(rows) > 1:
                raise NodeError(f"This step names no connection and there are several {kind} connections; "
                                "name the one to use in the step's 'connection'.")
            return _resolved(rows[0], self.box)

    def database_url(self, connection_id: str) -> str | None:
        """For DatabaseWrite (``services.extra["connections"]``): the URL of a database connection."""
        try:
            conn = self.get(connection_id, "database")
        except NodeError:
            return None
        return str(conn.values.get("url") or "") or None


__all__ = ["KINDS", "SETTINGS", "ConnectionStore", "Resolved", "create_connection", "delete_connection",
           "get_connection", "list_connections", "public_view", "record_test", "resolve", "rotate_secrets",
           "secret_fields", "update_connection"]
