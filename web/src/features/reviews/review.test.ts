import { describe, expect, it } from "vitest";
import { afterDecision, dayBuckets, deltaText, dueText, formatValue, issueText, keyAction, largeChange, parseEdited, seconds, stepId, viewQuery } from "./review";

const input = { tagName: "INPUT" } as unknown as EventTarget;
const body = { tagName: "BODY" } as unknown as EventTarget;

describe("the review keyboard", () => {
  it("reads j/k and the arrows as moving, a/r/c as decisions", () => {
    expect(keyAction({ key: "j", target: body })).toBe("next");
    expect(keyAction({ key: "ArrowDown", target: body })).toBe("next");
    expect(keyAction({ key: "k", target: body })).toBe("previous");
    expect(keyAction({ key: "a", target: body })).toBe("approve");
    expect(keyAction({ key: "r", target: body })).toBe("reject");
    expect(keyAction({ key: "c", target: body })).toBe("changes");
    expect(keyAction({ key: "?", target: body })).toBe("help");
  });

  it("leaves keys typed into a field, or pressed with Ctrl, Cmd or Alt, alone", () => {
    expect(keyAction({ key: "a", target: input })).toBeNull();
    expect(keyAction({ key: "a", target: { tagName: "TEXTAREA" } as unknown as EventTarget })).toBeNull();
    expect(keyAction({ key: "a", ctrlKey: true, target: body })).toBeNull();
    expect(keyAction({ key: "c", metaKey: true, target: body })).toBeNull();
    expect(keyAction({ key: "q", target: body })).toBeNull();
  });

  it("moves through the list and stays at its ends", () => {
    const ids = ["a", "b", "c"];
    expect(stepId(ids, "a", 1)).toBe("b");
    expect(stepId(ids, "c", 1)).toBe("c");
    expect(stepId(ids, "a", -1)).toBe("a");
    expect(stepId(ids, null, 1)).toBe("a");
    expect(stepId([], "a", 1)).toBeNull();
  });

  it("after a decision shows the item that took the decided one's place", () => {
    expect(afterDecision(["a", "b", "c"], "a")).toBe("b");
    expect(afterDecision(["a", "b", "c"], "b")).toBe("c");
    expect(afterDecision(["a", "b", "c"], "c")).toBe("b");
    expect(afterDecision(["a"], "a")).toBeNull();
  });
});

describe("the review views", () => {
  it("my queue asks for my open items, most urgent first", () => {
    expect(viewQuery("mine", {})).toEqual({ status: ["pending", "in_review", "escalated"], assignee: "me", page: 1, page_size: 50, sort: "priority" });
  });

  it("the unassigned view asks for nobody's items, with the chosen filters", () => {
    const q = viewQuery("unassigned", { queue: "emissions", has_issues: true, priority: 2, q: "acme" }, 3);
    expect(q).toMatchObject({ assignee: "none", queue: "emissions", has_issues: true, priority: 2, q: "acme", page: 3 });
  });

  it("the decided view shows decisions, the latest first, and a chosen status wins", () => {
    expect(viewQuery("decided", {})).toMatchObject({ status: ["approved", "rejected", "changes_requested"], sort: "updated" });
    expect(viewQuery("team", { status: "escalated" }).status).toEqual(["escalated"]);
    expect(viewQuery("team", {}).assignee).toBeUndefined();
    expect(viewQuery("team", { run_id: "r1" }).run_id).toBe("r1");
  });
});

describe("what the dashboard shows", () => {
  const now = Date.parse("2026-03-01T12:00:00Z");
  it("says when an open item is due or how late it is", () => {
    expect(dueText({ due_at: "2026-03-01T15:00:00Z", overdue: false, status: "pending" }, now)).toBe("due in 3 h");
    expect(dueText({ due_at: "2026-02-27T12:00:00Z", overdue: true, status: "in_review" }, now)).toBe("overdue by 2 d");
    expect(dueText({ due_at: "2026-02-27T12:00:00Z", overdue: true, status: "approved" }, now)).toBe("");
    expect(dueText({ due_at: null, overdue: false, status: "pending" }, now)).toBe("");
  });

  it("shows values and the change against last period as people read them", () => {
    expect(formatValue(1234567)).toBe("1,234,567");
    expect(formatValue(true)).toBe("Yes");
    expect(formatValue(null)).toBe("—");
    expect(formatValue(["a", "b"])).toBe("a, b");
    expect(formatValue([{ site: 1 }, { site: 2 }])).toBe("2 rows");
    expect(deltaText({ delta: 300, delta_pct: 25 })).toBe("+25%");
    expect(deltaText({ delta: -5, delta_pct: -12.345 })).toBe("-12.3%");
    expect(deltaText({ delta: 3, delta_pct: null })).toBe("+3");
    expect(deltaText({ delta: null, delta_pct: null })).toBe("");
    expect(largeChange({ delta_pct: 40 })).toBe(true);
    expect(largeChange({ delta_pct: -10 })).toBe(false);
    expect(seconds(90)).toBe("2 min");
    expect(seconds(5400)).toBe("1.5 h");
    expect(seconds(null)).toBe("—");
  });

  it("reads an issue in any shape a validator gave", () => {
    expect(issueText("too high")).toBe("too high");
    expect(issueText({ field: "co2_t", message: "changed by 80%" })).toBe("co2_t: changed by 80%");
  });

  it("reads an edited value back as the type the field had", () => {
    expect(parseEdited("1,500.5", 1200)).toBe(1500.5);
    expect(parseEdited("no", true)).toBe(false);
    expect(parseEdited(" Acme ", "x")).toBe("Acme");
    expect(parseEdited('[{"a":1}]', [])).toEqual([{ a: 1 }]);
    expect(() => parseEdited("lots", 3)).toThrow("not a number");
    expect(() => parseEdited("maybe", false)).toThrow("not yes or no");
  });
});

describe("the metrics per day", () => {
  const day = (d: string, n = 1) => ({ day: d, queued: n, approved: n, rejected: 0, changes_requested: 0, first_approval: 0 });
  it("keeps one bar a day for a month", () => {
    const days = Array.from({ length: 30 }, (_, i) => day(`2026-11-${String(i + 1).padStart(2, "0")}`));
    const bars = dayBuckets(days);
    expect(bars).toHaveLength(30);
    expect(bars[29]).toMatchObject({ from: "2026-11-30", to: "2026-11-30", queued: 1 });
    expect(bars[0].label).toBe("2026-11-01: 1 queued, 1 approved, 0 rejected, 0 sent back");
  });
  it("gathers a year into whole weeks, the newest week complete and nothing lost", () => {
    const days = Array.from({ length: 366 }, (_, i) => day(`d${String(i).padStart(3, "0")}`, i % 3));
    const bars = dayBuckets(days);
    expect(bars.length).toBeLessThanOrEqual(45);
    expect(bars[bars.length - 1]).toMatchObject({ from: "d357", to: "d365" });
    expect(bars.reduce((n, b) => n + b.queued, 0)).toBe(days.reduce((n, d) => n + d.queued, 0));
    expect(bars[0].from).toBe("d000");
  });
});
