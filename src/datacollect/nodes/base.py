"""The contract of a node type.

A node type is one module declaring one class::

    class Calculator(Node):
        type = "Calculator"
        category = "transform"
        description = "Compute a value from a formula and store it in a field."
        ports = ("main",)

        class Config(NodeConfig):
            formula: Expression
            output_field: str

        async def run(self, ctx: NodeContext, items: Items) -> Output | Suspend:
            return {"main": [{**it, self.config.output_field: ctx.evaluate(self.config.formula, it)}
                             for it in items]}

* ``Config`` is a pydantic model: its JSON Schema is the config panel in the web app
  (UI hints go in ``json_schema_extra``). Unknown keys are refused, so a typo is a save-time
  problem, not a silent default.
* ``run`` answers items per output port, or ``Suspend``; nodes that wait implement ``resume``.
* ``side_effects = True`` for nodes that write outside the engine (databases, APIs, mail):
  the runner commits everything before them, and they must use ``ctx.idempotency_key``
  so a retried activation never writes twice.
* A node instance is made once per workflow version and node, and reused for every run:
  keep per-run data in locals, never on ``self``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, WithJsonSchema

from datacollect.engine.expressions import NodeView, compile_expression, compile_template
from datacollect.engine.ports import Services
from datacollect.engine.types import Item, Items, Output, Suspend, WakeEvent
from datacollect.errors import NodeError

#: A bare expression (``validate_1.score > 0.8``), checked at save time.
Expression = Annotated[str, WithJsonSchema({"type": "string", "format": "expression"})]
#: A string that may hold ``{{ }}`` templates, checked at save time.
Template = Annotated[str, WithJsonSchema({"type": "string", "format": "template"})]


class NodeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NodeContext:
    """What a node sees while it runs: who it is, the expression scope, and the services."""

    __slots__ = ("run_id", "workflow_id", "node_id", "lane", "attempt", "scope", "services",
                 "test_mode", "logs", "version_id")

    def __init__(self, *, run_id: str, workflow_id: str, node_id: str, lane: str, attempt: int,
                 scope: dict[str, Any], services: Services, test_mode: bool = False,
                 version_id: int | None = None) -> None:
        self.run_id = run_id
        self.workflow_id = workflow_id
        self.version_id = version_id
        self.node_id = node_id
        self.lane = lane
        self.attempt = attempt
        self.scope = scope
        self.services = services
        self.test_mode = test_mode
        self.logs: list[str] = []

    @property
    def idempotency_key(self) -> str:
        """``run_id/node_id/lane``: the same for every attempt of this activation."""
        return f"{self.run_id}/{self.node_id}/{self.lane}"

    def item_key(self, index: int) -> str:
        """A per-item idempotency key (``run_id/node_id/lane/index``)."""
        return f"{self.idempotency_key}/{index}"

    def with_item(self, item: Item | None) -> dict[str, Any]:
        if item is None:
            return self.scope
        scope = dict(self.scope)
        scope["item"] = item
        return scope

    def evaluate(self, expression: str, item: Item | None = None) -> Any:
        """Evaluate a bare expression with ``item`` in scope."""
        return compile_expression(expression)(self.with_item(item))

    def render(self, value: Any, item: Item | None = None) -> Any:
        """Render templates in a JSON value (strings with ``{{ }}``, recursively)."""
        return compile_template(value)(self.with_item(item))

    def now(self) -> datetime:
        return datetime.now(UTC)

    def log(self, message: str) -> None:
        self.logs.append(message)


class Node:
    type: ClassVar[str]
    version: ClassVar[int] = 1
    category: ClassVar[str] = "transform"  # trigger | collection | transform | validate | logic | output
    description: ClassVar[str] = ""
    icon: ClassVar[str] = "box"
    ports: ClassVar[tuple[str, ...]] = ("main",)
    #: Ports whose items always go out in a lane of their own (one lane per answer).
    lane_ports: ClassVar[tuple[str, ...]] = ()
    #: Whether the node takes input. Triggers have no input port.
    inputs: ClassVar[bool] = True
    side_effects: ClassVar[bool] = False
    #: Whether the node may wait (implements ``resume``).
    waits: ClassVar[bool] = False
    #: Whether the node type starts runs.
    is_trigger: ClassVar[bool] = False

    Config: ClassVar[type[NodeConfig]] = NodeConfig

    def __init__(self, config: NodeConfig, node_id: str = "") -> None:
        self.config = config
        self.node_id = node_id

    #: True when the node gathers the items of every lane of the fork before it (set from its
    #: config, e.g. Aggregator's ``wait_for: all``): it then runs once, in the fork's lane.
    gathers_lanes: bool = False

    async def run(self, ctx: NodeContext, items: Items) -> Output | Suspend:
        raise NotImplementedError

    async def resume(self, ctx: NodeContext, state: dict[str, Any], event: WakeEvent) -> Output | Suspend:
        raise NodeError(f"{self.type} does not wait, so it cannot be resumed")

    # -- save-time checks -------------------------------------------------------------
    def check(self) -> list[str]:
        """Problems a save should report beyond the Config schema (plain messages)."""
        return []

    @classmethod
    def spec(cls) -> dict[str, Any]:
        return {
            "type": cls.type,
            "version": cls.version,
            "category": cls.category,
            "description": cls.description,
            "icon": cls.icon,
            "ports": list(cls.ports),
            "inputs": cls.inputs,
            "is_trigger": cls.is_trigger,
            "side_effects": cls.side_effects,
            "waits": cls.waits,
        }

    @classmethod
    def config_schema(cls) -> dict[str, Any]:
        return cls.Config.model_json_schema()


def first(items: Items) -> Item:
    return items[0] if items else {}


__all__ = [
    "Expression", "Template", "Node", "NodeConfig", "NodeContext", "NodeView", "Items", "Item",
    "Output", "Suspend", "WakeEvent", "NodeError", "first",
]
