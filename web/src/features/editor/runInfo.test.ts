import { describe, expect, it } from "vitest";
import type { Activation } from "../../client/types";
import { fieldNames, pinnableOutput, PIN_LIMIT, summarizeActivations, wholeOutput } from "./runInfo";

const act = (over: Partial<Activation>): Activation => ({
  id: Math.random().toString(36),
  node_id: "n",
  lane: "0",
  status: "completed",
  attempts: 1,
  input: null,
  output: null,
  error: null,
  started_at: null,
  finished_at: null,
  duration_ms: null,
  item_count: null,
  ...over,
});

describe("run results per node", () => {
  it("adds up lanes: items, time, and the status that needs attention first", () => {
    const by = summarizeActivations([
      act({ node_id: "export", lane: "a", output: { main: [{ x: 1 }, { x: 2 }] }, duration_ms: 10 }),
      act({ node_id: "export", lane: "b", status: "failed", error: { message: "SAP said no" }, duration_ms: 5 }),
      act({ node_id: "check", item_count: 7, status: "running" }),
    ]);
    expect(by.export).toEqual({ status: "failed", items: 2, durationMs: 15, lanes: 2, error: "SAP said no" });
    expect(by.check.items).toBe(7);
    expect(by.check.status).toBe("running");
  });

  it("pins a node's main output across lanes, and learns field names", () => {
    const acts = [
      act({ node_id: "m", output: { main: [{ a: 1 }], error: [{ e: 1 }] } }),
      act({ node_id: "m", output: { main: [{ a: 2, b: 3 }] } }),
    ];
    expect(pinnableOutput(acts, "m")).toEqual([{ a: 1 }, { a: 2, b: 3 }]);
    expect(pinnableOutput(acts, "other")).toBeNull();
    expect(fieldNames([{ a: 1 }, { a: 2, b: 3 }])).toEqual(["a", "b"]);
  });
});

describe("pinning a node's whole output", () => {
  const act = (id: string, held: number, total?: number) =>
    ({
      id,
      node_id: "load",
      lane: "0",
      status: "completed",
      attempts: 1,
      input: null,
      output: { main: Array.from({ length: held }, (_, i) => ({ n: i })) },
      output_totals: total ? { main: total } : null,
      error: null,
      started_at: null,
      finished_at: null,
      duration_ms: null,
      item_count: total ?? held,
    }) as Activation;

  it("fetches the items the run does not hold, page by page, in order", async () => {
    const asked: number[] = [];
    const page = async (_id: string, _port: string, offset: number) => {
      asked.push(offset);
      return Array.from({ length: Math.min(1000, 2500 - offset) }, (_, i) => ({ n: offset + i }));
    };
    const items = await wholeOutput([act("a", 1000, 2500)], "load", page);
    expect(asked).toEqual([1000, 2000]);
    expect(items?.map((i) => i.n)).toEqual(Array.from({ length: 2500 }, (_, i) => i));
  });
  it("fetches nothing for an output the run holds whole, and refuses one too large to pin", async () => {
    const never = async () => {
      throw new Error("not asked");
    };
    expect(await wholeOutput([act("a", 3)], "load", never)).toHaveLength(3);
    expect(await wholeOutput([act("a", 1000, PIN_LIMIT + 1)], "load", never)).toBeNull();
  });
});
