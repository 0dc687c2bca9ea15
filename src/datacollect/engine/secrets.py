"""Secrets in workflow definitions: masked in every answer, kept on save.

A node's Config marks a secret setting in its JSON Schema with ``format: "password"``,
``writeOnly: true`` or ``sensitive: true``; a ``format: "connection"`` setting holds a URL
whose password is a secret. Answers show ``MASK`` instead; a save that sends ``MASK`` back
keeps the stored value, so an editor can round-trip a definition without ever seeing it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from datacollect.nodes.registry import NodeRegistry

MASK = "••••••••"
_URL_PASSWORD = re.compile(r"^(?P<head>[a-zA-Z][\w+.-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<tail>@.*)$")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return _resolve(root.get("$defs", {}).get(ref.split("/")[-1], {}), root)
    return schema


def _props(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, dict[str, Any]]:
    schema = _resolve(schema, root)
    props = dict(schema.get("properties", {}))
    for key in ("anyOf", "oneOf", "allOf"):
        for option in schema.get(key, []):
            for name, sub in _props(option, root).items():
                props.setdefault(name, sub)
    return props


def _kind(schema: dict[str, Any], root: dict[str, Any]) -> str | None:
    options = [_resolve(schema, root)] + [_resolve(o, root) for o in schema.get("anyOf", [])]
    for s in options:
        if s.get("format") == "password" or s.get("writeOnly") or s.get("sensitive"):
            return "secret"
        if s.get("format") == "connection":
            return "url"
    return None


def _walk(value: Any, schema: dict[str, Any], root: dict[str, Any],
          visit: Callable[[str, Any, str], Any], path: str = "") -> Any:
    if isinstance(value, dict):
        props = _props(schema, root)
        out = {}
        for k, v in value.items():
            sub = props.get(k, {})
            kind = _kind(sub, root) if sub else None
            p = f"{path}.{k}" if path else k
            out[k] = visit(p, v, kind) if kind else _walk(v, sub, root, visit, p)
        return out
    if isinstance(value, list):
        items = _resolve(schema, root).get("items", {})
        return [_walk(v, items, root, visit, f"{path}[{i}]") for i, v in enumerate(value)]
    return value


def _mask_value(value: Any, kind: str) -> Any:
    if not isinstance(value, str) or not value:
        return value
    if kind == "url":
        m = _URL_PASSWORD.match(value)
        return f"{m['head']}{MASK}{m['tail']}" if m and m["pw"] else value
    return value if "{{" in value else MASK  # a template naming where the secret comes from is no secret


def mask_definition(definition: dict[str, Any], registry: NodeRegistry) -> dict[str, Any]:
    """The definition as answers show it: every secret setting replaced by MASK."""
    out = copy.deepcopy(definition)
    for n in out.get("nodes", []):
        cls = registry.get(n.get("type", ""), n.get("version"))
        if cls is None or not isinstance(n.get("config"), dict):
            continue
        schema = cls.config_schema()
        n["config"] = _walk(n["config"], schema, schema, lambda p, v, kind: _mask_value(v, kind))
    return out


def masked_paths(definition: dict[str, Any], registry: NodeRegistry) -> list[tuple[str, str]]:
    """(node id, path) of settings that still hold MASK (a secret to type again)."""
    found: list[tuple[str, str]] = []
    for n in definition.get("nodes", []) if isinstance(definition, dict) else []:
        cls = registry.get(n.get("type", ""), n.get("version")) if isinstance(n, dict) else None
        if cls is None or not isinstance(n.get("config"), dict):
            continue
        schema = cls.config_schema()

        def visit(p: str, v: Any, kind: str, nid: str = n.get("id", "")) -> Any:
            if isinstance(v, str) and MASK in v:
                found.append((nid, p))
            return v

        _walk(n["config"], schema, schema, visit)
    return found


def keep_secrets(new: dict[str, Any], old: dict[str, Any] | None, registry: NodeRegistry) -> dict[str, Any]:
    """A definition sent back with MASK where secrets were: the stored values are put back."""
    if not isinstance(new, dict) or not old:
        return new
    old_nodes = {n.get("id"): n for n in old.get("nodes", []) if isinstance(n, dict)}
    out = copy.deepcopy(new)
    for n in out.get("nodes", []) if isinstance(out.get("nodes"), list) else []:
        if not isinstance(n, dict):
            continue
        before = old_nodes.get(n.get("id"))
        cls = registry.get(n.get("type", ""), n.get("version"))
        if before is None or cls is None or before.get("type") != n.get("type") or not isinstance(n.get("config"), dict):
            continue
        schema = cls.config_schema()
        old_cfg = before.get("config") or {}

        def visit(p: str, v: Any, kind: str, old_cfg: dict[str, Any] = old_cfg) -> Any:
            if not isinstance(v, str) or MASK not in v:
                return v
            prev = _get(old_cfg, p)
            if kind == "url" and isinstance(prev, str):
                m, pm = _URL_PASSWORD.match(v), _URL_PASSWORD.match(prev)
                if m and pm:
                    return f"{m['head']}{pm['pw']}{m['tail']}"
            return prev if prev is not None else v

        n["config"] = _walk(n["config"], schema, schema, visit)
    return out


def _get(value: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        if part.startswith("["):
            i = int(part[1:-1])
            value = value[i] if isinstance(value, list) and i < len(value) else None
        else:
            value = value.get(part) if isinstance(value, dict) else None
        if value is None:
            return None
    return value
