"""Settings: every ``DATACOLLECT_*`` environment variable, with defaults for the embedded
shape (SQLite and local files in ``./data``, one process).

Moving to the distributed shape changes URLs only::

    DATACOLLECT_DATABASE_URL=postgresql+psycopg://user@db/datacollect
    DATACOLLECT_REDIS_URL=redis://redis:6379/0
"""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_DEV_SECRET = "datacollect-development-secret-change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DATACOLLECT_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = Field(
        "development", description="In production the platform refuses to start with a default secret.")
    data_dir: Path = Field(Path("./data"), description="Folder for the SQLite file, files and blobs.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/datacollect.db.")
    redis_url: str | None = Field(None, description="Redis URL for the distributed shape (Celery broker).")
    host: str = Field("127.0.0.1", description="Address `datacollect up` listens on.")
    port: int = Field(8000, description="Port `datacollect up` listens on.")
    public_url: str | None = Field(None, description="Base URL used in links sent to people.")
    secret_key: str = Field(_DEV_SECRET, description="Signs access tokens; set a long random value.")
    access_token_minutes: int = Field(60 * 12, description="Lifetime of a login token.")
    admin_email: str | None = Field(None, description="First admin created at first start.")
    admin_password: str | None = Field(None, description="Password of that first admin.")
    max_body_bytes: int = Field(10 * 1024 * 1024, description="Largest request body accepted.")
    workers: int = Field(64, description="Activations run at once by the embedded worker pool.")
    lease_seconds: int = Field(300, description="How long a worker holds an activation before another may take it.")
    scheduler: bool = Field(True, description="Run the scheduler (cron, timers, reconciler) inside `up`.")
    scheduler_interval: float = Field(0.25, description="Seconds between scheduler ticks.")
    webhook_wait_timeout: float = Field(30.0, description="Longest a webhook caller waits for its run.")
    log_json: bool = Field(False, description="Write logs as JSON lines (with run, node and trace ids).")
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")
    metrics_token: str | None = Field(
        None, description="A bearer token Prometheus may scrape /metrics with (signed-in admins and API keys "
                          "with the admin role may always read it).")
    metrics_port: int | None = Field(
        None, description="`datacollect worker` and `scheduler` serve their metrics on this port (/metrics).")
    otel_endpoint: str | None = Field(
        None, description="OTLP/HTTP traces endpoint (http://collector:4318/v1/traces); tracing is off without "
                          "it (OTEL_EXPORTER_OTLP_ENDPOINT works too).")

    # -- distributed shape (`datacollect api`, `worker`, `scheduler`) --------------------------
    executor: Literal["inline", "celery"] = Field(
        "inline", description="Where activations run: inline (in this process, the embedded shape) or celery "
                              "(sent through DATACOLLECT_REDIS_URL to `datacollect worker` processes). Set by the "
                              "command: `up` runs inline; `api`, `worker` and `scheduler` use celery.")
    worker_concurrency: int | None = Field(
        None, description="Processes of one `datacollect worker`, each running one activation at a time; "
                          "default: one per CPU core.")
    worker_queues: str = Field(
        "default,slow", description="Comma-separated queues a `datacollect worker` takes activations from. "
                                    "Start workers with `slow` alone to give slow nodes their own workers.")
    worker_prefetch: int = Field(
        4, description="Messages each worker process reserves ahead of the one it runs (Celery's prefetch "
                       "multiplier). 1 spreads long activations best; more suits many short ones.")
    node_queues: dict[str, str] = Field(
        {"APICall": "slow", "ERPExport": "slow", "SendEmail": "slow"},
        description="Queue of each node type that does not belong on `default`, as JSON "
                    '({"APICall": "slow"}). A worker that does not take a node\'s queue hands it over.')
    visibility_timeout: int = Field(
        3600, description="Seconds Redis waits for a worker to acknowledge a message before giving it to another "
                          "worker. Keep it above the longest node; a redelivered message whose activation is "
                          "still running does nothing.")
    concurrency_limits: dict[str, int] = Field(
        {}, description="Limits shared by every worker, as JSON: parallel activations of a node type "
                        '("node:ERPExport": 5) or of one stored connection ("connection:sap-prod": 5). A '
                        "workflow's settings.max_parallel_runs limits its parallel runs.")
    reconcile_after: float = Field(
        30.0, description="Seconds a ready activation may wait for a worker before the scheduler sends it again "
                          "(a message lost with a restarted Redis, or never sent).")

    # -- mail (SMTP) and other deliveries ------------------------------------------------------
    smtp_host: str | None = Field(
        None, description="SMTP server that sends form links, reminders and SendEmail mails. Unset: mails "
                          "are written as .eml files to <data_dir>/outbox instead of being sent.")
    smtp_port: int = Field(587, description="SMTP port (587 with STARTTLS, 465 with TLS, 25 plain).")
    smtp_username: str | None = Field(None, description="SMTP login, if the server asks for one.")
    smtp_password: str | None = Field(None, description="SMTP password.")
    smtp_from: str = Field("datacollect <noreply@localhost>", description="Sender of every mail (From:).")
    smtp_security: Literal["starttls", "tls", "none"] = Field(
        "starttls", description="starttls: upgrade a plain connection when the server offers it; tls: "
                                "TLS from the start (port 465); none: never encrypt (a local relay).")
    smtp_timeout: float = Field(30.0, description="Seconds to wait for the SMTP server.")
    sms_provider: str = Field("log", description="SMS adapter for form links by SMS: 'log' writes them to the "
                                                 "log (no provider configured).")

    # -- files ---------------------------------------------------------------------------------
    blob_url: str | None = Field(
        None, description="Where uploaded files go: a folder (default <data_dir>/blobs) or s3://bucket/prefix "
                          "for any S3-compatible store.")
    s3_endpoint_url: str | None = Field(None, description="S3 endpoint for a store other than AWS "
                                                          "(MinIO, Ceph...), e.g. http://minio:9000.")
    s3_access_key_id: str | None = Field(None, description="S3 access key (else the usual AWS chain).")
    s3_secret_access_key: str | None = Field(None, description="S3 secret key.")
    s3_region: str | None = Field(None, description="S3 region, e.g. eu-central-1.")

    # -- forms ---------------------------------------------------------------------------------
    form_link_days: int = Field(90, description="Lifetime of a personal form link when its campaign has no "
                                                "deadline, in days.")
    form_grace_hours: float = Field(0.0, description="How long after a campaign's deadline its links still "
                                                     "take answers, in hours.")
    response_retention_days: float | None = Field(
        None, description="Days a form response (with its files, review values and run data) is kept before it is "
                          "erased; unset keeps responses. A form's own settings.retention_days wins over it.")
    run_data_blob_bytes: int = Field(
        256 * 1024, ge=0, description="A node's input, output or state larger than this (bytes of JSON) is kept in the "
                                      "blob store, its run's row holding a reference; 0 keeps all run data in the "
                                      "database.")
    run_data_days: float | None = Field(
        30, description="Days after a run finished before its nodes' inputs and outputs are removed (its "
                        "summary stays); a workflow's settings.retention.run_data_days wins. Unset: kept.")
    run_keep_days: float | None = Field(
        None, description="Days after which finished runs are deleted; a workflow's settings.retention.keep_days "
                          "wins. Unset: kept.")
    run_keep_count: int | None = Field(
        None, description="Finished runs kept per workflow, newest first; a workflow's "
                          "settings.retention.keep_count wins. Unset: all.")
    retention_interval: float = Field(3600.0, description="Seconds between two retention sweeps of the scheduler.")

    # -- integrations (connections, email triggers, outgoing webhooks) -------------------------
    secrets_key: str | None = Field(
        None, description="Encrypts stored credentials (connections, webhook secrets) at rest: a Fernet key "
                          "(`datacollect connections rotate-key --generate` prints one), or several comma "
                          "separated: the first encrypts, all decrypt (key rotation). Required in production.")
    email_triggers: bool = Field(True, description="Poll the mailboxes of active EmailTrigger workflows in the "
                                                   "process that runs the scheduler.")
    webhooks_max_attempts: int = Field(8, description="Attempts to deliver one outgoing webhook event before it "
                                                      "is marked failed (backoff doubles from 5 s, up to 1 h).")
    webhooks_timeout: float = Field(10.0, description="Seconds an outgoing webhook receiver has to answer.")

    @model_validator(mode="after")
    def _refuse_default_secrets_key(self) -> Settings:
        if self.env == "production" and not (self.secrets_key or "").strip():
            raise ValueError("DATACOLLECT_SECRETS_KEY must be set in production: it encrypts stored credentials "
                             "(`datacollect connections rotate-key --generate` prints a key)")
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.env == "production" and (self.secret_key == _DEV_SECRET or len(self.secret_key) < 32):
            raise ValueError("DATACOLLECT_SECRET_KEY must be set to a random value of at least 32 "
                             "characters in production (e.g. `python -c 'import secrets;print(secrets.token_urlsafe(48))'`)")
        return self

    @property
    def db_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url[len("postgresql://"):]
            return url
        return f"sqlite:///{(self.data_dir / 'datacollect.db').resolve()}"

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)
