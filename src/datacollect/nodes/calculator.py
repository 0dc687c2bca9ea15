"""Calculator: compute a value per item from a formula and store it in a field.

::

    {"formula": "item.scope1 + item.scope2", "input_fields": ["scope1", "scope2"],
     "output_field": "total_co2", "round": 2}

* ``formula`` is a bare expression; ``item`` is the current item, and every upstream node,
  ``trigger``, ``vars`` and the helpers (``sum``, ``avg``, ``round``, ``date``...) are in scope.
* ``input_fields`` names the fields the formula needs. An item that lacks one of them (absent,
  ``null`` or empty) fails the node with a message naming the item and the fields, rather than
  a formula error about ``None``.
* ``output_field`` may be a dotted path (``totals.co2``); the other fields of the item stay.
* ``round`` rounds numbers half away from zero, as people and spreadsheets do (2.675 → 2.68,
  2.5 → 3); ``round: 0`` gives whole numbers. Results that are not numbers are kept as they are.
* A formula that fails on an item fails the node, naming the formula and the item; the
  node's ``on_error`` setting decides what the run does next. Dates come out as ISO strings.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import Field, field_validator

from datacollect.engine.expressions import compile_expression
from datacollect.errors import ExpressionError, NodeError
from datacollect.nodes.base import Expression, Items, Node, NodeConfig, NodeContext, Output
from datacollect.nodes.data_mapper import MISSING, FieldPath, check_expression


def round_half_up(value: Any, digits: int) -> Any:
    """Round a number half away from zero; other values are returned as they are."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return value
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return value
    rounded = Decimal(repr(value) if isinstance(value, float) else value).quantize(
        Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return int(rounded) if digits <= 0 else float(rounded)


def to_json(value: Any) -> Any:
    """A formula's result as an item holds it: dates as ISO strings, decimals as numbers."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


class Calculator(Node):
    """Compute a value from a formula and store it in a field of each item."""

    type = "Calculator"
    category = "transform"
    description = "Compute a value from a formula (item.scope1 + item.scope2) and store it in a field."
    icon = "calculator"
    ports = ("main",)

    class Config(NodeConfig):
        formula: Expression = Field(
            description="The calculation, e.g. item.scope1 + item.scope2. 'item' is the current item.",
            json_schema_extra={"examples": ["item.scope1 + item.scope2"]})
        input_fields: list[str] = Field(
            default_factory=list,
            description="The fields the formula needs; an item without one of them is reported clearly.",
            json_schema_extra={"x-widget": "field-list"})
        output_field: str = Field(
            min_length=1, description="The field that receives the result (a dotted path makes a nested field).",
            json_schema_extra={"x-widget": "field-path", "examples": ["total_co2"]})
        round: int | None = Field(
            None, ge=-9, le=12, description="Round the result to this many decimals (0 for whole numbers).")

        _check_formula = field_validator("formula")(check_expression)

    config: Config

    def __init__(self, config: NodeConfig, node_id: str = "") -> None:
        super().__init__(config, node_id)
        c = self.config
        self._formula = compile_expression(c.formula)
        self._needs = [FieldPath(f) for f in c.input_fields]
        self._target = FieldPath(c.output_field)

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        c = self.config
        formula, digits, target = self._formula, c.round, self._target
        out: Items = []
        for index, item in enumerate(items):
            if self._needs:
                missing = [p.raw for p in self._needs if p.get(item) in (MISSING, None, "")]
                if missing:
                    names = ", ".join(f"'{m}'" for m in missing)
                    raise NodeError(
                        f"Item {index} has no value for {names}, which the formula {c.formula!r} needs",
                        details={"item": index, "missing": missing, "expression": c.formula})
            try:
                value = formula(ctx.with_item(item))
            except ExpressionError as exc:
                raise NodeError(f"The formula {c.formula!r} failed on item {index}: {exc.reason}",
                                details={"item": index, "expression": c.formula}) from exc
            value = to_json(value)
            if digits is not None:
                value = round_half_up(value, digits)
            result = dict(item)
            target.set(result, value, copy_parents=True)
            out.append(result)
        return {"main": out}
