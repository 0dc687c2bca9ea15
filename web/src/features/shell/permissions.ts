/**
 * What each role may use (DESIGN §10): admin everything; builder builds workflows and forms;
 * reviewer reviews and reads workflows and runs without editing them; viewer only reads.
 */
import type { Role } from "../../client/types";

export type Page = "workflows" | "runs" | "forms" | "responses" | "reviews" | "connections" | "settings";

const PAGES: Record<Page, Role[]> = {
  workflows: ["admin", "builder", "reviewer", "viewer"],
  runs: ["admin", "builder", "reviewer", "viewer"],
  forms: ["admin", "builder", "viewer"],
  responses: ["admin", "builder", "reviewer", "viewer"],
  reviews: ["admin", "builder", "reviewer"],
  connections: ["admin", "builder"],
  settings: ["admin"],
};

export function canSee(role: Role | undefined, page: Page): boolean {
  return !!role && PAGES[page].includes(role);
}

/** Create, edit, save, delete, import workflows. */
export function canEditWorkflows(role: Role | undefined): boolean {
  return role === "admin" || role === "builder";
}

/** Start, cancel and retry runs. */
export function canRunWorkflows(role: Role | undefined): boolean {
  return role === "admin" || role === "builder";
}

/** Build, save and send forms. */
export function canEditForms(role: Role | undefined): boolean {
  return role === "admin" || role === "builder";
}

/** Change a response's status or answers (reviewers too). */
export function canEditResponses(role: Role | undefined): boolean {
  return role === "admin" || role === "builder" || role === "reviewer";
}
