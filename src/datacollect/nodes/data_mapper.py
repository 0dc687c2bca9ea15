"""DataMapper: reshape items from one schema to another (rename, nest, cast, default, compute).

A rule copies one field, or computes one::

    {"from": "emissions.scope1", "to": "sap.co2_scope1", "type": "number", "default": 0}
    {"to": "period", "value": "{{ trigger.year }}-Q{{ trigger.quarter }}"}

* ``from`` and ``to`` are field names or dotted paths into nested objects (``a.b.c``; a
  number reads a list element, ``lines.0.qty``). ``to`` defaults to ``from``, so
  ``{"from": "co2_t", "type": "number"}`` casts a field in place.
* ``type`` casts the value: ``number``, ``integer``, ``string``, ``boolean`` (``yes``/``no``,
  ``true``/``false``, ``1``/``0``), ``date`` (``YYYY-MM-DD``), ``datetime`` (ISO 8601);
  ``format`` reads dates written otherwise (``%d/%m/%Y``). Dates leave as ISO strings.
* A value that is absent, ``null``, or an empty string for a typed non-text field takes
  ``default``; without a default the output field is ``null``, so every output item has the
  same fields (what a database or ERP export wants).
* ``value`` is a constant or a template; in it ``item`` is the *input* item.
* ``keep_unmapped`` keeps the fields no rule reads (fields that were read are moved, not copied).
* ``mapping`` names a stored, reusable mapping (``carbon_to_sap_v2``) read through the mappings
  service; its rules run first, then this node's own ``mapping_rules``.
* ``input_schema`` / ``output_schema`` (JSON Schema, or the shorthand ``{"co2_t": "number"}``):
  fields the input schema requires must be there; output fields are cast to the output
  schema's types and the fields it requires must have a value.

**A value that cannot be cast** (``"abc"`` as a number) is an item error naming the field and
the value. By default (``on_item_error: "fail"``) the node fails and lists every bad item, as
n8n's Edit Fields node does unless told to ignore conversion errors: a wrong figure must not
slip into SAP silently. With ``on_item_error: "flag"`` every item goes on, a bad field keeps
its raw value, and the item carries ``_errors: [{"field", "value", "message"}]`` so a
Conditional or DataValidator downstream can route it to a person.

The path, cast and expression helpers here (``FieldPath``, ``cast_value``,
``check_expression``, ``is_truthy``) are shared by the other transform, validate and logic nodes.
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from datacollect.engine.expressions import check_template, compile_expression, compile_template, is_template
from datacollect.errors import ExpressionError, NodeError
from datacollect.nodes.base import Item, Items, Node, NodeConfig, NodeContext, Output

# -- paths ------------------------------------------------------------------------------


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: What ``FieldPath.get`` answers for a field that is not there (``None`` is a value).
MISSING: Any = _Missing()


class FieldPath:
    """A field name or dotted path (``emissions.scope1``), split once and used many times.

    A key that itself holds a dot (``"t.CO2"``, from a spreadsheet header) is found too.
    """

    __slots__ = ("raw", "parts")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.parts = tuple(raw.split("."))

    def __repr__(self) -> str:
        return f"FieldPath({self.raw!r})"

    def get(self, obj: Any, default: Any = MISSING) -> Any:
        cur = obj
        for part in self.parts:
            if isinstance(cur, dict):
                cur = cur.get(part, MISSING)
                if cur is MISSING:
                    break
            elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
                cur = cur[int(part)]
            else:
                cur = MISSING
                break
        if cur is MISSING:
            if len(self.parts) > 1 and isinstance(obj, dict) and self.raw in obj:
                return obj[self.raw]
            return default
        return cur

    def set(self, obj: dict[str, Any], value: Any, *, copy_parents: bool = False) -> None:
        """Write ``value``, making the parent objects as needed. With ``copy_parents`` the
        nested objects on the way are copied first, so a shared input item is never changed."""
        cur = obj
        for part in self.parts[:-1]:
            child = cur.get(part)
            if not isinstance(child, dict):
                child = {}
            elif copy_parents:
                child = dict(child)
            cur[part] = child
            cur = child
        cur[self.parts[-1]] = value

    def pop(self, obj: dict[str, Any]) -> None:
        """Remove the field from an object this node owns, and parents left empty by it."""
        trail: list[tuple[dict[str, Any], str]] = []
        cur: Any = obj
        for part in self.parts[:-1]:
            nxt = cur.get(part) if isinstance(cur, dict) else None
            if not isinstance(nxt, dict):
                return
            trail.append((cur, part))
            cur = nxt
        if isinstance(cur, dict):
            cur.pop(self.parts[-1], None)
        for parent, part in reversed(trail):
            if parent[part]:
                break
            del parent[part]


def copy_objects(value: dict[str, Any]) -> dict[str, Any]:
    """A copy of an item's nested objects (lists and scalars are shared, never changed)."""
    return {k: copy_objects(v) if type(v) is dict else v for k, v in value.items()}


# -- casts ------------------------------------------------------------------------------

FieldType = Literal["number", "integer", "string", "boolean", "date", "datetime"]
FIELD_TYPES: tuple[str, ...] = ("number", "integer", "string", "boolean", "date", "datetime")


class CastError(ValueError):
    """A value that cannot be read as the wanted type; the message is for people."""


def show(value: Any) -> str:
    """A value as a message shows it: text in quotes, long values shortened."""
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


_TRUE = frozenset({"true", "yes", "y", "1", "on", "x", "oui", "ja", "si", "sí"})
_FALSE = frozenset({"false", "no", "n", "0", "off", "non", "nein"})


def _number(value: Any) -> int | float:
    if isinstance(value, bool):
        raise CastError(f"{show(value)} is not a number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CastError(f"{show(value)} is not a number")
        return value
    if isinstance(value, str):
        text = value.strip().replace("\u00a0", "").replace(" ", "")
        if text and "_" not in text:
            try:
                return int(text)
            except ValueError:
                pass
            try:
                number = float(text)
            except ValueError:
                pass
            else:
                if math.isfinite(number):
                    return number
    raise CastError(f"{show(value)} is not a number")


def _integer(value: Any) -> int:
    try:
        number = _number(value)
    except CastError:
        raise CastError(f"{show(value)} is not a whole number") from None
    if isinstance(number, float):
        if not number.is_integer():
            raise CastError(f"{show(value)} is not a whole number")
        return int(number)
    return number


def _string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
    raise CastError(f"{show(value)} is not yes or no")


def _parse_datetime(value: str, fmt: str | None) -> datetime:
    if fmt:
        return datetime.strptime(value.strip(), fmt)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return datetime.fromisoformat(text)


def _date(value: Any, fmt: str | None = None) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            if not fmt and len(value.strip()) == 10:
                return date.fromisoformat(value.strip()).isoformat()
            return _parse_datetime(value, fmt).date().isoformat()
        except ValueError:
            pass
    raise CastError(f"{show(value)} is not a date ({'like ' + fmt if fmt else 'expected YYYY-MM-DD'})")


def _datetime(value: Any, fmt: str | None = None) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat()
    if isinstance(value, str):
        try:
            return _parse_datetime(value, fmt).isoformat()
        except ValueError:
            pass
    raise CastError(f"{show(value)} is not a date and time ({'like ' + fmt if fmt else 'expected ISO 8601'})")


def _array(value: Any) -> list[Any]:
    if isinstance(value, list):
        return value
    raise CastError(f"{show(value)} is not a list")


def _object(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise CastError(f"{show(value)} is not an object")


_CASTS: dict[str, Callable[..., Any]] = {
    "number": _number, "integer": _integer, "string": _string, "boolean": _boolean,
    "date": _date, "datetime": _datetime, "array": _array, "object": _object,
}


def cast_value(value: Any, type_: str, fmt: str | None = None) -> Any:
    """Read ``value`` as ``type_`` (one of ``FIELD_TYPES``, or ``array``/``object``);
    raises CastError with a plain message."""
    if type_ in ("date", "datetime"):
        return _CASTS[type_](value, fmt)
    return _CASTS[type_](value)


def check_expression(source: str) -> str:
    """A pydantic field check: the expression parses (with a plain message if it does not)."""
    try:
        compile_expression(source)
    except ExpressionError as exc:
        raise PydanticCustomError("expression", "{message}", {"message": exc.message}) from None
    return source


_FALSY_TEXT = frozenset({"", "false", "no", "0", "off", "none", "null"})


def is_truthy(value: Any) -> bool:
    """Whether a condition's result counts as true. Text such as ``"false"``, ``"no"`` or
    ``"0"`` (what a form or a spreadsheet often holds) counts as false."""
    if isinstance(value, str):
        return value.strip().lower() not in _FALSY_TEXT
    return bool(value)


def is_blank(value: Any, type_: str | None) -> bool:
    """No value: absent, ``null``, or an empty text where a typed non-text value is wanted."""
    return value is MISSING or value is None or (
        type_ not in (None, "string") and isinstance(value, str) and not value.strip())


# -- schemas ----------------------------------------------------------------------------

_SCHEMA_TYPES = {"number": "number", "integer": "integer", "boolean": "boolean", "string": "string",
                 "date": "date", "datetime": "datetime", "date-time": "datetime",
                 "array": "array", "object": "object"}


class SchemaField:
    __slots__ = ("path", "type", "format", "required")

    def __init__(self, path: str, type_: str | None, fmt: str | None, required: bool) -> None:
        self.path = FieldPath(path)
        self.type = type_
        self.format = fmt
        self.required = required


def flatten_schema(schema: dict[str, Any] | None) -> dict[str, SchemaField]:
    """A JSON-Schema-ish object as ``{dotted path: SchemaField}``.

    Takes JSON Schema (``{"type": "object", "properties": {...}, "required": [...]}``, with
    ``format: date`` / ``date-time`` on strings) or the shorthand ``{"co2_t": "number"}``."""
    out: dict[str, SchemaField] = {}
    if schema:
        _walk_schema(schema, "", out)
    return out


def _walk_schema(schema: dict[str, Any], prefix: str, out: dict[str, SchemaField]) -> None:
    if "properties" in schema or schema.get("type") == "object":
        props = schema.get("properties") or {}
        wanted = schema.get("required")
        required = {r for r in wanted if isinstance(r, str)} if isinstance(wanted, list) else set()
    else:  # shorthand: the dict is the properties
        props, required = schema, set()
    if not isinstance(props, dict):
        return
    for name, sub in props.items():
        path = f"{prefix}{name}"
        if isinstance(sub, str):
            sub = {"type": sub}
        if not isinstance(sub, dict):
            continue
        kind = sub.get("type")
        if isinstance(kind, list):  # ["number", "null"]
            kind = next((k for k in kind if k != "null"), None)
        if kind == "object" and "properties" in sub:
            _walk_schema(sub, f"{path}.", out)
            if name in required:
                out[path] = SchemaField(path, None, None, True)
            continue
        fmt = sub.get("format")
        type_ = _SCHEMA_TYPES.get(fmt) if kind == "string" and fmt in ("date", "date-time") else (
            _SCHEMA_TYPES.get(kind) if isinstance(kind, str) else None)
        out[path] = SchemaField(path, type_, None, name in required or sub.get("required") is True)


# -- config -----------------------------------------------------------------------------


class MappingRule(BaseModel):
    """One output field: copied from an input field, or computed."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              json_schema_extra={"x-widget": "mapping-rule"})

    from_: str | None = Field(None, alias="from", min_length=1,
                              description="The input field to read: a name, or a dotted path (emissions.scope1).",
                              json_schema_extra={"x-widget": "field-path"})
    to: str | None = Field(None, min_length=1,
                           description="The output field to write (dotted paths make nested objects). "
                                       "Defaults to the field read.",
                           json_schema_extra={"x-widget": "field-path"})
    type: FieldType | None = Field(None, description="Cast the value to this type.")
    format: str | None = Field(None, description="How dates are written in the input, e.g. %d/%m/%Y "
                                                 "(only for type date or datetime).")
    default: Any = Field(None, description="The value to use when the input has none.")
    value: Any = Field(None, description="A constant, or a template such as {{ item.a + item.b }}, "
                                         "for a computed field.",
                       json_schema_extra={"x-widget": "template"})

    @model_validator(mode="after")
    def _check(self) -> MappingRule:
        has_value = "value" in self.model_fields_set
        if self.from_ is not None and has_value:
            raise PydanticCustomError("mapping_rule", "A rule either copies a field ('from') or computes "
                                                      "one ('value'), not both")
        if self.from_ is None and not has_value:
            raise PydanticCustomError("mapping_rule", "A rule needs 'from' (the field to read) or 'value' "
                                                      "(a computed value)")
        if self.to is None:
            if has_value:
                raise PydanticCustomError("mapping_rule", "A computed field needs 'to', the field to write")
            self.to = self.from_
        if self.format and self.type not in ("date", "datetime"):
            raise PydanticCustomError("mapping_rule", "'format' is only used with type date or datetime")
        if self.type and self.default is not None:
            try:
                self.default = cast_value(self.default, self.type, self.format)
            except CastError as exc:
                raise PydanticCustomError("mapping_rule", "The default of '{to}': {reason}",
                                          {"to": self.to, "reason": str(exc)}) from None
        bad = check_template(self.value) if has_value else []
        if bad:
            path, reason = bad[0]
            raise PydanticCustomError("mapping_rule", "The value of '{to}'{where}: {reason}",
                                      {"to": self.to, "where": f" at {path}" if path else "", "reason": reason})
        return self


SCHEMA_HINT: dict[str, Any] = {"x-widget": "json-schema", "examples": [{"co2_t": "number", "period": "date"}]}


class StoredMapping(BaseModel):
    """A stored, reusable mapping as the mappings service returns it (other keys, such as a
    name or a description, are ignored)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    mapping_rules: list[MappingRule] = []
    input_schema: dict[str, Any] | None = None
    output_schema: dict[str, Any] | None = None
    keep_unmapped: bool = False


# -- the mapping itself -----------------------------------------------------------------


class _Rule:
    __slots__ = ("source", "target", "type", "format", "has_default", "default", "compute")

    def __init__(self, rule: MappingRule) -> None:
        self.source = FieldPath(rule.from_) if rule.from_ is not None else None
        self.target = FieldPath(rule.to or "")
        self.type = rule.type
        self.format = rule.format
        self.has_default = "default" in rule.model_fields_set
        self.default = rule.default
        self.compute = compile_template(rule.value) if self.source is None else None


class CompiledMapping:
    """Rules and schemas made ready once, applied to many items.

    ``apply`` answers the output item and its problems as ``(field, value, message)``."""

    def __init__(self, rules: list[MappingRule], input_schema: dict[str, Any] | None = None,
                 output_schema: dict[str, Any] | None = None, keep_unmapped: bool = False) -> None:
        self.rules = [_Rule(r) for r in rules]
        self.keep_unmapped = keep_unmapped
        self.input_fields = flatten_schema(input_schema)
        self.output_fields = flatten_schema(output_schema)
        self.required_inputs = [f for f in self.input_fields.values() if f.required]
        self.needs_scope = any(r.from_ is None and _contains_template(r.value) for r in rules)

    def apply(self, item: Item, scope: Callable[[], dict[str, Any]]) -> tuple[Item, list[tuple[str, Any, str]]]:
        problems: list[tuple[str, Any, str]] = []
        for f in self.required_inputs:
            if is_blank(f.path.get(item), None):
                problems.append((f.path.raw, None, "has no value, but the input schema requires one"))
        if self.keep_unmapped:
            out = copy_objects(item)
            for r in self.rules:
                if r.source is not None:
                    r.source.pop(out)
        else:
            out = {}
        env: dict[str, Any] | None = None
        for r in self.rules:
            if r.source is not None:
                value = r.source.get(item)
            else:
                if env is None and self.needs_scope:
                    env = scope()
                assert r.compute is not None
                try:
                    value = r.compute(env or {})
                except ExpressionError as exc:
                    problems.append((r.target.raw, None, f"could not be computed: {exc.reason}"))
                    r.target.set(out, None, copy_parents=True)
                    continue
            if is_blank(value, r.type):
                value = r.default if r.has_default else None
            elif r.type is not None:
                try:
                    value = cast_value(value, r.type, r.format)
                except CastError as exc:
                    problems.append((r.target.raw, value, str(exc)))
            r.target.set(out, value, copy_parents=True)
        for f in self.output_fields.values():
            value = f.path.get(out)
            if is_blank(value, f.type):
                if f.required:
                    problems.append((f.path.raw, None, "has no value, but the output schema requires one"))
                continue
            if f.type is not None:
                try:
                    f.path.set(out, cast_value(value, f.type, f.format), copy_parents=True)
                except CastError as exc:
                    problems.append((f.path.raw, value, str(exc)))
        return out, problems


def _contains_template(value: Any) -> bool:
    if isinstance(value, str):
        return is_template(value)
    if isinstance(value, dict):
        return any(_contains_template(v) for v in value.values())
    if isinstance(value, list):
        return any(_contains_template(v) for v in value)
    return False


class DataMapper(Node):
    """Map fields between schemas: rename, nest, cast types, fill defaults, compute fields."""

    type = "DataMapper"
    category = "transform"
    description = "Map fields between schemas: rename, nest, cast types, fill defaults and compute fields."
    icon = "arrow-right-left"
    ports = ("main",)

    class Config(NodeConfig):
        mapping_rules: list[MappingRule] | None = Field(
            None, description="One rule per output field: copy a field ('from' → 'to', with an optional "
                              "type and default) or compute one ('value').",
            json_schema_extra={"x-widget": "mapping-rules",
                               "examples": [[{"from": "emissions.scope1", "to": "co2_scope1", "type": "number",
                                              "default": 0}]]})
        mapping: str | None = Field(
            None, min_length=1, description="A stored, reusable mapping to apply (its rules run first).",
            json_schema_extra={"x-widget": "mapping-select", "examples": ["carbon_to_sap_v2"]})
        input_schema: dict[str, Any] | None = Field(
            None, description="The shape of the incoming items; fields it requires must be there.",
            json_schema_extra={**SCHEMA_HINT, "x-group": "advanced"})
        output_schema: dict[str, Any] | None = Field(
            None, description="The shape of the outgoing items; fields are cast to its types.",
            json_schema_extra={**SCHEMA_HINT, "x-group": "advanced"})
        keep_unmapped: bool = Field(
            False, description="Keep the input fields that no rule reads.")
        on_item_error: Literal["fail", "flag"] = Field(
            "fail", description="When a value cannot be cast: 'fail' stops the node and lists the bad items; "
                                "'flag' lets every item through, with an _errors list on the bad ones.",
            json_schema_extra={"x-group": "advanced"})

        @model_validator(mode="after")
        def _needs_rules(self) -> DataMapper.Config:
            if not self.mapping_rules and not self.mapping:
                raise PydanticCustomError("no_mapping", "Add at least one mapping rule, or name a stored mapping")
            return self

    config: Config

    def __init__(self, config: NodeConfig, node_id: str = "") -> None:
        super().__init__(config, node_id)
        c = self.config
        self._own = CompiledMapping(c.mapping_rules or [], c.input_schema, c.output_schema, c.keep_unmapped)
        self._stored: tuple[dict[str, Any], CompiledMapping] | None = None

    def check(self) -> list[str]:
        c = self.config
        problems: list[str] = []
        for label, schema, attr in (("input", c.input_schema, "from_"), ("output", c.output_schema, "to")):
            if not schema or schema.get("additionalProperties") is not False:
                continue
            known = flatten_schema(schema)
            for n, rule in enumerate(c.mapping_rules or [], 1):
                path = getattr(rule, attr)
                if path is not None and path not in known:
                    verb = "reads" if attr == "from_" else "writes"
                    problems.append(f"Mapping rule {n} {verb} '{path}', which the {label} schema does not declare")
        return problems

    def _mapping(self, ctx: NodeContext) -> CompiledMapping:
        name = self.config.mapping
        if not name:
            return self._own
        store = ctx.services.mappings
        if store is None:
            raise NodeError(f"DataMapper needs the mappings service to read the stored mapping '{name}', "
                            "and none is configured")
        raw = store.get_mapping(name)
        if raw is None:
            raise NodeError(f"There is no stored mapping named '{name}'")
        cached = self._stored
        if cached is not None and cached[0] == raw:
            return cached[1]
        try:
            stored = StoredMapping.model_validate(raw)
        except ValidationError as exc:
            reasons = "; ".join(e["msg"] for e in exc.errors(include_url=False))
            raise NodeError(f"The stored mapping '{name}' is not valid: {reasons}") from None
        c = self.config
        compiled = CompiledMapping(
            stored.mapping_rules + (c.mapping_rules or []),
            c.input_schema if c.input_schema is not None else stored.input_schema,
            c.output_schema if c.output_schema is not None else stored.output_schema,
            c.keep_unmapped if "keep_unmapped" in c.model_fields_set else stored.keep_unmapped)
        self._stored = (copy.deepcopy(raw), compiled)
        return compiled

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        mapping = self._mapping(ctx)
        flag = self.config.on_item_error == "flag"
        out: Items = []
        failures: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            mapped, problems = mapping.apply(item, partial(ctx.with_item, item))
            if problems:
                if flag:
                    errors = list(mapped.get("_errors") or ())
                    errors += [{"field": f, "value": v, "message": m} for f, v, m in problems]
                    mapped["_errors"] = errors
                else:
                    failures += [{"item": index, "field": f, "value": v, "message": m} for f, v, m in problems]
            out.append(mapped)
        if failures:
            first = failures[0]
            more = len(failures) - 1
            raise NodeError(f"Item {first['item']}, field '{first['field']}': {first['message']}"
                            + (f" (and {more} more problem{'s' if more != 1 else ''})" if more else ""),
                            details=failures[:100])
        return {"main": out}
