"""The form schema: what a respondent is asked, page by page.

A form is JSON (YAML accepted where the caller parses it)::

    {"name": "supplier_emissions", "version": 2, "title": "Supplier emissions",
     "settings": {"allow_drafts": true, "max_file_mb": 20},
     "pages": [{"id": "emissions", "title": "Emissions", "fields": [
         {"id": "scope_1", "type": "number", "label": "Scope 1 emissions", "unit": "t CO2e",
          "min": 0, "required": true},
         {"id": "has_sites", "type": "boolean", "label": "Do you operate production sites?"},
         {"id": "sites", "type": "table", "label": "Sites", "visible_if": "has_sites == true",
          "min_rows": 1, "fields": [
              {"id": "site_name", "type": "text", "required": true},
              {"id": "country", "type": "select", "options": ["DE", "FR", "PL"]}]}]}],
     "rules": [{"expression": "scope_1 < 1000000", "message": "Please check scope 1",
                "fields": ["scope_1"]}]}

* **Identity.** ``name`` (a slug) + ``version`` (``2`` or ``"v2"``) give the form's ``key``,
  ``supplier_emissions_v2``. An ``id`` given in the document is kept verbatim and is the key;
  a document with only ``"id": "supplier_emissions_v2"`` gets its name and version from it.
* **Pages.** ``pages`` (each with ``id``, ``title``, ``fields`` and an optional ``visible_if``)
  or, for a one-page form, top-level ``fields`` (kept as one page with the id ``main``).
* **Fields.** ``type`` is one of ``FIELD_TYPES`` (a few spellings are accepted, e.g.
  ``textarea``, ``dropdown``, ``group``). Every field has ``id`` (letters, digits, ``_``),
  ``label``, ``help`` and ``visible_if``; fields that take an answer also have ``required``,
  ``default`` (a prefill for the renderer, never injected by validation), ``placeholder``
  and ``sensitive``. The per-type options are on the models below; an option that does not
  belong to the type is refused, so a typo is a save-time problem.
* **Expressions** (``visible_if``, ``rules[].expression``) are the platform's one expression
  language (sandboxed Jinja2, bare expressions). Every field's value is in scope by its id
  and as ``answers.<id>``; an empty or hidden field is ``none`` (``[]`` for lists and tables).
  Inside a table, a row's columns are in scope by id (shadowing form fields of the same id)
  and as ``row.<id>``. The helpers (``sum``, ``round``, ``today()``...) are there too.
* **Rules** are assertions over the answers: ``{"expression", "message", "fields"}``; when
  the expression is false the submission is refused with ``message`` on the listed fields.
  A table may have its own ``rules``, checked on every row.
* **Checks.** Validating a document (``FormSchema.model_validate`` or ``parse_form_schema``)
  answers every problem at once in one ``FormSchemaError``, each with its path
  (``pages[1].fields[3].max``), the field's id path (``sites.country``) and a plain message.
  The shape is checked first; what the fields mean (duplicate ids, conditions, rules, limits,
  defaults) is checked once the shape is right.

A ``FormSchema`` is immutable: a saved version never changes, and the validator compiled for
it is cached on the object.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Annotated, Any, ClassVar, Literal, Union

from jinja2 import Environment, nodes
from jinja2.defaults import DEFAULT_NAMESPACE
from jinja2.exceptions import TemplateSyntaxError
from jinja2.parser import Parser
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from datacollect.engine.expressions import HELPERS, compile_expression
from datacollect.errors import ExpressionError, InvalidInput

FIELD_TYPES: tuple[str, ...] = (
    "text", "long_text", "number", "integer", "email", "phone", "url", "date",
    "select", "multi_select", "boolean", "file", "table", "section",
)

#: Other spellings of the field types, as form builders and other tools write them.
TYPE_ALIASES: dict[str, str] = {
    "textarea": "long_text", "longtext": "long_text", "paragraph": "long_text",
    "decimal": "number", "float": "number", "int": "integer",
    "tel": "phone", "uri": "url", "link": "url",
    "dropdown": "select", "radio": "select", "choice": "select",
    "multiselect": "multi_select", "multi-select": "multi_select", "checkboxes": "multi_select",
    "bool": "boolean", "checkbox": "boolean", "yes_no": "boolean",
    "upload": "file", "attachment": "file",
    "group": "table", "repeat": "table", "repeating_group": "table",
    "heading": "section",
}

#: Names an expression may use besides field ids.
EXPRESSION_GLOBALS: frozenset[str] = frozenset(HELPERS) | frozenset(DEFAULT_NAMESPACE)
#: Ids a field may not take: they are words of the expression language or names in scope.
RESERVED_IDS: frozenset[str] = frozenset({
    "answers", "row", "true", "false", "none", "True", "False", "None",
    "and", "or", "not", "in", "is", "if", "else", "loop", "self",
})

_ID = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_FORM_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_KEY_VERSION = re.compile(r"^(?P<name>.+?)_v(?P<version>\d+)$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ACCEPT = re.compile(r"^(\.[A-Za-z0-9][A-Za-z0-9.+-]*|[a-z0-9.+-]+/(\*|[A-Za-z0-9.+-]+))$")
_MAX_ID_LENGTH = 64


class FormSchemaError(InvalidInput):
    """A form schema with problems; ``details`` (and ``problems``) lists every one of them as
    ``{"path": "pages[1].fields[3].max", "field": "scope_1", "message": "..."}``."""

    code = "invalid_form"

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        n = len(problems)
        summary = f"The form has {n} problem{'s' if n != 1 else ''}"
        if n == 1:
            first = problems[0]
            where = first.get("field") or first.get("path")
            summary += f": {where}: {first['message']}" if where else f": {first['message']}"
        super().__init__(summary, details=problems)
        self.problems = problems


def humanise(identifier: str) -> str:
    """``scope_1`` -> ``Scope 1``: the label shown when a field has none."""
    text = identifier.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else identifier


# --------------------------------------------------------------------------- the models


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Option(_Model):
    """One choice of a select: ``{"value": "DE", "label": "Germany"}``; a plain string or
    number is taken as an option whose label is its value."""

    value: str | int
    label: str | None = None

    @property
    def text(self) -> str:
        return self.label if self.label is not None else str(self.value)


def _options_in(value: Any) -> Any:
    if isinstance(value, list):
        return [{"value": o} if isinstance(o, str | int) and not isinstance(o, bool) else o
                for o in value]
    return value


Options = Annotated[list[Option], BeforeValidator(_options_in)]


class Rule(_Model):
    """A cross-field rule: ``expression`` must hold, or ``message`` is shown on ``fields``."""

    id: str | None = None
    expression: str
    message: str
    fields: list[str] = []


class _FieldBase(_Model):
    has_value: ClassVar[bool] = True

    id: str
    label: str | None = None
    help: str | None = None
    visible_if: str | None = None

    @property
    def title(self) -> str:
        """The label, or the id made readable."""
        return self.label or humanise(self.id)


class SectionField(_FieldBase):
    """A heading with some text between fields; it takes no answer."""

    has_value: ClassVar[bool] = False

    type: Literal["section"] = "section"
    text: str | None = None


class _ValueField(_FieldBase):
    required: bool = False
    default: Any = None
    placeholder: str | None = None
    sensitive: bool = False


class _TextBase(_ValueField):
    min_length: NonNegativeInt | None = None
    max_length: PositiveInt | None = None
    pattern: str | None = None
    pattern_message: str | None = None


class TextField(_TextBase):
    """One line of text. ``pattern`` must match the whole answer (Python regex syntax)."""

    type: Literal["text"] = "text"
    allowed_values: list[str] | None = None


class LongTextField(_TextBase):
    """Several lines of text."""

    type: Literal["long_text"] = "long_text"


class EmailField(_TextBase):
    type: Literal["email"] = "email"


class PhoneField(_TextBase):
    """A phone number: digits with ``+ ( ) - . /`` and spaces, 6 to 15 digits."""

    type: Literal["phone"] = "phone"


class UrlField(_TextBase):
    """A web address; ``example.com`` is taken as ``https://example.com``."""

    type: Literal["url"] = "url"


class NumberField(_ValueField):
    """A number with an optional unit (``t CO2e``). ``step``: the answer is a multiple of it
    (counted from ``min`` when there is one); ``decimals``: at most so many decimal places."""

    type: Literal["number"] = "number"
    unit: str | None = None
    min: int | float | None = None
    max: int | float | None = None
    step: PositiveFloat | None = None
    decimals: NonNegativeInt | None = None
    allowed_values: list[int | float] | None = None


class IntegerField(_ValueField):
    type: Literal["integer"] = "integer"
    unit: str | None = None
    min: int | None = None
    max: int | None = None
    step: PositiveInt | None = None
    allowed_values: list[int] | None = None


class DateField(_ValueField):
    """A date, answered as ``YYYY-MM-DD``; ``min``/``max`` are such dates or ``"today"``."""

    type: Literal["date"] = "date"
    min: str | None = None
    max: str | None = None

    @field_validator("min", "max", mode="before")
    @classmethod
    def _iso(cls, value: Any) -> Any:
        if isinstance(value, datetime):
            return value.date().isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return value


class SelectField(_ValueField):
    type: Literal["select"] = "select"
    options: Options = []


class MultiSelectField(_ValueField):
    """Several choices; the answer is a list of option values."""

    type: Literal["multi_select"] = "multi_select"
    options: Options = []
    min_selected: NonNegativeInt | None = None
    max_selected: PositiveInt | None = None


class BooleanField(_ValueField):
    """Yes or no. ``required`` means it must be answered, not that it must be yes."""

    type: Literal["boolean"] = "boolean"


class FileField(_ValueField):
    """An upload. The answer is a reference into the blob store,
    ``{"key", "name", "size", "content_type"}`` (a list of them when ``multiple``).
    ``accept`` lists extensions (``.pdf``) and MIME types (``application/pdf``, ``image/*``);
    without it, and without ``max_size_mb``, the form's settings apply."""

    type: Literal["file"] = "file"
    max_size_mb: PositiveFloat | None = None
    accept: list[str] | None = None
    multiple: bool = False
    max_files: PositiveInt | None = None


class TableField(_ValueField):
    """A repeating group: the answer is a list of rows, each an object of the ``fields``.
    ``rules`` are checked on every row."""

    type: Literal["table"] = "table"
    fields: list[AnyField] = []
    min_rows: NonNegativeInt | None = None
    max_rows: PositiveInt | None = None
    rules: list[Rule] = []


def _field_in(value: Any) -> Any:
    if isinstance(value, Mapping):
        kind = value.get("type")
        if isinstance(kind, str) and kind not in FIELD_TYPES:
            canonical = TYPE_ALIASES.get(kind.lower()) or (kind.lower() if kind.lower() in FIELD_TYPES else None)
            if canonical:
                return {**value, "type": canonical}
    return value


AnyField = Annotated[
    Annotated[
        Union[  # noqa: UP007 - a discriminated union reads best spelled out
            TextField, LongTextField, NumberField, IntegerField, EmailField, PhoneField, UrlField,
            DateField, SelectField, MultiSelectField, BooleanField, FileField, TableField, SectionField,
        ],
        Field(discriminator="type"),
    ],
    BeforeValidator(_field_in),
]
TableField.model_rebuild()

#: Every field model, by type.
FIELD_MODELS: dict[str, type[_FieldBase]] = {
    m.model_fields["type"].default: m
    for m in (TextField, LongTextField, NumberField, IntegerField, EmailField, PhoneField, UrlField,
              DateField, SelectField, MultiSelectField, BooleanField, FileField, TableField, SectionField)
}


class Page(_Model):
    id: str
    title: str | None = None
    description: str | None = None
    visible_if: str | None = None
    fields: list[AnyField] = []


class FormReview(_Model):
    """Review on: every submitted response goes into a review queue by itself, without a
    workflow (DESIGN §8). The same settings as the Review node's; expressions and templates
    read the answers as ``item`` (``item.co2_t > 1000``, ``{{ item.company_name }}``)."""

    queue: str | None = Field(None, max_length=100, description="The queue (by default form:<name>).")
    team: str | None = Field(None, description="The team whose members review (a team's name).")
    assign: Literal["team", "user", "round_robin", "least_loaded"] = "team"
    assignee: str | None = Field(None, description="For assign: user, the reviewer's email.")
    priority: str | int = Field("normal", description="low, normal, high, urgent, 0 to 3, or an expression.")
    sla: str | float | None = Field(None, description="How long reviewers have ('2d', '8h'); then it escalates.")
    escalate_to: str | None = None
    four_eyes_if: str | None = Field(None, description="When this holds, two different people approve.")
    title: str | None = Field(None, description="What the queue shows ({{ item.company_name }}).")

    @model_validator(mode="after")
    def _consistent(self) -> FormReview:
        if self.assign == "user" and not self.assignee:
            raise ValueError("'assign: user' needs the reviewer's email in 'assignee'")
        if self.assign in ("round_robin", "least_loaded") and not self.team:
            raise ValueError(f"'assign: {self.assign}' needs a team")
        named = isinstance(self.priority, int) or self.priority.strip().lower() in ("low", "normal", "high", "urgent") \
            or self.priority.strip().isdigit()
        for name, source in (("four_eyes_if", self.four_eyes_if), ("priority", None if named else self.priority)):
            if source:
                try:
                    compile_expression(str(source))
                except ExpressionError as exc:
                    raise ValueError(f"{name}: {exc.reason}") from None
        if self.sla is not None:
            from datacollect.nodes.wait import parse_duration

            parse_duration(self.sla)
        return self


class FormSettings(BaseModel):
    """Form-wide settings. Keys other than these are kept as they are, for the parts of the
    platform that read them (campaigns, reviews)."""

    model_config = ConfigDict(extra="allow", frozen=True)

    allow_drafts: bool = True
    max_file_mb: PositiveFloat = 25
    allowed_file_types: list[str] | None = None
    review: FormReview | None = None


class FormSchema(_Model):
    """One version of a form. Validating a document answers every problem at once in a
    ``FormSchemaError`` (see the module's docstring); ``key`` is its versioned id."""

    id: str | None = None
    name: str = ""
    version: int | str = 1
    title: str | None = None
    description: str | None = None
    pages: list[Page] = []
    rules: list[Rule] = []
    settings: FormSettings = FormSettings()

    _compiled: Any = PrivateAttr(default=None)

    def __getstate__(self) -> dict[Any, Any]:
        """A pickled form (for a bulk import's worker processes) leaves its compiled validator
        behind: the other process compiles its own from the form."""
        state = super().__getstate__()
        return {**state, "__pydantic_private__": {**(state.get("__pydantic_private__") or {}), "_compiled": None}}

    @model_validator(mode="wrap")
    @classmethod
    def _validate(cls, data: Any, handler: Any) -> FormSchema:
        if isinstance(data, FormSchema):
            return data
        single = isinstance(data, Mapping) and "fields" in data and "pages" not in data
        raw = _normalise(data) if isinstance(data, Mapping) else data
        try:
            schema = handler(raw)
        except ValidationError as exc:
            raise FormSchemaError(_shape_problems(exc, raw, single)) from None
        problems = _check(schema, single)
        if problems:
            raise FormSchemaError(problems)
        return schema

    @property
    def key(self) -> str:
        """The versioned id (``supplier_emissions_v2``): ``id`` when given, else derived."""
        if self.id:
            return self.id
        return f"{self.name}_{self.version_label}"

    @property
    def version_label(self) -> str:
        """``2`` and ``"2"`` -> ``v2``; ``"v2"`` stays; another label stays as it is."""
        v = str(self.version)
        return f"v{v}" if v.isdigit() else (v.lower() if re.fullmatch(r"[vV]\d+", v) else v)

    def iter_fields(self) -> Iterator[tuple[Page, _FieldBase]]:
        """Every top-level field (sections too), page by page, in the order shown."""
        for page in self.pages:
            for f in page.fields:
                yield page, f

    @property
    def field_map(self) -> dict[str, _FieldBase]:
        """Top-level fields by id."""
        return {f.id: f for _, f in self.iter_fields()}

    def field(self, field_id: str) -> _FieldBase:
        """A top-level field, or a table column as ``sites.country``; KeyError if none."""
        head, _, rest = field_id.partition(".")
        found = self.field_map[head]
        while rest:
            if not isinstance(found, TableField):
                raise KeyError(field_id)
            head, _, rest = rest.partition(".")
            found = {c.id: c for c in found.fields}[head]
        return found

    def sensitive_paths(self) -> list[str]:
        """The answers marked ``sensitive``: ``["annual_revenue", "sites[*].iban"]``."""
        out: list[str] = []

        def walk(fields: list[Any], prefix: str) -> None:
            for f in fields:
                if isinstance(f, _ValueField) and f.sensitive:
                    out.append(prefix + f.id)
                if isinstance(f, TableField):
                    walk(f.fields, f"{prefix}{f.id}[*].")

        walk([f for _, f in self.iter_fields()], "")
        return out


def parse_form_schema(data: Mapping[str, Any] | str | bytes) -> FormSchema:
    """A form from a dict or a JSON text; raises ``FormSchemaError`` with every problem."""
    if isinstance(data, str | bytes):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise FormSchemaError([{"path": "", "field": None,
                                    "message": f"The form is not valid JSON: {exc}"}]) from None
    if not isinstance(data, Mapping):
        raise FormSchemaError([{"path": "", "field": None, "message": "A form must be a JSON object"}])
    return FormSchema.model_validate(data)


# --------------------------------------------------------------------------- normalising


def _normalise(data: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(data)
    if "fields" in out and "pages" not in out:
        out["pages"] = [{"id": "main", "title": out.get("title"), "fields": out.pop("fields")}]
    pages = out.get("pages")
    if isinstance(pages, list):
        out["pages"] = [
            {"id": f"page_{i + 1}", **p} if isinstance(p, Mapping) and "id" not in p else p
            for i, p in enumerate(pages)
        ]
    form_id = out.get("id")
    if not out.get("name") and isinstance(form_id, str) and form_id:
        m = _KEY_VERSION.match(form_id)
        if m:
            out["name"] = m.group("name")
            out.setdefault("version", int(m.group("version")))
        else:
            out["name"] = form_id
    return out


# --------------------------------------------------------------------------- shape problems

_PLAIN = {
    "string_type": "must be text",
    "int_type": "must be a whole number",
    "int_parsing": "must be a number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "list_type": "must be a list",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
}


def _shape_problems(exc: ValidationError, raw: Any, single: bool) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False):
        parts, field_path, kind = _follow(raw, err["loc"])
        path = _path_text(parts, single)
        if path in seen:  # one problem per place (a union reports each of its members)
            continue
        seen.add(path)
        problems.append({"path": path, "field": field_path, "message": _shape_message(err, parts, kind)})
    return problems


def _follow(raw: Any, loc: tuple[Any, ...]) -> tuple[list[str | int], str | None, str | None]:
    """Walk the submitted document along a pydantic location, dropping the union tags that
    pydantic adds, and note the id path of the innermost field on the way."""
    parts: list[str | int] = []
    ids: list[str] = []
    kind: str | None = None
    cur = raw
    for i, elt in enumerate(loc):
        last = i == len(loc) - 1
        if isinstance(cur, Mapping):
            if elt in cur:
                parts.append(elt)
                cur = cur[elt]
            elif last:
                parts.append(elt)
            continue
        if isinstance(cur, list) and isinstance(elt, int) and 0 <= elt < len(cur):
            parts.append(elt)
            cur = cur[elt]
            in_fields = len(parts) >= 2 and parts[-2] == "fields"
            if in_fields and isinstance(cur, Mapping):
                if isinstance(cur.get("id"), str):
                    ids.append(cur["id"])
                kind = cur.get("type") if isinstance(cur.get("type"), str) else None
    return parts, ".".join(ids) or None, kind


def _path_text(parts: list[str | int], single: bool) -> str:
    if single and parts[:3] == ["pages", 0, "fields"]:
        parts = parts[2:]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _shape_message(err: Any, parts: list[str | int], kind: str | None) -> str:
    t = err["type"]
    last = parts[-1] if parts else ""
    if t == "union_tag_invalid":
        tag = err.get("ctx", {}).get("tag")
        return f"Unknown field type {tag!r}; the types are: {', '.join(FIELD_TYPES)}"
    if t == "union_tag_not_found":
        return "The field has no 'type'"
    if t == "missing":
        return f"'{last}' is missing"
    if t == "extra_forbidden" and parts == ["fields"]:
        return "Give either 'pages' or 'fields', not both"
    if t == "extra_forbidden":
        if kind and isinstance(last, str) and len(parts) >= 3 and parts[-3] == "fields":
            return f"'{last}' is not an option of a {kind} field"
        return f"'{last}' is not a known setting here"
    if t in _PLAIN:
        return f"'{last}' {_PLAIN[t]}" if isinstance(last, str) else _PLAIN[t][0].upper() + _PLAIN[t][1:]
    if t in ("greater_than", "greater_than_equal"):
        bound = err.get("ctx", {}).get("gt", err.get("ctx", {}).get("ge"))
        word = "greater than" if t == "greater_than" else "at least"
        return f"'{last}' must be {word} {bound}"
    return f"'{last}': {err['msg']}" if isinstance(last, str) and last else err["msg"]


# --------------------------------------------------------------------------- expressions

_parse_env = Environment()


def expression_names(source: str) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """The names an expression reads, as ``(bare names, answers.<x>, row.<x>)``.
    Raises ``ExpressionError`` when it does not parse."""
    text = source.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    try:
        parser = Parser(_parse_env, text, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            raise TemplateSyntaxError("unexpected text after the expression", 1)
    except TemplateSyntaxError as exc:
        raise ExpressionError(source, f"does not parse: {exc.message}") from exc
    bare: set[str] = set()
    answers: set[str] = set()
    row: set[str] = set()
    kinds = (nodes.Name, nodes.Getattr, nodes.Getitem)
    found = [expr, *expr.find_all(kinds)] if isinstance(expr, kinds) else expr.find_all(kinds)
    for node in found:
        if isinstance(node, nodes.Name):
            bare.add(node.name)
        elif isinstance(node.node, nodes.Name) and node.node.name in ("answers", "row"):
            target = answers if node.node.name == "answers" else row
            if isinstance(node, nodes.Getattr):
                target.add(node.attr)
            elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
                target.add(node.arg.value)
    return frozenset(bare), frozenset(answers), frozenset(row)


def field_references(source: str, fields: set[str], columns: set[str] | None = None) -> set[str]:
    """The field ids (or, inside a table, the column ids) an expression reads. The names that
    are not fields are left out; ``check``-time reports them."""
    bare, answers, row = expression_names(source)
    if columns is None:
        return (set(bare) | set(answers)) & fields
    return (set(bare) | set(row)) & columns


def dependency_order(graph: Mapping[Any, set[Any]]) -> tuple[list[Any], list[list[Any]]]:
    """Order the nodes of ``graph`` (node -> the nodes it depends on) so that each comes after
    what it depends on; also answer the loops found (each as a list of nodes)."""
    order: list[Any] = []
    state: dict[Any, int] = {}
    loops: list[list[Any]] = []

    def visit(node: Any, stack: list[Any]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ()), key=str):
            if dep not in graph:
                continue
            if state.get(dep) == 1:
                loops.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2
        order.append(node)

    for node in graph:
        if node not in state:
            visit(node, [])
    return order, loops


# --------------------------------------------------------------------------- meaning problems


class _Problems:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, path: str, field: str | None, message: str) -> None:
        self.items.append({"path": path, "field": field, "message": message})


def _check(schema: FormSchema, single: bool) -> list[dict[str, Any]]:
    p = _Problems()
    if not schema.name:
        p.add("name", None, "The form needs a name (for example supplier_emissions)")
    elif not _SLUG.match(schema.name):
        p.add("name", None, "The name may hold lower-case letters, digits, '_' and '-' only "
                            "(for example supplier_emissions)")
    if isinstance(schema.version, bool) or (isinstance(schema.version, int) and schema.version < 1):
        p.add("version", None, "The version must be a number from 1, or a label such as v2")
    elif isinstance(schema.version, str) and not _VERSION.match(schema.version):
        p.add("version", None, "The version must be a number, or a label of letters, digits, "
                               "'.', '_' and '-' (such as v2)")
    if schema.id is not None and not _FORM_ID.match(schema.id):
        p.add("id", None, "The id may hold letters, digits, '.', '_' and '-' only")
    if not any(f.has_value for _, f in schema.iter_fields()):
        p.add("pages" if not single else "fields", None, "The form has no fields to answer")
    _check_file_types(p, "settings.allowed_file_types", None, schema.settings.allowed_file_types)

    def page_path(i: int) -> str:
        return "" if single else f"pages[{i}]"

    def field_path(i: int, j: int) -> str:
        return f"fields[{j}]" if single else f"pages[{i}].fields[{j}]"

    seen_pages: dict[str, int] = {}
    for i, page in enumerate(schema.pages):
        if not _ID.match(page.id):
            p.add(f"pages[{i}].id", None, "A page id may hold letters, digits and '_' only, "
                                          "and must not start with a digit")
        if page.id in seen_pages:
            p.add(f"pages[{i}].id", None, f"The page id '{page.id}' is used twice")
        seen_pages.setdefault(page.id, i)

    top = [(field_path(i, j), f) for i, page in enumerate(schema.pages) for j, f in enumerate(page.fields)]
    top_ids = _check_ids(p, top, "")
    value_ids = {f.id for _, f in top if f.has_value}
    for i, page in enumerate(schema.pages):
        if page.visible_if is not None:
            _check_expression(p, f"{page_path(i)}.visible_if".lstrip("."), None, page.visible_if,
                              "visible_if", value_ids, None)
    for path, f in top:
        _check_field(p, path, f.id, f, value_ids, None)
    for k, rule in enumerate(schema.rules):
        _check_rule(p, f"rules[{k}]", None, rule, value_ids, None)

    # conditions must not depend on each other in a loop
    graph: dict[tuple[str, str], set[tuple[str, str]]] = {}
    where: dict[tuple[str, str], str] = {}
    for i, page in enumerate(schema.pages):
        if page.visible_if is not None and _parses(page.visible_if):
            node = ("page", page.id)
            graph[node] = {("field", x) for x in field_references(page.visible_if, value_ids)}
            where[node] = f"{page_path(i)}.visible_if".lstrip(".")
    for i, page in enumerate(schema.pages):
        for j, f in enumerate(page.fields):
            if not f.has_value or (f.visible_if is None and page.visible_if is None):
                continue
            node = ("field", f.id)
            deps = set(graph.get(node, set()))
            if f.visible_if is not None and _parses(f.visible_if):
                deps |= {("field", x) for x in field_references(f.visible_if, value_ids)}
            if page.visible_if is not None:
                deps.add(("page", page.id))
            graph[node] = deps
            where.setdefault(node, f"{field_path(i, j)}.visible_if")
    _report_loops(p, graph, where, top_ids)
    return p.items


def _parses(source: str) -> bool:
    try:
        expression_names(source)
    except ExpressionError:
        return False
    return True


def _report_loops(p: _Problems, graph: Mapping[tuple[str, str], set[tuple[str, str]]],
                  where: Mapping[tuple[str, str], str], ids: Mapping[str, str], prefix: str = "") -> None:
    _, loops = dependency_order(graph)
    for loop in loops:
        first = loop[0]
        field = prefix + first[1] if first[0] == "field" else None
        if len(loop) == 2:
            message = "The condition depends on this field's own answer"
        else:
            chain = " -> ".join(("page " if k == "page" else "") + n for k, n in loop)
            message = f"The conditions depend on each other in a loop: {chain}"
        p.add(where.get(first, ids.get(first[1], "")), field, message)


def _check_ids(p: _Problems, fields: list[tuple[str, _FieldBase]], prefix: str) -> dict[str, str]:
    seen: dict[str, str] = {}
    for path, f in fields:
        fp = prefix + f.id
        if not _ID.match(f.id):
            p.add(f"{path}.id", fp, "An id may hold letters, digits and '_' only, and must not start "
                                    "with a digit (for example scope_1)")
        elif len(f.id) > _MAX_ID_LENGTH:
            p.add(f"{path}.id", fp, f"An id may be at most {_MAX_ID_LENGTH} characters long")
        elif f.id in RESERVED_IDS:
            p.add(f"{path}.id", fp, f"'{f.id}' is a reserved word of the expression language; "
                                    "please choose another id")
        if f.id in seen:
            p.add(f"{path}.id", fp, f"The id '{f.id}' is used twice (first at {seen[f.id]})")
        else:
            seen[f.id] = path
    return seen


def _check_expression(p: _Problems, path: str, field: str | None, source: str, what: str,
                      fields: set[str], columns: set[str] | None) -> None:
    try:
        compile_expression(source)
        bare, answers, row = expression_names(source)
    except ExpressionError as exc:
        p.add(path, field, f"The {what} expression {exc.reason}")
        return
    known = EXPRESSION_GLOBALS | {"answers"} | fields
    if columns is not None:
        known = known | {"row"} | columns
    unknown = sorted((bare - known) | (answers - fields) | ((row - columns) if columns is not None else set()))
    for name in unknown:
        if columns is None:
            p.add(path, field, f"The {what} expression refers to '{name}', which is not a field of this form")
        else:
            p.add(path, field, f"The {what} expression refers to '{name}', which is not a column of "
                               "this table nor a field of this form")


def _check_rule(p: _Problems, path: str, table: str | None, rule: Rule, fields: set[str],
                columns: set[str] | None) -> None:
    field = f"{table}" if table else None
    if not rule.message.strip():
        p.add(f"{path}.message", field, "A rule needs a message for the respondent")
    _check_expression(p, f"{path}.expression", field, rule.expression, "rule", fields, columns)
    targets = columns if columns is not None else fields
    for k, name in enumerate(rule.fields):
        if name not in targets:
            where = "column of this table" if columns is not None else "field of this form"
            p.add(f"{path}.fields[{k}]", field, f"The rule names '{name}', which is not a {where}")


def _check_field(p: _Problems, path: str, fp: str, f: _FieldBase, fields: set[str],
                 columns: set[str] | None) -> None:
    if f.visible_if is not None:
        _check_expression(p, f"{path}.visible_if", fp, f.visible_if, "visible_if", fields, columns)
    if isinstance(f, _TextBase):
        _check_range(p, path, fp, "min_length", f.min_length, "max_length", f.max_length)
        if f.pattern is not None:
            try:
                re.compile(f.pattern)
            except re.error as exc:
                p.add(f"{path}.pattern", fp, f"The pattern is not a valid regular expression: {exc}")
    if isinstance(f, NumberField | IntegerField):
        _check_range(p, path, fp, "min", f.min, "max", f.max)
        if f.allowed_values is not None and not f.allowed_values:
            p.add(f"{path}.allowed_values", fp, "The list of allowed values is empty")
    if isinstance(f, TextField) and f.allowed_values is not None and not f.allowed_values:
        p.add(f"{path}.allowed_values", fp, "The list of allowed values is empty")
    if isinstance(f, DateField):
        bounds = {}
        for key in ("min", "max"):
            value = getattr(f, key)
            if value is None or value == "today":
                continue
            try:
                if not _ISO_DATE.match(value):
                    raise ValueError(value)
                bounds[key] = date.fromisoformat(value)
            except ValueError:
                p.add(f"{path}.{key}", fp, f"'{value}' is not a date; write YYYY-MM-DD or \"today\"")
        if len(bounds) == 2 and bounds["min"] > bounds["max"]:
            p.add(f"{path}.min", fp, f"The earliest date ({f.min}) is after the latest ({f.max})")
    if isinstance(f, SelectField | MultiSelectField):
        if not f.options:
            p.add(f"{path}.options", fp, "A choice field needs at least one option")
        seen: set[Any] = set()
        for k, o in enumerate(f.options):
            if o.value in seen or str(o.value) in seen:
                p.add(f"{path}.options[{k}]", fp, f"The option '{o.value}' is listed twice")
            seen |= {o.value, str(o.value)}
    if isinstance(f, MultiSelectField):
        _check_range(p, path, fp, "min_selected", f.min_selected, "max_selected", f.max_selected)
        if f.options and f.min_selected is not None and f.min_selected > len(f.options):
            p.add(f"{path}.min_selected", fp, f"At least {f.min_selected} choices are asked for, "
                                              f"but there are only {len(f.options)} options")
    if isinstance(f, FileField):
        _check_file_types(p, f"{path}.accept", fp, f.accept)
        if f.max_files is not None and not f.multiple and f.max_files > 1:
            p.add(f"{path}.max_files", fp, "'max_files' needs 'multiple': true")
    if isinstance(f, TableField):
        _check_table(p, path, fp, f, fields)
    if isinstance(f, _ValueField) and f.default is not None and not isinstance(f, TableField):
        from datacollect.forms.validation import check_default

        try:
            message = check_default(f, f.default)
        except (ValueError, re.error):  # a bad pattern or date bound, reported above
            message = None
        if message:
            p.add(f"{path}.default", fp, f"The default value is not a valid answer: {message}")


def _check_table(p: _Problems, path: str, fp: str, f: TableField, fields: set[str]) -> None:
    _check_range(p, path, fp, "min_rows", f.min_rows, "max_rows", f.max_rows)
    if not any(c.has_value for c in f.fields):
        p.add(f"{path}.fields", fp, "A table needs at least one column to answer")
    cols = [(f"{path}.fields[{k}]", c) for k, c in enumerate(f.fields)]
    ids = _check_ids(p, cols, fp + ".")
    column_ids = {c.id for c in f.fields if c.has_value}
    for cpath, c in cols:
        _check_field(p, cpath, f"{fp}.{c.id}", c, fields, column_ids)
    for k, rule in enumerate(f.rules):
        _check_rule(p, f"{path}.rules[{k}]", fp, rule, fields, column_ids)
    graph: dict[tuple[str, str], set[tuple[str, str]]] = {}
    where: dict[tuple[str, str], str] = {}
    for cpath, c in cols:
        if c.has_value and c.visible_if is not None and _parses(c.visible_if):
            node = ("field", c.id)
            graph[node] = {("field", x) for x in field_references(c.visible_if, fields, column_ids)}
            where[node] = f"{cpath}.visible_if"
    _report_loops(p, graph, where, ids, prefix=fp + ".")


def _check_range(p: _Problems, path: str, fp: str, lo_name: str, lo: Any, hi_name: str, hi: Any) -> None:
    if lo is not None and hi is not None and lo > hi:
        p.add(f"{path}.{lo_name}", fp, f"'{lo_name}' ({lo}) is greater than '{hi_name}' ({hi})")


def _check_file_types(p: _Problems, path: str, fp: str | None, types: list[str] | None) -> None:
    for k, t in enumerate(types or ()):
        normal = t if t.startswith(".") or "/" in t else f".{t}"
        if not _ACCEPT.match(normal):
            p.add(f"{path}[{k}]", fp, f"'{t}' is neither a file extension (.pdf) nor a file type "
                                      "(application/pdf, image/*)")
