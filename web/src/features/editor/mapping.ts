/**
 * The one place where a workflow definition (the API's JSON, DESIGN §3) becomes React Flow
 * nodes and edges, and back.
 *
 * - A definition node becomes a flow node of type "dc" whose `data` holds everything but the
 *   id and position; keys this app does not know are kept in `data.extra` and written back.
 * - An edge's `condition` (or its alias `port`) is the source node's output port; in the flow
 *   it is the edge's `sourceHandle`. No condition means the default port "main", which is
 *   written back as no condition.
 * - Workflow-level keys other than nodes and edges are kept in `meta`.
 */
import type { Edge, Node } from "@xyflow/react";
import type { Definition, DefinitionEdge, DefinitionNode, OnError, RetryPolicy } from "../../client/types";

export const DEFAULT_PORT = "main";
export const ERROR_PORT = "error";
export const INPUT_HANDLE = "in";

export interface NodeData extends Record<string, unknown> {
  type: string;
  name?: string | null;
  config: Record<string, unknown>;
  retry?: RetryPolicy | null;
  on_error?: OnError;
  /** Keys of the definition node this app does not edit, written back unchanged. */
  extra?: Record<string, unknown>;
}

export type FlowNode = Node<NodeData, "dc">;
export type FlowEdge = Edge;

export interface WorkflowMeta {
  id: string;
  name: string;
  description?: string | null;
  active?: boolean;
  settings?: Record<string, unknown>;
  vars?: Record<string, unknown>;
  /** Other workflow-level keys (error workflow, tags…), written back unchanged. */
  extra?: Record<string, unknown>;
}

export interface FlowGraph {
  meta: WorkflowMeta;
  nodes: FlowNode[];
  edges: FlowEdge[];
  /** True when some node had no position, so the editor should lay the graph out. */
  needsLayout: boolean;
}

const NODE_KEYS = new Set(["id", "type", "name", "config", "position", "retry", "on_error"]);
const META_KEYS = new Set(["id", "name", "description", "active", "settings", "vars", "nodes", "edges"]);

export function edgeId(source: string, port: string, target: string): string {
  return `${source}:${port}->${target}`;
}

export function portOf(edge: Pick<DefinitionEdge, "condition" | "port">): string {
  return edge.condition ?? edge.port ?? DEFAULT_PORT;
}

export function makeEdge(source: string, port: string, target: string): FlowEdge {
  return {
    id: edgeId(source, port, target),
    type: "dc",
    source,
    target,
    sourceHandle: port,
    targetHandle: INPUT_HANDLE,
    className: port === ERROR_PORT ? "dc-edge-error" : undefined,
  };
}

export function definitionToFlow(def: Definition): FlowGraph {
  const meta: WorkflowMeta = { id: def.id, name: def.name };
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(def)) {
    if (k === "id" || k === "name" || k === "nodes" || k === "edges") continue;
    if (META_KEYS.has(k)) (meta as unknown as Record<string, unknown>)[k] = v;
    else extra[k] = v;
  }
  if (Object.keys(extra).length) meta.extra = extra;

  let needsLayout = false;
  const nodes: FlowNode[] = (def.nodes ?? []).map((n, i) => {
    const data: NodeData = { type: n.type, config: n.config ?? {} };
    if (n.name !== undefined) data.name = n.name;
    if (n.retry !== undefined) data.retry = n.retry;
    if (n.on_error !== undefined) data.on_error = n.on_error;
    const nodeExtra: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(n)) if (!NODE_KEYS.has(k)) nodeExtra[k] = v;
    if (Object.keys(nodeExtra).length) data.extra = nodeExtra;
    const pos = n.position;
    const valid = !!pos && Number.isFinite(pos.x) && Number.isFinite(pos.y);
    if (!valid) needsLayout = true;
    return {
      id: n.id,
      type: "dc",
      position: valid ? { x: pos!.x, y: pos!.y } : { x: i * 280, y: 0 },
      data,
    };
  });

  const seen = new Set<string>();
  const edges: FlowEdge[] = [];
  for (const e of def.edges ?? []) {
    const edge = makeEdge(e.from, portOf(e), e.to);
    if (seen.has(edge.id)) continue;
    seen.add(edge.id);
    edges.push(edge);
  }
  return { meta, nodes, edges, needsLayout };
}

export function flowNodeToDefinition(node: FlowNode): DefinitionNode {
  const d = node.data;
  const out: DefinitionNode = { id: node.id, type: d.type, config: {} };
  if (d.name !== undefined && d.name !== null && d.name !== "") out.name = d.name;
  out.config = d.config ?? {};
  out.position = { x: Math.round(node.position.x), y: Math.round(node.position.y) };
  if (d.retry !== undefined) out.retry = d.retry;
  if (d.on_error !== undefined) out.on_error = d.on_error;
  if (d.extra) Object.assign(out, d.extra);
  return out;
}

export function flowEdgeToDefinition(edge: FlowEdge): DefinitionEdge {
  const port = edge.sourceHandle ?? DEFAULT_PORT;
  return port === DEFAULT_PORT ? { from: edge.source, to: edge.target } : { from: edge.source, to: edge.target, condition: port };
}

export function flowToDefinition(meta: WorkflowMeta, nodes: FlowNode[], edges: FlowEdge[]): Definition {
  const { extra, ...known } = meta;
  const def: Definition = {
    ...known,
    ...(extra ?? {}),
    id: meta.id,
    name: meta.name,
    nodes: nodes.map(flowNodeToDefinition),
    edges: edges.map(flowEdgeToDefinition),
  };
  return def;
}

/** The output ports a node shows: its type's ports, plus "error" when it routes errors. */
export function outputPorts(ports: readonly string[] | undefined, onError: OnError | undefined): string[] {
  const list = ports && ports.length ? [...ports] : [DEFAULT_PORT];
  if (onError === "route" && !list.includes(ERROR_PORT)) list.push(ERROR_PORT);
  return list;
}

/** A fresh node id for a type: `data_validator_1`, `data_validator_2`… */
export function newNodeId(type: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base =
    type
      .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
      .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
      .replace(/[^A-Za-z0-9]+/g, "_")
      .toLowerCase()
      .replace(/^_+|_+$/g, "") || "node";
  for (let n = 1; ; n++) if (!used.has(`${base}_${n}`)) return `${base}_${n}`;
}

/** Node ids upstream of `id` (every node it can receive data from), nearest first. */
export function upstreamOf(id: string, edges: readonly Pick<FlowEdge, "source" | "target">[]): string[] {
  const incoming = new Map<string, string[]>();
  for (const e of edges) {
    const list = incoming.get(e.target);
    if (list) list.push(e.source);
    else incoming.set(e.target, [e.source]);
  }
  const out: string[] = [];
  const seen = new Set<string>([id]);
  let frontier = [id];
  while (frontier.length) {
    const next: string[] = [];
    for (const n of frontier)
      for (const s of incoming.get(n) ?? [])
        if (!seen.has(s)) {
          seen.add(s);
          out.push(s);
          next.push(s);
        }
    frontier = next;
  }
  return out;
}

/** Renames a node id in the graph (its edges follow). */
export function renameNode(nodes: FlowNode[], edges: FlowEdge[], from: string, to: string): { nodes: FlowNode[]; edges: FlowEdge[] } {
  return {
    nodes: nodes.map((n) => (n.id === from ? { ...n, id: to } : n)),
    edges: edges.map((e) =>
      e.source === from || e.target === from
        ? makeEdge(e.source === from ? to : e.source, e.sourceHandle ?? DEFAULT_PORT, e.target === from ? to : e.target)
        : e,
    ),
  };
}
