import { afterEach, describe, expect, it, vi } from "vitest";
import { backTo, debouncer, keptDraft, pageParam, patchParams } from "./params";

describe("filters in the query string", () => {
  it("sets the values given, removes the empty ones and keeps the others", () => {
    const next = patchParams(new URLSearchParams("form=a&status=approved&recipient=x%40y.z"), { status: "", form: "b", since: "2026-01-02" });
    expect(next.get("form")).toBe("b");
    expect(next.has("status")).toBe(false);
    expect(next.get("recipient")).toBe("x@y.z");
    expect(next.get("since")).toBe("2026-01-02");
  });

  it("goes back to page 1 when a filter changes, and keeps the page it is told", () => {
    const params = new URLSearchParams("status=approved&page=3");
    expect(patchParams(params, { status: "rejected" }).has("page")).toBe(false);
    expect(patchParams(params, { page: "4" }).toString()).toBe("status=approved&page=4");
  });

  it("does not change the query string it was given", () => {
    const params = new URLSearchParams("form=a");
    patchParams(params, { form: "" });
    expect(params.toString()).toBe("form=a");
  });

  it("reads the page as a whole number of 1 or more", () => {
    expect(pageParam(new URLSearchParams("page=3"))).toBe(3);
    expect(pageParam(new URLSearchParams(""))).toBe(1);
    expect(pageParam(new URLSearchParams("page=0"))).toBe(1);
    expect(pageParam(new URLSearchParams("page=-2"))).toBe(1);
    expect(pageParam(new URLSearchParams("page=two"))).toBe(1);
    expect(pageParam(new URLSearchParams("page=2.5"))).toBe(2);
  });
});

describe("a search box over the query string", () => {
  it("keeps the text being typed when its own write comes back", () => {
    expect(keptDraft("anna@acme.example ", "anna@acme.example")).toBe("anna@acme.example ");
  });

  it("shows the query string's value when someone else changed it", () => {
    expect(keptDraft("anna@acme", "")).toBeNull(); // "Clear filters"
    expect(keptDraft("anna@acme", "piotr@plastics.example")).toBeNull(); // back or forward
    expect(keptDraft(null, "anna@acme.example")).toBeNull(); // nothing typed: the box shows the URL
  });
});

describe("the debouncer", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("runs only the last call scheduled, once the delay passed", () => {
    vi.useFakeTimers();
    const wait = debouncer(300);
    const calls: string[] = [];
    wait.schedule(() => calls.push("a"));
    vi.advanceTimersByTime(200);
    wait.schedule(() => calls.push("ab"));
    vi.advanceTimersByTime(299);
    expect(calls).toEqual([]);
    expect(wait.pending).toBe(true);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(["ab"]);
    expect(wait.pending).toBe(false);
  });

  it("runs nothing once cancelled", () => {
    vi.useFakeTimers();
    const wait = debouncer(300);
    const calls: string[] = [];
    wait.schedule(() => calls.push("stale"));
    wait.cancel();
    vi.advanceTimersByTime(1000);
    expect(calls).toEqual([]);
    expect(wait.pending).toBe(false);
  });
});

describe("a detail page's back link", () => {
  it("returns to the list as it was left", () => {
    expect(backTo({ from: "/responses?status=approved&recipient=a%40b.c" }, "/responses")).toBe("/responses?status=approved&recipient=a%40b.c");
    expect(backTo({ from: "/responses" }, "/responses")).toBe("/responses");
  });

  it("goes to the bare list without a list to return to, or with another page's address", () => {
    expect(backTo(null, "/responses")).toBe("/responses");
    expect(backTo({}, "/responses")).toBe("/responses");
    expect(backTo({ from: 3 }, "/responses")).toBe("/responses");
    expect(backTo({ from: "/runs?status=failed" }, "/responses")).toBe("/responses");
    expect(backTo({ from: "/responses-evil" }, "/responses")).toBe("/responses");
    expect(backTo({ from: "https://elsewhere.example/responses" }, "/responses")).toBe("/responses");
  });
});
