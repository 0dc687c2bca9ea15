"""The one validation engine: the server's answer on a submission is the one that counts.

::

    result = validate_submission(schema, {"scope_1": "1250.5", "has_sites": "yes", ...})
    result.ok        # False
    result.errors    # [{"field": "sites[2].country", "message": "Please choose one of the options",
                     #   "code": "option"}]
    result.cleaned   # {"scope_1": 1250.5, "has_sites": True, "sites": [...], ...}

What it does, in order:

1. **Unknown keys** are reported (``unknown_field``), never stored; inside a table, per row.
2. **Each answer is read and checked** against its field: numbers from numbers or from
   strings with a dot for decimals (``"1250.5"``, ``"1 250.5"``; a comma is refused rather
   than guessed), whole numbers for ``integer``, dates as ``YYYY-MM-DD``, booleans from
   ``true``/``false``/``"yes"``/``"no"``/``"1"``/``"0"``, select values by value (``"2"`` finds the
   option ``2``), file references ``{"key", "name", "size", "content_type"}`` against the size
   and type limits; then lengths, patterns, bounds, steps, decimals, allowed values.
   ``None``, ``""``, blanks and ``[]`` are *empty*.
3. **Visibility.** ``visible_if`` conditions (pages' and fields') are evaluated in dependency
   order; a hidden field is not required, its value is dropped and later conditions see it as
   empty. A condition that cannot be evaluated (``revenue > 10`` with no revenue) is false.
4. **Required** visible fields must not be empty; tables are checked row by row (paths
   ``sites[2].country``, rows counted from 0), with the row's columns in scope.
5. **Rules** run last, with every value (``cleaned``) in scope. A rule is skipped when a field
   it reads has an error, and when it fails to evaluate because a field it reads is empty or
   hidden; any other failure to evaluate refuses the submission with the rule's message.

``partial=True`` is a draft save: answers are read and checked as above, but required fields,
``min_rows``, ``min_selected`` and rules are not enforced.

``cleaned`` has every visible field in form order (empty ones as ``None``, or ``[]`` for
multi-selects, multiple files and tables), values cast (dates stay ISO strings, so the result
is JSON as it is); hidden fields and invalid values are left out.

The validator for a schema is compiled once (conditions, rules, patterns, option lookups) and
cached on the ``FormSchema`` object, so the hot path is plain Python over the answers. It is the
one engine for submissions and bulk imports alike. For the many rows of an import it keeps a
little memory, bounded and exact: a condition or rule whose answer depends only on the answers
it reads (no clock, no ``answers``/``row``, only pure helpers and filters) keeps its recent
results by those values (``1``, ``1.0`` and ``True`` are different values), and stops keeping
them for a while when few come back (figures that differ on every row); a date field reads each
distinct text once, and works out "today" once an hour (its bounds move on whole UTC hours).
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, nodes
from jinja2.parser import Parser

from datacollect.engine.expressions import compile_expression
from datacollect.errors import ExpressionError
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
    SelectField,
    TableField,
    TextField,
    UrlField,
    _FieldBase,
    _ValueField,
    dependency_order,
    expression_names,
    field_references,
)

__all__ = ["ValidationResult", "FormValidator", "compile_validator", "validate_submission", "check_default"]

Error = dict[str, Any]
#: A converter answers (value, None) or (None, problem); a problem is (code, message), or for
#: a list of files a list of (path suffix, code, message).
Converter = Callable[[Any, bool], tuple[Any, Any]]

_MISSING = object()
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SPACES = re.compile(r"[\s\u00a0\u2009\u202f']+")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_PHONE = re.compile(r"\+?[0-9 ().\-/]+")
_HOST = re.compile(r"(?:[^\s/:?#@.]+\.)+[^\s/:?#@.]+(?::\d+)?(?:[/?#]\S*)?|localhost(?::\d+)?(?:[/?#]\S*)?")
_BOOLEANS = {"true": True, "false": False, "yes": True, "no": False, "y": True, "n": False,
             "1": True, "0": False, "on": True, "off": False}
_REQUIRED = "This field is required"


class ValidationResult:
    """``ok``, ``errors`` (``[{"field", "message", "code", ...}]``) and ``cleaned``."""

    __slots__ = ("errors", "cleaned")

    def __init__(self, errors: list[Error], cleaned: dict[str, Any]) -> None:
        self.errors = errors
        self.cleaned = cleaned

    @property
    def ok(self) -> bool:
        return not self.errors

    def messages(self) -> dict[str, list[str]]:
        """The messages by field path, for a renderer that shows them beside the fields."""
        out: dict[str, list[str]] = {}
        for e in self.errors:
            out.setdefault(e["field"], []).append(e["message"])
        return out

    def __repr__(self) -> str:
        return f"ValidationResult(ok={self.ok}, errors={self.errors!r})"


def validate_submission(schema: FormSchema, answers: Mapping[str, Any], *, partial: bool = False
                        ) -> ValidationResult:
    """Check a submission (or, with ``partial=True``, a draft) against a form."""
    return compile_validator(schema).validate(answers, partial=partial)


def compile_validator(schema: FormSchema) -> FormValidator:
    """The compiled validator of a form, made once and cached on the schema object."""
    compiled = schema._compiled
    if compiled is None:
        compiled = FormValidator(schema)
        schema._compiled = compiled
    return compiled


def check_default(field: _FieldBase, value: Any) -> str | None:
    """Why ``value`` is not a valid answer to ``field`` (the message), or None if it is."""
    convert = _converter(field, FormSettings())
    if convert is None:
        return None
    _, problem = convert(value, True)
    if problem is None:
        return None
    return problem[0][2] if isinstance(problem, list) else problem[1]


class FormValidator:
    """A form compiled for validation; use ``compile_validator`` to get the cached one."""

    __slots__ = ("schema", "_root")

    def __init__(self, schema: FormSchema, *, remember: bool = True) -> None:
        self.schema = schema
        fields = [f for _, f in schema.iter_fields()]
        page_of = {f.id: page for page, f in schema.iter_fields()}
        pages = [(p.id, p.visible_if) for p in schema.pages if p.visible_if is not None]
        self._root = _Block(fields, schema.rules, schema.settings, pages=pages, page_of=page_of,
                            top_ids=None)
        if not remember:  # every condition and rule evaluated every time, with every answer in scope
            for cond in self._root.conditions():
                cond.names = None

    def validate(self, answers: Mapping[str, Any], *, partial: bool = False) -> ValidationResult:
        if not isinstance(answers, Mapping):
            return ValidationResult([{"field": "", "message": "The answers could not be read",
                                      "code": "type"}], {})
        errors: list[Error] = []
        cleaned = self._root.run(answers, "", None, partial, errors)
        return ValidationResult(errors, cleaned)


# --------------------------------------------------------------------------- compiled blocks


class _CField:
    __slots__ = ("id", "required", "convert", "table", "is_list", "min_rows", "max_rows", "title")

    def __init__(self, f: _ValueField, settings: FormSettings, top_ids: set[str]) -> None:
        self.id = f.id
        self.title = f.title
        self.required = f.required
        self.convert = _converter(f, settings)
        self.is_list = isinstance(f, MultiSelectField | TableField) or (isinstance(f, FileField) and f.multiple)
        self.table: _Block | None = None
        self.min_rows = self.max_rows = None
        if isinstance(f, TableField):
            self.table = _Block(f.fields, f.rules, settings, pages=(), page_of={}, top_ids=top_ids)
            self.min_rows, self.max_rows = f.min_rows, f.max_rows

    def empty(self) -> Any:
        return [] if self.is_list else None


class _CRule:
    __slots__ = ("id", "evaluate", "message", "fields", "refs", "outer")

    def __init__(self, rule: Rule, ids: set[str], columns: set[str] | None) -> None:
        self.id = rule.id
        self.evaluate = _Cond(rule.expression, ids | columns if columns is not None else ids)
        self.message = rule.message
        self.fields = list(rule.fields)
        #: the fields of its own block it reads; for a row rule, also the form's fields it reads
        self.refs = frozenset(field_references(rule.expression, ids, columns))
        self.outer: frozenset[str] = frozenset()
        if columns is not None:
            bare, answers, _ = expression_names(rule.expression)
            self.outer = frozenset(((bare - columns) | answers) & ids)


class _Block:
    """The fields of a form (``top_ids`` None) or the columns of a table, compiled."""

    __slots__ = ("fields", "ids", "sections", "plan", "rules", "uses_scope", "is_table", "empties", "steps")

    def __init__(self, fields: list[Any], rules: list[Rule], settings: FormSettings, *,
                 pages: Any, page_of: Mapping[str, Any], top_ids: set[str] | None) -> None:
        value_fields = [f for f in fields if f.has_value]
        ids = {f.id for f in value_fields}
        self.is_table = top_ids is not None
        self.ids = frozenset(ids)
        self.sections = frozenset(f.id for f in fields if not f.has_value)
        self.fields = [_CField(f, settings, ids) for f in value_fields]
        self.empties = {c.id: c.empty() for c in self.fields}
        #: per field, what the hot path reads: (id, converter, is a table, required, the field)
        self.steps = [(c.id, c.convert, c.table is not None, c.required, c) for c in self.fields]
        columns = ids if self.is_table else None
        scope_ids = top_ids if top_ids is not None else ids
        self.rules = [_CRule(r, scope_ids, columns) for r in rules]

        # visibility: conditional pages and fields, each after the conditions it reads
        conditional_pages = dict(pages)
        graph: dict[tuple[str, str], set[tuple[str, str]]] = {}
        evaluators: dict[tuple[str, str], Any] = {}
        for page_id, source in conditional_pages.items():
            node = ("page", page_id)
            graph[node] = {("field", x) for x in field_references(source, ids)}
            evaluators[node] = _Cond(source, ids)
        for f in value_fields:
            page = page_of.get(f.id)
            page_id = page.id if page is not None and page.id in conditional_pages else None
            if f.visible_if is None and page_id is None:
                continue
            node = ("field", f.id)
            deps = set()
            if f.visible_if is not None:
                deps |= {("field", x) for x in field_references(f.visible_if, scope_ids, columns)}
                evaluators[node] = _Cond(f.visible_if, scope_ids | ids)
            if page_id is not None:
                deps.add(("page", page_id))
            graph[node] = deps
        order, _ = dependency_order(graph)  # loops were refused when the schema was checked
        empties = self.empties
        self.plan = [
            (kind == "page", key, evaluators.get((kind, key)),
             page_of[key].id if kind == "field" and key in page_of and page_of[key].id in conditional_pages else None,
             empties.get(key))
            for kind, key in order
        ]
        self.uses_scope = bool(self.plan or self.rules) or any(
            c.table is not None and c.table.uses_scope for c in self.fields)

    def run(self, data: Mapping[str, Any], prefix: str, outer: dict[str, Any] | None, partial: bool,
            errors: list[Error], outer_bad: Mapping[str, Any] | None = None) -> dict[str, Any]:
        if not self.uses_scope:
            return self._run_plain(data, prefix, partial, errors)

        values: dict[str, Any] = {}
        bad: dict[str, Any] | None = None
        found = 0
        for fid, convert, is_table, _, _ in self.steps:
            raw = data.get(fid, _MISSING)
            if raw is _MISSING:
                continue
            found += 1
            if raw is None:
                continue
            t = raw.__class__
            if t is str:
                if not raw or raw.isspace():
                    continue
            elif (t is list or t is dict) and not raw:
                continue
            if is_table:
                values[fid] = raw  # read row by row below, once visibility is known
                continue
            value, problem = convert(raw, partial)
            if problem is None:
                values[fid] = value
            else:
                if bad is None:
                    bad = {}
                bad[fid] = problem
        if found != len(data):  # unknown keys are reported first (nothing was reported yet)
            self._report_unknown(data, prefix, errors)

        # the names expressions see: the outer scope (for a row), then this block's answers
        scope: dict[str, Any] = dict(outer) if outer is not None else {}
        local: dict[str, Any] | None = None
        if self.is_table:
            local = dict(self.empties)
            local.update(values)
            scope.update(local)
            scope["row"] = local
        else:
            scope.update(self.empties)
            scope.update(values)
            scope["answers"] = scope
        hidden: set[str] | tuple[()] = ()
        if self.plan:
            hidden = set()
            hidden_pages: set[str] = set()
            for is_page, key, evaluate, page, empty in self.plan:
                if is_page:
                    if evaluate.test(scope) is not True:
                        hidden_pages.add(key)
                elif (page is not None and page in hidden_pages) or (
                        evaluate is not None and evaluate.test(scope) is not True):
                    hidden.add(key)
                    scope[key] = empty
                    if local is not None:
                        local[key] = empty

        cleaned: dict[str, Any] = {}
        failed: set[str] = set()
        for fid, _, is_table, required, f in self.steps:
            if hidden and fid in hidden:
                continue
            if bad is not None:
                problem = bad.get(fid)
                if problem is not None:
                    _report(errors, prefix + fid, problem)
                    failed.add(fid)
                    continue
            value = values.get(fid, _MISSING)
            if value is not _MISSING:
                if is_table:
                    before = len(errors)
                    value = self._rows(f, value, prefix + fid, scope if f.table.uses_scope else None,
                                       partial, errors, bad or {})
                    if len(errors) > before:
                        failed.add(fid)
                    if value is None:
                        continue
                    scope[fid] = value
                cleaned[fid] = value
            elif required and not partial:
                errors.append({"field": prefix + fid, "message": _REQUIRED, "code": "required"})
                failed.add(fid)
            else:
                cleaned[fid] = [] if f.is_list else None

        if self.rules and not partial:
            self._rules(scope, prefix, values, hidden, failed, errors, outer_bad)
        return cleaned

    def conditions(self) -> Iterator[_Cond]:
        """The compiled conditions and rules of this block and of its tables."""
        for _, _, evaluate, _, _ in self.plan:
            if evaluate is not None:
                yield evaluate
        for rule in self.rules:
            yield rule.evaluate
        for f in self.fields:
            if f.table is not None:
                yield from f.table.conditions()

    def _run_plain(self, data: Mapping[str, Any], prefix: str, partial: bool, errors: list[Error]
                   ) -> dict[str, Any]:
        """``run`` for a block without conditions or rules (the common case): one pass."""
        start = len(errors)
        cleaned: dict[str, Any] = {}
        found = 0
        for f in self.fields:
            fid = f.id
            raw = data.get(fid, _MISSING)
            if raw is not _MISSING:
                found += 1
                if raw is not None:
                    t = raw.__class__
                    if not ((t is str and (not raw or raw.isspace())) or ((t is list or t is dict) and not raw)):
                        if f.table is not None:
                            rows = self._rows(f, raw, prefix + fid, None, partial, errors, {})
                            if rows is not None:
                                cleaned[fid] = rows
                            continue
                        value, problem = f.convert(raw, partial)
                        if problem is None:
                            cleaned[fid] = value
                        else:
                            _report(errors, prefix + fid, problem)
                        continue
            if f.required and not partial:
                errors.append({"field": prefix + fid, "message": _REQUIRED, "code": "required"})
            else:
                cleaned[fid] = f.empty()
        if found != len(data):  # unknown keys come first, as in ``run``
            unknown: list[Error] = []
            self._report_unknown(data, prefix, unknown)
            errors[start:start] = unknown
        return cleaned

    def _report_unknown(self, data: Mapping[str, Any], prefix: str, errors: list[Error]) -> None:
        ids = self.ids
        for key in data:
            if key not in ids:
                errors.append(self._unknown(key, prefix))

    def _rows(self, f: _CField, raw: Any, path: str, scope: dict[str, Any] | None, partial: bool,
              errors: list[Error], bad: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        if raw.__class__ is not list:
            errors.append({"field": path, "message": "Please give the rows as a list", "code": "type"})
            return None
        n = len(raw)
        if f.max_rows is not None and n > f.max_rows:
            errors.append({"field": path, "message": f"{f.title} can have at most {_count(f.max_rows, 'row')}",
                           "code": "max_rows"})
        if f.min_rows is not None and n < f.min_rows and not partial:
            errors.append({"field": path, "message": f"Please add at least {_count(f.min_rows, 'row')}",
                           "code": "min_rows"})
        block = f.table
        assert block is not None
        rows = []
        for i, row in enumerate(raw):
            if not isinstance(row, Mapping):
                errors.append({"field": f"{path}[{i}]", "message": "This row could not be read", "code": "type"})
                rows.append({})  # rows keep their place, so paths and cleaned rows agree
                continue
            rows.append(block.run(row, f"{path}[{i}].", scope, partial, errors, bad))
        return rows

    def _rules(self, scope: dict[str, Any], prefix: str, values: Mapping[str, Any], hidden: set[str],
               failed: set[str], errors: list[Error], outer_bad: Mapping[str, Any] | None) -> None:
        base = prefix[:-1] if prefix.endswith(".") else prefix
        for rule in self.rules:
            if (failed and not rule.refs.isdisjoint(failed)) or (outer_bad and any(r in outer_bad for r in rule.outer)):
                continue  # a field it reads is wrong: its own error speaks first
            holds = rule.evaluate.test(scope)
            if holds is True:
                continue
            if holds is False:
                errors.append(self._rule_error(rule, prefix, base))
                continue
            # it failed to evaluate (``holds`` is the reason)
            if (any(r in hidden or r not in values for r in rule.refs)
                    or any(scope.get(r) is None or scope.get(r) == [] for r in rule.outer)):
                continue  # it reads an empty or hidden answer: the field checks speak for it
            errors.append({**self._rule_error(rule, prefix, base), "code": "rule_error", "detail": holds})

    @staticmethod
    def _rule_error(rule: _CRule, prefix: str, base: str) -> Error:
        paths = [prefix + name for name in rule.fields]
        error: Error = {"field": paths[0] if paths else base, "message": rule.message, "code": "rule"}
        if len(paths) > 1:
            error["fields"] = paths
        if rule.id:
            error["rule"] = rule.id
        return error

    def _unknown(self, key: Any, prefix: str) -> Error:
        if key in self.sections:
            message = f"'{key}' is a heading and takes no answer"
        elif self.is_table:
            message = f"This table has no column '{key}'"
        else:
            message = f"This form has no field '{key}'"
        return {"field": f"{prefix}{key}", "message": message, "code": "unknown_field"}


#: the helpers whose answer depends on their arguments alone (``now``, ``today`` and ``date``
#: read the clock, so an expression that calls them is evaluated every time)
_PURE_GLOBALS = frozenset({"sum", "avg", "mean", "min", "max", "abs", "round", "len", "int", "float", "str",
                           "bool", "sqrt", "isnan"})
_PURE_FILTERS = frozenset({"abs", "avg", "capitalize", "count", "d", "default", "first", "float", "int", "join",
                           "last", "length", "list", "lower", "max", "min", "replace", "reverse", "round", "sort",
                           "string", "sum", "title", "trim", "unique", "upper"})
_parse_env = Environment()


def _deciding_names(source: str, scope_names: frozenset[str] | set[str]) -> tuple[str, ...] | None:
    """The names of the scope that alone decide an expression's answer, or None when something
    else may (the clock, a name outside the form such as ``answers``, a filter not known to be
    pure, or a source that does not parse)."""
    text = source.strip()
    if text.startswith("{{") and text.endswith("}}"):
        text = text[2:-2].strip()
    try:
        parser = Parser(_parse_env, text, state="variable")
        expr = parser.parse_expression()
        if not parser.stream.eos:
            return None
    except TemplateSyntaxError:
        return None
    names: set[str] = set()
    for node in (expr, *expr.find_all(nodes.Node)):
        if isinstance(node, nodes.Name):
            if node.name in scope_names:
                names.add(node.name)
            elif node.name not in _PURE_GLOBALS:
                return None
        elif isinstance(node, nodes.Filter):
            if node.name not in _PURE_FILTERS:
                return None
    return tuple(sorted(names))


def _scalar_key(v: Any, out: list[Any]) -> bool:
    """Add a plain value to a memo key with its type (``1``, ``1.0`` and ``True`` differ, so do
    ``0.0`` and ``-0.0``); False when it is not a plain value."""
    c = v.__class__
    if c is str or c is int or c is bool or v is None or v is _MISSING:
        out.append(c)
        out.append(v)
    elif c is float:
        out.append(c)
        out.append(v if v else repr(v))
    else:
        return False
    return True


def _memo_key(scope: Mapping[str, Any], names: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The values of ``names`` in ``scope`` as a key that two values share only when an
    expression cannot tell them apart; None when a value is not a plain scalar or a list of
    them (a table's rows)."""
    key: list[Any] = []
    for name in names:
        v = scope.get(name, _MISSING)
        if v.__class__ is list:
            items: list[Any] = [list]
            for x in v:
                if x is _MISSING or not _scalar_key(x, items):
                    return None
            key.append(tuple(items))
        elif not _scalar_key(v, key):
            return None
    return tuple(key)


class _Cond:
    """A condition or rule of a form: ``test(scope)`` answers True, False, or the reason it could
    not be evaluated (a str).

    An expression whose answer depends only on the answers it reads (no clock, no randomness)
    keeps its recent answers by the values it read, so a file of many rows where a condition
    reads the same few values (a select, a yes/no) evaluates it once per distinct value. When
    few answers are found again (figures that differ on every row), it stops keeping them for a
    while. The cache is bounded."""

    __slots__ = ("source", "evaluate", "names", "cache", "lookups", "hits", "pause")

    LIMIT = 256  # answers kept per expression (a form may have many; each stays small)
    PAUSE = 4096  # evaluations without the cache after it found too little

    def __init__(self, source: str, scope_names: frozenset[str] | set[str]) -> None:
        self.source = source
        self.evaluate = compile_expression(source)
        self.names = _deciding_names(source, scope_names)
        self.cache: dict[Any, Any] = {}
        self.lookups = self.hits = self.pause = 0

    def run(self, scope: dict[str, Any]) -> Any:
        names = self.names
        if names is not None:
            # only the names it reads: the expression engine copies the scope on every call
            scope = {n: scope[n] for n in names if n in scope}
        try:
            value = self.evaluate(scope)
        except ExpressionError as exc:
            return exc.reason
        return bool(value)

    def test(self, scope: dict[str, Any]) -> Any:
        names = self.names
        if names is None:
            return self.run(scope)
        if self.pause > 0:
            self.pause -= 1
            return self.run(scope)
        key = _memo_key(scope, names)
        if key is None:
            return self.run(scope)
        cache = self.cache
        found = cache.get(key, _MISSING)
        self.lookups += 1
        if found is not _MISSING:
            self.hits += 1
            return found
        if len(cache) >= self.LIMIT:
            if self.hits * 5 < self.lookups:  # fewer than one in five found again
                self.pause = self.PAUSE
            cache.clear()
            self.lookups = self.hits = 0
        found = cache[key] = self.run(scope)
        return found


def _report(errors: list[Error], path: str, problem: Any) -> None:
    if isinstance(problem, list):
        for suffix, code, message in problem:
            errors.append({"field": path + suffix, "message": message, "code": code})
    else:
        errors.append({"field": path, "message": problem[1], "code": problem[0]})


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _fmt(x: float | int) -> str:
    if isinstance(x, float) and x.is_integer() and abs(x) < 1e15:
        return str(int(x))
    return str(x)


def _with_unit(x: float | int, unit: str | None) -> str:
    if not unit:
        return _fmt(x)
    return f"{_fmt(x)}{unit}" if unit == "%" else f"{_fmt(x)} {unit}"


# --------------------------------------------------------------------------- converters


def _converter(f: _FieldBase, settings: FormSettings) -> Converter | None:
    if isinstance(f, TextField | LongTextField | EmailField | PhoneField | UrlField):
        return _text(f)
    if isinstance(f, NumberField | IntegerField):
        return _number(f)
    if isinstance(f, DateField):
        return _date(f)
    if isinstance(f, SelectField):
        return _select(f)
    if isinstance(f, MultiSelectField):
        return _multi_select(f)
    if isinstance(f, BooleanField):
        return _boolean
    if isinstance(f, FileField):
        return _file(f, settings)
    return None  # tables are read row by row; sections take no answer


def _text(f: TextField | LongTextField | EmailField | PhoneField | UrlField) -> Converter:
    label = f.title
    lo, hi = f.min_length, f.max_length
    rx = re.compile(f.pattern) if f.pattern else None
    pattern_message = f.pattern_message or f"{label} is not in the expected format"
    allowed = frozenset(f.allowed_values) if isinstance(f, TextField) and f.allowed_values is not None else None
    allowed_message = f"{label} must be one of: {', '.join(f.allowed_values or ())}" if allowed else ""
    shape: Callable[[str], tuple[Any, Any]] | None = None
    if isinstance(f, EmailField):
        shape = _email
    elif isinstance(f, PhoneField):
        shape = _phone
    elif isinstance(f, UrlField):
        shape = _url

    def convert(raw: Any, partial: bool) -> tuple[Any, Any]:
        t = raw.__class__
        if t is str:
            v = raw.strip()
        elif t is int or t is float:
            v = _fmt(raw)
        else:
            return None, ("type", "Please enter text")
        if shape is not None:
            v, problem = shape(v)
            if problem is not None:
                return None, problem
        n = len(v)
        if lo is not None and n < lo:
            return None, ("min_length", f"{label} must be at least {_count(lo, 'character')} long")
        if hi is not None and n > hi:
            return None, ("max_length", f"{label} must be at most {_count(hi, 'character')} long")
        if rx is not None and rx.fullmatch(v) is None:
            return None, ("pattern", pattern_message)
        if allowed is not None and v not in allowed:
            return None, ("allowed_values", allowed_message)
        return v, None

    return convert


def _email(v: str) -> tuple[Any, Any]:
    if len(v) > 254 or _EMAIL.fullmatch(v) is None:
        return None, ("email", "Please enter a valid email address")
    return v, None


def _phone(v: str) -> tuple[Any, Any]:
    digits = sum(map(str.isdigit, v))
    if _PHONE.fullmatch(v) is None or not 6 <= digits <= 15:
        return None, ("phone", "Please enter a valid phone number")
    return v, None


def _url(v: str) -> tuple[Any, Any]:
    low = v.lower()
    if low.startswith("https://"):
        rest = v[8:]
    elif low.startswith("http://"):
        rest = v[7:]
    elif "://" in v:
        return None, ("url", "Please enter a web address starting with https://")
    else:
        rest, v = v, "https://" + v
    if _HOST.fullmatch(rest) is None:
        return None, ("url", "Please enter a valid web address (for example https://example.com)")
    return v, None


def _parse_number(text: str) -> int | float | None:
    s = text.strip()
    if _NUMBER.fullmatch(s) is None:
        s = _SPACES.sub("", s)
        if _NUMBER.fullmatch(s) is None:
            return None
    if "." in s or "e" in s or "E" in s:
        value = float(s)
        return value if math.isfinite(value) else None
    return int(s)


def _number(f: NumberField | IntegerField) -> Converter:
    label = f.title
    whole = isinstance(f, IntegerField)
    unit = f.unit
    lo, hi, step = f.min, f.max, f.step
    decimals = f.decimals if isinstance(f, NumberField) else None
    base = lo if lo is not None else 0
    allowed = frozenset(f.allowed_values) if f.allowed_values is not None else None
    type_error = ("type", "Please enter a whole number") if whole else \
        ("type", "Please enter a number, with a dot for decimals (for example 1234.5)")
    comma_error = ("type", "Please enter a number without commas, with a dot for decimals (for example 1234.5)")
    lo_error = ("min", f"{label} must be at least {_with_unit(lo, unit)}") if lo is not None else None
    hi_error = ("max", f"{label} must be at most {_with_unit(hi, unit)}") if hi is not None else None
    step_error = ("step", f"{label} must be a multiple of {_fmt(step)}"
                  + (f" counted from {_fmt(lo)}" if lo else "")) if step is not None else None
    decimals_error = (("decimals", f"{label} must be a whole number") if decimals == 0 else
                      ("decimals", f"{label} can have at most {_count(decimals, 'decimal place')}")
                      ) if decimals is not None else None
    allowed_error = ("allowed_values", f"{label} must be one of: "
                     + ", ".join(_fmt(v) for v in (f.allowed_values or ()))) if allowed is not None else None

    def convert(raw: Any, partial: bool) -> tuple[Any, Any]:
        t = raw.__class__
        if t is int:
            v = raw
        elif t is float:
            if not math.isfinite(raw):
                return None, type_error
            v = raw
        elif t is str:
            v = _parse_number(raw)
            if v is None:
                return None, comma_error if "," in raw else type_error
        else:
            return None, type_error
        if whole and v.__class__ is float:
            if not v.is_integer():
                return None, type_error
            v = int(v)
        if lo is not None and v < lo:
            return None, lo_error
        if hi is not None and v > hi:
            return None, hi_error
        if step is not None:
            q = (v - base) / step
            if abs(q - round(q)) > 1e-9 * max(1.0, abs(q)):
                return None, step_error
        if decimals is not None and v.__class__ is float:
            if abs(round(v, decimals) - v) > 1e-9 * max(1.0, abs(v)):
                return None, decimals_error
        if allowed is not None and v not in allowed:
            return None, allowed_error
        return v, None

    return convert


def _date(f: DateField) -> Converter:
    label = f.title
    lo = date.fromisoformat(f.min) if f.min and f.min != "today" else None
    hi = date.fromisoformat(f.max) if f.max and f.max != "today" else None
    lo_today, hi_today = f.min == "today", f.max == "today"
    type_error = ("type", "Please enter a date as YYYY-MM-DD (for example 2025-03-31)")
    secret = f.sensitive  # messages of a sensitive field never repeat the answer
    #: text -> (date, ISO text, problem): the same few dates come back on many rows of a file
    known: dict[str, tuple[Any, Any, Any]] = {}
    #: "today" somewhere on Earth, by the UTC hour it was worked out in: the earliest date not
    #: in the past (12 hours behind UTC) and the latest not in the future (14 hours ahead)
    today: list[tuple[int, Any, Any]] = [(-1, None, None)]  # replaced whole, so threads see one hour's bounds

    def read(raw: str) -> tuple[Any, Any, Any]:
        s = raw.strip()
        if _ISO_DATE.fullmatch(s) is None:
            return None, None, type_error
        try:
            d = date.fromisoformat(s)
        except ValueError:
            return None, None, ("type", f"{s if not secret else 'This'} is not a date in the calendar")
        return d, d.isoformat(), None

    def convert(raw: Any, partial: bool) -> tuple[Any, Any]:
        t = raw.__class__
        if t is str:
            entry = known.get(raw)
            if entry is None:
                entry = read(raw)
                if len(known) >= 1024:
                    known.clear()
                known[raw] = entry
            d, iso, problem = entry
            if problem is not None:
                return None, problem
        elif t is datetime:
            d = raw.date()
            iso = None
        elif t is date:
            d = raw
            iso = None
        else:
            return None, type_error
        if lo is not None and d < lo:
            return None, ("min", f"{label} must be on or after {lo.isoformat()}")
        if hi is not None and d > hi:
            return None, ("max", f"{label} must be on or before {hi.isoformat()}")
        if lo_today or hi_today:
            # the bounds move on whole UTC hours only, so they are worked out once an hour
            hour = int(time.time() // 3600)
            known_hour, earliest, latest = today[0]
            if known_hour != hour:
                now = datetime.fromtimestamp(hour * 3600, UTC)
                earliest, latest = (now - timedelta(hours=12)).date(), (now + timedelta(hours=14)).date()
                today[0] = (hour, earliest, latest)
            if lo_today and d < earliest:
                return None, ("min", f"{label} cannot be in the past")
            if hi_today and d > latest:
                return None, ("max", f"{label} cannot be in the future")
        return (iso if iso is not None else d.isoformat()), None

    return convert


def _option_lookup(options: list[Any]) -> dict[Any, Any]:
    lookup: dict[Any, Any] = {}
    for o in options:
        lookup[o.value] = o.value
    for o in options:
        lookup.setdefault(str(o.value), o.value)
    return lookup


def _find(lookup: dict[Any, Any], raw: Any) -> Any:
    t = raw.__class__
    if t is str:
        v = lookup.get(raw, _MISSING)
        return lookup.get(raw.strip(), _MISSING) if v is _MISSING else v
    if t is int:
        v = lookup.get(raw, _MISSING)
        return lookup.get(str(raw), _MISSING) if v is _MISSING else v
    if t is float and raw.is_integer():
        return _find(lookup, int(raw))
    return _MISSING


def _select(f: SelectField) -> Converter:
    lookup = _option_lookup(f.options)
    problem = ("option", "Please choose one of the options")

    def convert(raw: Any, partial: bool) -> tuple[Any, Any]:
        v = _find(lookup, raw)
        return (None, problem) if v is _MISSING else (v, None)

    return convert


def _multi_select(f: MultiSelectField) -> Converter:
    lookup = _option_lookup(f.options)
    lo, hi = f.min_selected, f.max_selected
    secret = f.sensitive

    def convert(raw: Any, partial: bool) -> tuple[Any, Any]:
        items = raw if raw.__class__ is list or raw.__class__ is tuple else (raw,)
        out: list[Any] = []
        for item in items:
            v = _find(lookup, item)
            if v is _MISSING:
                if secret:
                    return None, ("option", "Please choose from the options")
                return None, ("option", f"Please choose from the options; '{item}' is not one of them")
            if v not in out:
                out.append(v)
        if hi is not None and len(out) > hi:
            return None, ("max_selected", f"Please choose at most {_count(hi, 'option')}")
        if lo is not None and len(out) < lo and not partial:
            return None, ("min_selected", f"Please choose at least {_count(lo, 'option')}")
        return out, None

    return convert


def _boolean(raw: Any, partial: bool) -> tuple[Any, Any]:
    if raw is True or raw is False:
        return raw, None
    t = raw.__class__
    if t is str:
        v = _BOOLEANS.get(raw.strip().lower())
        if v is not None:
            return v, None
    elif t is int and (raw == 0 or raw == 1):
        return bool(raw), None
    return None, ("type", "Please answer yes or no")


def _file(f: FileField, settings: FormSettings) -> Converter:
    limit_mb = f.max_size_mb if f.max_size_mb is not None else settings.max_file_mb
    max_bytes = int(limit_mb * 1024 * 1024) if limit_mb is not None else None
    accept = f.accept if f.accept is not None else settings.allowed_file_types
    extensions: set[str] = set()
    types: set[str] = set()
    families: set[str] = set()
    for a in accept or ():
        a = a.strip().lower()
        if a.endswith("/*"):
            families.add(a[:-1])
        elif "/" in a:
            types.add(a)
        else:
            extensions.add(a if a.startswith(".") else f".{a}")
    accepted_text = ", ".join(accept or ())
    unreadable = ("file", "The upload could not be read; please upload the file again")
    max_files = f.max_files
    secret = f.sensitive

    def one(ref: Any) -> tuple[Any, Any]:
        if not isinstance(ref, Mapping):
            return None, unreadable
        key, name, size, ctype = ref.get("key"), ref.get("name"), ref.get("size"), ref.get("content_type")
        if (key.__class__ is not str or not key or name.__class__ is not str or size.__class__ is not int
                or size < 0 or ctype.__class__ is not str):
            return None, unreadable
        if max_bytes is not None and size > max_bytes:
            return None, ("max_size", f"The file {'' if secret else name + ' '}is too large ({_megabytes(size)}); "
                                      f"the limit is {_fmt(limit_mb)} MB")
        if accept:
            ext = os.path.splitext(name)[1].lower()
            ct = ctype.split(";", 1)[0].strip().lower()
            if not (ext in extensions or ct in types or ct[: ct.find("/") + 1] in families and "/" in ct):
                return None, ("file_type", f"Files of this type are not accepted here; please upload "
                                           f"{accepted_text}")
        return {"key": key, "name": name, "size": size, "content_type": ctype}, None

    if not f.multiple:
        def convert(raw: Any, partial: bool) -> tuple[Any, Any]:
            if raw.__class__ is list:
                if len(raw) != 1:
                    return None, ("max_files", "Only one file can be uploaded here")
                raw = raw[0]
            return one(raw)

        return convert

    def convert_many(raw: Any, partial: bool) -> tuple[Any, Any]:
        refs = raw if raw.__class__ is list else [raw]
        if max_files is not None and len(refs) > max_files:
            return None, ("max_files", f"Please upload at most {_count(max_files, 'file')}")
        out: list[Any] = []
        problems: list[tuple[str, str, str]] = []
        for i, ref in enumerate(refs):
            v, problem = one(ref)
            if problem is None:
                out.append(v)
            else:
                problems.append((f"[{i}]", problem[0], problem[1]))
        return (None, problems) if problems else (out, None)

    return convert_many


def _megabytes(size: int) -> str:
    mb = size / (1024 * 1024)
    return f"{mb:.1f} MB" if mb >= 0.1 else f"{max(1, round(size / 1024))} KB"
