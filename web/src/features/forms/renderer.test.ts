import { describe, expect, it } from "vitest";
import example from "../../../../examples/forms/supplier_emissions_v2.json";
import { firstError, pathsInOrder } from "./FormRenderer";
import { normaliseForm } from "./schema";
import { parseRecipients } from "./SendDialog";

const form = normaliseForm(example);

describe("the first answer at fault", () => {
  it("is the first in the order shown, whatever order the server listed them in", () => {
    const answers = { sites: [{}, {}] };
    expect(pathsInOrder(form, answers).slice(0, 2)).toEqual([
      { path: "company_name", page: "company" },
      { path: "vat_id", page: "company" },
    ]);
    expect(firstError(form, answers, { signatory: ["x"], "sites[1].site_name": ["y"], total_emissions: ["z"] })).toEqual({ path: "total_emissions", page: "emissions" });
    expect(firstError(form, answers, { "sites[1].site_name": ["y"], signatory: ["x"] })).toEqual({ path: "sites[1].site_name", page: "sites" });
  });

  it("falls back to the field a deeper path belongs to, and is nothing without errors", () => {
    expect(firstError(form, {}, { "certificate[0]": ["bad file"] })).toEqual({ path: "certificate", page: "evidence" });
    expect(firstError(form, {}, {})).toBeNull();
    expect(firstError(form, {}, { "": ["form-wide"] })).toBeNull();
  });
});

describe("recipients typed in the send dialog", () => {
  it("are read one per line, with a name and a company when given", () => {
    const { recipients, bad } = parseRecipients("Anna Schmidt <anna@acme.example>, Acme Steel GmbH\n\npiotr@plastics.example\nnot an address");
    expect(recipients).toEqual([
      { email: "anna@acme.example", name: "Anna Schmidt", company: "Acme Steel GmbH" },
      { email: "piotr@plastics.example" },
    ]);
    expect(bad).toEqual(["not an address"]);
  });
});
