import { describe, expect, it } from "vitest";
import { evaluate, ExpressionSyntaxError, parse, references, truthy, visible } from "./expression";

describe("the expression evaluator", () => {
  it("reads the conditions of the example form", () => {
    expect(visible("reporting_standard == 'other'", { reporting_standard: "other" })).toBe(true);
    expect(visible("reporting_standard == 'other'", { reporting_standard: "iso_14064" })).toBe(false);
    expect(visible("reports_scope_3 == true", { reports_scope_3: true })).toBe(true);
    expect(visible("reports_scope_3 == true", { reports_scope_3: null })).toBe(false);
    const cond = "electricity_mwh is not none and electricity_mwh > 0";
    expect(visible(cond, { electricity_mwh: 12 })).toBe(true);
    expect(visible(cond, { electricity_mwh: 0 })).toBe(false);
    expect(visible(cond, { electricity_mwh: null })).toBe(false);
  });

  it("follows Python where JavaScript differs", () => {
    expect(truthy([])).toBe(false);
    expect(truthy({})).toBe(false);
    expect(truthy("0")).toBe(true);
    expect(evaluate("1 == true", {})).toBe(true);
    expect(evaluate("[1, 2] == [1, 2]", {})).toBe(true);
    expect(evaluate("-7 % 3", {})).toBe(2);
    expect(evaluate("7 // 2", {})).toBe(3);
    expect(evaluate("'a' ~ 1 ~ none", {})).toBe("a1None");
    expect(evaluate("x or 'fallback'", { x: "" })).toBe("fallback");
    expect(evaluate("x and 5", { x: 3 })).toBe(5);
  });

  it("fails where the server's evaluation fails, which hides the field", () => {
    expect(() => evaluate("x > 0", { x: null })).toThrow();
    expect(() => evaluate("missing == 1", {})).toThrow();
    expect(() => evaluate("'a' < 1", {})).toThrow();
    expect(visible("not (x > 0)", { x: null })).toBe(false);
    expect(visible("unknown_name == 1", {})).toBe(false);
  });

  it("shows a field whose condition it cannot read", () => {
    expect(() => parse("x ==")).toThrow(ExpressionSyntaxError);
    expect(visible("x ==", { x: 1 })).toBe(true);
    expect(visible("{% if %}", {})).toBe(true);
  });

  it("knows operators, precedence, chains, membership, tests, filters and helpers", () => {
    expect(evaluate("1 + 2 * 3 ** 2", {})).toBe(19);
    expect(evaluate("not a == b", { a: 1, b: 2 })).toBe(true);
    expect(evaluate("0 < x <= 10", { x: 10 })).toBe(true);
    expect(evaluate("0 < x <= 10", { x: 11 })).toBe(false);
    expect(evaluate("'DE' in countries", { countries: ["DE", "FR"] })).toBe(true);
    expect(evaluate("3 not in [1, 2]", {})).toBe(true);
    expect(evaluate("'ab' in 'cabd'", {})).toBe(true);
    expect(evaluate("x is defined", {})).toBe(false);
    expect(evaluate("x is number", { x: 2 })).toBe(true);
    expect(evaluate("x is not none", { x: 0 })).toBe(true);
    expect(evaluate("items | length > 1", { items: [1, 2] })).toBe(true);
    expect(evaluate("name | lower == 'acme'", { name: "ACME" })).toBe(true);
    expect(evaluate("sum(sites, 'site_scope_1')", { sites: [{ site_scope_1: 1.5 }, { site_scope_1: null }, { site_scope_1: 2 }] })).toBe(3.5);
    expect(evaluate("abs(total - sum([a, b])) <= 0.01", { total: 3, a: 1, b: 2 })).toBe(true);
    expect(evaluate("len(x) if x else 0", { x: "abc" })).toBe(3);
    expect(evaluate("round(2.5)", {})).toBe(2);
    expect(evaluate("max(3, 7, 5)", {})).toBe(7);
    expect(evaluate("answers.scope_1 > 10", { answers: { scope_1: 12 } })).toBe(true);
    expect(evaluate("row['site_name']", { row: { site_name: "Plant" } })).toBe("Plant");
    expect(evaluate("items[-1]", { items: [1, 2, 3] })).toBe(3);
    expect(evaluate("True and not False", {})).toBe(true);
  });

  it("names what an expression reads", () => {
    const r = references("a > 1 and answers.b and row.c and sum(d) > row['e']");
    expect([...r.bare].sort()).toEqual(["a", "answers", "d", "row", "sum"]);
    expect([...r.answers]).toEqual(["b"]);
    expect([...r.row].sort()).toEqual(["c", "e"]);
  });
});
