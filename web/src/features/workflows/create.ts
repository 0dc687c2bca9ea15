/** Creating workflows whose id may already be taken: duplicate, import, from an example. */
import { createWorkflow } from "../../client/api";
import { ApiError } from "../../client/errors";
import type { Definition, Workflow } from "../../client/types";
import { slugify } from "../../lib/slug";

function isTaken(e: unknown): boolean {
  return e instanceof ApiError && (e.status === 409 || /exist|conflict|duplicate|taken/i.test(e.code));
}

/** POSTs the definition; when its id is taken, tries `id-2`, `id-3`… (a few times). */
export async function createWithFreeId(definition: Definition): Promise<Workflow> {
  const base = slugify(definition.id || definition.name || "workflow");
  for (let n = 1; n <= 8; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    try {
      return await createWorkflow({ ...definition, id });
    } catch (e) {
      if (!isTaken(e) || n === 8) throw e;
    }
  }
  throw new Error("unreachable");
}

/** Reads an exported workflow file: the definition itself, or a workflow that holds one. */
export function parseWorkflowFile(text: string): Definition {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error("This file is not JSON. Choose a workflow exported from datacollect.");
  }
  if (value && typeof value === "object" && "definition" in value && typeof (value as { definition: unknown }).definition === "object") {
    value = (value as { definition: unknown }).definition;
  }
  if (!value || typeof value !== "object" || !Array.isArray((value as Definition).nodes)) {
    throw new Error("This file does not hold a workflow (no list of nodes).");
  }
  const d = value as Definition;
  return { ...d, id: d.id || slugify(d.name || "imported"), name: d.name || d.id || "Imported workflow", edges: d.edges ?? [] };
}
