/**
 * The connection form, as pure functions: which inputs a kind's fields need (from the kind's
 * JSON Schema, `GET /api/connections/kinds`), what a new or edited connection starts with, and
 * the `config` to send. Secrets are never prefilled: on edit a secret is sent only when typed,
 * so a stored one is kept.
 *
 *     const fields = connectionFields(kind);              // inputs, in order, advanced last
 *     const values = initialValues(fields, connection);   // what the inputs show
 *     const { config, problems } = buildConfig(fields, shown, values, "edit");
 */
import { ApiError, asProblems, errorMessage } from "../../client/errors";
import { describeObject, parseNumber, type JsonSchema } from "../editor/schema";
import type { Connection, ConnectionKind, ConnectionTest } from "./api";

export type InputKind = "string" | "text" | "secret" | "integer" | "number" | "boolean" | "enum";

export interface ConnectionField {
  key: string;
  label: string;
  description?: string;
  /** Must be given (required by the kind and without a default). */
  required: boolean;
  /** Accepts null: emptied on edit, it is cleared. */
  nullable: boolean;
  input: InputKind;
  secret: boolean;
  options?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  /** Rarely changed (TLS details): drawn under "Advanced". */
  advanced: boolean;
}

export type Values = Record<string, string | boolean>;

const ADVANCED = new Set(["verify_tls", "ca_cert"]);

/** Fields shown only for some values of another field (HTTP authentication). */
const DEPENDS: Record<string, { on: string; show: Record<string, string[]> }> = {
  http: {
    on: "auth_type",
    show: {
      none: [],
      basic: ["username", "password"],
      bearer: ["token"],
      api_key: ["api_key_name", "api_key_in", "api_key"],
      oauth2: ["token_url", "client_id", "client_secret", "scope", "audience"],
    },
  },
};

const WORDS: Record<string, string> = {
  url: "URL",
  tls: "TLS",
  ca: "CA",
  id: "ID",
  api: "API",
  sap: "SAP",
  odata: "OData",
  smtp: "SMTP",
  imap: "IMAP",
  pem: "PEM",
  oauth2: "OAuth2",
  starttls: "STARTTLS",
};

/** `base_url` → "Base URL", `ca_cert` → "CA certificate". */
export function fieldLabel(key: string): string {
  if (key === "ca_cert") return "CA certificate";
  if (key === "verify_tls") return "Verify the TLS certificate";
  const words = key.split(/[_\s-]+/).filter(Boolean).map((w) => WORDS[w.toLowerCase()] ?? w.toLowerCase());
  const text = words.join(" ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The inputs of a connection kind, in the schema's order with the advanced ones last. */
export function connectionFields(kind: ConnectionKind): ConnectionField[] {
  const schema = kind.config_schema as JsonSchema;
  const secrets = new Set(kind.secrets);
  const out = describeObject(schema).map((spec): ConnectionField => {
    const secret = secrets.has(spec.key) || spec.kind === "secret";
    let input: InputKind;
    if (secret) input = "secret";
    else if (spec.kind === "boolean" || spec.kind === "integer" || spec.kind === "number" || spec.kind === "text") input = spec.kind;
    else if (spec.kind === "enum") input = "enum";
    else input = /cert$/.test(spec.key) ? "text" : "string";
    return {
      key: spec.key,
      label: fieldLabel(spec.key),
      description: spec.description,
      required: spec.required && !spec.hasDefault,
      nullable: spec.nullable,
      input,
      secret,
      options: spec.options?.map((o) => String(o.value)),
      default: spec.default,
      minimum: typeof spec.schema.minimum === "number" ? spec.schema.minimum : undefined,
      maximum: typeof spec.schema.maximum === "number" ? spec.schema.maximum : undefined,
      advanced: ADVANCED.has(spec.key),
    };
  });
  return [...out.filter((f) => !f.advanced), ...out.filter((f) => f.advanced)];
}

/** What the inputs start with: the kind's defaults for a new connection, the stored values on edit. */
export function initialValues(fields: ConnectionField[], connection?: Pick<Connection, "config"> | null): Values {
  const values: Values = {};
  for (const f of fields) {
    const stored = connection ? connection.config[f.key] : f.default;
    if (f.input === "boolean") values[f.key] = typeof stored === "boolean" ? stored : f.default === true;
    else if (f.secret) values[f.key] = "";
    else values[f.key] = stored === null || stored === undefined ? "" : String(stored);
  }
  return values;
}

/** The fields to draw for the values chosen so far (HTTP shows only its chosen authentication's). */
export function visibleFields(kind: string, fields: ConnectionField[], values: Values): ConnectionField[] {
  const rule = DEPENDS[kind];
  if (!rule) return fields;
  const conditional = new Set(Object.values(rule.show).flat());
  const chosen = String(values[rule.on] ?? "");
  const shown = new Set(rule.show[chosen] ?? []);
  return fields.filter((f) => !conditional.has(f.key) || shown.has(f.key));
}

/**
 * The `config` to send, and the problems a person can fix before sending (by field).
 * Create: empty optional fields are left out (the server's default applies).
 * Edit: an emptied optional field is cleared (null); a secret is sent only when typed, so an
 * empty secret keeps the stored one; `secretsSet` says which secrets are stored.
 */
export function buildConfig(
  fields: ConnectionField[],
  values: Values,
  mode: "create" | "edit",
  secretsSet: Record<string, boolean> = {},
): { config: Record<string, unknown>; problems: Record<string, string> } {
  const config: Record<string, unknown> = {};
  const problems: Record<string, string> = {};
  for (const f of fields) {
    const raw = values[f.key];
    if (f.input === "boolean") {
      config[f.key] = raw === true;
      continue;
    }
    const text = typeof raw === "string" ? raw : "";
    if (f.secret) {
      if (text !== "") config[f.key] = text;
      else if (f.required && !(mode === "edit" && secretsSet[f.key])) problems[f.key] = "Required";
      continue;
    }
    const trimmed = text.trim();
    if (trimmed === "") {
      if (f.required) problems[f.key] = "Required";
      else if (mode === "edit" && f.nullable) config[f.key] = null;
      continue;
    }
    if (f.input === "integer" || f.input === "number") {
      const n = parseNumber(trimmed, f.input === "integer");
      if (typeof n !== "number") problems[f.key] = f.input === "integer" ? "Enter a whole number" : "Enter a number";
      else if (f.minimum !== undefined && n < f.minimum) problems[f.key] = `At least ${f.minimum}`;
      else if (f.maximum !== undefined && n > f.maximum) problems[f.key] = `At most ${f.maximum}`;
      else config[f.key] = n;
      continue;
    }
    config[f.key] = trimmed;
  }
  return { config, problems };
}

/** A refused save in words: the message, and the problems that belong to one field. */
export function formError(error: unknown): { message: string; fields: Record<string, string> } {
  const fields: Record<string, string> = {};
  if (error instanceof ApiError) {
    for (const p of asProblems(error.details)) {
      const key = p.field?.replace(/^config\./, "");
      if (key && !(key in fields)) fields[key] = p.message;
    }
    return { message: error.message, fields };
  }
  return { message: errorMessage(error), fields };
}

const STAGES: Record<string, string> = {
  config: "the settings",
  dns: "the name lookup (DNS)",
  connect: "connecting",
  tls: "TLS",
  protocol: "the protocol",
  auth: "signing in",
  permission: "permissions",
  not_found: "finding the resource",
  server: "the server",
};

/** A test result in words: "Works" or "Failed at connecting: …". */
export function testSummary(test: Pick<ConnectionTest, "ok" | "stage" | "message">): { ok: boolean; title: string; message: string } {
  if (test.ok) return { ok: true, title: "Works", message: test.message };
  return { ok: false, title: `Failed at ${STAGES[test.stage] ?? test.stage.replace(/_/g, " ")}`, message: test.message };
}

/** Where a connection points, for the list: host and port, URL, bucket or account. */
export function whereTo(connection: Pick<Connection, "config">): string {
  const c = connection.config;
  const text = (v: unknown) => (v === null || v === undefined || v === "" ? "" : String(v));
  if (text(c.host)) return text(c.port) ? `${text(c.host)}:${text(c.port)}` : text(c.host);
  if (text(c.base_url)) return text(c.base_url) + text(c.service_path);
  if (text(c.display_url)) return text(c.display_url);
  if (text(c.bucket)) return `${text(c.bucket)}${text(c.prefix) ? `/${text(c.prefix)}` : ""}`;
  if (text(c.account_id)) return text(c.account_id);
  return "";
}

/** Kinds in words for the picker. */
export const KIND_WORDS: Record<string, string> = {
  smtp: "SMTP (send email)",
  imap: "IMAP (read email)",
  http: "HTTP API",
  database: "Database",
  s3: "S3 object store",
  sap: "SAP (OData)",
  netsuite: "NetSuite",
  oracle: "Oracle Fusion",
};
