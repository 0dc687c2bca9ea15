/**
 * The form schema as the app reads it (DESIGN §7; the server's `forms/schema.py` is the
 * authority): pages of fields, each field of one of the types below, with its options.
 *
 * A document may come with top-level `fields` instead of `pages` (a one-page form) and with
 * other spellings of the types (`textarea`, `dropdown`, `group`); `normaliseForm` turns it
 * into pages of canonical types, as the server does, so the rest of the app reads one shape.
 */

export const FIELD_TYPES = [
  "text",
  "long_text",
  "number",
  "integer",
  "email",
  "phone",
  "url",
  "date",
  "select",
  "multi_select",
  "boolean",
  "file",
  "table",
  "section",
] as const;

export type FieldType = (typeof FIELD_TYPES)[number];

const TYPE_ALIASES: Record<string, FieldType> = {
  textarea: "long_text", longtext: "long_text", paragraph: "long_text",
  decimal: "number", float: "number", int: "integer",
  tel: "phone", uri: "url", link: "url",
  dropdown: "select", radio: "select", choice: "select",
  multiselect: "multi_select", "multi-select": "multi_select", checkboxes: "multi_select",
  bool: "boolean", checkbox: "boolean", yes_no: "boolean",
  upload: "file", attachment: "file",
  group: "table", repeat: "table", repeating_group: "table",
  heading: "section",
};

export interface Option {
  value: string | number;
  label?: string | null;
}

export interface Rule {
  id?: string | null;
  expression: string;
  message: string;
  fields?: string[];
}

/** One field. Which options apply depends on `type` (see the server's field models). */
export interface FieldDef {
  id: string;
  type: FieldType;
  label?: string | null;
  help?: string | null;
  visible_if?: string | null;
  // fields that take an answer
  required?: boolean;
  default?: unknown;
  placeholder?: string | null;
  sensitive?: boolean;
  // text types
  min_length?: number | null;
  max_length?: number | null;
  pattern?: string | null;
  pattern_message?: string | null;
  // text, number, integer
  allowed_values?: Array<string | number> | null;
  // number, integer
  unit?: string | null;
  step?: number | null;
  decimals?: number | null;
  // number, integer, date (a date's are YYYY-MM-DD or "today")
  min?: number | string | null;
  max?: number | string | null;
  // select, multi_select
  options?: Option[];
  min_selected?: number | null;
  max_selected?: number | null;
  // file
  max_size_mb?: number | null;
  accept?: string[] | null;
  multiple?: boolean;
  max_files?: number | null;
  // table
  fields?: FieldDef[];
  min_rows?: number | null;
  max_rows?: number | null;
  rules?: Rule[];
  // section
  text?: string | null;
}

export interface PageDef {
  id: string;
  title?: string | null;
  description?: string | null;
  visible_if?: string | null;
  fields: FieldDef[];
}

export interface FormSettings {
  allow_drafts?: boolean;
  max_file_mb?: number;
  allowed_file_types?: string[] | null;
  [key: string]: unknown;
}

export interface FormDoc {
  id?: string | null;
  name: string;
  version?: number | string;
  title?: string | null;
  description?: string | null;
  pages: PageDef[];
  rules?: Rule[];
  settings?: FormSettings;
}

/** A file as the server keeps it in the answers. */
export interface FileRef {
  key: string;
  name: string;
  size: number;
  content_type: string;
}

export type Answers = Record<string, unknown>;
export type Row = Record<string, unknown>;

export const FIELD_LABELS: Record<FieldType, string> = {
  text: "Short text",
  long_text: "Long text",
  number: "Number",
  integer: "Whole number",
  email: "Email",
  phone: "Phone",
  url: "Web address",
  date: "Date",
  select: "Choice",
  multi_select: "Multiple choice",
  boolean: "Yes / no",
  file: "File upload",
  table: "Repeating group",
  section: "Section heading",
};

export const hasValue = (f: Pick<FieldDef, "type">) => f.type !== "section";
export const isListField = (f: FieldDef) =>
  f.type === "multi_select" || f.type === "table" || (f.type === "file" && !!f.multiple);

/** `scope_1` → `Scope 1`: the label shown when a field has none. */
export function humanise(id: string): string {
  const text = id.replace(/_/g, " ").trim();
  return text ? text[0].toUpperCase() + text.slice(1) : id;
}

export const fieldTitle = (f: Pick<FieldDef, "id" | "label">) => f.label || humanise(f.id);
export const optionText = (o: Option) => (o.label != null && o.label !== "" ? o.label : String(o.value));

export function canonicalType(kind: unknown): FieldType | null {
  if (typeof kind !== "string") return null;
  const k = kind.toLowerCase();
  if ((FIELD_TYPES as readonly string[]).includes(k)) return k as FieldType;
  return TYPE_ALIASES[k] ?? null;
}

function normaliseOptions(options: unknown): Option[] | undefined {
  if (!Array.isArray(options)) return undefined;
  return options.map((o) => (typeof o === "string" || typeof o === "number" ? { value: o } : (o as Option)));
}

function normaliseField(raw: unknown): FieldDef {
  const f = { ...(raw as Record<string, unknown>) } as unknown as FieldDef;
  f.type = canonicalType(f.type) ?? f.type;
  if (f.options !== undefined) f.options = normaliseOptions(f.options);
  if (Array.isArray(f.fields)) f.fields = f.fields.map(normaliseField);
  return f;
}

/** A form document in the one shape the app reads: pages with ids, canonical field types. */
export function normaliseForm(raw: unknown): FormDoc {
  const doc = { ...((raw ?? {}) as Record<string, unknown>) } as Record<string, unknown>;
  if (Array.isArray(doc.fields) && !Array.isArray(doc.pages)) {
    doc.pages = [{ id: "main", title: doc.title ?? null, fields: doc.fields }];
    delete doc.fields;
  }
  const pages = Array.isArray(doc.pages) ? (doc.pages as Record<string, unknown>[]) : [];
  doc.pages = pages.map((p, i) => ({
    ...p,
    id: typeof p.id === "string" ? p.id : `page_${i + 1}`,
    fields: Array.isArray(p.fields) ? p.fields.map(normaliseField) : [],
  }));
  if (typeof doc.name !== "string") doc.name = "";
  return doc as unknown as FormDoc;
}

/** Every top-level field with its page, in the order shown. */
export function* iterFields(form: FormDoc): Generator<[PageDef, FieldDef]> {
  for (const page of form.pages) for (const f of page.fields) yield [page, f];
}

/** The empty answer of a field: `[]` for lists (multi-select, several files, tables), else null. */
export const emptyValue = (f: FieldDef): unknown => (isListField(f) ? [] : null);

/** True for what the server takes as no answer: null, "", blanks, [] and {}. */
export function isEmpty(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  if (typeof value === "string") return value.trim() === "";
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value as object).length === 0;
  return false;
}

/** The answers to start from: each field's default where nothing was given. */
export function initialAnswers(form: FormDoc, given: Answers | null | undefined): Answers {
  const out: Answers = { ...(given ?? {}) };
  for (const [, f] of iterFields(form)) {
    if (!hasValue(f) || f.id in out) continue;
    if (f.default !== undefined && f.default !== null) out[f.id] = f.default;
  }
  return out;
}

/** The default values of a table's columns, for a new row. */
export function newRow(table: FieldDef): Row {
  const row: Row = {};
  for (const c of table.fields ?? []) if (hasValue(c) && c.default !== undefined && c.default !== null) row[c.id] = c.default;
  return row;
}
