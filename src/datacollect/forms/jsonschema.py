"""A form as a JSON Schema (Draft 2020-12), for integrators and other tools.

::

    to_json_schema(schema)
    # {"$schema": "https://json-schema.org/draft/2020-12/schema",
    #  "$id": "urn:datacollect:form:supplier_emissions_v2", "type": "object",
    #  "properties": {"scope_1": {"type": "number", "minimum": 0, "title": "Scope 1 emissions",
    #                             "x-datacollect": {"type": "number", "unit": "t CO2e", "page": "emissions"}},
    #                 ...},
    #  "required": ["company_name", ...], "additionalProperties": false, "x-datacollect": {...}}

The schema describes the answers **as the server stores them** (``ValidationResult.cleaned``):
numbers are numbers, dates ``YYYY-MM-DD`` strings, URLs carry their scheme, an empty answer is
``null`` (``[]`` for lists). The validation engine accepts more on input (``"1 250.5"``,
``"yes"``, ``example.com``) and stays the one that counts.

What JSON Schema cannot say goes under ``x-datacollect``: the field type, unit, page,
``visible_if``, ``sensitive``, date bounds, decimals, option labels, accepted file types, the
form's pages and sections, and its cross-field rules. ``required`` lists only the fields that
are required whenever the form is answered (required, and on no condition); a required field
with a ``visible_if`` is required only when shown, which ``x-datacollect`` records.
Patterns are anchored (``^(?:...)$``) because the engine matches the whole answer; they are
written in Python's syntax, which for common patterns is also ECMA-262's.
"""

from __future__ import annotations

from typing import Any

from datacollect.forms.schema import (
    BooleanField,
    DateField,
    EmailField,
    FileField,
    FormSchema,
    FormSettings,
    IntegerField,
    LongTextField,
    MultiSelectField,
    NumberField,
    PhoneField,
    Rule,
    SectionField,
    SelectField,
    TableField,
    TextField,
    UrlField,
    _FieldBase,
    _ValueField,
    humanise,
)

DRAFT = "https://json-schema.org/draft/2020-12/schema"
EXTENSION = "x-datacollect"
PHONE_PATTERN = r"^\+?[0-9 ().\-/]+$"

__all__ = ["to_json_schema", "DRAFT", "EXTENSION"]


def to_json_schema(schema: FormSchema) -> dict[str, Any]:
    """The JSON Schema of a form's answers."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    pages: list[dict[str, Any]] = []
    sections: dict[str, Any] = {}
    for page in schema.pages:
        for f in page.fields:
            if isinstance(f, SectionField):
                sections[f.id] = _compact({"label": f.label, "text": f.text, "visible_if": f.visible_if,
                                           "page": page.id})
                continue
            always = page.visible_if is None and f.visible_if is None
            is_required = isinstance(f, _ValueField) and f.required and always
            properties[f.id] = _field(f, schema.settings, is_required, page=page.id,
                                      page_condition=page.visible_if)
            if is_required:
                required.append(f.id)
        pages.append(_compact({"id": page.id, "title": page.title, "description": page.description,
                               "visible_if": page.visible_if, "fields": [f.id for f in page.fields]}))
    out: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"urn:datacollect:form:{schema.key}",
        "title": schema.title or humanise(schema.name),
    }
    if schema.description:
        out["description"] = schema.description
    out |= {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
    out[EXTENSION] = _compact({
        "key": schema.key,
        "name": schema.name,
        "version": schema.version,
        "pages": pages,
        "sections": sections or None,
        "rules": [_rule(r) for r in schema.rules] or None,
        "settings": schema.settings.model_dump(exclude_none=True),
    })
    return out


def _field(f: _FieldBase, settings: FormSettings, required: bool, *, page: str | None = None,
           page_condition: str | None = None) -> dict[str, Any]:
    assert isinstance(f, _ValueField)
    x: dict[str, Any] = {"type": f.type, "page": page, "page_visible_if": page_condition,
                         "visible_if": f.visible_if, "required_when_shown": True if f.required and not required else None,
                         "sensitive": f.sensitive or None, "placeholder": f.placeholder}
    s = _value_schema(f, settings, required, x)
    nullable = not required
    if nullable:
        _allow_null(s)
    head: dict[str, Any] = {"title": f.title}
    if f.help:
        head["description"] = f.help
    if f.default is not None:
        head["default"] = f.default
    return head | s | {EXTENSION: _compact(x)}


def _value_schema(f: _ValueField, settings: FormSettings, required: bool, x: dict[str, Any]) -> dict[str, Any]:
    if isinstance(f, TextField | LongTextField | EmailField | PhoneField | UrlField):
        s: dict[str, Any] = {"type": "string"}
        lo = f.min_length
        if required:
            lo = max(1, lo or 0)
        if lo:
            s["minLength"] = lo
        if f.max_length is not None:
            s["maxLength"] = f.max_length
        if f.pattern:
            s["pattern"] = f"^(?:{f.pattern})$"
            x["pattern_message"] = f.pattern_message
        if isinstance(f, EmailField):
            s["format"] = "email"
        elif isinstance(f, UrlField):
            s["format"] = "uri"
        elif isinstance(f, PhoneField) and not f.pattern:
            s["pattern"] = PHONE_PATTERN
        if isinstance(f, TextField) and f.allowed_values is not None:
            s["enum"] = list(f.allowed_values)
        return s
    if isinstance(f, NumberField | IntegerField):
        s = {"type": "integer" if isinstance(f, IntegerField) else "number"}
        if f.min is not None:
            s["minimum"] = f.min
        if f.max is not None:
            s["maximum"] = f.max
        if f.step is not None:
            base = f.min or 0
            if (base / f.step).is_integer():
                s["multipleOf"] = f.step
            else:
                x["step"] = f.step
        if isinstance(f, NumberField):
            x["decimals"] = f.decimals
        if f.allowed_values is not None:
            s["enum"] = list(f.allowed_values)
        x["unit"] = f.unit
        return s
    if isinstance(f, DateField):
        x["min"], x["max"] = f.min, f.max
        return {"type": "string", "format": "date"}
    if isinstance(f, SelectField):
        x["options"] = [{"value": o.value, "label": o.text} for o in f.options]
        return {"enum": [o.value for o in f.options]}
    if isinstance(f, MultiSelectField):
        x["options"] = [{"value": o.value, "label": o.text} for o in f.options]
        s = {"type": "array", "items": {"enum": [o.value for o in f.options]}, "uniqueItems": True}
        _counts(s, x, required, f.min_selected, f.max_selected, "min_selected")
        return s
    if isinstance(f, BooleanField):
        return {"type": "boolean"}
    if isinstance(f, FileField):
        limit_mb = f.max_size_mb if f.max_size_mb is not None else settings.max_file_mb
        accept = f.accept if f.accept is not None else settings.allowed_file_types
        x["max_size_mb"], x["accept"], x["multiple"] = limit_mb, accept, f.multiple or None
        ref = {
            "type": "object",
            "properties": {
                "key": {"type": "string", "minLength": 1},
                "name": {"type": "string"},
                "size": {"type": "integer", "minimum": 0, "maximum": int(limit_mb * 1024 * 1024)},
                "content_type": {"type": "string"},
            },
            "required": ["key", "name", "size", "content_type"],
            "additionalProperties": False,
        }
        if not f.multiple:
            return ref
        s = {"type": "array", "items": ref}
        _counts(s, x, required, None, f.max_files, "min_files")
        return s
    if isinstance(f, TableField):
        columns: dict[str, Any] = {}
        column_required: list[str] = []
        for c in f.fields:
            if isinstance(c, SectionField):
                continue
            always = c.visible_if is None
            is_required = isinstance(c, _ValueField) and c.required and always
            columns[c.id] = _field(c, settings, is_required)
            if is_required:
                column_required.append(c.id)
        row = {"type": "object", "properties": columns, "required": column_required,
               "additionalProperties": False}
        s = {"type": "array", "items": row}
        _counts(s, x, required, f.min_rows, f.max_rows, "min_rows")
        x["rules"] = [_rule(r) for r in f.rules] or None
        return s
    raise TypeError(f"no JSON Schema for a {type(f).__name__}")  # pragma: no cover


def _counts(s: dict[str, Any], x: dict[str, Any], required: bool, lo: int | None, hi: int | None,
            lo_name: str) -> None:
    """An empty list is a valid answer to an optional list, whatever its minimum: so the
    minimum is said in JSON Schema only when the answer is required."""
    if required:
        s["minItems"] = max(1, lo or 0)
    elif lo:
        x[lo_name] = lo
    if hi is not None:
        s["maxItems"] = hi


def _allow_null(s: dict[str, Any]) -> None:
    if "enum" in s:
        if None not in s["enum"]:
            s["enum"] = [*s["enum"], None]
    if "type" in s:
        s["type"] = [s["type"], "null"]


def _rule(rule: Rule) -> dict[str, Any]:
    return _compact({"id": rule.id, "expression": rule.expression, "message": rule.message,
                     "fields": rule.fields or None})


def _compact(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
