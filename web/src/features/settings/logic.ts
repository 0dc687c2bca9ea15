/** The settings page's rules, as pure functions: roles in words, who can join a team, audit changes. */
import type { Role } from "../../client/types";
import type { ApiKey, Team, UserRead } from "./api";

export const ROLES: { role: Role; label: string; description: string }[] = [
  { role: "admin", label: "Admin", description: "Everything, including users, teams, API keys and the audit log." },
  { role: "builder", label: "Builder", description: "Builds workflows, forms and connections, and runs them." },
  { role: "reviewer", label: "Reviewer", description: "Reviews what came back, and reads workflows and runs." },
  { role: "viewer", label: "Viewer", description: "Reads workflows, runs, forms and responses." },
];

const RANK: Record<Role, number> = { viewer: 0, reviewer: 1, builder: 2, admin: 3 };

export const roleLabel = (role: string) => ROLES.find((r) => r.role === role)?.label ?? role;

/** The roles an API key made by `owner` may have: never more rights than its owner. */
export function keyRolesFor(owner: Role | undefined): Role[] {
  if (!owner) return [];
  return ROLES.map((r) => r.role).filter((r) => RANK[r] <= RANK[owner]);
}

export const keyState = (key: Pick<ApiKey, "revoked_at">): "active" | "revoked" => (key.revoked_at ? "revoked" : "active");

/** Active keys first (newest first), revoked ones after. */
export function sortKeys<T extends Pick<ApiKey, "revoked_at" | "created_at">>(keys: T[]): T[] {
  return [...keys].sort((a, b) => Number(!!a.revoked_at) - Number(!!b.revoked_at) || b.created_at.localeCompare(a.created_at));
}

/** Active users who are not in the team yet, by name. */
export function addableUsers(users: UserRead[], team: Pick<Team, "members"> | undefined): UserRead[] {
  const inTeam = new Set((team?.members ?? []).map((m) => m.user_id));
  return users.filter((u) => u.active !== false && !inTeam.has(u.id)).sort((a, b) => (a.name || a.email).localeCompare(b.name || b.email));
}

/** Checks a new user before it is sent; the server checks again (password strength included). */
export function newUserProblems(user: { email: string; password: string }): Record<string, string> {
  const problems: Record<string, string> = {};
  if (!user.email.trim()) problems.email = "Required";
  else if (!/^[^@\s]+@[^@\s]+$/.test(user.email.trim())) problems.email = "Not an email address";
  if (!user.password) problems.password = "Required";
  return problems;
}

/** The change an audit entry records, field by field: `role: viewer → reviewer`. */
export function auditChanges(before: unknown, after: unknown): { field: string; before: string; after: string }[] {
  const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null);
  const show = (v: unknown) => (v === undefined ? "" : v === null ? "none" : typeof v === "string" ? v : JSON.stringify(v));
  const b = obj(before);
  const a = obj(after);
  if (!b && !a) {
    if (before === undefined && after === undefined) return [];
    if ((before ?? null) === null && (after ?? null) === null) return [];
    return [{ field: "", before: show(before), after: show(after) }];
  }
  const keys = [...new Set([...Object.keys(b ?? {}), ...Object.keys(a ?? {})])];
  return keys
    .filter((k) => JSON.stringify(b?.[k]) !== JSON.stringify(a?.[k]))
    .map((k) => ({ field: k, before: show(b?.[k]), after: show(a?.[k]) }));
}

/** `api_key.revoke` → "API key revoked". */
export function auditAction(action: string): string {
  const [entity, verb] = action.includes(".") ? [action.slice(0, action.lastIndexOf(".")), action.slice(action.lastIndexOf(".") + 1)] : ["", action];
  const thing = entity.replace(/_/g, " ").replace(/\bapi\b/g, "API");
  const done: Record<string, string> = {
    create: "created", update: "changed", delete: "deleted", revoke: "revoked", put: "saved",
    activate: "activated", deactivate: "deactivated", member: "members changed", redeliver: "sent again",
  };
  const v = done[verb] ?? verb.replace(/_/g, " ");
  const text = thing ? `${thing} ${v}` : v;
  return text.charAt(0).toUpperCase() + text.slice(1);
}
