"""The node registry: (type, version) -> node class.

Built-in nodes and plugins come in the same way, through the ``datacollect.nodes`` entry
point group; an entry point names a node class or a list of them::

    [project.entry-points."datacollect.nodes"]
    my_erp = "my_package.nodes:MyERPExport"

A saved workflow keeps the version it was built with; a node without a version gets the
newest one at save time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from importlib.metadata import entry_points

from datacollect.nodes.base import Node

log = logging.getLogger(__name__)


class NodeRegistry:
    def __init__(self, nodes: Iterable[type[Node]] = ()) -> None:
        self._nodes: dict[tuple[str, int], type[Node]] = {}
        for n in nodes:
            self.register(n)

    def register(self, node: type[Node]) -> None:
        self._nodes[(node.type, node.version)] = node

    def get(self, type_: str, version: int | None = None) -> type[Node] | None:
        if version is not None:
            return self._nodes.get((type_, version))
        versions = [v for (t, v) in self._nodes if t == type_]
        return self._nodes[(type_, max(versions))] if versions else None

    def latest(self) -> list[type[Node]]:
        out: dict[str, type[Node]] = {}
        for (t, _v), n in sorted(self._nodes.items()):
            out[t] = n
        return list(out.values())

    def types(self) -> list[str]:
        return sorted({t for t, _ in self._nodes})

    @classmethod
    def from_entry_points(cls) -> NodeRegistry:
        reg = cls()
        for ep in entry_points(group="datacollect.nodes"):
            try:
                loaded = ep.load()
            except Exception:  # a broken plugin must not stop the platform
                log.exception("could not load node plugin %s", ep.name)
                continue
            for node in loaded if isinstance(loaded, (list, tuple)) else [loaded]:
                reg.register(node)
        return reg


_default: NodeRegistry | None = None


def default_registry() -> NodeRegistry:
    global _default
    if _default is None:
        _default = NodeRegistry.from_entry_points()
        if not _default.types():  # not installed as a package (running from a source tree)
            from datacollect.nodes.builtin import NODES

            _default = NodeRegistry(NODES)
    return _default
