"""UnitConverter: converts a quantity between units of mass (kg, t, lb) in each item."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, NodeError, Output

FACTORS = {"kg": 1.0, "t": 1000.0, "lb": 0.45359237}


class UnitConverter(Node):
    type = "UnitConverter"
    category = "transform"
    description = "Convert a mass between kilograms, tonnes and pounds."
    icon = "scale"

    class Config(NodeConfig):
        field: str = Field(description="The field holding the quantity.")
        from_unit: Literal["kg", "t", "lb"] = Field(description="The unit it is in.")
        to_unit: Literal["kg", "t", "lb"] = Field(description="The unit wanted.")

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        cfg = self.config
        factor = FACTORS[cfg.from_unit] / FACTORS[cfg.to_unit]
        out = []
        for i, item in enumerate(items):
            value = item.get(cfg.field)
            if not isinstance(value, (int, float)):
                raise NodeError(f"Item {i}: '{cfg.field}' is {value!r}, not a number")
            out.append({**item, cfg.field: value * factor})
        return {"main": out}
