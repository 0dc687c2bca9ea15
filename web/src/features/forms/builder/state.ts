/**
 * The form builder's document and the changes a person makes to it, as pure functions.
 *
 * While it is edited, every page and field carries a `_uid` that never changes (ids are
 * typed by the person and change), so a selection or a drag survives renames and moves.
 * `fromDocument` adds them, `toDocument` takes them out again and drops empty settings, so
 * what is saved is the form JSON of DESIGN §7 and nothing else.
 */
import { syntaxProblem, references, HELPERS } from "../expression";
import { hasValue, normaliseForm, type FieldDef, type FieldType, type FormDoc, type PageDef, type Rule } from "../schema";

export interface BField extends FieldDef {
  _uid: string;
  fields?: BField[];
}

export interface BPage extends Omit<PageDef, "fields"> {
  _uid: string;
  fields: BField[];
}

export interface BDoc extends Omit<FormDoc, "pages"> {
  pages: BPage[];
}

/** Where a field lives: its page, and its table when it is a column. */
export interface Place {
  page: string;
  table?: string;
}

let counter = 0;
export const uid = (prefix = "u") => `${prefix}${(++counter).toString(36)}${Math.random().toString(36).slice(2, 6)}`;

function withUids(f: FieldDef): BField {
  return { ...f, _uid: uid("f"), ...(Array.isArray(f.fields) ? { fields: f.fields.map(withUids) } : {}) } as BField;
}

export function fromDocument(raw: unknown): BDoc {
  const doc = normaliseForm(raw);
  return { ...doc, pages: doc.pages.map((p) => ({ ...p, _uid: uid("p"), fields: p.fields.map(withUids) })) };
}

const EMPTY = (v: unknown) => v === undefined || v === null || v === "";

function cleanField(f: BField): FieldDef {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(f)) {
    if (k === "_uid" || EMPTY(v)) continue;
    if ((k === "required" || k === "sensitive" || k === "multiple") && v === false) continue;
    if (k === "rules" && Array.isArray(v) && v.length === 0) continue;
    if (k === "fields" && Array.isArray(v)) out.fields = (v as BField[]).map(cleanField);
    else out[k] = v;
  }
  // the order a person reads: id, type, label first
  const { id, type, label, ...rest } = out;
  return { id, type, ...(label !== undefined ? { label } : {}), ...rest } as FieldDef;
}

/** The form JSON to save: no builder keys, no empty settings. */
export function toDocument(doc: BDoc): FormDoc {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(doc)) {
    if (k === "pages" || EMPTY(v)) continue;
    if (k === "rules" && Array.isArray(v) && v.length === 0) continue;
    out[k] = v;
  }
  out.pages = doc.pages.map((p) => {
    const page: Record<string, unknown> = { id: p.id };
    if (p.title) page.title = p.title;
    if (p.description) page.description = p.description;
    if (p.visible_if) page.visible_if = p.visible_if;
    page.fields = p.fields.map(cleanField);
    return page;
  });
  return out as unknown as FormDoc;
}

/** The document to save as the next version: the server numbers it. */
export function nextVersionDocument(doc: BDoc): Record<string, unknown> {
  const out = toDocument(doc) as unknown as Record<string, unknown>;
  delete out.version;
  delete out.id;
  return out;
}

// --------------------------------------------------------------------------- finding

export function findField(doc: BDoc, fieldUid: string): { field: BField; place: Place; index: number } | null {
  for (const p of doc.pages) {
    for (let i = 0; i < p.fields.length; i++) {
      const f = p.fields[i];
      if (f._uid === fieldUid) return { field: f, place: { page: p._uid }, index: i };
      for (let j = 0; j < (f.fields ?? []).length; j++) {
        const c = f.fields![j];
        if (c._uid === fieldUid) return { field: c, place: { page: p._uid, table: f._uid }, index: j };
      }
    }
  }
  return null;
}

export const findPage = (doc: BDoc, pageUid: string) => doc.pages.find((p) => p._uid === pageUid) ?? null;

/** The list a place stands for: a page's fields or a table's columns. */
function listAt(doc: BDoc, place: Place): BField[] | null {
  const page = findPage(doc, place.page);
  if (!page) return null;
  if (!place.table) return page.fields;
  const table = page.fields.find((f) => f._uid === place.table);
  return table ? (table.fields ?? []) : null;
}

/** A copy of the document with the list at `place` replaced. */
function withList(doc: BDoc, place: Place, fields: BField[]): BDoc {
  return {
    ...doc,
    pages: doc.pages.map((p) => {
      if (p._uid !== place.page) return p;
      if (!place.table) return { ...p, fields };
      return { ...p, fields: p.fields.map((f) => (f._uid === place.table ? { ...f, fields } : f)) };
    }),
  };
}

/** Every top-level field id, and for a table its column ids. */
export function idsIn(doc: BDoc, place?: Place): Set<string> {
  if (place?.table) return new Set((listAt(doc, place) ?? []).map((f) => f.id));
  return new Set(doc.pages.flatMap((p) => p.fields.map((f) => f.id)));
}

export function freeId(base: string, taken: Set<string>): string {
  const stem = base.replace(/[^A-Za-z0-9_]/g, "_").replace(/^(\d)/, "_$1") || "field";
  for (let n = 1; ; n++) {
    const id = `${stem}_${n}`;
    if (!taken.has(id)) return id;
  }
}

// --------------------------------------------------------------------------- new fields

const DEFAULT_LABELS: Record<FieldType, string> = {
  text: "Short answer",
  long_text: "Long answer",
  number: "Amount",
  integer: "Count",
  email: "Email address",
  phone: "Phone number",
  url: "Website",
  date: "Date",
  select: "Choose one",
  multi_select: "Choose several",
  boolean: "Yes or no?",
  file: "Upload a file",
  table: "Line items",
  section: "Section",
};

const ID_STEMS: Partial<Record<FieldType, string>> = { long_text: "notes", multi_select: "choices", boolean: "yes_no", table: "items", select: "choice" };

/** A new field of a type, with an id free in its place and what the type needs to be valid. */
export function newField(type: FieldType, taken: Set<string>): BField {
  const f: BField = { _uid: uid("f"), id: freeId(ID_STEMS[type] ?? type, taken), type, label: DEFAULT_LABELS[type] };
  if (type === "select" || type === "multi_select") {
    f.options = [
      { value: "option_1", label: "Option 1" },
      { value: "option_2", label: "Option 2" },
    ];
  }
  if (type === "table") f.fields = [{ _uid: uid("f"), id: "item", type: "text", label: "Item", required: true }];
  if (type === "section") f.text = "";
  return f;
}

export function addField(doc: BDoc, type: FieldType, place: Place, index?: number): [BDoc, string] {
  const list = listAt(doc, place);
  if (!list) return [doc, ""];
  if (place.table && type === "table") type = "text"; // a table's columns are not tables
  const f = newField(type, idsIn(doc, place));
  const at = index === undefined ? list.length : Math.max(0, Math.min(index, list.length));
  return [withList(doc, place, [...list.slice(0, at), f, ...list.slice(at)]), f._uid];
}

export function removeField(doc: BDoc, fieldUid: string): BDoc {
  const found = findField(doc, fieldUid);
  if (!found) return doc;
  const list = listAt(doc, found.place)!;
  return withList(doc, found.place, list.filter((f) => f._uid !== fieldUid));
}

export function duplicateField(doc: BDoc, fieldUid: string): [BDoc, string] {
  const found = findField(doc, fieldUid);
  if (!found) return [doc, ""];
  const copy = withUids(JSON.parse(JSON.stringify(cleanField(found.field))) as FieldDef);
  copy.id = freeId(found.field.id.replace(/_\d+$/, "") || found.field.type, idsIn(doc, found.place));
  const list = listAt(doc, found.place)!;
  return [withList(doc, found.place, [...list.slice(0, found.index + 1), copy, ...list.slice(found.index + 1)]), copy._uid];
}

/**
 * Moves a field to `index` of the list at `to` (the index counts the list before the move).
 * Columns stay in their table and top-level fields out of tables.
 */
export function moveField(doc: BDoc, fieldUid: string, to: Place, index: number): BDoc {
  const found = findField(doc, fieldUid);
  if (!found) return doc;
  if ((found.place.table ?? null) !== (to.table ?? null)) return doc;
  if (to.table && found.field.type === "table") return doc;
  let at = index;
  if (found.place.page === to.page && found.index < index) at -= 1;
  const without = removeField(doc, fieldUid);
  const target = listAt(without, to);
  if (!target) return doc;
  at = Math.max(0, Math.min(at, target.length));
  return withList(without, to, [...target.slice(0, at), found.field, ...target.slice(at)]);
}

/** Moves a field one step up or down; at the edge of a page it goes to the next page. */
export function nudgeField(doc: BDoc, fieldUid: string, step: -1 | 1): BDoc {
  const found = findField(doc, fieldUid);
  if (!found) return doc;
  const list = listAt(doc, found.place)!;
  const target = found.index + step;
  if (target >= 0 && target < list.length) return moveField(doc, fieldUid, found.place, step > 0 ? target + 1 : target);
  if (found.place.table) return doc;
  const pi = doc.pages.findIndex((p) => p._uid === found.place.page);
  const other = doc.pages[pi + step];
  if (!other) return doc;
  return moveField(doc, fieldUid, { page: other._uid }, step > 0 ? 0 : other.fields.length);
}

type Patch = Partial<Omit<FieldDef, "fields" | "type">>;

/** Changes some settings of a field; a setting given as undefined (or "") is taken out. */
export function updateField(doc: BDoc, fieldUid: string, patch: Patch): BDoc {
  const found = findField(doc, fieldUid);
  if (!found) return doc;
  const next: Record<string, unknown> = { ...found.field };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || v === "" || v === null) delete next[k];
    else next[k] = v;
  }
  const list = listAt(doc, found.place)!;
  return withList(doc, found.place, list.map((f) => (f._uid === fieldUid ? (next as unknown as BField) : f)));
}

/** The settings each type takes besides the common ones (see the server's field models). */
export const TYPE_SETTINGS: Record<FieldType, string[]> = {
  text: ["min_length", "max_length", "pattern", "pattern_message", "allowed_values"],
  long_text: ["min_length", "max_length", "pattern", "pattern_message"],
  email: ["min_length", "max_length", "pattern", "pattern_message"],
  phone: ["min_length", "max_length", "pattern", "pattern_message"],
  url: ["min_length", "max_length", "pattern", "pattern_message"],
  number: ["unit", "min", "max", "step", "decimals", "allowed_values"],
  integer: ["unit", "min", "max", "step", "allowed_values"],
  date: ["min", "max"],
  select: ["options"],
  multi_select: ["options", "min_selected", "max_selected"],
  boolean: [],
  file: ["max_size_mb", "accept", "multiple", "max_files"],
  table: ["fields", "min_rows", "max_rows", "rules"],
  section: ["text"],
};
const COMMON = ["_uid", "id", "type", "label", "help", "visible_if"];
const ANSWER = ["required", "default", "placeholder", "sensitive"];

/** Turns a field into another type, keeping what still applies. */
export function changeType(doc: BDoc, fieldUid: string, type: FieldType): BDoc {
  const found = findField(doc, fieldUid);
  if (!found || found.field.type === type) return doc;
  if (found.place.table && type === "table") return doc;
  const keep = new Set([...COMMON, ...(type === "section" ? [] : ANSWER), ...TYPE_SETTINGS[type]]);
  const next: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(found.field)) if (keep.has(k) && k !== "default") next[k] = v;
  next.type = type;
  const fresh = newField(type, new Set());
  if ((type === "select" || type === "multi_select") && !next.options) next.options = fresh.options;
  if (type === "table" && !next.fields) next.fields = fresh.fields;
  if ((type === "number" || type === "integer") && typeof next.min === "string") delete next.min;
  if ((type === "number" || type === "integer") && typeof next.max === "string") delete next.max;
  if (type === "date" && typeof next.min === "number") delete next.min;
  if (type === "date" && typeof next.max === "number") delete next.max;
  const list = listAt(doc, found.place)!;
  return withList(doc, found.place, list.map((f) => (f._uid === fieldUid ? (next as unknown as BField) : f)));
}

// --------------------------------------------------------------------------- pages and form

export function addPage(doc: BDoc, afterUid?: string): [BDoc, string] {
  const taken = new Set(doc.pages.map((p) => p.id));
  const page: BPage = { _uid: uid("p"), id: freeId("page", taken), title: `Page ${doc.pages.length + 1}`, fields: [] };
  const at = afterUid ? doc.pages.findIndex((p) => p._uid === afterUid) + 1 : doc.pages.length;
  return [{ ...doc, pages: [...doc.pages.slice(0, at), page, ...doc.pages.slice(at)] }, page._uid];
}

export function removePage(doc: BDoc, pageUid: string): BDoc {
  if (doc.pages.length <= 1) return doc;
  return { ...doc, pages: doc.pages.filter((p) => p._uid !== pageUid) };
}

export function movePage(doc: BDoc, pageUid: string, step: -1 | 1): BDoc {
  const i = doc.pages.findIndex((p) => p._uid === pageUid);
  const j = i + step;
  if (i < 0 || j < 0 || j >= doc.pages.length) return doc;
  const pages = [...doc.pages];
  [pages[i], pages[j]] = [pages[j], pages[i]];
  return { ...doc, pages };
}

export function updatePage(doc: BDoc, pageUid: string, patch: Partial<Omit<PageDef, "fields">>): BDoc {
  return {
    ...doc,
    pages: doc.pages.map((p) => {
      if (p._uid !== pageUid) return p;
      const next: Record<string, unknown> = { ...p };
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined || v === "" || v === null) delete next[k];
        else next[k] = v;
      }
      return next as unknown as BPage;
    }),
  };
}

export function updateForm(doc: BDoc, patch: Partial<Omit<BDoc, "pages">>): BDoc {
  const next: Record<string, unknown> = { ...doc };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined || v === "" || v === null) delete next[k];
    else next[k] = v;
  }
  return next as unknown as BDoc;
}

/** A blank form: one page with one question. */
export function blankForm(name = "new_form"): BDoc {
  const first = newField("text", new Set());
  first.label = "Your name";
  first.id = "name";
  first.required = true;
  return { name, title: "Untitled form", settings: { allow_drafts: true }, pages: [{ _uid: uid("p"), id: "page_1", title: "Page 1", fields: [first] }] };
}

// --------------------------------------------------------------------------- problems

export interface BuilderProblem {
  /** The field or page the problem is on, or null for the form. */
  uid: string | null;
  message: string;
  /** The server's path (`pages[1].fields[3].max`), for problems from the server. */
  path?: string;
}

const ID = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(["answers", "row", "true", "false", "none", "True", "False", "None", "and", "or", "not", "in", "is", "if", "else", "loop", "self"]);
const KNOWN_NAMES = new Set([...Object.keys(HELPERS), "answers", "row", "range", "dict", "lipsum", "cycler", "joiner", "namespace"]);

function checkExpression(source: string, what: string, names: Set<string>): string | null {
  const problem = syntaxProblem(source);
  if (problem) return `The ${what} cannot be read: ${problem}`;
  const r = references(source);
  const unknown = [...r.bare, ...r.answers, ...r.row].filter((n) => !names.has(n) && !KNOWN_NAMES.has(n));
  if (unknown.length) return `The ${what} refers to '${unknown[0]}', which is not a field of this form`;
  return null;
}

/** What can be told before saving (the server checks everything again when it is saved). */
export function localProblems(doc: BDoc): BuilderProblem[] {
  const out: BuilderProblem[] = [];
  if (!doc.name) out.push({ uid: null, message: "The form needs a name (for example supplier_emissions)" });
  else if (!/^[a-z0-9][a-z0-9_-]*$/.test(doc.name)) out.push({ uid: null, message: "The name may hold lower-case letters, digits, '_' and '-' only" });
  const top = doc.pages.flatMap((p) => p.fields);
  const valueIds = new Set(top.filter(hasValue).map((f) => f.id));
  if (!top.some(hasValue)) out.push({ uid: null, message: "The form has no fields to answer" });
  const pageIds = new Map<string, number>();
  for (const p of doc.pages) {
    if (!ID.test(p.id)) out.push({ uid: p._uid, message: "A page id may hold letters, digits and '_' only" });
    pageIds.set(p.id, (pageIds.get(p.id) ?? 0) + 1);
    if ((pageIds.get(p.id) ?? 0) === 2) out.push({ uid: p._uid, message: `The page id '${p.id}' is used twice` });
    if (p.visible_if) {
      const m = checkExpression(p.visible_if, "condition", valueIds);
      if (m) out.push({ uid: p._uid, message: m });
    }
  }
  const checkList = (fields: BField[], columns: Set<string> | null) => {
    const seen = new Set<string>();
    for (const f of fields) {
      if (!f.id) out.push({ uid: f._uid, message: "The field needs an id" });
      else if (!ID.test(f.id)) out.push({ uid: f._uid, message: "An id may hold letters, digits and '_' only, and must not start with a digit" });
      else if (RESERVED.has(f.id)) out.push({ uid: f._uid, message: `'${f.id}' is a word of the expression language; choose another id` });
      if (seen.has(f.id)) out.push({ uid: f._uid, message: `The id '${f.id}' is used twice` });
      seen.add(f.id);
      const names = columns ? new Set([...valueIds, ...columns]) : valueIds;
      if (f.visible_if) {
        const m = checkExpression(f.visible_if, "condition", names);
        if (m) out.push({ uid: f._uid, message: m });
      }
      if ((f.type === "select" || f.type === "multi_select") && !(f.options ?? []).length) out.push({ uid: f._uid, message: "A choice field needs at least one option" });
      if (f.type === "select" || f.type === "multi_select") {
        const values = (f.options ?? []).map((o) => String(o.value));
        const dup = values.find((v, i) => values.indexOf(v) !== i);
        if (dup !== undefined) out.push({ uid: f._uid, message: `The option '${dup}' is listed twice` });
        if (values.some((v) => v === "")) out.push({ uid: f._uid, message: "Every option needs a value" });
      }
      if (typeof f.min === "number" && typeof f.max === "number" && f.min > f.max) out.push({ uid: f._uid, message: `'min' (${f.min}) is greater than 'max' (${f.max})` });
      if (f.type === "table") {
        if (!(f.fields ?? []).some(hasValue)) out.push({ uid: f._uid, message: "A repeating group needs at least one field to answer" });
        checkList(f.fields ?? [], new Set((f.fields ?? []).filter(hasValue).map((c) => c.id)));
        for (const r of f.rules ?? []) {
          const m = checkExpression(r.expression, "rule", new Set([...valueIds, ...(f.fields ?? []).map((c) => c.id)]));
          if (m) out.push({ uid: f._uid, message: m });
        }
      }
    }
  };
  checkList(top, null);
  for (const r of doc.rules ?? []) {
    const m = checkExpression(r.expression, "rule", valueIds);
    if (m) out.push({ uid: null, message: m });
    if (!r.message?.trim()) out.push({ uid: null, message: "A rule needs a message for the respondent" });
  }
  return out;
}

/** Places the server's problems (`pages[1].fields[3].fields[0].max`) on the builder's pages and fields. */
export function serverProblems(doc: BDoc, problems: { path: string; field?: string | null; message: string }[]): BuilderProblem[] {
  return problems.map((p) => {
    const m = /^pages\[(\d+)\](?:\.fields\[(\d+)\](?:\.fields\[(\d+)\])?)?/.exec(p.path ?? "");
    let target: string | null = null;
    if (m) {
      const page = doc.pages[Number(m[1])];
      const field = m[2] !== undefined ? page?.fields[Number(m[2])] : undefined;
      const column = m[3] !== undefined ? field?.fields?.[Number(m[3])] : undefined;
      target = column?._uid ?? field?._uid ?? page?._uid ?? null;
    }
    return { uid: target, message: p.message, path: p.path };
  });
}

/** A rule as the editor shows it, with its fields as text. */
export const ruleFieldsText = (r: Rule) => (r.fields ?? []).join(", ");
