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


class MemoryMappings:
    """An in-memory MappingStore: named DataMapper mappings."""

    def __init__(self, mappings: dict[str, dict[str, Any]] | None = None) -> None:
        self.mappings = dict(mappings or {})
        self.reads = 0

    def get_mapping(self, name: str) -> dict[str, Any] | None:
        self.reads += 1
        return self.mappings.get(name)


class MemoryHistory:
    """An in-memory HistoryStore. ``history`` answers the oldest value first; ``record`` keeps
    one entry per (scope, key, ref), so recording again under the same ref changes nothing."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str, str, dict[str, float]]] = []

    def seed(self, scope: str, key: str, field: str, values: list[float]) -> None:
        for n, v in enumerate(values):
            self.entries.append((scope, key, f"seed/{field}/{n}", {field: v}))

    def history(self, scope: str, key: str, field: str, limit: int = 20) -> list[float]:
        found = [vals[field] for s, k, _, vals in self.entries if s == scope and k == key and field in vals]
        return found[-limit:]

    def record(self, scope: str, key: str, values: dict[str, float], ref: str) -> None:
        if any(s == scope and k == key and r == ref for s, k, r, _ in self.entries):
            return
        self.entries.append((scope, key, ref, dict(values)))
