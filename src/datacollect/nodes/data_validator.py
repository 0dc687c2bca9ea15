"""DataValidator: check each item against rules, and give it a score and a list of issues.

Every item goes on with two more fields: ``score`` (0 to 1, the weighted share of rules that
found nothing wrong) and ``issues`` (``[{"rule", "field", "message"}]`` in words a supplier
manager understands). So ``validate_1.score > 0.8`` works in a Conditional downstream. With
``fail_below``, items that score lower go out of the ``invalid`` port instead of ``main``.

Rules, as the plan's shorthand or as objects::

    "rules": ["required_fields", "outlier_check"]
    "rules": [{"type": "required_fields", "fields": ["supplier_id", "co2_t"]},
              {"type": "types", "fields": {"co2_t": "number", "period": "date"}},
              {"type": "range", "field": "co2_t", "min": 0, "max": 1e6},
              {"type": "pattern", "field": "vat", "pattern": "^[A-Z]{2}"},
              {"type": "allowed_values", "field": "unit", "values": ["t", "kt"]},
              {"type": "expression", "expression": "item.scope1 <= item.total",
               "message": "Scope 1 cannot be more than the total"},
              {"type": "outlier_check", "key": "supplier_id", "fields": ["co2_t"],
               "method": "zscore", "threshold": 3.0, "min_history": 2}]

Each rule passes or fails as a whole and weighs 1 unless it has a ``weight`` (``weight: 0``
makes a rule a warning: its issues are listed, the score ignores it). A rule that cannot apply
(no value to check, not enough history) passes. Any rule takes a ``message`` that replaces the
default one (``{field}`` in it is replaced by the field's name).

* ``required_fields``: the fields must have a value (not absent, ``null``, empty text or an
  empty list; ``0`` and ``false`` are values). Which fields: the rule's ``fields``, else the
  node's ``required_fields``, else the fields the upstream form marked required, which form
  items carry as ``_form.required``. When none of these is known the rule checks nothing
  (the run log says so). This is not a save-time problem, because the plan's own example
  (``["required_fields", "outlier_check"]`` after a SendForm) must save as written.
* ``types`` / ``range`` / ``pattern`` / ``allowed_values`` check a value only when there is
  one (``required_fields`` is the rule for presence). ``types`` is strict: ``"12"`` is text,
  not a number. ``range`` reads numeric text. ``pattern`` searches the text (anchor it with
  ``^``/``$``). ``allowed_values`` checks every element of a list (multi-select answers).
* ``expression``: a cross-field check, true to pass. An expression that fails on an item
  (a field it reads is missing) fails the rule, with the reason.
* ``outlier_check``: compares each numeric field with the earlier values for the same key
  (``supplier_id``) in this workflow, read through the history service. ``zscore``: an
  outlier is more than ``threshold`` (3) standard deviations from the earlier mean (the
  spread is taken as at least 1% of the mean, so a steady history does not flag a tiny change).
  ``change``: an outlier moved more than ``threshold`` (0.5 = 50%) from the latest value.
  It needs ``min_history`` earlier values (2 for zscore, 1 for change). Without a ``key`` every
  item of the workflow is compared with all the values received before. Without ``fields``,
  every top-level numeric field is checked. After the check the item's values are recorded
  (with the item's idempotency key, so a retry does not record twice); test runs from the
  editor record nothing. The shorthand takes ``outlier_key`` and ``outlier_fields`` from the
  node's config.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Callable
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from datacollect.engine.expressions import compile_expression
from datacollect.errors import ExpressionError, NodeError
from datacollect.nodes.base import Expression, Item, Items, Node, NodeConfig, NodeContext, Output
from datacollect.nodes.data_mapper import (
    MISSING,
    CastError,
    FieldPath,
    cast_value,
    check_expression,
    is_truthy,
    show,
)

# -- rules as configured ------------------------------------------------------------------

TypeName = Literal["number", "integer", "string", "boolean", "date", "datetime", "array", "object"]


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    weight: float = Field(1.0, ge=0, description="How much this rule counts in the score (0: a warning only).",
                          json_schema_extra={"x-group": "advanced"})
    message: str | None = Field(None, description="Your own message for the issue ({field} is the field's name).",
                                json_schema_extra={"x-group": "advanced"})


class RequiredFieldsRule(_Rule):
    """The fields must have a value."""

    type: Literal["required_fields"]
    fields: list[str] | None = Field(
        None, description="The fields that must have a value (default: the node's required fields, "
                          "or the ones the form marks required).",
        json_schema_extra={"x-widget": "field-list"})


class TypesRule(_Rule):
    """Values must be of the given types."""

    type: Literal["types"]
    fields: dict[str, TypeName] = Field(min_length=1, description="Field → type, e.g. co2_t → number.")


class RangeRule(_Rule):
    """A number must lie between a minimum and a maximum (both included)."""

    type: Literal["range"]
    field: str = Field(min_length=1, json_schema_extra={"x-widget": "field-path"})
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> RangeRule:
        if self.min is None and self.max is None:
            raise PydanticCustomError("rule", "A range needs a minimum, a maximum, or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError("rule", "The minimum of '{field}' is above its maximum", {"field": self.field})
        return self


class PatternRule(_Rule):
    """Text must match a pattern (a regular expression)."""

    type: Literal["pattern"]
    field: str = Field(min_length=1, json_schema_extra={"x-widget": "field-path"})
    pattern: str = Field(min_length=1, json_schema_extra={"format": "regex", "examples": ["^[A-Z]{2}[0-9A-Z]+$"]})

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise PydanticCustomError("rule", "The pattern {pattern} is not a valid regular expression: {reason}",
                                      {"pattern": repr(value), "reason": str(exc)}) from None
        return value


class AllowedValuesRule(_Rule):
    """A value must be one of a list."""

    type: Literal["allowed_values"]
    field: str = Field(min_length=1, json_schema_extra={"x-widget": "field-path"})
    values: list[Any] = Field(min_length=1)


class ExpressionRule(_Rule):
    """A check written as an expression (cross-field), true to pass."""

    type: Literal["expression"]
    expression: Expression = Field(description="True when the item is right, e.g. item.scope1 <= item.total.",
                                   json_schema_extra={"examples": ["item.scope1 <= item.total"]})
    field: str | None = Field(None, description="The field the issue is about, if one.",
                              json_schema_extra={"x-widget": "field-path"})

    _parses = field_validator("expression")(check_expression)


class OutlierCheckRule(_Rule):
    """A figure far from the earlier figures for the same key."""

    type: Literal["outlier_check"]
    key: str | None = Field(None, description="The field that tells whose history to compare with "
                                              "(supplier_id). Default: the node's outlier_key; none compares "
                                              "with every earlier item.",
                            json_schema_extra={"x-widget": "field-path"})
    fields: list[str] | None = Field(None, description="The fields to check (default: every numeric field).",
                                     json_schema_extra={"x-widget": "field-list"})
    method: Literal["zscore", "change"] = Field(
        "zscore", description="zscore: far from the earlier average; change: moved a lot since the latest value.")
    threshold: float | None = Field(None, gt=0, description="zscore: standard deviations (default 3); "
                                                            "change: share of the latest value (default 0.5 = 50%).")
    min_history: int | None = Field(None, ge=1, description="Earlier values needed before checking "
                                                            "(default 2 for zscore, 1 for change).")


Rule = Annotated[
    RequiredFieldsRule | TypesRule | RangeRule | PatternRule | AllowedValuesRule | ExpressionRule | OutlierCheckRule,
    Field(discriminator="type")]
RULE_TYPES = ("required_fields", "types", "range", "pattern", "allowed_values", "expression", "outlier_check")
SHORTHANDS = ("required_fields", "outlier_check")


def _schema_extra(schema: dict[str, Any]) -> None:
    rules = schema["properties"]["rules"]
    rules["items"] = {"anyOf": [{"type": "string", "enum": list(SHORTHANDS)}, rules["items"]]}


# -- rules made ready to run --------------------------------------------------------------

Issue = dict[str, Any]


class _ItemRun:
    """What the rules share while checking one item."""

    __slots__ = ("ctx", "item", "index", "_scope", "records")

    def __init__(self, ctx: NodeContext, item: Item, index: int) -> None:
        self.ctx = ctx
        self.item = item
        self.index = index
        self._scope: dict[str, Any] | None = None
        self.records: dict[str, dict[str, Any]] = {}

    @property
    def scope(self) -> dict[str, Any]:
        if self._scope is None:
            self._scope = self.ctx.with_item(self.item)
        return self._scope


def _blank(value: Any) -> bool:
    return value is MISSING or value is None or (isinstance(value, str) and not value.strip()) or (
        isinstance(value, (list, dict)) and not value)


def _num(value: float) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@lru_cache(maxsize=4096)
def _path(name: str) -> FieldPath:
    return FieldPath(name)


class _Check:
    rule_name: str
    weight: float
    message: str | None

    def __init__(self, rule: _Rule) -> None:
        self.rule_name = getattr(rule, "type", "")
        self.weight = rule.weight
        self.message = rule.message

    def issue(self, field: str | None, default: str) -> Issue:
        text = self.message.replace("{field}", field or "") if self.message else default
        return {"rule": self.rule_name, "field": field, "message": text}

    def check(self, run: _ItemRun) -> list[Issue]:
        raise NotImplementedError


class _Required(_Check):
    def __init__(self, rule: RequiredFieldsRule, defaults: list[str] | None) -> None:
        super().__init__(rule)
        names = rule.fields if rule.fields is not None else defaults
        self.paths = [FieldPath(n) for n in names] if names is not None else None

    def check(self, run: _ItemRun) -> list[Issue]:
        paths = self.paths
        if paths is None:
            form = run.item.get("_form")
            names = form.get("required") if isinstance(form, dict) else None
            if not isinstance(names, list):
                run.ctx.log(f"required_fields: item {run.index} carries no list of required fields, "
                            "and none is configured, so nothing was checked")
                return []
            paths = [_path(str(n)) for n in names]
        return [self.issue(p.raw, f"'{p.raw}' is required but has no value")
                for p in paths if _blank(p.get(run.item))]


_TYPE_WORDS = {"number": "a number", "integer": "a whole number", "string": "text", "boolean": "yes or no",
               "date": "a date (YYYY-MM-DD)", "datetime": "a date and time", "array": "a list",
               "object": "a group of fields"}


def _is_date(value: Any) -> bool:
    if isinstance(value, date):
        return not isinstance(value, datetime)
    if isinstance(value, str) and len(value) == 10:
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    return False


def _is_datetime(value: Any) -> bool:
    if isinstance(value, datetime):
        return True
    if isinstance(value, str) and len(value) >= 10:
        try:
            datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value)
        except ValueError:
            return False
        return True
    return False


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "number": lambda v: type(v) in (int, float) and math.isfinite(v),
    "integer": lambda v: type(v) is int or (type(v) is float and v.is_integer()),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "date": _is_date,
    "datetime": _is_datetime,
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


class _Types(_Check):
    def __init__(self, rule: TypesRule) -> None:
        super().__init__(rule)
        self.fields = [(FieldPath(f), t, _TYPE_TESTS[t]) for f, t in rule.fields.items()]

    def check(self, run: _ItemRun) -> list[Issue]:
        issues = []
        for path, type_, test in self.fields:
            value = path.get(run.item)
            if not _blank(value) and not test(value):
                issues.append(self.issue(path.raw, f"'{path.raw}' should be {_TYPE_WORDS[type_]}, "
                                                   f"but is {show(value)}"))
        return issues


class _Range(_Check):
    def __init__(self, rule: RangeRule) -> None:
        super().__init__(rule)
        self.path = FieldPath(rule.field)
        self.min, self.max = rule.min, rule.max
        if self.min is not None and self.max is not None:
            self.wanted = f"a number between {_num(self.min)} and {_num(self.max)}"
        elif self.min is not None:
            self.wanted = f"a number of at least {_num(self.min)}"
        else:
            self.wanted = f"a number of at most {_num(self.max or 0)}"

    def check(self, run: _ItemRun) -> list[Issue]:
        value = self.path.get(run.item)
        if value is MISSING or value is None or value == "":
            return []
        field = self.path.raw
        try:
            number = value if type(value) in (int, float) else cast_value(value, "number")
        except CastError:
            return [self.issue(field, f"'{field}' should be {self.wanted}, but is {show(value)}")]
        if self.min is not None and number < self.min:
            return [self.issue(field, f"'{field}' is {_num(number)}, below the minimum of {_num(self.min)}")]
        if self.max is not None and number > self.max:
            return [self.issue(field, f"'{field}' is {_num(number)}, above the maximum of {_num(self.max)}")]
        return []


class _Pattern(_Check):
    def __init__(self, rule: PatternRule) -> None:
        super().__init__(rule)
        self.path = FieldPath(rule.field)
        self.search = re.compile(rule.pattern).search

    def check(self, run: _ItemRun) -> list[Issue]:
        value = self.path.get(run.item)
        if value is MISSING or value is None or value == "":
            return []
        field = self.path.raw
        if isinstance(value, (dict, list)):
            return [self.issue(field, f"'{field}' should be text, but is {show(value)}")]
        text = value if isinstance(value, str) else str(value)
        if self.search(text) is None:
            return [self.issue(field, f"'{field}' is {show(value)}, which does not have the expected format")]
        return []


def _member_key(value: Any) -> Any:
    """``True`` and ``1`` are equal in Python, but not as answers."""
    return (type(value) is bool, value)


class _Allowed(_Check):
    def __init__(self, rule: AllowedValuesRule) -> None:
        super().__init__(rule)
        self.path = FieldPath(rule.field)
        self.values = rule.values
        self.keys = frozenset(_member_key(v) for v in rule.values if not isinstance(v, (dict, list)))
        self.shown = ", ".join(show(v) for v in rule.values[:10]) + (", ..." if len(rule.values) > 10 else "")

    def _ok(self, value: Any) -> bool:
        if isinstance(value, (dict, list)):
            return value in self.values
        return _member_key(value) in self.keys

    def check(self, run: _ItemRun) -> list[Issue]:
        value = self.path.get(run.item)
        if value is MISSING or value is None or value == "":
            return []
        field = self.path.raw
        bad = [v for v in value if not self._ok(v)] if isinstance(value, list) else (
            [] if self._ok(value) else [value])
        if not bad:
            return []
        what = show(bad[0]) if not isinstance(value, list) else ", ".join(show(v) for v in bad)
        return [self.issue(field, f"'{field}' is {what}, which is not one of: {self.shown}")]


class _Expression(_Check):
    def __init__(self, rule: ExpressionRule) -> None:
        super().__init__(rule)
        self.source = rule.expression
        self.evaluate = compile_expression(rule.expression)
        self.field = rule.field

    def check(self, run: _ItemRun) -> list[Issue]:
        default = f"This check did not pass: {self.source}"
        try:
            ok = is_truthy(self.evaluate(run.scope))
        except ExpressionError as exc:
            issue = self.issue(self.field, default)
            issue["message"] += f" (it could not be checked: {exc.reason})"
            return [issue]
        return [] if ok else [self.issue(self.field, default)]


_SKIP_FIELDS = ("score", "issues")


class _Outlier(_Check):
    def __init__(self, rule: OutlierCheckRule, key: str | None, fields: list[str] | None,
                 own_fields: tuple[str, ...]) -> None:
        super().__init__(rule)
        key = rule.key if rule.key is not None else key
        names = rule.fields if rule.fields is not None else fields
        self.key = FieldPath(key) if key else None
        self.paths = [FieldPath(n) for n in names] if names is not None else None
        self.method = rule.method
        self.threshold = rule.threshold or (3.0 if rule.method == "zscore" else 0.5)
        self.min_history = rule.min_history or (2 if rule.method == "zscore" else 1)
        self.skip = {*own_fields, *((key,) if key else ())}

    def _fields(self, item: Item) -> list[tuple[str, float]]:
        if self.paths is not None:
            found = []
            for p in self.paths:
                value = p.get(item)
                if value is MISSING or value is None or value == "":
                    continue
                try:
                    number = value if type(value) in (int, float) else cast_value(value, "number")
                except CastError:
                    continue
                found.append((p.raw, number))
            return found
        return [(k, v) for k, v in item.items()
                if type(v) in (int, float) and not k.startswith("_") and k not in self.skip and math.isfinite(v)]

    def check(self, run: _ItemRun) -> list[Issue]:
        store = run.ctx.services.history
        assert store is not None
        if self.key is not None:
            key_value = self.key.get(run.item)
            if key_value is MISSING or key_value is None or key_value == "":
                run.ctx.log(f"outlier_check: item {run.index} has no '{self.key.raw}', so it was not compared")
                return []
            key = str(key_value)
            whose = f"for {self.key.raw} {key}"
        else:
            key, whose = "*", "received before"
        issues = []
        scope = run.ctx.workflow_id
        values = self._fields(run.item)
        for field, value in values:
            history = store.history(scope, key, field)
            if len(history) < self.min_history:
                continue
            message = self._judge(field, value, history, whose)
            if message:
                issues.append(self.issue(field, message))
        if values:
            run.records.setdefault(key, {}).update(values)
        return issues

    def _judge(self, field: str, value: float, history: list[float], whose: str) -> str | None:
        if self.method == "change":
            last = history[-1]
            if last == value:
                return None
            change = math.inf if last == 0 else abs(value - last) / abs(last)
            if change <= self.threshold:
                return None
            pct = "" if last == 0 else f" ({(value - last) / abs(last):+.0%})"
            return f"'{field}' went from {_num(last)} to {_num(value)}{pct} since the latest figure {whose}"
        mean = statistics.fmean(history)
        spread = statistics.stdev(history) if len(history) > 1 else 0.0
        spread = max(spread, abs(mean) * 0.01, 1e-9)
        if abs(value - mean) / spread <= self.threshold:
            return None
        count = len(history)
        return (f"'{field}' is {_num(value)}, far from the earlier figures {whose} "
                f"(average {_num(mean)} over {count} value{'s' if count != 1 else ''})")


# -- the node -------------------------------------------------------------------------------


class DataValidator(Node):
    """Check items against rules; each gets a score (0..1) and a list of issues."""

    type = "DataValidator"
    category = "validate"
    description = ("Check each item against rules (required fields, types, ranges, patterns, outliers...) "
                   "and give it a score and a list of issues.")
    icon = "shield-check"
    ports = ("main", "invalid")

    class Config(NodeConfig):
        model_config = ConfigDict(json_schema_extra=_schema_extra)

        rules: list[Rule] = Field(
            min_length=1, description="The checks to run on each item.",
            json_schema_extra={"x-widget": "validation-rules",
                               "examples": [["required_fields", "outlier_check"]]})
        required_fields: list[str] | None = Field(
            None, description="The fields the 'required_fields' rule checks (default: the ones the form "
                              "marks required).",
            json_schema_extra={"x-widget": "field-list"})
        outlier_key: str | None = Field(
            None, description="For 'outlier_check': the field that tells whose history to compare with "
                              "(e.g. supplier_id).",
            json_schema_extra={"x-widget": "field-path"})
        outlier_fields: list[str] | None = Field(
            None, description="For 'outlier_check': the fields to check (default: every numeric field).",
            json_schema_extra={"x-widget": "field-list"})
        fail_below: float | None = Field(
            None, ge=0, le=1, description="Items scoring below this go out of the 'invalid' output.")
        score_field: str = Field("score", min_length=1, json_schema_extra={"x-group": "advanced"},
                                 description="The field that receives the score.")
        issues_field: str = Field("issues", min_length=1, json_schema_extra={"x-group": "advanced"},
                                  description="The field that receives the issues.")

        @field_validator("rules", mode="before")
        @classmethod
        def _shorthand(cls, value: Any) -> Any:
            if not isinstance(value, list):
                return value
            if not value:
                raise PydanticCustomError("rule", "Add at least one rule")
            rules = []
            for rule in value:
                kind = rule if isinstance(rule, str) else rule.get("type") if isinstance(rule, dict) else None
                if isinstance(rule, str) and rule not in SHORTHANDS:
                    raise PydanticCustomError(
                        "rule", "Unknown rule {rule}: write {shorthands}, or a rule object with a type",
                        {"rule": repr(rule), "shorthands": " or ".join(repr(s) for s in SHORTHANDS)})
                if isinstance(rule, dict) and kind not in RULE_TYPES:
                    raise PydanticCustomError(
                        "rule", "Unknown rule type {kind}: use one of {types}",
                        {"kind": repr(kind), "types": ", ".join(RULE_TYPES)})
                rules.append({"type": rule} if isinstance(rule, str) else rule)
            return rules

    config: Config

    def __init__(self, config: NodeConfig, node_id: str = "") -> None:
        super().__init__(config, node_id)
        c = self.config
        own = (c.score_field, c.issues_field, *_SKIP_FIELDS)
        self._checks: list[_Check] = []
        for rule in c.rules:
            if isinstance(rule, RequiredFieldsRule):
                self._checks.append(_Required(rule, c.required_fields))
            elif isinstance(rule, TypesRule):
                self._checks.append(_Types(rule))
            elif isinstance(rule, RangeRule):
                self._checks.append(_Range(rule))
            elif isinstance(rule, PatternRule):
                self._checks.append(_Pattern(rule))
            elif isinstance(rule, AllowedValuesRule):
                self._checks.append(_Allowed(rule))
            elif isinstance(rule, ExpressionRule):
                self._checks.append(_Expression(rule))
            else:
                self._checks.append(_Outlier(rule, c.outlier_key, c.outlier_fields, own))
        self._total = math.fsum(ch.weight for ch in self._checks)
        self._uses_history = any(isinstance(ch, _Outlier) for ch in self._checks)

    async def run(self, ctx: NodeContext, items: Items) -> Output:
        c = self.config
        store = ctx.services.history
        if self._uses_history and store is None:
            raise NodeError("DataValidator's outlier check needs the history service, and none is configured")
        record = self._uses_history and not ctx.test_mode
        checks, total = self._checks, self._total
        score_field, issues_field, fail_below = c.score_field, c.issues_field, c.fail_below
        valid: Items = []
        invalid: Items = []
        for index, item in enumerate(items):
            run = _ItemRun(ctx, item, index)
            issues: list[Issue] = []
            passed = 0.0
            for check in checks:
                found = check.check(run)
                if found:
                    issues += found
                else:
                    passed += check.weight
            score = round(passed / total, 4) if total else 1.0
            if record and run.records:
                assert store is not None
                for key, values in run.records.items():
                    store.record(ctx.workflow_id, key, values, ref=ctx.item_key(index))
            result = dict(item)
            result[score_field] = score
            result[issues_field] = issues
            (invalid if fail_below is not None and score < fail_below else valid).append(result)
        return {"main": valid, "invalid": invalid}
