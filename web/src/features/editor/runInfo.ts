/** Per-node run results, summed over a run's activations (lanes and attempts). */
import type { Activation, ActivationStatus, Item } from "../../client/types";

export interface NodeRunInfo {
  status: ActivationStatus;
  /** Items the node put out (all ports, all lanes). */
  items: number;
  durationMs: number | null;
  lanes: number;
  error: string | null;
}

// Which status a node shows when its lanes differ: the one that needs attention first.
const RANK: Record<ActivationStatus, number> = {
  failed: 0,
  running: 1,
  waiting: 2,
  ready: 3,
  pending: 4,
  cancelled: 5,
  completed: 6,
  skipped: 7,
};

export function outputCount(a: Activation): number {
  if (typeof a.item_count === "number") return a.item_count;
  if (!a.output) return 0;
  return Object.values(a.output).reduce((n, items) => n + (Array.isArray(items) ? items.length : 0), 0);
}

export function summarizeActivations(activations: readonly Activation[]): Record<string, NodeRunInfo> {
  const out: Record<string, NodeRunInfo> = {};
  for (const a of activations) {
    const prev = out[a.node_id];
    const items = outputCount(a);
    if (!prev) {
      out[a.node_id] = {
        status: a.status,
        items,
        durationMs: a.duration_ms,
        lanes: 1,
        error: a.error?.message ?? null,
      };
      continue;
    }
    prev.lanes += 1;
    prev.items += items;
    if (a.duration_ms !== null && a.duration_ms !== undefined) prev.durationMs = (prev.durationMs ?? 0) + a.duration_ms;
    if ((RANK[a.status] ?? 9) < (RANK[prev.status] ?? 9)) prev.status = a.status;
    if (!prev.error && a.error) prev.error = a.error.message;
  }
  return out;
}

/** The first items a node put out (any port), to learn its field names. */
export function sampleOutput(activations: readonly Activation[], nodeId: string): Item[] {
  for (const a of activations) {
    if (a.node_id !== nodeId || !a.output) continue;
    for (const items of Object.values(a.output)) if (Array.isArray(items) && items.length) return items;
  }
  return [];
}

/** Field names of items (first 20 items), in first-seen order. */
export function fieldNames(items: readonly Item[]): string[] {
  const seen = new Set<string>();
  for (const item of items.slice(0, 20)) {
    if (item && typeof item === "object" && !Array.isArray(item)) for (const k of Object.keys(item)) seen.add(k);
  }
  return [...seen];
}

/** Output of a node for pinning: its main items, or else all items of its first port. */
export function pinnableOutput(activations: readonly Activation[], nodeId: string): Item[] | null {
  const items: Item[] = [];
  let found = false;
  for (const a of activations) {
    if (a.node_id !== nodeId || !a.output) continue;
    const port = a.output.main ?? Object.values(a.output)[0];
    if (Array.isArray(port)) {
      items.push(...port);
      found = true;
    }
  }
  return found ? items : null;
}

/** Items beyond this are not pinned: test runs send pinned items with them. */
export const PIN_LIMIT = 10_000;

/**
 * The whole output to pin: what the run holds, with the items of any port it holds only the first
 * of fetched page by page (`page(activationId, port, offset)`); null past `PIN_LIMIT` items.
 */
export async function wholeOutput(
  activations: readonly Activation[],
  nodeId: string,
  page: (activationId: string, port: string, offset: number) => Promise<Item[]>,
): Promise<Item[] | null> {
  const items: Item[] = [];
  for (const a of activations) {
    if (a.node_id !== nodeId || !a.output) continue;
    const port = "main" in a.output ? "main" : Object.keys(a.output)[0];
    const held = a.output[port];
    if (!Array.isArray(held)) continue;
    const total = a.output_totals?.[port] ?? held.length;
    if (items.length + total > PIN_LIMIT) return null;
    items.push(...held);
    for (let offset = held.length; offset < total; ) {
      const more = await page(a.id, port, offset);
      if (more.length === 0) break;
      items.push(...more);
      offset += more.length;
    }
  }
  return items;
}

