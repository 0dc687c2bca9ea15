/**
 * Pure helpers behind SchemaForm: they read a node Config's JSON Schema (pydantic v2 output:
 * `$defs`/`$ref`, `anyOf` with null for optionals, enums, arrays, nested objects, and
 * `format: "expression" | "template"`) and say which field to draw for each property.
 */

export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  format?: string;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema | JsonSchema[];
  prefixItems?: JsonSchema[];
  additionalProperties?: boolean | JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  $ref?: string;
  $defs?: Record<string, JsonSchema>;
  definitions?: Record<string, JsonSchema>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  examples?: unknown[];
  writeOnly?: boolean;
  readOnly?: boolean;
  discriminator?: { propertyName: string; mapping?: Record<string, string> };
  [key: string]: unknown;
}

export type FieldKind =
  | "string"
  | "text"
  | "secret"
  | "expression"
  | "template"
  | "number"
  | "integer"
  | "boolean"
  | "enum"
  | "multi-enum"
  | "list"
  | "object"
  | "map"
  | "union"
  | "json";

export interface FieldSpec {
  key: string;
  /** pydantic's own titles ("Output Field") give way to sentence case ("Output field"). */
  label: string;
  description?: string;
  required: boolean;
  /** The property accepts null (pydantic `X | None`). */
  nullable: boolean;
  kind: FieldKind;
  /** The property's schema with `$ref` and the null branch resolved. */
  schema: JsonSchema;
  default?: unknown;
  hasDefault: boolean;
  /** For enum and multi-enum fields. */
  options?: { value: unknown; label: string }[];
  /** For union fields: the variants a person can choose between. */
  variants?: Variant[];
  /** `x-group` of the property ("advanced"): such fields are folded away. */
  group?: string;
  /** A constant (a discriminator tag): set by choosing the variant, never typed. */
  fixed?: boolean;
}

/** Follows `$ref` (`#/$defs/Name`, `#/definitions/Name`) and merges single-item `allOf`. */
export function resolve(schema: JsonSchema | undefined, root: JsonSchema, depth = 0): JsonSchema {
  if (!schema || typeof schema !== "object") return {};
  let s = schema;
  if (s.$ref && depth < 32) {
    const target = lookupRef(s.$ref, root);
    const { $ref: _ref, ...rest } = s;
    s = { ...resolve(target, root, depth + 1), ...rest };
  }
  if (s.allOf && s.allOf.length === 1 && depth < 32) {
    const { allOf, ...rest } = s;
    s = { ...resolve(allOf[0], root, depth + 1), ...rest };
  }
  return s;
}

function lookupRef(ref: string, root: JsonSchema): JsonSchema {
  if (!ref.startsWith("#/")) return {};
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) {
    const key = part.replace(/~1/g, "/").replace(/~0/g, "~");
    node = node && typeof node === "object" ? (node as Record<string, unknown>)[key] : undefined;
  }
  return (node as JsonSchema) ?? {};
}

const isNullSchema = (s: JsonSchema) => s.type === "null" || (Array.isArray(s.type) && s.type.length === 1 && s.type[0] === "null");

/** Takes the `null` branch off `anyOf`/`oneOf`/`type: [x, "null"]`: pydantic's `X | None`. */
export function unwrapNullable(schema: JsonSchema, root: JsonSchema): { schema: JsonSchema; nullable: boolean } {
  const s = resolve(schema, root);
  const branches = s.anyOf ?? s.oneOf;
  if (branches) {
    const rest = branches.filter((b) => !isNullSchema(resolve(b, root)));
    const nullable = rest.length < branches.length;
    if (rest.length === 1) {
      const { anyOf: _a, oneOf: _o, ...outer } = s;
      return { schema: { ...resolve(rest[0], root), ...stripUndefined(outer) }, nullable };
    }
    if (nullable) {
      const { anyOf: _a, oneOf: _o, ...outer } = s;
      return { schema: { ...outer, anyOf: rest }, nullable };
    }
    return { schema: s, nullable: false };
  }
  if (Array.isArray(s.type)) {
    const types = s.type.filter((t) => t !== "null");
    const nullable = types.length < s.type.length;
    return { schema: { ...s, type: types.length === 1 ? types[0] : types }, nullable };
  }
  return { schema: s, nullable: false };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}

function enumOptions(s: JsonSchema, root: JsonSchema): { value: unknown; label: string }[] | null {
  if (Array.isArray(s.enum)) return s.enum.map((v) => ({ value: v, label: String(v) }));
  if ("const" in s) return [{ value: s.const, label: String(s.const) }];
  const branches = s.anyOf ?? s.oneOf;
  if (branches && branches.length) {
    const out: { value: unknown; label: string }[] = [];
    for (const b of branches) {
      const r = resolve(b, root);
      const opts = Array.isArray(r.enum) ? r.enum : "const" in r ? [r.const] : null;
      if (!opts) return null;
      for (const v of opts) out.push({ value: v, label: r.title && opts.length === 1 ? r.title : String(v) });
    }
    return out;
  }
  return null;
}

function typeOf(s: JsonSchema): string | undefined {
  if (typeof s.type === "string") return s.type;
  if (Array.isArray(s.type) && s.type.length === 1) return s.type[0];
  if (s.properties) return "object";
  if (s.items) return "array";
  return undefined;
}

/** Which input draws a (resolved, non-null) schema. */
export function fieldKind(schema: JsonSchema, root: JsonSchema): FieldKind {
  const s = resolve(schema, root);
  if (enumOptions(s, root)) return "enum";
  if (s.anyOf || s.oneOf || Array.isArray(s.type)) return "union";
  const widget = (s["x-widget"] ?? s.widget) as string | undefined;
  const type = typeOf(s);
  // An untyped value drawn as a template: constants and {{ }} computations alike.
  if (!type && (widget === "template" || widget === "expression")) return widget;
  switch (type) {
    case "string":
      if (s.format === "expression") return "expression";
      if (s.format === "template") return "template";
      if (s.format === "password" || s.writeOnly || widget === "password") return "secret";
      if (widget === "textarea" || s.format === "textarea" || s.format === "multiline" || (s.maxLength ?? 0) > 200) return "text";
      return "string";
    case "integer":
      return "integer";
    case "number":
      return "number";
    case "boolean":
      return "boolean";
    case "array": {
      const items = Array.isArray(s.items) ? undefined : s.items;
      if (items && enumOptions(resolve(items, root), root) && s.uniqueItems !== false) return "multi-enum";
      return items ? "list" : "json";
    }
    case "object":
      if (s.properties && Object.keys(s.properties).length) return "object";
      if (s.additionalProperties && typeof s.additionalProperties === "object") return "map";
      return "json";
    default:
      return "json";
  }
}

export function humanize(key: string): string {
  const words = key
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/[_-]+/g, " ")
    .trim()
    .toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** The discriminator value a variant stands for (`"range"` in `{type: {const: "range"}}`). */
function discriminatorValue(s: JsonSchema, property: string | undefined, root: JsonSchema): unknown {
  if (!property) return undefined;
  const p = resolve(s.properties?.[property], root);
  if ("const" in p) return p.const;
  if (Array.isArray(p.enum) && p.enum.length === 1) return p.enum[0];
  return undefined;
}

function variantLabel(s: JsonSchema, root: JsonSchema, discriminator?: string): string {
  const r = resolve(s, root);
  const d = discriminatorValue(r, discriminator ?? "type", root);
  if (typeof d === "string") return humanize(d);
  const opts = enumOptions(r, root);
  if (opts) return opts.length === 1 ? opts[0].label : "Preset";
  if (r.title) return humanize(r.title);
  const t = typeOf(r);
  if (t === "array") return "List";
  if (t === "object") return "Object";
  if (t === "string") return r.format === "expression" ? "Expression" : "Text";
  if (t === "integer" || t === "number") return "Number";
  if (t === "boolean") return "Yes / no";
  return t ?? "Value";
}

export interface Variant {
  label: string;
  schema: JsonSchema;
}

/**
 * The choices of a union, with nested unions flattened: `anyOf[enum, oneOf[A, B]]` gives
 * three choices (the preset values, A, B). Discriminated members are named by their tag.
 */
export function unionVariants(schema: JsonSchema, root: JsonSchema, depth = 0): Variant[] {
  const s = resolve(schema, root);
  const branches = s.anyOf ?? s.oneOf ?? (Array.isArray(s.type) ? s.type.map((t) => ({ type: t })) : []);
  const discriminator = s.discriminator?.propertyName;
  const out: Variant[] = [];
  for (const b of branches) {
    const r = resolve(b, root);
    if (isNullSchema(r)) continue;
    if ((r.anyOf || r.oneOf) && !enumOptions(r, root) && depth < 4) out.push(...unionVariants(r, root, depth + 1));
    else out.push({ label: variantLabel(r, root, discriminator), schema: r });
  }
  return out;
}

/** Describes one property of an object schema. */
export function describeField(key: string, property: JsonSchema, root: JsonSchema, required: boolean): FieldSpec {
  const { schema, nullable } = unwrapNullable(property, root);
  const kind = fieldKind(schema, root);
  const spec: FieldSpec = {
    key,
    label: property.title && property.title.toLowerCase() !== humanize(key).toLowerCase() ? property.title : humanize(key),
    description: property.description ?? schema.description,
    required,
    nullable,
    kind,
    schema,
    hasDefault: "default" in property || "default" in schema,
    default: "default" in property ? property.default : schema.default,
  };
  if (kind === "enum") spec.options = enumOptions(schema, root) ?? [];
  if (kind === "multi-enum") spec.options = enumOptions(resolve(schema.items as JsonSchema, root), root) ?? [];
  if (kind === "union") spec.variants = unionVariants(schema, root);
  const group = property["x-group"] ?? schema["x-group"];
  if (typeof group === "string") spec.group = group;
  if ("const" in schema || (Array.isArray(schema.enum) && schema.enum.length === 1 && required)) spec.fixed = true;
  return spec;
}

/** The fields of an object schema, in the schema's order. */
export function describeObject(schema: JsonSchema, root: JsonSchema = schema): FieldSpec[] {
  const s = resolve(schema, root);
  const required = new Set(s.required ?? []);
  return Object.entries(s.properties ?? {}).map(([key, prop]) => describeField(key, prop, root, required.has(key)));
}

/** A starting value for a new list item or a newly shown nested object. */
export function emptyValue(schema: JsonSchema, root: JsonSchema): unknown {
  const { schema: s } = unwrapNullable(schema, root);
  if ("default" in s) return structuredClone(s.default);
  const kind = fieldKind(s, root);
  switch (kind) {
    case "object": {
      const out: Record<string, unknown> = {};
      // Only what is required: optional fields keep the server's default until set.
      for (const f of describeObject(s, root)) {
        if (!f.required) continue;
        out[f.key] = f.hasDefault ? structuredClone(f.default) : emptyValue(f.schema, root);
      }
      return out;
    }
    case "list":
    case "multi-enum":
      return [];
    case "map":
      return {};
    case "boolean":
      return false;
    case "number":
    case "integer":
      return s.minimum ?? 0;
    case "enum":
      return enumOptions(s, root)?.[0]?.value ?? "";
    case "union":
      return emptyValue((s.anyOf ?? s.oneOf ?? [{}])[0], root);
    case "json":
      return null;
    default:
      return "";
  }
}

/**
 * The config a new node starts with: only fields whose default the server would not fill
 * (none, for pydantic models), so required fields stay visibly missing until filled.
 */
export function initialConfig(_schema: JsonSchema): Record<string, unknown> {
  return {};
}

/** Sets or clears one key: `undefined` removes it (the server then applies its default). */
export function withValue(obj: Record<string, unknown> | undefined, key: string, value: unknown): Record<string, unknown> {
  const next = { ...(obj ?? {}) };
  if (value === undefined) delete next[key];
  else next[key] = value;
  return next;
}

/** Picks the union variant that fits a value (the first one when nothing fits). */
export function variantFor(value: unknown, variants: { schema: JsonSchema }[], root: JsonSchema): number {
  if (value === undefined || value === null) return 0;
  if (value && typeof value === "object" && !Array.isArray(value)) {
    // A tagged object: the variant whose constant property matches the value's.
    const v = value as Record<string, unknown>;
    const tagged = variants.findIndex((x) =>
      Object.entries(x.schema.properties ?? {}).some(([k, p]) => {
        const r = resolve(p, root);
        return "const" in r && k in v && v[k] === r.const;
      }),
    );
    if (tagged >= 0) return tagged;
  }
  const t = Array.isArray(value) ? "array" : typeof value === "object" ? "object" : typeof value;
  const idx = variants.findIndex((v) => {
    const k = fieldKind(v.schema, root);
    if (t === "array") return k === "list" || k === "multi-enum" || k === "json";
    if (t === "object") return k === "object" || k === "map" || k === "json";
    if (t === "number") return k === "number" || k === "integer";
    if (t === "boolean") return k === "boolean";
    if (t === "string") {
      if (k === "enum") return (enumOptions(v.schema, root) ?? []).some((o) => o.value === value);
      return k === "string" || k === "text" || k === "expression" || k === "template" || k === "secret";
    }
    return false;
  });
  return idx < 0 ? 0 : idx;
}

/** Parses what a person typed into a number field: `undefined` for empty, NaN kept as text. */
export function parseNumber(text: string, integer: boolean): number | string | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const n = Number(t);
  if (!Number.isFinite(n)) return text;
  return integer ? (Number.isInteger(n) ? n : text) : n;
}

/** Checks a value against the simple constraints a person can fix in the panel. */
export function localProblem(field: FieldSpec, value: unknown): string | null {
  const s = field.schema;
  if (value === undefined || value === null || value === "") {
    return field.required && !field.hasDefault && !field.nullable ? "Required" : null;
  }
  if (field.kind === "number" || field.kind === "integer") {
    if (typeof value !== "number") return field.kind === "integer" ? "Enter a whole number" : "Enter a number";
    if (s.minimum !== undefined && value < s.minimum) return `At least ${s.minimum}`;
    if (s.maximum !== undefined && value > s.maximum) return `At most ${s.maximum}`;
    if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) return `More than ${s.exclusiveMinimum}`;
    if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) return `Less than ${s.exclusiveMaximum}`;
  }
  if (typeof value === "string") {
    if (s.minLength !== undefined && value.length < s.minLength) return `At least ${s.minLength} characters`;
    if (s.maxLength !== undefined && value.length > s.maxLength) return `At most ${s.maxLength} characters`;
    if (s.pattern && field.kind === "string") {
      try {
        if (!new RegExp(s.pattern, "u").test(value)) return "Does not have the expected form";
      } catch {
        /* a pattern JavaScript cannot read is the server's to check */
      }
    }
  }
  if (Array.isArray(value)) {
    if (s.minItems !== undefined && value.length < s.minItems) return `Add at least ${s.minItems}`;
    if (s.maxItems !== undefined && value.length > s.maxItems) return `At most ${s.maxItems}`;
  }
  return null;
}

/**
 * Server problems that belong to a field path. A problem's `field` is like `config.rules` or
 * `config.rules.0.field`; `path` is the field's path inside config (`["rules"]`).
 */
export function problemsAt(problems: readonly { field: string | null; message: string }[], path: (string | number)[]): string[] {
  const want = ["config", ...path.map(String)].join(".");
  return problems.filter((p) => p.field && (p.field === want || p.field === want.slice(7))).map((p) => p.message);
}

/** Names that may be used in expressions (DESIGN §5), besides upstream node ids. */
export const SCOPE_NAMES = ["item", "trigger", "vars", "run", "now()"];

export interface Suggestion {
  /** What gets inserted. */
  value: string;
  /** What the list shows beside it. */
  detail: string;
}

/**
 * Suggestions for an expression being typed: `token` is the dotted name before the cursor.
 * `upstream` maps node ids to their known output fields (learned from runs and pinned data).
 */
export function suggest(token: string, upstream: Record<string, string[]>, itemFields: string[] = []): Suggestion[] {
  const all: Suggestion[] = [];
  for (const f of itemFields) all.push({ value: `item.${f}`, detail: "field of the current item" });
  for (const [id, fields] of Object.entries(upstream)) {
    all.push({ value: id, detail: "upstream node" });
    for (const f of fields) all.push({ value: `${id}.${f}`, detail: `field of ${id}` });
    all.push({ value: `${id}.items`, detail: `all items of ${id}` });
  }
  for (const n of SCOPE_NAMES) if (!all.some((s) => s.value === n)) all.push({ value: n, detail: "built-in" });
  const t = token.toLowerCase();
  if (!t) return all.filter((s) => !s.value.includes(".") || s.value.startsWith("item.")).slice(0, 30);
  return all.filter((s) => s.value.toLowerCase().startsWith(t) && s.value.toLowerCase() !== t).slice(0, 30);
}

/** The dotted name just before the cursor (`validate_1.sc` in `validate_1.sc|`). */
export function tokenBefore(text: string, cursor: number): string {
  const m = /[A-Za-z_][A-Za-z0-9_.]*$/.exec(text.slice(0, cursor));
  return m ? m[0] : "";
}

/** Whether the cursor is inside `{{ … }}` in a template. */
export function insideTemplate(text: string, cursor: number): boolean {
  const before = text.slice(0, cursor);
  return before.lastIndexOf("{{") > before.lastIndexOf("}}");
}
