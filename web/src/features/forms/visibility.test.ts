import { describe, expect, it } from "vitest";
import example from "../../../../examples/forms/supplier_emissions_v2.json";
import { castValue, computeVisibility, MISSING } from "./visibility";
import { normaliseForm, type FormDoc } from "./schema";

const form = normaliseForm(example);

describe("visibility", () => {
  it("hides conditional fields until their condition holds", () => {
    const v = computeVisibility(form, { reporting_standard: "ghg_protocol", reports_scope_3: "no" });
    expect(v.hidden.has("standard_other")).toBe(true);
    expect(v.hidden.has("scope_3")).toBe(true);
    expect(v.hidden.has("sites")).toBe(true);
    const w = computeVisibility(form, { reporting_standard: "other", reports_scope_3: true, has_sites: true });
    expect(w.hidden.has("standard_other")).toBe(false);
    expect(w.hidden.has("scope_3")).toBe(false);
    expect(w.hidden.has("sites")).toBe(false);
  });

  it("evaluates a table's columns per row, with the row's answers read as their type", () => {
    const v = computeVisibility(form, {
      has_sites: true,
      sites: [{ site_name: "A", electricity_mwh: "120.5" }, { site_name: "B", electricity_mwh: "0" }, { site_name: "C" }],
    });
    expect(v.hidden.has("sites[0].renewable_share")).toBe(false);
    expect(v.hidden.has("sites[1].renewable_share")).toBe(true);
    expect(v.hidden.has("sites[2].renewable_share")).toBe(true);
  });

  it("treats a hidden field as empty for the conditions after it, and hides a hidden page's fields", () => {
    const doc: FormDoc = normaliseForm({
      name: "chain",
      pages: [
        { id: "one", fields: [{ id: "a", type: "boolean" }, { id: "b", type: "boolean", visible_if: "a == true" }] },
        { id: "two", visible_if: "b == true", fields: [{ id: "c", type: "text" }, { id: "d", type: "section" }] },
      ],
    });
    const v = computeVisibility(doc, { a: false, b: true, c: "x" });
    expect(v.hidden.has("b")).toBe(true);
    expect(v.hiddenPages.has("two")).toBe(true);
    expect(v.hidden.has("c")).toBe(true);
    expect(v.hidden.has("d")).toBe(true);
    const w = computeVisibility(doc, { a: true, b: true });
    expect(w.hiddenPages.has("two")).toBe(false);
  });

  it("reads answers as the server does", () => {
    const num = { id: "n", type: "number" as const };
    expect(castValue(num, "1 250.5")).toBe(1250.5);
    expect(castValue(num, "1,5")).toBe(MISSING);
    expect(castValue({ id: "i", type: "integer" }, "2.5")).toBe(MISSING);
    expect(castValue({ id: "b", type: "boolean" }, "Yes")).toBe(true);
    expect(castValue({ id: "s", type: "select", options: [{ value: 2 }] }, "2")).toBe(2);
    expect(castValue({ id: "d", type: "date" }, "2025-02-30")).toBe(MISSING);
  });
});
