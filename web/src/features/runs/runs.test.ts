import { describe, expect, it } from "vitest";
import type { Run } from "../../client/types";
import { failedNode, pollInterval } from "./RunPage";
import { dayBound, runError } from "./RunsPage";

const run = (status: Run["status"], activations: Partial<Run["activations"][number]>[] = []) =>
  ({ status, activations }) as unknown as Run;

describe("runs", () => {
  it("polls fast while a run moves, slowly while it waits, not at all when it ended", () => {
    expect(pollInterval(run("running"))).toBe(500);
    expect(pollInterval(run("pending"))).toBe(500);
    expect(pollInterval(run("waiting"))).toBe(5000);
    expect(pollInterval(run("completed"))).toBe(false);
    expect(pollInterval(undefined)).toBe(false);
  });

  it("retries from the first failed node", () => {
    expect(failedNode(run("failed", [{ node_id: "a", status: "completed" }, { node_id: "b", status: "failed" }]))).toBe("b");
    expect(failedNode(run("completed", [{ node_id: "a", status: "completed" }]))).toBeNull();
  });

  it("turns a chosen day into the start or end of that local day", () => {
    const start = new Date(dayBound("2026-03-01", false)!);
    const end = new Date(dayBound("2026-03-01", true)!);
    expect([start.getHours(), start.getMinutes()]).toEqual([0, 0]);
    expect([end.getHours(), end.getMinutes(), end.getDate()]).toEqual([23, 59, 1]);
    expect(dayBound("", false)).toBeUndefined();
  });

  it("reads a run's error in any shape", () => {
    expect(runError({ message: "boom", node_id: "x" })).toBe("boom");
    expect(runError("plain")).toBe("plain");
    expect(runError(null)).toBeNull();
  });
});
