"""Aggregator: one item per group, with counts, sums, averages... of the items in it.

Shorthand, one method on one field::

    {"group_by": "supplier_id", "aggregation_method": "sum", "field": "co2_t"}
    → {"supplier_id": "S1", "sum_co2_t": 1234.5}

Several at once, with the output names chosen::

    {"group_by": ["region", "quarter"],
     "aggregation_method": [{"field": "co2_t", "method": "sum", "as": "total_co2"},
                            {"method": "count", "as": "responses"}]}

* ``group_by`` is a field, a list of fields, or a comma-separated list; dotted paths read
  nested fields and are written back nested. Empty: all items make one group. Items without
  the field fall in a group whose value is ``null``. Groups come out in the order they are
  first met.
* Methods: ``count`` (items, or with a field the items where it has a value), ``sum``,
  ``avg``, ``median``, ``min``, ``max``, ``list`` (every value), ``distinct`` (each value
  once), ``first``, ``last``. Missing, ``null`` and empty values are left out. ``sum``, ``avg``
  and ``median`` read numbers (numeric text too) and fail the node, naming the item and value,
  on anything else; ``min``/``max`` compare numbers, or text when every value is text (ISO dates
  sort right).
* Default output names: ``count`` for a count of items, otherwise ``<method>_<field>``
  (``sum_co2_t``; dots become underscores).
* With no ``group_by`` and no items, one item still comes out (``count`` 0, ``sum`` 0, the
  others ``null``), so "nobody answered" is a result, not a silence.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator
from pydantic_core import PydanticCustomError

from datacollect.errors import NodeError
from datacollect.nodes.base import Item, Items, Node, NodeConfig, NodeContext, Output
from datacollect.nodes.data_mapper import MISSING, CastError, FieldPath, cast_value, show

_GROUP_BY_SCHEMA = {"anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}]}

Method = Literal["count", "sum", "avg", "median", "min", "max", "list", "distinct", "first", "last"]


class Aggregation(BaseModel):
    """One value to compute per group."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    method: Method = Field(description="How to combine the values.")
    field: str | None = Field(None, min_length=1, description="The field to read (not needed to count items).",
                              json_schema_extra={"x-widget": "field-path"})
    as_: str | None = Field(None, alias="as", min_length=1,
                            description="The output field's name (default: method_field, e.g. sum_co2_t).",
                            json_schema_extra={"x-widget": "field-path"})

    @model_validator(mode="after")
    def _check(self) -> Aggregation:
        if self.field is None and self.method != "count":
            raise PydanticCustomError("aggregation", "Choose the field for {method}", {"method": repr(self.method)})
        return self

    @property
    def output_name(self) -> str:
        if self.as_:
            return self.as_
        if self.field is None:
            return "count"
        return f"{self.method}_{self.field.replace('.', '_')}"


def _blank(value: Any) -> bool:
    """Values that do not count: absent, null, empty text."""
    return value is MISSING or value is None or value == ""


def _hashable(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return ("\x00json", json.dumps(value, sort_keys=True, default=str))
    return value


class Aggregator(Node):
    """Group items and compute counts, sums, averages, minimums, maximums or lists per group."""

    type = "Aggregator"
    category = "transform"
    description = "Group items (by supplier, region...) and compute counts, sums, averages or lists per group."
    icon = "sigma"
    ports = ("main",)

    class Config(NodeConfig):
        group_by: Annotated[list[str], WithJsonSchema(_GROUP_BY_SCHEMA)] = Field(
            default_factory=list,
            description="The field or fields to group by; leave empty to aggregate all items together.",
            json_schema_extra={"x-widget": "field-list", "examples": [["supplier_id"]]})
        aggregation_method: Method | list[Aggregation] = Field(
            "count", description="One method applied to 'field', or a list of {field, method, as}.",
            json_schema_extra={"x-widget": "aggregations"})
        wait_for: Literal["none", "all"] = Field(
            "none", description="'all': gather the items of every lane of the fork before it (one per form "
                                "response or Loop result) and aggregate them together, once the step that "
                                "opened the lanes has finished; 'none': aggregate each lane on its own.")
        field: str | None = Field(
            None, min_length=1, description="The field the single method reads (not needed to count items).",
            json_schema_extra={"x-widget": "field-path"})

        @field_validator("group_by", mode="before")
        @classmethod
        def _split(cls, value: Any) -> Any:
            if value is None:
                return []
            if isinstance(value, str):
                return [part.strip() for part in value.split(",") if part.strip()]
            return value

        @model_validator(mode="after")
        def _check(self) -> Aggregator.Config:
            if isinstance(self.aggregation_method, str) and self.aggregation_method != "count" and not self.field:
                raise PydanticCustomError("aggregation", "Choose the field for {method}",
                                          {"method": repr(self.aggregation_method)})
            if isinstance(self.aggregation_method, list) and not self.aggregation_method:
                raise PydanticCustomError("aggregation", "Add at least one aggregation")
            names = [a.output_name for a in self.aggregations()]
            for name in names:
                if names.count(name) > 1:
                    raise PydanticCustomError("aggregation", "Two aggregations write '{name}'; give one "
                                                             "another name with 'as'", {"name": name})
                if name in self.group_by:
                    raise PydanticCustomError("aggregation", "The aggregation '{name}' has the name of a "
                                                             "group field; give it another name with 'as'",
                                              {"name": name})
            return self

        def aggregations(self) -> list[Aggregation]:
            if isinstance(self.aggregation_method, list):
                return self.aggregation_method
            return [Aggregation.model_validate({"method": self.aggregation_method, "field": self.field})]

    config: Config

    def __init__(self, config: NodeConfig, node_id: str = "") -> None:
        super().__init__(config, node_id)
        self._groups = [FieldPath(g) for g in self.config.group_by]
        self._specs: list[tuple[str, FieldPath | None, FieldPath, Callable[..., Any]]] = [
            (a.method, FieldPath(a.field) if a.field else None, FieldPath(a.output_name), _METHODS[a.method])
            for a in self.config.aggregations()]

    @property
    def gathers_lanes(self) -> bool:
        return self.config.wait_for == "all"

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        groups: dict[Any, tuple[tuple[Any, ...], list[tuple[int, Item]]]] = {}
        paths = self._groups
        for index, item in enumerate(items):
            values = tuple(_none_if_missing(p.get(item)) for p in paths)
            try:
                bucket = groups.get(values)
                key = values
            except TypeError:  # a group value that is an object or a list
                key = tuple(_hashable(v) for v in values)
                bucket = groups.get(key)
            if bucket is None:
                groups[key] = (values, [(index, item)])
            else:
                bucket[1].append((index, item))
        if not groups and not paths:
            groups[()] = ((), [])
        out: Items = []
        for values, members in groups.values():
            result: Item = {}
            for path, value in zip(paths, values, strict=True):
                path.set(result, value)
            for method, source, target, fn in self._specs:
                if source is None:
                    target.set(result, len(members), copy_parents=True)
                    continue
                found = [(i, v) for i, it in members if not _blank(v := source.get(it))]
                target.set(result, fn(found, source.raw, method), copy_parents=True)
            out.append(result)
        return {"main": out}


def _none_if_missing(value: Any) -> Any:
    return None if value is MISSING else value


Found = list[tuple[int, Any]]


def _numbers(found: Found, field: str, method: str) -> list[int | float]:
    numbers: list[int | float] = []
    for index, value in found:
        if type(value) is int or type(value) is float:
            numbers.append(value)
            continue
        try:
            numbers.append(cast_value(value, "number"))
        except CastError:
            raise NodeError(f"Cannot {_VERB.get(method, method)} '{field}': item {index} has {show(value)}, "
                            "which is not a number", details={"item": index, "field": field}) from None
    return numbers


_VERB = {"avg": "average", "sum": "add up", "median": "take the median of", "min": "find the lowest",
         "max": "find the highest"}


def _sum(found: Found, field: str, method: str) -> int | float:
    numbers = _numbers(found, field, method)
    if all(type(n) is int for n in numbers):
        return sum(numbers)
    return math.fsum(numbers)


def _avg(found: Found, field: str, method: str) -> float | None:
    numbers = _numbers(found, field, method)
    return math.fsum(numbers) / len(numbers) if numbers else None


def _median(found: Found, field: str, method: str) -> float | None:
    numbers = _numbers(found, field, method)
    return statistics.median(numbers) if numbers else None


def _extreme(pick: Callable[..., Any]) -> Callable[[Found, str, str], Any]:
    def aggregate(found: Found, field: str, method: str) -> Any:
        if not found:
            return None
        values = [v for _, v in found]
        if all(isinstance(v, str) for v in values) and not _all_numeric(values):
            return pick(values)
        return pick(_numbers(found, field, method))

    return aggregate


def _all_numeric(values: list[str]) -> bool:
    try:
        for v in values:
            cast_value(v, "number")
    except CastError:
        return False
    return True


def _count(found: Found, field: str, method: str) -> int:
    return len(found)


def _list(found: Found, field: str, method: str) -> list[Any]:
    return [v for _, v in found]


def _distinct(found: Found, field: str, method: str) -> list[Any]:
    seen: set[Any] = set()
    out: list[Any] = []
    for _, v in found:
        key = _hashable(v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _first(found: Found, field: str, method: str) -> Any:
    return found[0][1] if found else None


def _last(found: Found, field: str, method: str) -> Any:
    return found[-1][1] if found else None


_METHODS: dict[str, Callable[[Found, str, str], Any]] = {
    "count": _count, "sum": _sum, "avg": _avg, "median": _median, "min": _extreme(min),
    "max": _extreme(max), "list": _list, "distinct": _distinct, "first": _first, "last": _last,
}
