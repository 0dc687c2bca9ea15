"""One expression language everywhere: Jinja2 in a sandboxed environment.

* A *condition* or *formula* is a bare expression: ``validate_1.score > 0.8``.
* A string holding ``{{ ... }}`` is a *template*. A string that is exactly one
  ``{{ expr }}`` gives the expression's own value (a number stays a number, a list a list);
  any other template renders to a string.

Expressions are compiled once and cached by their source text, so a workflow version's
expressions are parsed at save time and never again on the hot path.

Names in scope while a node runs: ``item`` (the current item), every upstream node id
(``validate_1.score`` reads the first item's field, ``validate_1.items`` all of them),
``trigger``, ``vars``, ``run``, ``database`` (named data sources), ``now()`` and the helpers
below.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, Undefined, UndefinedError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from datacollect.errors import ExpressionError

_SINGLE = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.S)


def _num(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and v != ""]


def _sum(values: Iterable[Any], attribute: str | None = None) -> float:
    vals = [v.get(attribute) if attribute and isinstance(v, Mapping) else v for v in values]
    return math.fsum(_num(vals))


def _avg(values: Iterable[Any], attribute: str | None = None) -> float | None:
    vals = _num(v.get(attribute) if attribute and isinstance(v, Mapping) else v for v in values)
    return statistics.fmean(vals) if vals else None


def _date(value: Any = None, fmt: str | None = None) -> date | None:
    if value is None:
        return datetime.now(UTC).date()
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if fmt:
        return datetime.strptime(str(value), fmt).date()
    return date.fromisoformat(str(value)[:10])


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


HELPERS: dict[str, Any] = {
    "now": lambda: datetime.now(UTC),
    "today": lambda: datetime.now(UTC).date(),
    "date": _date,
    "datetime": _datetime,
    "timedelta": timedelta,
    "sum": _sum,
    "avg": _avg,
    "mean": _avg,
    "min": min,
    "max": max,
    "abs": abs,
    "round": round,
    "len": len,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sqrt": math.sqrt,
    "isnan": math.isnan,
}


class _Env(ImmutableSandboxedEnvironment):
    """Sandboxed and immutable: an expression can read the data but never change it."""


_env = _Env(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_env.globals.update(HELPERS)
_env.filters.update({"avg": _avg, "date": _date, "datetime": _datetime})

Evaluator = Callable[[Mapping[str, Any]], Any]


def _wrap(source: str, fn: Callable[[Mapping[str, Any]], Any]) -> Evaluator:
    def evaluate(scope: Mapping[str, Any]) -> Any:
        try:
            value = fn(scope)
        except ExpressionError:
            raise
        except (UndefinedError, SecurityError) as exc:
            raise ExpressionError(source, str(exc)) from exc
        except Exception as exc:  # a failing expression is a node error that names it
            raise ExpressionError(source, f"{type(exc).__name__}: {exc}") from exc
        if isinstance(value, Undefined):
            raise ExpressionError(source, str(value._undefined_message))
        return value

    return evaluate


@lru_cache(maxsize=8192)
def compile_expression(source: str) -> Evaluator:
    """Compile a bare expression (``validate_1.score > 0.8``). Raises ExpressionError at once
    when it does not parse."""
    text = source.strip()
    m = _SINGLE.match(text)
    if m:  # "{{ x > 1 }}" is accepted where a bare expression is expected
        text = m.group("expr").strip()
    if not text:
        raise ExpressionError(source, "the expression is empty")
    try:
        code = _env.compile_expression(text, undefined_to_none=False)
    except TemplateSyntaxError as exc:
        raise ExpressionError(source, f"does not parse: {exc.message}") from exc
    _flatten_globals(code._template)
    return _wrap(source, lambda scope: code(scope))


def _flatten_globals(template: Any) -> None:
    """Jinja keeps a template's globals as a chain of mappings and copies it on every call;
    the environment's globals never change after start, so one flat dict is the same and
    several times faster to copy."""
    template.globals = dict(template.globals)


@lru_cache(maxsize=8192)
def _compile_string(source: str) -> Evaluator:
    m = _SINGLE.match(source)
    if m:
        return compile_expression(m.group("expr"))
    try:
        tmpl = _env.from_string(source)
    except TemplateSyntaxError as exc:
        raise ExpressionError(source, f"does not parse: {exc.message}") from exc
    _flatten_globals(tmpl)
    return _wrap(source, lambda scope: tmpl.render(scope))


def is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value or isinstance(value, str) and "{%" in value


def compile_template(value: Any) -> Evaluator:
    """Compile any JSON value: strings with ``{{ }}`` become templates, dicts and lists are
    walked; everything else is returned as it is."""
    if isinstance(value, str):
        if not is_template(value):
            return lambda scope: value
        return _compile_string(value)
    if isinstance(value, dict):
        parts = {k: compile_template(v) for k, v in value.items()}
        if all(not _has_template(v) for v in value.values()):
            return lambda scope: value
        return lambda scope: {k: p(scope) for k, p in parts.items()}
    if isinstance(value, list):
        if not any(_has_template(v) for v in value):
            return lambda scope: value
        items = [compile_template(v) for v in value]
        return lambda scope: [p(scope) for p in items]
    return lambda scope: value


def _has_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, dict):
        return any(_has_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_template(v) for v in value)
    return False


def check_template(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every template in a JSON value that does not parse, as (path, reason)."""
    problems: list[tuple[str, str]] = []
    if isinstance(value, str) and is_template(value):
        try:
            _compile_string(value)
        except ExpressionError as exc:
            problems.append((path, exc.message))
    elif isinstance(value, dict):
        for k, v in value.items():
            problems += check_template(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problems += check_template(v, f"{path}[{i}]")
    return problems


class NodeView(Mapping[str, Any]):
    """An upstream node's output as expressions see it: ``node.field`` reads the first
    item's field, ``node.items`` every item, ``node.ports.error`` another port's items."""

    __slots__ = ("_items", "_first", "_ports")

    def __init__(self, items: list[dict[str, Any]], ports: dict[str, list[dict[str, Any]]] | None = None):
        self._items = items
        self._first = items[0] if items else {}
        self._ports = ports or {"main": items}

    @property
    def items(self) -> list[dict[str, Any]]:  # type: ignore[override]
        return self._items

    @property
    def ports(self) -> dict[str, list[dict[str, Any]]]:
        return self._ports

    @property
    def count(self) -> int:
        return len(self._items)

    def __getitem__(self, key: str) -> Any:
        if key == "items":
            return self._items
        return self._first[key]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._first[key]
        except KeyError:
            raise AttributeError(key) from None

    def __iter__(self):  # type: ignore[override]
        return iter(self._first)

    def __len__(self) -> int:
        return len(self._first)

    def __repr__(self) -> str:
        return f"NodeView({self._first!r}, items={len(self._items)})"
