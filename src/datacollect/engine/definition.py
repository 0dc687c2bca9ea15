"""Workflow definitions (DESIGN §3): the JSON model, and the checks a save runs.

``check_definition`` answers *every* problem at once, each with the node id (or ``None``),
the field, and a message a non-programmer understands. ``compile_workflow`` turns a checked
definition into what the runner uses: node instances (config parsed once), edge maps, and
the ancestors of each node.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError, field_validator

from datacollect.engine.expressions import check_template, compile_expression
from datacollect.errors import DefinitionError, ExpressionError
from datacollect.nodes.base import Node
from datacollect.nodes.registry import NodeRegistry

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
NODE_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")


class RetryPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_attempts: int = Field(3, ge=1, le=100, description="Attempts in all, the first included.")
    backoff_seconds: float = Field(1.0, ge=0, le=86400, description="Wait before the second attempt.")
    backoff_factor: float = Field(2.0, ge=1, le=10, description="Each wait is this many times the last.")
    max_backoff_seconds: float = Field(300.0, ge=0, description="Longest wait between attempts.")
    jitter: bool = Field(True, description="Spread waits randomly so retries do not arrive together.")
    retry_on: Literal["all", "retryable"] = Field(
        "all", description="'retryable': only timeouts, rate limits and server errors.")


class Position(BaseModel):
    x: float = 0
    y: float = 0


class NodeDef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    type: str
    name: str | None = None
    version: int | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    position: Position | None = None
    retry: RetryPolicy | None = None
    on_error: Literal["fail", "continue", "route"] = "fail"
    disabled: bool = False
    notes: str | None = None


class EdgeDef(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    source: str = Field(validation_alias=AliasChoices("from", "source"), serialization_alias="from")
    target: str = Field(validation_alias=AliasChoices("to", "target"), serialization_alias="to")
    condition: str | None = Field(None, validation_alias=AliasChoices("condition", "port"))

    @property
    def port(self) -> str:
        return self.condition or "main"


class WorkflowDef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str = ""
    description: str = ""
    active: bool = True
    settings: dict[str, Any] = Field(default_factory=dict)
    vars: dict[str, Any] = Field(default_factory=dict)
    nodes: list[NodeDef] = Field(default_factory=list)
    edges: list[EdgeDef] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        return v.strip()

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


def _problem(node_id: str | None, message: str, field: str | None = None) -> dict[str, Any]:
    return {"node_id": node_id, "field": field, "message": message}


def _pydantic_problems(node_id: str | None, exc: ValidationError, prefix: str) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        path = f"{prefix}.{loc}" if loc else prefix
        msg = err["msg"]
        if err["type"] == "missing":
            msg = f"'{loc}' is required"
        elif err["type"] == "extra_forbidden":
            msg = f"'{loc}' is not a setting of this node"
        elif loc:
            msg = f"'{loc}': {msg}"
        out.append(_problem(node_id, msg, path))
    return out


def parse_definition(data: Any) -> WorkflowDef:
    """Parse raw JSON into a WorkflowDef, or raise DefinitionError with every shape problem."""
    if not isinstance(data, dict):
        raise DefinitionError([_problem(None, "A workflow must be a JSON object with nodes and edges")])
    try:
        return WorkflowDef.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err["loc"]
            node_id = None
            if len(loc) >= 2 and loc[0] == "nodes" and isinstance(loc[1], int):
                nodes = data.get("nodes") or []
                if loc[1] < len(nodes) and isinstance(nodes[loc[1]], dict):
                    node_id = nodes[loc[1]].get("id")
            path = ".".join(str(p) for p in loc)
            msg = err["msg"]
            if err["type"] == "missing":
                msg = f"'{loc[-1]}' is required"
            elif err["type"] == "extra_forbidden":
                msg = f"'{loc[-1]}' is not a known field"
            else:
                msg = f"'{path}': {msg}"
            problems.append(_problem(node_id, msg, path))
        raise DefinitionError(problems) from None


def check_definition(defn: WorkflowDef, registry: NodeRegistry) -> list[dict[str, Any]]:
    """Every problem of a parsed definition, or an empty list."""
    problems: list[dict[str, Any]] = []
    if not SLUG.match(defn.id or ""):
        problems.append(_problem(None, "The workflow id must be 1-100 letters, digits, '-', '_' or '.', "
                                       "starting with a letter or digit", "id"))
    ids: set[str] = set()
    node_cls: dict[str, type[Node]] = {}
    for n in defn.nodes:
        if n.id in ids:
            problems.append(_problem(n.id, f"Two nodes have the id '{n.id}'; ids must be unique", "id"))
        ids.add(n.id)
        if not NODE_ID.match(n.id):
            problems.append(_problem(n.id, "A node id must start with a letter and hold only letters, "
                                           "digits and '_' (it is used in expressions)", "id"))
        if n.id in RESERVED_NAMES:
            problems.append(_problem(n.id, f"'{n.id}' is a reserved name in expressions; choose another id", "id"))
        cls = registry.get(n.type, n.version)
        if cls is None:
            known = ", ".join(registry.types())
            where = f" version {n.version}" if n.version and registry.get(n.type) else ""
            problems.append(_problem(n.id, f"Unknown node type '{n.type}'{where}. Known types: {known}", "type"))
            continue
        node_cls[n.id] = cls
        try:
            cfg = cls.Config.model_validate(n.config)
        except ValidationError as exc:
            problems += _pydantic_problems(n.id, exc, "config")
            continue
        for path, reason in check_template(n.config):
            problems.append(_problem(n.id, f"Expression does not parse: {reason}", f"config.{path}"))
        for path, expr in _expression_fields(cls, cfg):
            try:
                compile_expression(expr)
            except ExpressionError as exc:
                problems.append(_problem(n.id, exc.message, f"config.{path}"))
        try:
            for msg in cls(cfg, n.id).check():
                problems.append(_problem(n.id, msg, "config"))
        except Exception as exc:  # a node's own check must not break the save
            problems.append(_problem(n.id, f"Configuration could not be checked: {exc}", "config"))
        if n.on_error == "route" and "error" not in cls.ports:
            pass  # every node gets an error port when on_error is route

    by_id = {n.id: n for n in defn.nodes}
    out_edges: dict[str, list[str]] = defaultdict(list)
    indeg: dict[str, int] = {n.id: 0 for n in defn.nodes}
    seen_edges: set[tuple[str, str, str]] = set()
    for i, e in enumerate(defn.edges):
        bad = False
        for end, nid in (("from", e.source), ("to", e.target)):
            if nid not in by_id:
                problems.append(_problem(None, f"Edge {i + 1} goes {end} '{nid}', which is not a node", f"edges[{i}].{end}"))
                bad = True
        if bad:
            continue
        key = (e.source, e.target, e.port)
        if key in seen_edges:
            problems.append(_problem(e.source, f"The edge from '{e.source}' to '{e.target}' is there twice", f"edges[{i}]"))
        seen_edges.add(key)
        src = node_cls.get(e.source)
        if src is not None:
            ports = set(src.ports)
            if by_id[e.source].on_error == "route":
                ports.add("error")
            if e.port not in ports:
                hint = "" if by_id[e.source].on_error == "route" or e.port != "error" else \
                    " (set its on_error to 'route' to use the error port)"
                problems.append(_problem(e.source, f"'{e.source}' has no output '{e.port}'; its outputs are "
                                                   f"{', '.join(sorted(ports))}{hint}", f"edges[{i}].condition"))
        tgt = node_cls.get(e.target)
        if tgt is not None and not tgt.inputs:
            problems.append(_problem(e.target, f"'{e.target}' is a trigger and takes no input", f"edges[{i}].to"))
        if e.source == e.target:
            problems.append(_problem(e.source, f"'{e.source}' is connected to itself", f"edges[{i}]"))
            continue
        out_edges[e.source].append(e.target)
        indeg[e.target] += 1

    triggers = [n.id for n in defn.nodes if n.id in node_cls and node_cls[n.id].is_trigger]
    if defn.nodes and not triggers and node_cls:
        problems.append(_problem(None, "The workflow has no trigger: add one (ManualTrigger, WebhookTrigger, "
                                       "ScheduleTrigger, FormTrigger...) to say what starts it", "nodes"))
    if not defn.nodes:
        problems.append(_problem(None, "The workflow has no nodes", "nodes"))

    # cycles (Kahn): whatever is left has a cycle through it
    deg = dict(indeg)
    queue = deque(n for n, d in deg.items() if d == 0)
    done = 0
    while queue:
        n = queue.popleft()
        done += 1
        for m in out_edges[n]:
            deg[m] -= 1
            if deg[m] == 0:
                queue.append(m)
    if done < len(deg):
        in_cycle = sorted(n for n, d in deg.items() if d > 0)
        problems.append(_problem(in_cycle[0], "The workflow has a cycle through " + " → ".join(in_cycle)
                                 + "; to repeat work use a Loop node", "edges"))
    elif triggers:
        reach: set[str] = set()
        stack = list(triggers)
        while stack:
            n = stack.pop()
            if n in reach:
                continue
            reach.add(n)
            stack.extend(out_edges[n])
        for n in defn.nodes:
            if n.id not in reach and n.id in node_cls:
                problems.append(_problem(n.id, f"'{n.id}' cannot be reached from any trigger; connect it or remove it"))
    problems += _check_settings(defn.settings)
    return problems


RESERVED_NAMES = {"item", "trigger", "vars", "run", "database", "now", "today", "loop", "self", "items",
                  "true", "false", "none", "True", "False", "None", "answers"}


def _expression_fields(cls: type[Node], cfg: Any) -> list[tuple[str, str]]:
    """(path, source) of every Config field declared as a bare Expression."""
    out: list[tuple[str, str]] = []
    schema = cls.Config.model_json_schema()
    for name, prop in schema.get("properties", {}).items():
        if prop.get("format") == "expression":
            value = getattr(cfg, name, None)
            if isinstance(value, str) and value.strip():
                out.append((name, value))
    return out


#: a workflow's own retention of its runs (``settings.retention``), in days or runs
RETENTION_KEYS = ("run_data_days", "keep_days", "keep_count")


def _check_settings(settings: dict[str, Any]) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    limit = settings.get("max_parallel_runs")
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        problems.append(_problem(None, "max_parallel_runs must be a whole number of at least 1",
                                 "settings.max_parallel_runs"))
    retention = settings.get("retention")
    if retention is None:
        return problems
    if not isinstance(retention, dict):
        return [*problems, _problem(None, "retention must be an object such as {\"keep_days\": 90}",
                                    "settings.retention")]
    for key, value in retention.items():
        if key not in RETENTION_KEYS:
            problems.append(_problem(None, f"Unknown retention setting '{key}'; use {', '.join(RETENTION_KEYS)}",
                                     f"settings.retention.{key}"))
        elif value is not None and (not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0):
            problems.append(_problem(None, f"{key} must be a number above 0 (or null to keep the default)",
                                     f"settings.retention.{key}"))
    return problems


def validate_definition(data: Any, registry: NodeRegistry) -> WorkflowDef:
    defn = parse_definition(data)
    problems = check_definition(defn, registry)
    if problems:
        raise DefinitionError(problems)
    return defn


# -- compiled form used by the runner -----------------------------------------------------
@dataclass
class CompiledNode:
    id: str
    type: str
    definition: NodeDef
    cls: type[Node]
    node: Node
    incoming: list[EdgeDef] = field(default_factory=list)
    outgoing: list[EdgeDef] = field(default_factory=list)
    ancestors: frozenset[str] = frozenset()
    descendants: frozenset[str] = frozenset()
    #: ancestors that can open lanes (nodes that wait, or have lane ports), for gathering nodes
    lane_openers: frozenset[str] = frozenset()


@dataclass
class CompiledWorkflow:
    workflow_id: str
    version_id: int
    version: int
    definition: WorkflowDef
    nodes: dict[str, CompiledNode]
    triggers: list[str]

    def trigger_for(self, node_id: str | None) -> str:
        if node_id:
            if node_id not in self.triggers:
                from datacollect.errors import InvalidInput

                what = "a trigger" if node_id in self.nodes else "a node"
                raise InvalidInput(f"'{node_id}' is not {what} of this workflow; its triggers are "
                                   + ", ".join(self.triggers))
            return node_id
        return self.triggers[0]


def compile_workflow(defn: WorkflowDef, registry: NodeRegistry, version_id: int = 0,
                     version: int = 0) -> CompiledWorkflow:
    nodes: dict[str, CompiledNode] = {}
    for n in defn.nodes:
        cls = registry.get(n.type, n.version)
        if cls is None:
            raise DefinitionError([_problem(n.id, f"Unknown node type '{n.type}'")])
        cfg = cls.Config.model_validate(n.config)
        nodes[n.id] = CompiledNode(id=n.id, type=n.type, definition=n, cls=cls, node=cls(cfg, n.id))
    for e in defn.edges:
        nodes[e.source].outgoing.append(e)
        nodes[e.target].incoming.append(e)

    def walk(start: str, attr: str) -> frozenset[str]:
        seen: set[str] = set()
        stack = [start]
        while stack:
            cur = nodes[stack.pop()]
            for e in getattr(cur, attr):
                nxt = e.source if attr == "incoming" else e.target
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return frozenset(seen)

    for cn in nodes.values():
        cn.ancestors = walk(cn.id, "incoming")
        cn.descendants = walk(cn.id, "outgoing")
        cn.lane_openers = frozenset(a for a in cn.ancestors if nodes[a].cls.waits or nodes[a].cls.lane_ports)
    triggers = [n.id for n in defn.nodes if nodes[n.id].cls.is_trigger]
    return CompiledWorkflow(defn.id, version_id, version, defn, nodes, triggers)
