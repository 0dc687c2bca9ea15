import { describe, expect, it } from "vitest";
import example from "../../../../examples/forms/supplier_emissions_v2.json";
import { checkPage, checkValue, clearErrors, errorsFromDetails, REQUIRED } from "./checks";
import { computeVisibility } from "./visibility";
import { normaliseForm } from "./schema";
import { fileProblem, limitsOf, limitText } from "./limits";

const form = normaliseForm(example);
const page = (id: string) => form.pages.find((p) => p.id === id)!;

describe("instant checks", () => {
  it("asks for the required answers of the shown fields only", () => {
    const answers = { reporting_standard: "ghg_protocol" };
    const errors = checkPage(page("period"), answers, computeVisibility(form, answers));
    expect(errors).toEqual({ period_start: [REQUIRED], period_end: [REQUIRED] });
    const other = { reporting_standard: "other", period_start: "2025-01-01", period_end: "2025-03-31" };
    expect(checkPage(page("period"), other, computeVisibility(form, other))).toEqual({ standard_other: [REQUIRED] });
  });

  it("checks rows of a repeating group, with paths like the server's", () => {
    const answers = { has_sites: true, sites: [{ site_name: "Plant 1", site_country: "DE" }, { site_country: "XX" }] };
    const errors = checkPage(page("sites"), answers, computeVisibility(form, answers));
    expect(errors).toEqual({ "sites[1].site_name": [REQUIRED], "sites[1].site_country": ["Please choose one of the options"] });
    const none = { has_sites: true, sites: [] };
    expect(checkPage(page("sites"), none, computeVisibility(form, none))).toEqual({ sites: [REQUIRED] });
  });

  it("speaks the server's words for bad values", () => {
    const f = (id: string) => form.pages.flatMap((p) => p.fields).find((x) => x.id === id)!;
    expect(checkValue(f("scope_1"), "1,5")).toBe("Please enter a number without commas, with a dot for decimals (for example 1234.5)");
    expect(checkValue(f("scope_1"), "-1")).toBe("Scope 1 emissions must be at least 0 t CO2e");
    expect(checkValue(f("scope_1"), "1.2345")).toBe("Scope 1 emissions can have at most 3 decimal places");
    expect(checkValue(f("employees"), "12.5")).toBe("Please enter a whole number");
    expect(checkValue(f("contact_email"), "jana@")).toBe("Please enter a valid email address");
    expect(checkValue(f("vat_id"), "de 123")).toMatch(/country prefix/);
    expect(checkValue(f("vat_id"), "DE123456789")).toBeNull();
    expect(checkValue(f("period_start"), "2019-12-31")).toBe("Start of the reporting period must be on or after 2020-01-01");
    expect(checkValue(f("period_end"), "2999-01-01")).toBe("End of the reporting period cannot be in the future");
    expect(checkValue(f("website"), "ftp://x")).toBe("Please enter a web address starting with https://");
    expect(checkValue(f("website"), "acme.example")).toBeNull();
  });

  it("puts the server's errors at their fields, a rule's at the first field it names", () => {
    const errors = errorsFromDetails([
      { field: "signatory", message: REQUIRED, code: "required" },
      { field: "total_emissions", fields: ["total_emissions", "scope_1"], message: "Total must add up", code: "rule" },
      { field: "sites[0].site_name", message: REQUIRED },
    ]);
    expect(errors).toEqual({
      signatory: [REQUIRED],
      total_emissions: ["Total must add up"],
      "sites[0].site_name": [REQUIRED],
    });
    expect(Object.keys(clearErrors(errors, "sites"))).toEqual(["signatory", "total_emissions"]);
  });
});

describe("upload limits", () => {
  it("are worked out from the form and said in words", () => {
    const limits = limitsOf(form);
    expect(limits.certificate).toEqual({ max_bytes: 10 * 1024 * 1024, max_mb: 10, accept: [".pdf", "application/pdf"], multiple: false, max_files: null });
    expect(limitText(limits.certificate)).toBe("PDF, at most 10 MB");
  });

  it("refuse a file before it is sent", () => {
    const limit = limitsOf(form).certificate;
    expect(fileProblem({ name: "a.pdf", size: 11 * 1024 * 1024, type: "application/pdf" }, limit)).toMatch(/too large/);
    expect(fileProblem({ name: "a.exe", size: 10, type: "application/octet-stream" }, limit)).toMatch(/not accepted/);
    expect(fileProblem({ name: "A.PDF", size: 10, type: "" }, limit)).toBeNull();
  });
});
