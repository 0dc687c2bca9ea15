"""DTOs of the API (``XCreate / XUpdate / XRead``); lists are ``{"data": [...], "count": n}``."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    data: list[T]
    count: int


class Problem(BaseModel):
    node_id: str | None = None
    field: str | None = None
    message: str


class ProblemsRead(BaseModel):
    problems: list[Problem]


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    email: str
    name: str
    role: str
    active: bool = True
    created_at: datetime | None = None
    last_login_at: datetime | None = None


class UserCreate(BaseModel):
    email: str
    password: str
    role: Literal["admin", "builder", "reviewer", "viewer"] = "viewer"
    name: str = ""


class UserUpdate(BaseModel):
    role: Literal["admin", "builder", "reviewer", "viewer"] | None = None
    active: bool | None = None
    name: str | None = None
    password: str | None = None


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: UserRead


class ApiKeyCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Literal["admin", "builder", "reviewer", "viewer"] | None = None


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    name: str
    prefix: str
    role: str
    user_id: str = Field(description="Whose key it is: it acts as this user, with at most their role.")
    owner: str | None = Field(None, description="The owner's email.")
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The key itself; it is shown this once and never again.")


class RunSummary(BaseModel):
    id: str
    workflow_id: str
    workflow_name: str | None = None
    version: int
    status: str
    mode: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    error: Any = None
    retries: int = 0
    parent_run_id: str | None = None
    data_pruned_at: datetime | None = Field(
        None, description="When the retention policy removed this run's node data (its summary stays)")


class LastRun(BaseModel):
    id: str
    status: str
    started_at: datetime | None = None


class WorkflowSummary(BaseModel):
    id: str
    name: str
    description: str
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime
    last_run: LastRun | None = None


class WorkflowRead(WorkflowSummary):
    definition: dict[str, Any]


class VersionRead(BaseModel):
    version: int
    created_at: datetime
    created_by: str | None = None
    message: str | None = None


class VersionDetail(VersionRead):
    definition: dict[str, Any]


class ActivationRead(BaseModel):
    id: str
    node_id: str
    lane: str
    status: str
    attempts: int
    input: Any = None
    output: Any = None
    input_total: int | None = Field(None, description="How many input items there are, when the answer holds only "
                                                      "the first ones (see GET .../activations/{id}/items)")
    output_totals: dict[str, int] | None = Field(None, description="The same per output port that was cut")
    error: Any = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_ms: float | None = None
    item_count: int = 0
    wake_at: datetime | None = None
    wait_for: str | None = None


class RunRead(RunSummary):
    trigger: Any = None
    trigger_node: str | None = None
    definition: dict[str, Any] | None = None
    activations: list[ActivationRead] = []
    output: Any = None


class RunCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    data: Any = Field(default_factory=dict, description="Trigger data: an object, or a list of items.")
    wait: bool = Field(True, description="Answer when the run ends or waits (up to a timeout).")
    test: bool = Field(False, description="A test run from the editor (kept apart in the run list).")
    pinned: dict[str, list[dict[str, Any]]] | None = Field(
        None, description="Output to use instead of running these nodes (node id -> items).")
    only_node: str | None = Field(None, description="Run only this node (with pinned input or data).")
    trigger_node: str | None = None
    version: int | None = None


class RetryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_node: str | None = None


class NodeTypeRead(BaseModel):
    type: str
    version: int
    category: str
    description: str
    icon: str
    ports: list[str]
    inputs: bool
    is_trigger: bool
    side_effects: bool
    waits: bool


class MappingWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    definition: dict[str, Any]


class MappingRead(MappingWrite):
    name: str
    updated_at: datetime


class DataSourceWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    rows: list[dict[str, Any]]


class DataSourceRead(DataSourceWrite):
    name: str
    updated_at: datetime


class AuditRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: datetime
    actor: str
    action: str
    entity_type: str
    entity_id: str
    before: Any = None
    after: Any = None
    reason: str | None = None


class ExampleRead(BaseModel):
    id: str
    name: str
    description: str
    definition: dict[str, Any]
