/**
 * The shapes the app works with, as the API documents them (DESIGN §3, §6).
 * Responses are read through these; the generated `schema.d.ts` types the paths and parameters.
 */

export type Role = "admin" | "builder" | "reviewer" | "viewer";

export interface User {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export interface TokenAnswer {
  access_token: string;
  token_type: "bearer";
  user: User;
}

export type Category = "trigger" | "collection" | "transform" | "validate" | "logic" | "review" | "output";

export interface NodeSpec {
  type: string;
  version: number;
  category: Category | string;
  description: string;
  icon: string;
  ports: string[];
  inputs: boolean;
  is_trigger: boolean;
  side_effects: boolean;
  waits: boolean;
}

export type OnError = "fail" | "continue" | "route";

export interface RetryPolicy {
  max_attempts: number;
  backoff_seconds: number;
  [key: string]: unknown;
}

export interface DefinitionNode {
  id: string;
  type: string;
  name?: string | null;
  config: Record<string, unknown>;
  position?: { x: number; y: number };
  retry?: RetryPolicy | null;
  on_error?: OnError;
  [key: string]: unknown;
}

export interface DefinitionEdge {
  from: string;
  to: string;
  condition?: string | null;
  port?: string | null;
}

export interface Definition {
  id: string;
  name: string;
  description?: string | null;
  active?: boolean;
  settings?: Record<string, unknown>;
  vars?: Record<string, unknown>;
  nodes: DefinitionNode[];
  edges: DefinitionEdge[];
  [key: string]: unknown;
}

export interface Problem {
  node_id: string | null;
  field: string | null;
  message: string;
}

export type RunStatus = "pending" | "running" | "waiting" | "completed" | "failed" | "cancelled";
export type ActivationStatus =
  | "pending"
  | "ready"
  | "running"
  | "waiting"
  | "completed"
  | "skipped"
  | "failed"
  | "cancelled";

export interface WorkflowSummary {
  id: string;
  name: string;
  description: string | null;
  active: boolean;
  version: number;
  updated_at: string;
  last_run: { id: string; status: RunStatus; started_at: string | null } | null;
}

export interface Workflow {
  id: string;
  name: string;
  description: string | null;
  active: boolean;
  version: number;
  definition: Definition;
  created_at: string;
  updated_at: string;
}

export interface VersionInfo {
  version: number;
  created_at: string;
  created_by: string | null;
  message: string | null;
}

export interface Example {
  id: string;
  name: string;
  description: string;
  definition: Definition;
}

export type Item = Record<string, unknown>;

export interface ActivationError {
  message: string;
  type?: string;
  expression?: string;
  [key: string]: unknown;
}

export interface Activation {
  id: string;
  node_id: string;
  lane: string;
  status: ActivationStatus;
  attempts: number;
  input: Item[] | null;
  output: Record<string, Item[]> | null;
  /** How many input items, and items per output port, there are when the run holds only the first ones. */
  input_total?: number | null;
  output_totals?: Record<string, number> | null;
  error: ActivationError | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  item_count: number | null;
  /** When a waiting activation wakes, and the event it waits for. */
  wake_at?: string | null;
  wait_for?: string | null;
}

export interface RunSummary {
  id: string;
  workflow_id: string;
  workflow_name: string;
  version: number;
  status: RunStatus;
  mode: string;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  error: unknown;
  retries?: number;
  /** The run this one retries. */
  parent_run_id?: string | null;
  /** When the retention policy removed this run's node data (its summary stays). */
  data_pruned_at?: string | null;
}

export interface Run extends RunSummary {
  definition: Definition;
  activations: Activation[];
  /** The trigger data the run started with, and the trigger node it entered by. */
  trigger?: unknown;
  trigger_node?: string | null;
}

export interface Page<T> {
  data: T[];
  count: number;
}

export interface RunRequest {
  data: Record<string, unknown>;
  wait: boolean;
  pinned?: Record<string, Item[]>;
  only_node?: string | null;
  test?: boolean;
  trigger_node?: string | null;
}

// -- forms, campaigns, responses (DESIGN §7) ----------------------------------------------

export interface FormSummary {
  name: string;
  title: string;
  /** The newest version's key, e.g. supplier_emissions_v2. */
  key: string;
  versions: number;
  created_at: string;
  updated_at: string;
}

export interface FormVersionInfo {
  key: string;
  name: string;
  version: string;
  title: string;
  created_at: string;
  created_by: string | null;
}

export interface FormRead extends FormVersionInfo {
  /** The form document as stored (see features/forms/schema.ts). */
  schema: Record<string, unknown>;
}

export interface FormProblem {
  path: string;
  field: string | null;
  message: string;
}

export interface UploadLimitInfo {
  max_bytes: number;
  max_mb: number;
  accept: string[];
  multiple: boolean;
  max_files: number | null;
}

/** What `/f/{token}` needs: the form, the answers to start from and the link's state. */
export interface PublicForm {
  form: { key: string; name: string; version: string; title: string; description: string | null; schema: Record<string, unknown> };
  link: {
    state: string;
    expires_at: string | null;
    deadline: string | null;
    opened_at: string | null;
    draft_saved_at: string | null;
    allow_drafts: boolean;
    can_delegate: boolean;
  };
  recipient: { name?: string | null; email?: string | null; company?: string | null };
  answers: Record<string, unknown>;
  answers_from: "draft" | "response" | "prefill" | "empty";
  comments: Record<string, string>;
  upload_limits: Record<string, UploadLimitInfo>;
}

export interface DraftSaved {
  saved_at: string;
  state: string;
  problems: { field: string; message: string; code?: string }[];
}

export interface Submitted {
  response_id: string;
  state: string;
  submitted_at: string;
  message: string;
}

export interface Delegated {
  delegated_to: string;
  state: string;
  message: string;
}

export interface CampaignSummary {
  id: string;
  form_key: string;
  name: string;
  status: string;
  delivery: string;
  deadline: string | null;
  total: number;
  created_at: string;
  counts: Record<string, number>;
  answered: number;
  outstanding: { request_id: string; recipient: Record<string, unknown>; state: string; sent_at: string | null }[];
}

export interface CampaignCreated extends CampaignSummary {
  /** Portal delivery only: each request's personal link, shown this once. */
  links: { request_id: string; recipient: Record<string, unknown>; url: string }[];
}

export interface SendRequest {
  recipients: (string | Record<string, unknown>)[];
  delivery: "email" | "portal" | "sms";
  deadline?: string | null;
  reminder_schedule?: string[];
  name?: string;
  subject?: string | null;
  message?: string | null;
  prefill_last_response?: boolean;
}

export type ResponseStatus = "submitted" | "changes_requested" | "approved" | "rejected";

export interface FormResponse {
  id: string;
  form_key: string;
  form_name: string;
  form_version: string;
  campaign_id: string | null;
  request_id: string | null;
  recipient: Record<string, unknown>;
  answers: Record<string, unknown>;
  status: ResponseStatus | string;
  source: string;
  run_id: string | null;
  meta: Record<string, unknown>;
  revision: number;
  submitted_at: string;
  updated_at: string;
}

export interface ResponseChange {
  id: number;
  at: string;
  actor: string;
  action: string;
  before: unknown;
  after: unknown;
  reason: string | null;
}

export interface ResponseDetail extends FormResponse {
  changes: ResponseChange[];
}
