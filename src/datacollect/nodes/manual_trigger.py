"""ManualTrigger: starts a run from the editor, the API or the CLI with the data given."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from datacollect.nodes.base import Items, Node, NodeConfig, NodeContext, Output


class ManualTrigger(Node):
    type = "ManualTrigger"
    category = "trigger"
    description = "Start the workflow by hand, from the editor, the API or the command line."
    icon = "mouse-pointer-click"
    inputs = False
    is_trigger = True

    class Config(NodeConfig):
        sample: dict[str, Any] | None = Field(
            None, description="Data used when the workflow is started without any (handy for tests).")

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        return {"main": items or [self.config.sample or {}]}  # type: ignore[attr-defined]
