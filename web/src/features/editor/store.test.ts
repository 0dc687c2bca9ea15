import { describe, expect, it, vi } from "vitest";
import type { Definition } from "../../client/types";
import { createEditorStore, HISTORY_LIMIT } from "./store";

const def: Definition = {
  id: "w",
  name: "Workflow",
  nodes: [
    { id: "start", type: "ManualTrigger", config: {}, position: { x: 0, y: 0 } },
    { id: "calc", type: "Calculator", config: { formula: "1 + 1", output_field: "two" }, position: { x: 300, y: 0 } },
  ],
  edges: [{ from: "start", to: "calc" }],
};

const ids = (s: ReturnType<typeof createEditorStore>) => s.getState().nodes.map((n) => n.id);

describe("editor store: undo and redo", () => {
  it("undoes and redoes adding a node", () => {
    const store = createEditorStore({ definition: def });
    const id = store.getState().addNode("DataValidator", { x: 600, y: 0 });
    expect(id).toBe("data_validator_1");
    expect(ids(store)).toEqual(["start", "calc", "data_validator_1"]);
    expect(store.getState().dirty).toBe(true);
    store.getState().undo();
    expect(ids(store)).toEqual(["start", "calc"]);
    store.getState().redo();
    expect(ids(store)).toEqual(["start", "calc", "data_validator_1"]);
    expect(store.getState().future).toHaveLength(0);
  });

  it("merges quick edits of one field into one step", () => {
    vi.useFakeTimers();
    const store = createEditorStore({ definition: def });
    const s = () => store.getState();
    for (const f of ["1", "1 +", "1 + 2"]) s().updateNodeData("calc", { config: { formula: f, output_field: "two" } }, "config.formula");
    expect(s().past).toHaveLength(1);
    vi.advanceTimersByTime(5000);
    s().updateNodeData("calc", { config: { formula: "3", output_field: "two" } }, "config.formula");
    expect(s().past).toHaveLength(2);
    s().undo();
    expect(s().nodes[1].data.config.formula).toBe("1 + 2");
    s().undo();
    expect(s().nodes[1].data.config.formula).toBe("1 + 1");
    vi.useRealTimers();
  });

  it("forgets the redo branch after a new change", () => {
    const store = createEditorStore({ definition: def });
    const s = () => store.getState();
    s().addNode("Wait", { x: 0, y: 200 });
    s().undo();
    expect(s().future).toHaveLength(1);
    s().addNode("Loop", { x: 0, y: 200 });
    expect(s().future).toHaveLength(0);
    s().redo();
    expect(ids(store)).toEqual(["start", "calc", "loop_1"]);
  });

  it("keeps a bounded history", () => {
    const store = createEditorStore({ definition: def });
    for (let i = 0; i < HISTORY_LIMIT + 20; i++) store.getState().updateMeta({ name: `n${i}` });
    expect(store.getState().past).toHaveLength(HISTORY_LIMIT);
  });

  it("records one step for a drag, however many moves it has", () => {
    const store = createEditorStore({ definition: def });
    const s = () => store.getState();
    s().onNodesChange([{ type: "position", id: "calc", position: { x: 310, y: 0 }, dragging: true }]);
    s().onNodesChange([{ type: "position", id: "calc", position: { x: 320, y: 5 }, dragging: true }]);
    s().onNodesChange([{ type: "position", id: "calc", position: { x: 330, y: 10 }, dragging: false }]);
    expect(s().past).toHaveLength(1);
    s().undo();
    expect(s().nodes[1].position).toEqual({ x: 300, y: 0 });
  });

  it("records arrow-key moves as one change", () => {
    const store = createEditorStore({ definition: def });
    const s = () => store.getState();
    s().onNodesChange([{ type: "position", id: "calc", position: { x: 310, y: 0 } }]);
    s().onNodesChange([{ type: "position", id: "calc", position: { x: 320, y: 0 } }]);
    expect(s().dirty).toBe(true);
    expect(s().past).toHaveLength(1);
    s().undo();
    expect(s().nodes[1].position).toEqual({ x: 300, y: 0 });
  });

  it("does not record selection changes", () => {
    const store = createEditorStore({ definition: def });
    store.getState().onNodesChange([{ type: "select", id: "calc", selected: true }]);
    expect(store.getState().past).toHaveLength(0);
    expect(store.getState().dirty).toBe(false);
  });

  it("deletes the selection with its edges, as one step", () => {
    const store = createEditorStore({ definition: def });
    const s = () => store.getState();
    s().selectOnly(["calc"]);
    s().deleteSelection();
    expect(ids(store)).toEqual(["start"]);
    expect(s().edges).toHaveLength(0);
    s().undo();
    expect(ids(store)).toEqual(["start", "calc"]);
    expect(s().edges).toHaveLength(1);
  });

  it("changes nothing when read only", () => {
    const store = createEditorStore({ definition: def, readOnly: true });
    expect(store.getState().addNode("Wait", { x: 0, y: 0 })).toBeNull();
    store.getState().onNodesChange([{ type: "remove", id: "calc" }]);
    expect(ids(store)).toEqual(["start", "calc"]);
  });
});

describe("editor store: graph edits", () => {
  it("connects ports, refusing self-loops and duplicates", () => {
    const store = createEditorStore({ definition: def });
    const s = () => store.getState();
    s().addNode("Conditional", { x: 600, y: 0 });
    s().onConnect({ source: "calc", sourceHandle: "main", target: "conditional_1", targetHandle: "in" });
    s().onConnect({ source: "calc", sourceHandle: "main", target: "conditional_1", targetHandle: "in" });
    s().onConnect({ source: "calc", sourceHandle: "main", target: "calc", targetHandle: "in" });
    s().addNode("SendEmail", { x: 900, y: 0 });
    s().onConnect({ source: "conditional_1", sourceHandle: "false", target: "send_email_1", targetHandle: "in" });
    expect(s().definition().edges).toEqual([
      { from: "start", to: "calc" },
      { from: "calc", to: "conditional_1" },
      { from: "conditional_1", to: "send_email_1", condition: "false" },
    ]);
  });

  it("pastes copies with fresh ids and their inner edges", () => {
    const store = createEditorStore({ definition: def });
    const s = () => store.getState();
    s().selectOnly(["start", "calc"]);
    const clip = s().copySelection()!;
    s().paste(clip);
    const d = s().definition();
    expect(d.nodes.map((n) => n.id)).toEqual(["start", "calc", "manual_trigger_1", "calculator_1"]);
    expect(d.edges).toContainEqual({ from: "manual_trigger_1", to: "calculator_1" });
    expect(d.nodes[3].config).toEqual({ formula: "1 + 1", output_field: "two" });
    expect(d.nodes[3].position).toEqual({ x: 340, y: 40 });
    expect(s().nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(["manual_trigger_1", "calculator_1"]);
  });

  it("renames a node, refusing ids that are taken or malformed", () => {
    const store = createEditorStore({ definition: def });
    const s = () => store.getState();
    expect(s().renameNode("calc", "start")).toMatch(/already exists/);
    expect(s().renameNode("calc", "9lives")).toMatch(/letters/);
    expect(s().renameNode("calc", "total")).toBeNull();
    expect(s().definition().edges).toEqual([{ from: "start", to: "total" }]);
  });

  it("groups server problems by node", () => {
    const store = createEditorStore({ definition: def });
    store.getState().setProblems([
      { node_id: "calc", field: "config.formula", message: "Does not parse" },
      { node_id: null, field: null, message: "No trigger" },
    ]);
    expect(store.getState().problemsByNode.calc).toHaveLength(1);
    expect(store.getState().problems).toHaveLength(2);
  });

  it("lays out a loaded definition whose nodes have no positions", () => {
    const store = createEditorStore();
    store.getState().load({ id: "w", name: "w", nodes: [{ id: "a", type: "X", config: {} }, { id: "b", type: "X", config: {} }], edges: [{ from: "a", to: "b" }] });
    const [a, b] = store.getState().nodes;
    expect(b.position.x).toBeGreaterThan(a.position.x);
    expect(store.getState().dirty).toBe(false);
  });
});
