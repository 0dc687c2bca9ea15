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
  CampaignCreated,
  CampaignSummary,
  Definition,
  Delegated,
  DraftSaved,
  FormRead,
  FormResponse,
  FormSummary,
  FormVersionInfo,
  PublicForm,
  ResponseDetail,
  SendRequest,
  Submitted,
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
export async function unwrap<T>(call: Promise<Answer>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw toApiError(response.status, error);
  return data as T;
}

/** Request bodies are checked against our own types (`types.ts`), not the generated ones. */
export const body = (value: unknown) => value as never;

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

/** A page of a node's input or of one of its output ports in a run. */
export const listActivationItems = (runId: string, activationId: string, side: "input" | "output", port: string, offset: number, limit = 1000) =>
  unwrap<Page<Item>>(
    client.GET("/api/runs/{run_id}/activations/{activation_id}/items", {
      params: { path: { run_id: runId, activation_id: activationId }, query: { side, port, offset, limit } },
    }),
  );

export const cancelRun = (id: string) =>
  unwrap<Run>(client.POST("/api/runs/{run_id}/cancel", { params: { path: { run_id: id } } }));

export const retryRun = (id: string, fromNode: string | null) =>
  unwrap<Run>(client.POST("/api/runs/{run_id}/retry", { params: { path: { run_id: id } }, body: body({ from_node: fromNode }) }));

// -- forms -------------------------------------------------------------------------------

export const listForms = (query: { search?: string; page?: number; page_size?: number } = {}) =>
  unwrap<Page<FormSummary>>(client.GET("/api/forms", { params: { query: clean(query) } }));

/** A version by key (supplier_emissions_v2), or the newest version of a name. */
export const getForm = (id: string) =>
  unwrap<FormRead>(client.GET("/api/forms/{form_id}", { params: { path: { form_id: id } } }));

/** Saves a form version; without `version` in the document, the next version of its name. */
export const saveForm = (document: Record<string, unknown>) =>
  unwrap<FormRead>(client.POST("/api/forms", { body: body(document) }));

export const listFormVersions = (id: string) =>
  unwrap<Page<FormVersionInfo>>(client.GET("/api/forms/{form_id}/versions", { params: { path: { form_id: id } } }));

export const getFormJsonSchema = (id: string) =>
  unwrap<Record<string, unknown>>(client.GET("/api/forms/{form_id}/json-schema", { params: { path: { form_id: id } } }));

export const sendForm = (id: string, request: SendRequest) =>
  unwrap<CampaignCreated>(client.POST("/api/forms/{form_id}/send", { params: { path: { form_id: id } }, body: body(request) }));

export const listCampaigns = (query: { form?: string; page?: number; page_size?: number } = {}) =>
  unwrap<Page<CampaignSummary>>(client.GET("/api/campaigns", { params: { query: clean(query) } }));

// -- responses ---------------------------------------------------------------------------

export interface ResponseQuery {
  form?: string;
  version?: string;
  campaign?: string;
  recipient?: string;
  status?: string;
  since?: string;
  until?: string;
  page?: number;
  page_size?: number;
}

export const listResponses = (query: ResponseQuery = {}) =>
  unwrap<Page<FormResponse>>(client.GET("/api/responses", { params: { query: clean(query) } }));

export const getResponse = (id: string) =>
  unwrap<ResponseDetail>(client.GET("/api/responses/{response_id}", { params: { path: { response_id: id } } }));

export const updateResponse = (id: string, change: { status?: string; answers?: Record<string, unknown>; reason?: string; comments?: Record<string, string> }) =>
  unwrap<ResponseDetail>(client.PUT("/api/responses/{response_id}", { params: { path: { response_id: id } }, body: body(change) }));

/** Downloads the responses as CSV or Excel (the signed-in user's token goes with the request). */
export async function downloadResponses(format: "csv" | "xlsx", query: ResponseQuery): Promise<void> {
  const params = new URLSearchParams({ ...(clean(query) as Record<string, string>), format });
  params.delete("page");
  params.delete("page_size");
  await downloadFile(`/api/responses?${params}`, `responses-${query.form || "all"}.${format}`);
}

/** Fetches an API answer with the session's token and saves it as a file. */
export async function downloadFile(path: string, fallbackName: string): Promise<void> {
  const token = getToken();
  let response: Response;
  try {
    response = await fetch(path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  } catch {
    throw new ApiError(0, "network", "The server cannot be reached. Check your connection.");
  }
  if (!response.ok) {
    if (response.status === 401 && token) sessionExpired();
    throw toApiError(response.status, await readBody(response));
  }
  const disposition = response.headers.get("content-disposition") ?? "";
  const name = /filename="?([^";]+)"?/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await response.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

async function readBody(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return text;
  }
}

// -- the public form (/f/{token}, no login) ----------------------------------------------

export const getPublicForm = (token: string) =>
  unwrap<PublicForm>(client.GET("/api/public/forms/{token}", { params: { path: { token } } }));

export const savePublicDraft = (token: string, answers: Record<string, unknown>) =>
  unwrap<DraftSaved>(client.PUT("/api/public/forms/{token}/draft", { params: { path: { token } }, body: body({ answers }) }));

export const submitPublicForm = (token: string, answers: Record<string, unknown>) =>
  unwrap<Submitted>(client.POST("/api/public/forms/{token}/submit", { params: { path: { token } }, body: body({ answers }) }));

export const delegatePublicForm = (token: string, to: { email: string; name?: string; message?: string }) =>
  unwrap<Delegated>(client.POST("/api/public/forms/{token}/delegate", { params: { path: { token } }, body: body(to) }));

/** Uploads one file for a file field (`table.column` for a column); answers the reference to keep. */
export async function uploadPublicFile(token: string, field: string, file: File): Promise<{ key: string; name: string; size: number; content_type: string }> {
  const params = new URLSearchParams({ field, name: file.name });
  let response: Response;
  try {
    response = await fetch(`/api/public/forms/${encodeURIComponent(token)}/files?${params}`, {
      method: "POST",
      headers: { "Content-Type": file.type || "application/octet-stream", Accept: "application/json" },
      body: file,
    });
  } catch {
    throw new ApiError(0, "network", "The file could not be sent. Check your connection and try again.");
  }
  const parsed = await readBody(response);
  if (!response.ok) throw toApiError(response.status, parsed);
  return parsed as { key: string; name: string; size: number; content_type: string };
}

/** Leaves out empty query values so the server sees only what was chosen. */
function clean<T extends object>(query: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") out[k] = v;
  return out as T;
}

export type { Item };
