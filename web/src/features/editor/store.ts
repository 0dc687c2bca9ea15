/**
 * The editor's one store (zustand), made per editor and provided through context; components
 * read it with selectors so a change to one node re-renders that node only.
 *
 * It holds the graph (React Flow nodes and edges, and the workflow's other fields), the undo
 * history (snapshots taken before each change, consecutive edits of one field merged), the
 * clipboard actions, the server's problems and the run being shown.
 */
import { createContext, useContext } from "react";
import { createStore, type StoreApi } from "zustand/vanilla";
import { useStore } from "zustand";
import {
  applyEdgeChanges,
  applyNodeChanges,
  type Connection,
  type EdgeChange,
  type NodeChange,
  type XYPosition,
} from "@xyflow/react";
import type { Definition, Item, NodeSpec, Problem, Run } from "../../client/types";
import {
  DEFAULT_PORT,
  definitionToFlow,
  flowToDefinition,
  makeEdge,
  newNodeId,
  renameNode,
  type FlowEdge,
  type FlowNode,
  type NodeData,
  type WorkflowMeta,
} from "./mapping";
import { layoutGraph } from "./layout";
import { summarizeActivations, type NodeRunInfo } from "./runInfo";

export interface Snapshot {
  meta: WorkflowMeta;
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export interface Clipboard {
  nodes: FlowNode[];
  edges: FlowEdge[];
}

export const HISTORY_LIMIT = 100;
const COALESCE_MS = 1200;

export interface EditorState extends Snapshot {
  specs: Record<string, NodeSpec>;
  specsLoaded: boolean;
  readOnly: boolean;
  dirty: boolean;
  past: Snapshot[];
  future: Snapshot[];
  /** The last history entry's merge key and time: edits with the same key within a moment are one step. */
  lastCommit: { key: string; at: number } | null;
  dragging: boolean;
  problems: Problem[];
  problemsByNode: Record<string, Problem[]>;
  run: Run | null;
  runByNode: Record<string, NodeRunInfo>;
  pinned: Record<string, Item[]>;
  /** Bumped when the view should fit the graph (after load or layout). */
  fitRequest: number;

  load: (definition: Definition, options?: { dirty?: boolean }) => void;
  setSpecs: (specs: NodeSpec[]) => void;
  setReadOnly: (readOnly: boolean) => void;
  definition: () => Definition;
  markSaved: (definition?: Definition) => void;

  onNodesChange: (changes: NodeChange<FlowNode>[]) => void;
  onEdgesChange: (changes: EdgeChange<FlowEdge>[]) => void;
  onConnect: (connection: Connection) => void;
  addNode: (type: string, position: XYPosition, config?: Record<string, unknown>) => string | null;
  updateNodeData: (id: string, patch: Partial<NodeData>, mergeKey?: string) => void;
  renameNode: (from: string, to: string) => string | null;
  updateMeta: (patch: Partial<WorkflowMeta>, mergeKey?: string) => void;
  selectOnly: (ids: string[]) => void;
  deleteSelection: () => void;
  copySelection: () => Clipboard | null;
  paste: (clip: Clipboard, at?: XYPosition) => void;
  autoLayout: () => void;
  undo: () => void;
  redo: () => void;

  setProblems: (problems: Problem[]) => void;
  setRun: (run: Run | null) => void;
  pin: (nodeId: string, items: Item[]) => void;
  unpin: (nodeId: string) => void;
}

const snap = (s: Snapshot): Snapshot => ({ meta: s.meta, nodes: s.nodes, edges: s.edges });

function groupProblems(problems: Problem[]): Record<string, Problem[]> {
  const by: Record<string, Problem[]> = {};
  for (const p of problems) if (p.node_id) (by[p.node_id] ??= []).push(p);
  return by;
}

export function createEditorStore(initial?: { definition?: Definition; readOnly?: boolean }): StoreApi<EditorState> {
  return createStore<EditorState>((set, get) => {
    /** Records the state before a change; `key` merges quick repeated edits of one thing. */
    const commit = (key?: string) => {
      const s = get();
      if (s.readOnly) return false;
      const now = Date.now();
      if (key && s.lastCommit && s.lastCommit.key === key && now - s.lastCommit.at < COALESCE_MS) {
        set({ lastCommit: { key, at: now }, dirty: true, future: [] });
        return true;
      }
      set({
        past: [...s.past, snap(s)].slice(-HISTORY_LIMIT),
        future: [],
        dirty: true,
        lastCommit: key ? { key, at: now } : null,
      });
      return true;
    };

    const empty = definitionToFlow({ id: "", name: "Untitled workflow", nodes: [], edges: [] });
    const start = initial?.definition ? definitionToFlow(initial.definition) : empty;

    return {
      meta: start.meta,
      nodes: start.nodes,
      edges: start.edges,
      specs: {},
      specsLoaded: false,
      readOnly: initial?.readOnly ?? false,
      dirty: false,
      past: [],
      future: [],
      lastCommit: null,
      dragging: false,
      problems: [],
      problemsByNode: {},
      run: null,
      runByNode: {},
      pinned: {},
      fitRequest: 0,

      load(definition, options) {
        const g = definitionToFlow(definition);
        const nodes = g.needsLayout ? layoutGraph(g.nodes, g.edges) : g.nodes;
        set({
          meta: g.meta,
          nodes,
          edges: g.edges,
          dirty: options?.dirty ?? false,
          past: [],
          future: [],
          lastCommit: null,
          fitRequest: get().fitRequest + 1,
        });
      },
      setSpecs(specs) {
        set({ specs: Object.fromEntries(specs.map((s) => [s.type, s])), specsLoaded: true });
      },
      setReadOnly(readOnly) {
        set({ readOnly });
      },
      definition() {
        const s = get();
        return flowToDefinition(s.meta, s.nodes, s.edges);
      },
      markSaved(definition) {
        if (definition) {
          // Keep positions and selection as they are; take the saved workflow's fields.
          const g = definitionToFlow(definition);
          set({ meta: g.meta });
        }
        set({ dirty: false, lastCommit: null });
      },

      onNodesChange(changes) {
        const s = get();
        let structural = false;
        for (const c of changes) {
          if (c.type === "remove" || c.type === "add" || c.type === "replace") structural = true;
        }
        const moving = changes.find((c) => c.type === "position");
        if (s.readOnly) {
          changes = changes.filter((c) => c.type === "select" || c.type === "dimensions");
        } else if (structural) {
          commit("delete-selection");
        } else if (moving && moving.type === "position") {
          if (moving.dragging && !s.dragging) {
            commit();
            set({ dragging: true });
          } else if (!moving.dragging && s.dragging) {
            set({ dragging: false });
          } else if (!moving.dragging && moving.position) {
            // Moved with the arrow keys: consecutive steps are one change.
            commit("keyboard-move");
          }
        }
        set({ nodes: applyNodeChanges(changes, get().nodes) });
      },
      onEdgesChange(changes) {
        const s = get();
        if (s.readOnly) changes = changes.filter((c) => c.type === "select");
        else if (changes.some((c) => c.type === "remove" || c.type === "add" || c.type === "replace")) commit("delete-selection");
        set({ edges: applyEdgeChanges(changes, get().edges) });
      },
      onConnect(connection) {
        const { source, target } = connection;
        if (!source || !target || source === target) return;
        const port = connection.sourceHandle ?? DEFAULT_PORT;
        const edge = makeEdge(source, port, target);
        if (get().edges.some((e) => e.id === edge.id)) return;
        if (!commit()) return;
        set({ edges: [...get().edges, edge] });
      },
      addNode(type, position, config = {}) {
        const s = get();
        if (!commit()) return null;
        const id = newNodeId(type, s.nodes.map((n) => n.id));
        const node: FlowNode = { id, type: "dc", position, data: { type, config }, selected: true };
        set({
          nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node],
          edges: s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
        });
        return id;
      },
      updateNodeData(id, patch, mergeKey) {
        if (!commit(mergeKey ? `${id}:${mergeKey}` : undefined)) return;
        set({ nodes: get().nodes.map((n) => (n.id === id ? { ...n, data: { ...n.data, ...patch } } : n)) });
      },
      renameNode(from, to) {
        const s = get();
        const id = to.trim();
        if (!id || id === from) return null;
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(id)) return "Use letters, digits and underscores, starting with a letter.";
        if (s.nodes.some((n) => n.id === id)) return `A node named “${id}” already exists.`;
        if (!commit()) return null;
        const g = renameNode(s.nodes, s.edges, from, id);
        const pinned = { ...s.pinned };
        if (pinned[from]) {
          pinned[id] = pinned[from];
          delete pinned[from];
        }
        set({ nodes: g.nodes, edges: g.edges, pinned });
        return null;
      },
      updateMeta(patch, mergeKey) {
        if (!commit(mergeKey ? `meta:${mergeKey}` : undefined)) return;
        set({ meta: { ...get().meta, ...patch } });
      },
      selectOnly(ids) {
        const want = new Set(ids);
        set({
          nodes: get().nodes.map((n) => (!!n.selected === want.has(n.id) ? n : { ...n, selected: want.has(n.id) })),
          edges: get().edges.map((e) => (e.selected ? { ...e, selected: false } : e)),
        });
      },
      deleteSelection() {
        const s = get();
        const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
        const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
        if (gone.size === 0 && edges.length === s.edges.length) return;
        if (!commit()) return;
        set({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges });
      },
      copySelection() {
        const s = get();
        const nodes = s.nodes.filter((n) => n.selected);
        if (!nodes.length) return null;
        const ids = new Set(nodes.map((n) => n.id));
        const edges = s.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
        return structuredClone({ nodes: nodes.map(({ measured: _m, ...n }) => n as FlowNode), edges });
      },
      paste(clip, at) {
        const s = get();
        if (!clip.nodes.length || !commit()) return;
        const taken = new Set(s.nodes.map((n) => n.id));
        const rename = new Map<string, string>();
        for (const n of clip.nodes) {
          const id = taken.has(n.id) ? newNodeId(n.data.type, taken) : n.id;
          taken.add(id);
          rename.set(n.id, id);
        }
        const minX = Math.min(...clip.nodes.map((n) => n.position.x));
        const minY = Math.min(...clip.nodes.map((n) => n.position.y));
        const dx = at ? at.x - minX : 40;
        const dy = at ? at.y - minY : 40;
        const nodes = clip.nodes.map((n) => ({
          ...structuredClone(n),
          id: rename.get(n.id)!,
          position: { x: n.position.x + dx, y: n.position.y + dy },
          selected: true,
        }));
        const edges = clip.edges.map((e) => makeEdge(rename.get(e.source)!, e.sourceHandle ?? DEFAULT_PORT, rename.get(e.target)!));
        set({
          nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...nodes],
          edges: [...s.edges.map((e) => (e.selected ? { ...e, selected: false } : e)), ...edges],
        });
      },
      autoLayout() {
        if (!commit()) return;
        const s = get();
        set({ nodes: layoutGraph(s.nodes, s.edges), fitRequest: s.fitRequest + 1 });
      },
      undo() {
        const s = get();
        const prev = s.past[s.past.length - 1];
        if (!prev || s.readOnly) return;
        set({
          ...prev,
          past: s.past.slice(0, -1),
          future: [snap(s), ...s.future].slice(0, HISTORY_LIMIT),
          dirty: true,
          lastCommit: null,
        });
      },
      redo() {
        const s = get();
        const next = s.future[0];
        if (!next || s.readOnly) return;
        set({ ...next, past: [...s.past, snap(s)].slice(-HISTORY_LIMIT), future: s.future.slice(1), dirty: true, lastCommit: null });
      },

      setProblems(problems) {
        set({ problems, problemsByNode: groupProblems(problems) });
      },
      setRun(run) {
        set({ run, runByNode: run ? summarizeActivations(run.activations ?? []) : {} });
      },
      pin(nodeId, items) {
        set({ pinned: { ...get().pinned, [nodeId]: items } });
      },
      unpin(nodeId) {
        const pinned = { ...get().pinned };
        delete pinned[nodeId];
        set({ pinned });
      },
    };
  });
}

export type EditorStore = StoreApi<EditorState>;
export const EditorContext = createContext<EditorStore | null>(null);

export function useEditorApi(): EditorStore {
  const store = useContext(EditorContext);
  if (!store) throw new Error("useEditor must be used inside an editor");
  return store;
}

export function useEditor<T>(selector: (s: EditorState) => T): T {
  return useStore(useEditorApi(), selector);
}
