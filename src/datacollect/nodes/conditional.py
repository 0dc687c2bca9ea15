"""Conditional: send each item out of ``true`` or ``false`` by a condition.

::

    {"condition": "validate_1.score > 0.8"}
    {"conditions": ["item.country == 'DE'", "item.co2_t > 1000"], "combine": "or"}

Edges pick the branch with ``"condition": "true"`` or ``"false"``; the branch whose port got
no item does not run.

* ``condition`` is a bare expression; ``item`` is the current item, and every upstream node
  (``validate_1.score`` reads its first item), ``trigger`` and ``vars`` are in scope.
  ``conditions`` (the plan's name) takes several, joined by ``combine`` (``and``, the default,
  or ``or``); with both keys, ``condition`` comes first. Evaluation stops at the first
  condition that decides.
* The result counts as true the way people read it: ``false``, ``0``, ``null``, empty text, an
  empty list, and the texts ``"false"``, ``"no"``, ``"0"``, ``"off"`` are false.
* ``mode: "per_item"`` (default) tests each item; ``mode: "all"`` tests once, with ``items``
  (every item) and ``item`` (the first) in scope, and sends all items the same way
  (``sum(items, 'co2_t') > 1000``).
* A condition that fails on an item (a field it reads is missing) fails the node, naming the
  condition and the item's index; the node's ``on_error`` setting decides what happens next.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from datacollect.engine.expressions import Evaluator, compile_expression
from datacollect.errors import ExpressionError, NodeError
from datacollect.nodes.base import Expression, Items, Node, NodeConfig, NodeContext, Output
from datacollect.nodes.data_mapper import check_expression, is_truthy


class Conditional(Node):
    """Route each item to 'true' or 'false' by a condition."""

    type = "Conditional"
    category = "logic"
    description = "Send items down the 'true' or the 'false' branch by a condition (validate_1.score > 0.8)."
    icon = "split"
    ports = ("true", "false")

    class Config(NodeConfig):
        condition: Expression | None = Field(
            None, description="The test, e.g. validate_1.score > 0.8 or item.country == 'DE'.",
            json_schema_extra={"examples": ["validate_1.score > 0.8"]})
        conditions: list[Expression] | None = Field(
            None, description="Several tests, joined by 'combine'.",
            json_schema_extra={"x-group": "advanced"})
        combine: Literal["and", "or"] = Field(
            "and", description="and: every condition must hold; or: one is enough.",
            json_schema_extra={"x-group": "advanced"})
        mode: Literal["per_item", "all"] = Field(
            "per_item", description="per_item: test each item; all: test once and send every item the same way "
                                    "('items' holds them all).",
            json_schema_extra={"x-group": "advanced"})

        @field_validator("condition")
        @classmethod
        def _parses(cls, value: str | None) -> str | None:
            return None if value is None else check_expression(value)

        @field_validator("conditions")
        @classmethod
        def _all_parse(cls, value: list[str] | None) -> list[str] | None:
            return None if value is None else [check_expression(v) for v in value]

        @model_validator(mode="after")
        def _needs_one(self) -> Conditional.Config:
            if self.condition is None and not self.conditions:
                raise PydanticCustomError("condition", "Write the condition to test, e.g. validate_1.score > 0.8")
            return self

    config: Config

    def __init__(self, config: NodeConfig, node_id: str = "") -> None:
        super().__init__(config, node_id)
        c = self.config
        sources = ([c.condition] if c.condition is not None else []) + list(c.conditions or ())
        self._tests: list[tuple[str, Evaluator]] = [(s, compile_expression(s)) for s in sources]
        self._any = c.combine == "or"

    def _holds(self, scope: dict[str, Any], index: int | None) -> bool:
        want_any = self._any
        for source, test in self._tests:
            try:
                result = is_truthy(test(scope))
            except ExpressionError as exc:
                where = f" on item {index}" if index is not None else ""
                raise NodeError(f"The condition {source!r} failed{where}: {exc.reason}",
                                details={"item": index, "expression": source}) from exc
            if result == want_any:
                return result
        return not want_any

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        true: Items = []
        false: Items = []
        if self.config.mode == "all":
            if items:
                scope = ctx.with_item(items[0])
                scope["items"] = items
                (true if self._holds(scope, None) else false).extend(items)
            return {"true": true, "false": false}
        for index, item in enumerate(items):
            (true if self._holds(ctx.with_item(item), index) else false).append(item)
        return {"true": true, "false": false}
