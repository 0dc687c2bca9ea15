import { describe, expect, it } from "vitest";
import example from "../../../../../examples/forms/supplier_emissions_v2.json";
import {
  addField,
  addPage,
  blankForm,
  changeType,
  duplicateField,
  findField,
  fromDocument,
  localProblems,
  moveField,
  nextVersionDocument,
  nudgeField,
  removeField,
  removePage,
  serverProblems,
  toDocument,
  updateField,
  type BDoc,
} from "./state";
import { normaliseForm } from "../schema";

const ids = (doc: BDoc, page = 0) => doc.pages[page].fields.map((f) => f.id);
const uidOf = (doc: BDoc, id: string) => doc.pages.flatMap((p) => p.fields.flatMap((f) => [f, ...(f.fields ?? [])])).find((f) => f.id === id)!._uid;

describe("the builder's document", () => {
  it("goes back to the same form JSON it came from", () => {
    const doc = fromDocument(example);
    expect(toDocument(doc)).toEqual(normaliseForm(example)); // options as {value, label}, as the server keeps them
    expect(JSON.stringify(toDocument(doc))).not.toContain("_uid");
  });

  it("saves as the next version: the server numbers it", () => {
    const out = nextVersionDocument(fromDocument(example));
    expect(out.version).toBeUndefined();
    expect(out.name).toBe("supplier_emissions");
  });

  it("adds fields with free ids and what their type needs", () => {
    let doc = blankForm();
    const page = { page: doc.pages[0]._uid };
    let a: string, b: string, t: string;
    [doc, a] = addField(doc, "number", page);
    [doc, b] = addField(doc, "number", page, 0);
    [doc, t] = addField(doc, "table", page);
    expect(ids(doc)).toEqual(["number_2", "name", "number_1", "items_1"]);
    expect(findField(doc, a)!.field.id).toBe("number_1");
    expect(findField(doc, b)!.index).toBe(0);
    const table = findField(doc, t)!.field;
    expect(table.fields!.map((c) => c.id)).toEqual(["item"]);
    // a column of a table: its id is free within the table; a table inside a table is not made
    let c: string;
    [doc, c] = addField(doc, "table", { page: page.page, table: t });
    expect(findField(doc, c)!.field).toMatchObject({ id: "text_1", type: "text" });
    expect(findField(doc, c)!.place.table).toBe(t);
    [doc] = addField(doc, "select", page);
    expect(toDocument(doc).pages[0].fields.at(-1)!.options).toHaveLength(2);
    expect(localProblems(doc)).toEqual([]);
  });

  it("moves fields within a page, across pages and within a table, never in or out of one", () => {
    let doc = fromDocument(example);
    const company = doc.pages[0]._uid;
    doc = moveField(doc, uidOf(doc, "website"), { page: company }, 0);
    expect(ids(doc).slice(0, 2)).toEqual(["website", "company_name"]);
    doc = moveField(doc, uidOf(doc, "website"), { page: company }, 3); // counted before the move
    expect(ids(doc).slice(0, 3)).toEqual(["company_name", "vat_id", "website"]);
    doc = moveField(doc, uidOf(doc, "website"), { page: doc.pages[4]._uid }, 1);
    expect(ids(doc)).not.toContain("website");
    expect(ids(doc, 4)[1]).toBe("website");
    const sites = uidOf(doc, "sites");
    doc = moveField(doc, uidOf(doc, "site_scope_1"), { page: doc.pages[3]._uid, table: sites }, 0);
    expect(findField(doc, sites)!.field.fields!.map((c) => c.id)[0]).toBe("site_scope_1");
    const before = doc;
    expect(moveField(doc, uidOf(doc, "site_name"), { page: company }, 0)).toBe(before);
    expect(moveField(doc, uidOf(doc, "notes"), { page: doc.pages[3]._uid, table: sites }, 0)).toBe(before);
  });

  it("nudges a field up and down, over the edge of a page onto the next", () => {
    let doc = fromDocument(example);
    const name = uidOf(doc, "annual_revenue");
    doc = nudgeField(doc, name, -1);
    expect(ids(doc).slice(-2)).toEqual(["annual_revenue", "employees"]);
    doc = nudgeField(doc, name, 1);
    doc = nudgeField(doc, name, 1);
    expect(ids(doc, 1)[0]).toBe("annual_revenue");
  });

  it("edits, retypes, duplicates and removes fields", () => {
    let doc = fromDocument(example);
    const scope = uidOf(doc, "scope_1");
    doc = updateField(doc, scope, { label: "Scope 1", help: "", max: 1e9 });
    expect(findField(doc, scope)!.field).toMatchObject({ label: "Scope 1", max: 1e9 });
    expect(findField(doc, scope)!.field.help).toBeUndefined();
    doc = changeType(doc, scope, "select");
    const f = findField(doc, scope)!.field;
    expect(f.type).toBe("select");
    expect(f.unit).toBeUndefined();
    expect(f.min).toBeUndefined();
    expect(f.required).toBe(true);
    expect(f.options).toHaveLength(2);
    let copy: string;
    [doc, copy] = duplicateField(doc, scope);
    expect(findField(doc, copy)!.field.id).toBe("scope_4"); // scope_1 stem, the first number free (scope_2 and scope_3 are taken)
    expect(findField(doc, copy)!.field.id).not.toBe("scope_1");
    expect(findField(doc, copy)!.index).toBe(findField(doc, scope)!.index + 1);
    doc = removeField(doc, copy);
    expect(findField(doc, copy)).toBeNull();
  });

  it("adds and removes pages, always keeping one", () => {
    let doc = blankForm();
    let p: string;
    [doc, p] = addPage(doc);
    expect(doc.pages.map((x) => x.id)).toEqual(["page_1", "page_2"]);
    doc = removePage(doc, p);
    expect(removePage(doc, doc.pages[0]._uid).pages).toHaveLength(1);
  });

  it("tells the problems it can see before saving, and places the server's", () => {
    let doc = blankForm("Bad Name");
    const first = doc.pages[0].fields[0]._uid;
    doc = updateField(doc, first, { id: "2nd", visible_if: "missing == 1" });
    const messages = localProblems(doc).map((p) => p.message);
    expect(messages).toContain("The name may hold lower-case letters, digits, '_' and '-' only");
    expect(messages).toContain("An id may hold letters, digits and '_' only, and must not start with a digit");
    expect(messages).toContain("The condition refers to 'missing', which is not a field of this form");
    const ex = fromDocument(example);
    const placed = serverProblems(ex, [
      { path: "pages[3].fields[1].fields[1].options", field: "sites.site_country", message: "x" },
      { path: "pages[2]", message: "y" },
      { path: "rules[0].expression", message: "z" },
    ]);
    expect(placed.map((p) => p.uid)).toEqual([uidOf(ex, "site_country"), ex.pages[2]._uid, null]);
  });
});
