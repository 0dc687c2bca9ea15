import { describe, expect, it } from "vitest";
import { changeFilters, isFiltered, readFilters, responseQuery } from "./filters";

describe("the responses list's filters", () => {
  it("are read from the query string, empty where not set", () => {
    const f = readFilters(new URLSearchParams("form=supplier_emissions&status=submitted&recipient=anna%40acme.example&page=2"));
    expect(f).toEqual({ form: "supplier_emissions", version: "", status: "submitted", recipient: "anna@acme.example", campaign: "", since: "", until: "" });
    expect(isFiltered(f)).toBe(true);
    expect(isFiltered(readFilters(new URLSearchParams("page=2")))).toBe(false);
  });

  it("drop the version when another form is chosen, and keep it for the same form", () => {
    const params = new URLSearchParams("form=a&version=2&status=approved&page=3");
    expect(changeFilters(params, { form: "b" }).toString()).toBe("form=b&status=approved");
    expect(changeFilters(params, { form: "a" }).get("version")).toBe("2");
    expect(changeFilters(params, { form: "b", version: "1" }).get("version")).toBe("1");
    expect(changeFilters(params, { page: "4" }).get("page")).toBe("4");
  });

  it("become the API's query, the days as the start and the end of the local day", () => {
    const q = responseQuery(readFilters(new URLSearchParams("status=approved&since=2026-03-01&until=2026-03-02")));
    expect(q.status).toBe("approved");
    expect(q.form).toBeUndefined();
    expect(q.recipient).toBeUndefined();
    expect(new Date(q.since!).getHours()).toBe(0);
    expect(new Date(q.until!).getHours()).toBe(23);
    expect(new Date(q.until!).getDate()).toBe(2);
  });
});
