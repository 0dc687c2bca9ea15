"""DTOs of the forms, campaigns, responses and public form APIs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class FormSummary(BaseModel):
    name: str
    title: str
    key: str = Field(description="The newest version's key, e.g. supplier_emissions_v2")
    versions: int
    created_at: datetime
    updated_at: datetime


class FormVersionRead(BaseModel):
    key: str
    name: str
    version: str
    title: str
    created_at: datetime
    created_by: str | None = None


class FormRead(FormVersionRead):
    schema_: dict[str, Any] = Field(alias="schema", serialization_alias="schema")
    model_config = ConfigDict(populate_by_name=True)


class SendCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipients: list[dict[str, Any] | str] | None = Field(
        None, description="The recipients: email addresses, or objects with email (or phone) and any other "
                          "fields (name, company...) that templates and prefill can use.")
    data_source: str | None = Field(None, description="Or the name of a data source whose rows are the recipients.")
    delivery: Literal["email", "sms", "portal"] = "email"
    deadline: datetime | None = None
    reminder_schedule: list[str | float] = Field(
        default_factory=list, description="Reminders after the invitation ('3d', '7d') or before the deadline "
                                          "('-1d').")
    escalation_owner: str | None = Field(None, description="Who is told, at the deadline, who has not answered.")
    prefill: dict[str, Any] | None = Field(
        None, description="Answers to start from, per field; templates see the recipient "
                          "({{ recipient.company }}).")
    prefill_last_response: bool = Field(False, description="Start from the recipient's last answers to this "
                                                           "form (any version).")
    name: str = ""
    subject: str | None = Field(None, description="Mail subject template.")
    message: str | None = Field(None, description="Mail text template ({{ link }} is the personal link).")
    html: str | None = Field(None, description="Mail HTML template (default: made from the text).")


class CampaignRead(BaseModel):
    id: str
    form_key: str
    name: str
    status: str
    delivery: str
    deadline: datetime | None = None
    reminders: list[float] = []
    escalation_owner: str | None = None
    escalated_at: datetime | None = None
    total: int
    created_at: datetime
    created_by: str | None = None
    origin: dict[str, Any] | None = None
    counts: dict[str, int] = {}
    answered: int = 0
    outstanding: list[dict[str, Any]] = []


class CampaignCreated(CampaignRead):
    links: list[dict[str, Any]] = Field(
        default_factory=list, description="Portal delivery only: each request's personal link, shown this once.")


class ResponseRead(BaseModel):
    id: str
    form_key: str
    form_name: str
    form_version: str
    campaign_id: str | None = None
    request_id: str | None = None
    recipient: dict[str, Any] = {}
    answers: dict[str, Any]
    status: str
    source: str
    run_id: str | None = None
    meta: dict[str, Any] = {}
    revision: int
    submitted_at: datetime
    updated_at: datetime


class ChangeRead(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    before: Any = None
    after: Any = None
    reason: str | None = None


class ResponseDetail(ResponseRead):
    changes: list[ChangeRead] = []


class ResponseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["submitted", "changes_requested", "approved", "rejected"] | None = None
    answers: dict[str, Any] | None = Field(None, description="Fields to change; the edit needs a reason.")
    reason: str | None = None
    comments: dict[str, str] | None = Field(None, description="With changes_requested: a message per field "
                                                              "for the respondent.")


# -- public form ----------------------------------------------------------------------------
class PublicForm(BaseModel):
    form: dict[str, Any] = Field(description="key, name, version, title, description, schema (the form JSON)")
    link: dict[str, Any] = Field(description="state, expires_at, deadline, opened_at, draft_saved_at, "
                                             "allow_drafts, can_delegate")
    recipient: dict[str, Any]
    answers: dict[str, Any] = Field(description="What to start from: the draft, else the answers under review "
                                                "(changes requested), else the prefill")
    answers_from: Literal["draft", "response", "prefill", "empty"]
    comments: dict[str, str] = Field(description="The reviewer's message per field, when changes were requested")
    upload_limits: dict[str, Any] = Field(description="Per file field (table columns as 'table.column'): "
                                                      "max_bytes, max_mb, accept, multiple, max_files")


class DraftWrite(BaseModel):
    answers: dict[str, Any]


class DraftSaved(BaseModel):
    saved_at: datetime
    state: str
    problems: list[dict[str, Any]] = Field(description="What would not pass yet (the draft is kept anyway)")


class SubmitWrite(BaseModel):
    answers: dict[str, Any]


class Submitted(BaseModel):
    response_id: str
    state: str
    submitted_at: datetime
    message: str


class FileRef(BaseModel):
    key: str
    name: str
    size: int
    content_type: str


class DelegateWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str
    name: str | None = None
    message: str | None = None


class Delegated(BaseModel):
    delegated_to: str
    state: str
    message: str
