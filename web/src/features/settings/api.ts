/**
 * The settings API (admins, DESIGN §10): users, review teams and their members, API keys and the
 * audit log. Every function throws an `ApiError` on a non-2xx answer.
 */
import { body, client, unwrap } from "../../client/api";
import type { components } from "../../client/schema";
import type { Page, Role } from "../../client/types";

type Schemas = components["schemas"];
export type UserRead = Schemas["UserRead"];
export type ApiKey = Schemas["ApiKeyRead"];
export type ApiKeyCreated = Schemas["ApiKeyCreated"];
export type Team = Schemas["TeamRead"];
export type TeamMember = Schemas["MemberRead"];
export type AuditEntry = Schemas["AuditRead"];
export type TeamRole = "member" | "lead";

export interface UserCreate {
  email: string;
  password: string;
  role: Role;
  name: string;
}

export interface UserUpdate {
  role?: Role;
  active?: boolean;
  name?: string;
  password?: string;
}

// -- users -------------------------------------------------------------------------------

export const listUsers = () => unwrap<Page<UserRead>>(client.GET("/api/users", {}));

export const createUser = (user: UserCreate) => unwrap<UserRead>(client.POST("/api/users", { body: body(user) }));

export const updateUser = (id: string, change: UserUpdate) =>
  unwrap<UserRead>(client.PATCH("/api/users/{user_id}", { params: { path: { user_id: id } }, body: body(change) }));

// -- teams -------------------------------------------------------------------------------

export const listTeams = () => unwrap<Page<Team>>(client.GET("/api/teams", {}));

export const getTeam = (team: string) => unwrap<Team>(client.GET("/api/teams/{team}", { params: { path: { team } } }));

export const createTeam = (team: { name: string; description: string }) =>
  unwrap<Team>(client.POST("/api/teams", { body: body(team) }));

export const updateTeam = (team: string, change: { name?: string; description?: string }) =>
  unwrap<Team>(client.PATCH("/api/teams/{team}", { params: { path: { team } }, body: body(change) }));

export const deleteTeam = (team: string) => unwrap<void>(client.DELETE("/api/teams/{team}", { params: { path: { team } } }));

/** Adds a user (id or email) to a team, or changes their role in it. */
export const putMember = (team: string, user: string, role: TeamRole) =>
  unwrap<Team>(client.PUT("/api/teams/{team}/members/{user}", { params: { path: { team, user } }, body: body({ role }) }));

export const removeMember = (team: string, user: string) =>
  unwrap<void>(client.DELETE("/api/teams/{team}/members/{user}", { params: { path: { team, user } } }));

// -- API keys ----------------------------------------------------------------------------

export const listApiKeys = () => unwrap<Page<ApiKey>>(client.GET("/api/api-keys", {}));

export const createApiKey = (key: { name: string; role?: Role }) =>
  unwrap<ApiKeyCreated>(client.POST("/api/api-keys", { body: body(key) }));

export const revokeApiKey = (id: string) =>
  unwrap<void>(client.DELETE("/api/api-keys/{key_id}", { params: { path: { key_id: id } } }));

// -- audit log ---------------------------------------------------------------------------

export interface AuditQuery {
  entity_type?: string;
  entity_id?: string;
  page?: number;
  page_size?: number;
}

export const listAudit = (query: AuditQuery = {}) => {
  const q: AuditQuery = {};
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") (q as Record<string, unknown>)[k] = v;
  return unwrap<Page<AuditEntry>>(client.GET("/api/audit", { params: { query: q } }));
};
