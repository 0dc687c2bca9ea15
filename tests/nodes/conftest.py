"""Helpers for node tests: a NodeContext without an engine, for unit tests of one node."""

from __future__ import annotations

from typing import Any

import pytest

from datacollect.engine.expressions import NodeView
from datacollect.engine.ports import Services
from datacollect.nodes.base import Node, NodeContext


def make_node(cls: type[Node], config: dict[str, Any], node_id: str = "n1") -> Node:
    return cls(cls.Config.model_validate(config), node_id=node_id)


def make_ctx(node_id: str = "n1", upstream: dict[str, list[dict]] | None = None,
             services: Services | None = None, trigger: dict | None = None, **kw: Any) -> NodeContext:
    scope: dict[str, Any] = {"trigger": trigger or {}, "vars": {}, "run": {"id": "run-1"}}
    for nid, items in (upstream or {}).items():
        scope[nid] = NodeView(items)
    return NodeContext(run_id=kw.get("run_id", "run-1"), workflow_id="wf", node_id=node_id,
                       lane=kw.get("lane", "0"), attempt=kw.get("attempt", 1), scope=scope,
                       services=services or Services())


@pytest.fixture
def ctx() -> NodeContext:
    return make_ctx()
