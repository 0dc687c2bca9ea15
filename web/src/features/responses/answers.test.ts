import { describe, expect, it } from "vitest";
import example from "../../../../examples/forms/supplier_emissions_v2.json";
import { normaliseForm } from "../forms/schema";
import { answerLines, recipientText } from "./answers";

const form = normaliseForm(example);

describe("answers as people read them", () => {
  it("uses labels, option labels, units, Yes/No and file names, in the form's order", () => {
    const lines = answerLines(form, {
      country: "DE",
      company_name: "Acme",
      scope_1: 1200.5,
      reports_scope_3: false,
      scope_3_categories: [1, 6],
      certificate: { key: "k", name: "cert.pdf", size: 2048, content_type: "application/pdf" },
      annual_revenue: "***",
      legacy_field: "kept",
    });
    const by = Object.fromEntries(lines.map((l) => [l.id, l]));
    expect(lines[0].id).toBe("company_name");
    expect(by.country.shown).toEqual({ kind: "text", text: "Germany", empty: false, masked: false });
    expect(by.country.label).toBe("Country of registration");
    expect(by.scope_1.shown).toMatchObject({ text: "1200.5 t CO2e" });
    expect(by.reports_scope_3.shown).toMatchObject({ text: "No" });
    expect(by.scope_3_categories.shown).toMatchObject({ text: "1. Purchased goods and services; 6. Business travel" });
    expect(by.certificate.shown).toEqual({ kind: "files", files: [{ key: "k", name: "cert.pdf", size: 2048, content_type: "application/pdf" }] });
    expect(by.annual_revenue.shown).toMatchObject({ text: "hidden (sensitive)", masked: true });
    expect(by.vat_id.shown).toMatchObject({ text: "—", empty: true });
    expect(lines.at(-1)).toMatchObject({ id: "legacy_field", page: "Other answers" });
  });

  it("shows a repeating group as a table", () => {
    const sites = answerLines(form, { sites: [{ site_name: "Duisburg", site_country: "DE", electricity_mwh: 5200, renewable_share: 35 }] }).find((l) => l.id === "sites")!;
    expect(sites.shown).toEqual({
      kind: "table",
      columns: [
        { id: "site_name", label: "Site name" },
        { id: "site_country", label: "Country" },
        { id: "electricity_mwh", label: "Electricity used" },
        { id: "renewable_share", label: "Renewable share" },
        { id: "site_scope_1", label: "Site scope 1 emissions" },
      ],
      rows: [["Duisburg", "DE", "5200 MWh", "35%", "—"]],
    });
  });

  it("names the recipient", () => {
    expect(recipientText({ name: "Anna", company: "Acme", email: "a@acme.example" })).toBe("Anna (Acme) <a@acme.example>");
    expect(recipientText({ email: "a@acme.example" })).toBe("a@acme.example");
    expect(recipientText({})).toBe("—");
  });
});
