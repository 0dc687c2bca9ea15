/**
 * The API client: openapi-fetch typed by the generated `schema.d.ts`, one function per call.
 *
 * Every function throws an `ApiError` (readable message, server code and details) when the
 * answer is not 2xx; a 401 also ends the session (see `session.ts`). Nothing else in the app
 * calls `fetch` for the API.
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "./schema";
import { ApiError, toApiError } from "./errors";
import { getToken, sessionExpired, setToken } from "./session";
import type {
  Definition,
  DefinitionEdge,
  Example,
  Item,
  NodeSpec,
  Page,
  Problem,
  Run,
  RunRequest,
  RunSummary,
  TokenAnswer,
  User,
  VersionInfo,
  Workflow,
  WorkflowSummary,
} from "./types";

export const client = createClient<paths>({ baseUrl: typeof window === "undefined" ? "http://localhost" : "" });

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set("Authorization", `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401 && getToken()) sessionExpired();
    return response;
  },
};
client.use(auth);

interface Answer {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** Awaits an openapi-fetch call; answers its body or throws an ApiError. */
async function unwrap<T>(call: Promise<Answer>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}

/** Request bodies are checked against our own types (`types.ts`), not the generated ones. */
const body = (value: unknown) => value as never;

// -- session ----------------------------------------------------------------------------

export async function login(username: string, password: string): Promise<TokenAnswer> {
  const form = new URLSearchParams({ username, password, grant_type: "password" });
  let response: Response;
  try {
    response = await fetch("/api/auth/token", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      body: form,
    });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check that datacollect is running.");
  }
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    /* keep the text */
  }
  if (!response.ok) {
    const err = toApiError(response.status, parsed);
    if (response.status === 401 || response.status === 400) {
      throw new ApiError(response.status, err.code, err.message === "The request was not accepted." || err.message.startsWith("Your session") ? "The email or password is not right." : err.message);
    }
    throw err;
  }
  const answer = parsed as TokenAnswer;
  setToken(answer.access_token);
  return answer;
}

export const getMe = () => unwrap<User>(client.GET("/api/me", {}));

// -- nodes ------------------------------------------------------------------------------

export const listNodes = () => unwrap<Page<NodeSpec>>(client.GET("/api/nodes", {}));

export type JsonSchema = Record<string, unknown>;
export const getNodeConfigSchema = (type: string) =>
  unwrap<JsonSchema>(client.GET("/api/nodes/{node_type}/config", { params: { path: { node_type: type } } }));

// -- workflows --------------------------------------------------------------------------

export interface WorkflowQuery {
  search?: string;
  active?: boolean;
  page?: number;
  page_size?: number;
}

export const listWorkflows = (query: WorkflowQuery = {}) =>
  unwrap<Page<WorkflowSummary>>(client.GET("/api/workflows", { params: { query: clean(query) } }));

export const getWorkflow = (id: string) =>
  unwrap<Workflow>(client.GET("/api/workflows/{workflow_id}", { params: { path: { workflow_id: id } } }));

export const createWorkflow = (definition: Definition) =>
  unwrap<Workflow>(client.POST("/api/workflows", { body: body(definition) }));

export const updateWorkflow = (id: string, definition: Definition) =>
  unwrap<Workflow>(client.PUT("/api/workflows/{workflow_id}", { params: { path: { workflow_id: id } }, body: body(definition) }));

export const deleteWorkflow = (id: string) =>
  unwrap<void>(client.DELETE("/api/workflows/{workflow_id}", { params: { path: { workflow_id: id } } }));

export const validateDefinition = (definition: Definition) =>
  unwrap<{ problems: Problem[] }>(client.POST("/api/workflows/validate", { body: body(definition) }));

export const listVersions = (id: string) =>
  unwrap<Page<VersionInfo>>(client.GET("/api/workflows/{workflow_id}/versions", { params: { path: { workflow_id: id } } }));

export const getVersion = (id: string, v: number) =>
  unwrap<Definition & { version?: number; created_at?: string; definition?: Definition }>(
    client.GET("/api/workflows/{workflow_id}/versions/{version}", { params: { path: { workflow_id: id, version: v } } }),
  );

export interface VersionDiff {
  from: number;
  to: number;
  nodes: {
    added: string[];
    removed: string[];
    changed: { id: string; fields: string[]; before: Record<string, unknown>; after: Record<string, unknown> }[];
  };
  edges: { added: DefinitionEdge[]; removed: DefinitionEdge[] };
  settings: Record<string, unknown>;
}

export const diffVersions = (id: string, from: number, to: number) =>
  unwrap<VersionDiff>(client.GET("/api/workflows/{workflow_id}/diff", { params: { path: { workflow_id: id }, query: { from, to } } }));

export const restoreVersion = (id: string, v: number) =>
  unwrap<Workflow>(client.POST("/api/workflows/{workflow_id}/versions/{version}/restore", { params: { path: { workflow_id: id, version: v } } }));

export const setWorkflowActive = (id: string, active: boolean) =>
  active
    ? unwrap<Workflow>(client.POST("/api/workflows/{workflow_id}/activate", { params: { path: { workflow_id: id } } }))
    : unwrap<Workflow>(client.POST("/api/workflows/{workflow_id}/deactivate", { params: { path: { workflow_id: id } } }));

export const exportWorkflow = (id: string) =>
  unwrap<Definition>(client.GET("/api/workflows/{workflow_id}/export", { params: { path: { workflow_id: id } } }));

export const listExamples = () => unwrap<{ data: Example[] }>(client.GET("/api/examples", {}));

// -- runs -------------------------------------------------------------------------------

export const startRun = (id: string, request: RunRequest) =>
  unwrap<Run>(client.POST("/api/workflows/{workflow_id}/run", { params: { path: { workflow_id: id } }, body: body(request) }));

export interface RunQuery {
  workflow_id?: string;
  status?: string;
  since?: string;
  until?: string;
  page?: number;
  page_size?: number;
}

export const listRuns = (query: RunQuery = {}) =>
  unwrap<Page<RunSummary>>(client.GET("/api/runs", { params: { query: clean(query) } }));

export const getRun = (id: string) => unwrap<Run>(client.GET("/api/runs/{run_id}", { params: { path: { run_id: id } } }));

export const cancelRun = (id: string) =>
  unwrap<Run>(client.POST("/api/runs/{run_id}/cancel", { params: { path: { run_id: id } } }));

export const retryRun = (id: string, fromNode: string | null) =>
  unwrap<Run>(client.POST("/api/runs/{run_id}/retry", { params: { path: { run_id: id } }, body: body({ from_node: fromNode }) }));

/** Leaves out empty query values so the server sees only what was chosen. */
function clean<T extends object>(query: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") out[k] = v;
  return out as T;
}

export type { Item };
