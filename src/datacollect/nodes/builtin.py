"""The built-in node types: every module in this package that declares a Node subclass."""

from __future__ import annotations

import importlib
import pkgutil

import datacollect.nodes as _pkg
from datacollect.nodes.base import Node

_SKIP = {"base", "builtin", "registry"}


def _discover() -> list[type[Node]]:
    found: list[type[Node]] = []
    for mod in sorted(pkgutil.iter_modules(_pkg.__path__), key=lambda m: m.name):
        if mod.name in _SKIP or mod.name.startswith("_"):
            continue
        module = importlib.import_module(f"{_pkg.__name__}.{mod.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Node) and value is not Node
                    and value.__module__ == module.__name__ and "type" in value.__dict__):
                found.append(value)
    return found


NODES: list[type[Node]] = _discover()
