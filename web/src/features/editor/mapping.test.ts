import { describe, expect, it } from "vitest";
import type { Definition } from "../../client/types";
import {
  definitionToFlow,
  flowToDefinition,
  newNodeId,
  outputPorts,
  renameNode,
  upstreamOf,
} from "./mapping";
import { changedPaths } from "./VersionsDialog";

const seed: Definition = {
  id: "supplier-quarterly-collection",
  name: "Q1 2025 Supplier Data Collection",
  description: "Every quarter",
  active: true,
  settings: { timezone: "Europe/Berlin" },
  vars: { threshold: 0.8 },
  error_workflow: "notify-admins",
  nodes: [
    { id: "trigger_1", type: "ScheduleTrigger", config: { cron: "0 0 1 */3 *" }, position: { x: 0, y: 0 } },
    { id: "form_1", type: "SendForm", name: "Ask suppliers", config: { form_id: "supplier_emissions_v2", recipients: "{{database.suppliers}}" }, position: { x: 280, y: 0 } },
    {
      id: "validate_1",
      type: "DataValidator",
      config: { rules: ["required_fields", "outlier_check"] },
      position: { x: 560, y: 0 },
      retry: { max_attempts: 3, backoff_seconds: 1 },
      on_error: "route",
      notes: "kept as is",
    },
    { id: "branch_1", type: "Conditional", config: { condition: "validate_1.score > 0.8" }, position: { x: 840, y: 0 } },
    { id: "sap_export", type: "ERPExport", config: { system: "SAP", mapping: "carbon_to_sap_v2" }, position: { x: 1120, y: -60 } },
    { id: "alert", type: "SendEmail", config: { to: "team@example.com" }, position: { x: 840, y: 200 } },
  ],
  edges: [
    { from: "trigger_1", to: "form_1" },
    { from: "form_1", to: "validate_1" },
    { from: "validate_1", to: "branch_1" },
    { from: "branch_1", to: "sap_export", condition: "true" },
    { from: "validate_1", to: "alert", condition: "error" },
  ],
};

describe("definition ↔ flow", () => {
  it("round-trips a definition unchanged", () => {
    const g = definitionToFlow(seed);
    expect(g.needsLayout).toBe(false);
    expect(flowToDefinition(g.meta, g.nodes, g.edges)).toEqual(seed);
  });

  it("maps an edge's condition to the source handle and back", () => {
    const g = definitionToFlow(seed);
    const branch = g.edges.find((e) => e.source === "branch_1")!;
    expect(branch.sourceHandle).toBe("true");
    expect(branch.targetHandle).toBe("in");
    const plain = g.edges.find((e) => e.source === "trigger_1")!;
    expect(plain.sourceHandle).toBe("main");
    const back = flowToDefinition(g.meta, g.nodes, g.edges).edges;
    expect(back[0]).toEqual({ from: "trigger_1", to: "form_1" });
    expect(back[3]).toEqual({ from: "branch_1", to: "sap_export", condition: "true" });
  });

  it("marks error edges so they are drawn apart", () => {
    const g = definitionToFlow(seed);
    expect(g.edges.find((e) => e.sourceHandle === "error")!.className).toBe("dc-edge-error");
  });

  it("accepts `port` as the same field as `condition`, and an explicit main port", () => {
    const g = definitionToFlow({
      id: "w",
      name: "w",
      nodes: [
        { id: "a", type: "Loop", config: {} },
        { id: "b", type: "X", config: {} },
        { id: "c", type: "X", config: {} },
      ],
      edges: [
        { from: "a", to: "b", port: "item" },
        { from: "b", to: "c", condition: "main" },
      ],
    });
    expect(g.edges.map((e) => e.sourceHandle)).toEqual(["item", "main"]);
    expect(flowToDefinition(g.meta, g.nodes, g.edges).edges).toEqual([
      { from: "a", to: "b", condition: "item" },
      { from: "b", to: "c" },
    ]);
  });

  it("asks for a layout when a node has no position, and drops duplicate edges", () => {
    const g = definitionToFlow({
      id: "w",
      name: "w",
      nodes: [
        { id: "a", type: "ManualTrigger", config: {} },
        { id: "b", type: "X", config: {} },
      ],
      edges: [
        { from: "a", to: "b" },
        { from: "a", to: "b" },
      ],
    });
    expect(g.needsLayout).toBe(true);
    expect(g.edges).toHaveLength(1);
    expect(g.nodes.every((n) => Number.isFinite(n.position.x))).toBe(true);
  });

  it("rounds positions and leaves out empty names", () => {
    const g = definitionToFlow({ id: "w", name: "w", nodes: [{ id: "a", type: "X", config: {}, position: { x: 1.6, y: 2.2 } }], edges: [] });
    g.nodes[0].data.name = "";
    expect(flowToDefinition(g.meta, g.nodes, g.edges).nodes[0]).toEqual({ id: "a", type: "X", config: {}, position: { x: 2, y: 2 } });
  });
});

describe("graph helpers", () => {
  it("lists the ports a node shows, with error when it routes errors", () => {
    expect(outputPorts(["main"], "fail")).toEqual(["main"]);
    expect(outputPorts(["true", "false"], "route")).toEqual(["true", "false", "error"]);
    expect(outputPorts(undefined, undefined)).toEqual(["main"]);
  });

  it("makes readable, unused node ids", () => {
    expect(newNodeId("DataValidator", [])).toBe("data_validator_1");
    expect(newNodeId("DataValidator", ["data_validator_1"])).toBe("data_validator_2");
    expect(newNodeId("ERPExport", [])).toBe("erp_export_1");
    expect(newNodeId("APICall", [])).toBe("api_call_1");
  });

  it("finds every upstream node, nearest first", () => {
    const g = definitionToFlow(seed);
    expect(upstreamOf("sap_export", g.edges)).toEqual(["branch_1", "validate_1", "form_1", "trigger_1"]);
    expect(upstreamOf("trigger_1", g.edges)).toEqual([]);
  });

  it("renames a node and its edges", () => {
    const g = definitionToFlow(seed);
    const r = renameNode(g.nodes, g.edges, "branch_1", "check");
    const def = flowToDefinition(g.meta, r.nodes, r.edges);
    expect(def.nodes.map((n) => n.id)).toContain("check");
    expect(def.edges).toContainEqual({ from: "validate_1", to: "check" });
    expect(def.edges).toContainEqual({ from: "check", to: "sap_export", condition: "true" });
  });
});


describe("version changes", () => {
  it("splits a changed config into the keys that changed", () => {
    expect(changedPaths("config", { formula: "a", output_field: "sum" }, { formula: "a", output_field: "total", round: 2 })).toEqual([
      { path: "config.output_field", before: "sum", after: "total" },
      { path: "config.round", before: undefined, after: 2 },
    ]);
    expect(changedPaths("name", null, "Receive")).toEqual([{ path: "name", before: null, after: "Receive" }]);
  });
});
