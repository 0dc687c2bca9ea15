/**
 * Which pages and fields are shown for the answers so far, computed as the server's
 * validation engine does (`forms/validation.py`):
 *
 * 1. each answer is read as its field's type (`"12.5"` is 12.5 for a number field, `"yes"` is
 *    true for a yes/no field); an empty or unreadable answer is empty (`none`, or `[]` for
 *    lists and tables);
 * 2. the names in scope are every field's value by id and `answers.<id>`; inside a table row,
 *    the row's columns by id (shadowing form fields) and `row.<id>`;
 * 3. conditions are evaluated in dependency order; a hidden field is empty for the conditions
 *    after it, and every field of a hidden page is hidden.
 *
 * Paths name fields as the server's errors do: `scope_1`, `sites[2].country`.
 */
import { references, visible, type Scope } from "./expression";
import { emptyValue, hasValue, isEmpty, iterFields, type Answers, type FieldDef, type FormDoc, type Option } from "./schema";

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPACES = /[\s\u00a0\u2009\u202f']+/g;
const BOOLEANS: Record<string, boolean> = { true: true, false: false, yes: true, no: false, y: true, n: false, "1": true, "0": false, on: true, off: false };
const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

export const MISSING = Symbol("missing");

/** A number typed as text, the server's way: a dot for decimals, spaces allowed, no commas. */
export function parseNumber(text: string): number | null {
  let s = text.trim();
  if (!NUMBER.test(s)) {
    s = s.replace(SPACES, "");
    if (!NUMBER.test(s)) return null;
  }
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

/** The option value an answer stands for (`"2"` finds the option `2`), or MISSING. */
export function findOption(options: Option[] | undefined, raw: unknown): unknown {
  for (const o of options ?? []) if (o.value === raw) return o.value;
  const text = typeof raw === "string" ? raw.trim() : typeof raw === "number" ? String(raw) : null;
  if (text === null) return MISSING;
  for (const o of options ?? []) if (String(o.value) === text) return o.value;
  return MISSING;
}

export function validIsoDate(s: string): boolean {
  if (!ISO_DATE.test(s)) return false;
  const d = new Date(`${s}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === s;
}

/** An answer as its field's type, or MISSING when it cannot be read (the server reports those). */
export function castValue(f: FieldDef, raw: unknown): unknown {
  switch (f.type) {
    case "number":
    case "integer": {
      const v = typeof raw === "number" ? raw : typeof raw === "string" ? parseNumber(raw) : null;
      if (v === null || !Number.isFinite(v)) return MISSING;
      if (f.type === "integer" && !Number.isInteger(v)) return MISSING;
      return v;
    }
    case "boolean": {
      if (raw === true || raw === false) return raw;
      if (typeof raw === "string" && raw.trim().toLowerCase() in BOOLEANS) return BOOLEANS[raw.trim().toLowerCase()];
      if (raw === 0 || raw === 1) return raw === 1;
      return MISSING;
    }
    case "select":
      return findOption(f.options, raw);
    case "multi_select": {
      const items = Array.isArray(raw) ? raw : [raw];
      const out: unknown[] = [];
      for (const item of items) {
        const v = findOption(f.options, item);
        if (v === MISSING) return MISSING;
        if (!out.includes(v)) out.push(v);
      }
      return out;
    }
    case "date":
      return typeof raw === "string" && validIsoDate(raw.trim()) ? raw.trim() : MISSING;
    case "text":
    case "long_text":
    case "email":
    case "phone":
    case "url":
      return typeof raw === "string" ? raw.trim() : typeof raw === "number" ? String(raw) : MISSING;
    default:
      return raw;
  }
}

export interface Visibility {
  /** Ids of the pages whose condition is false. */
  hiddenPages: Set<string>;
  /** Paths of hidden fields: `scope_3`, `sites[0].renewable_share`. */
  hidden: Set<string>;
  /** The scope each field's condition saw, by the path of its block ("" for the form, `sites[0]` for a row). */
  scopes: Map<string, Scope>;
}

interface Block {
  fields: FieldDef[];
  /** Conditional pages of the form block: id → condition. */
  pages: Map<string, string>;
  pageOf: Map<string, string>;
}

/** Orders the nodes so each comes after what it depends on (loops are refused at save time). */
export function dependencyOrder<K>(graph: Map<K, Set<K>>): K[] {
  const order: K[] = [];
  const state = new Map<K, number>();
  const visit = (node: K) => {
    state.set(node, 1);
    for (const dep of graph.get(node) ?? []) {
      if (!graph.has(dep) || state.has(dep)) continue;
      visit(dep);
    }
    state.set(node, 2);
    order.push(node);
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return order;
}

function refsOf(source: string, ids: Set<string>, columns: Set<string> | null): string[] {
  const r = references(source);
  const names = columns ? [...r.bare, ...r.row] : [...r.bare, ...r.answers];
  const inside = columns ?? ids;
  return names.filter((n) => inside.has(n));
}

function runBlock(
  block: Block,
  data: Record<string, unknown>,
  prefix: string,
  outer: Scope | null,
  out: Visibility,
): Scope {
  const valueFields = block.fields.filter(hasValue);
  const ids = new Set(valueFields.map((f) => f.id));
  const isTable = outer !== null;
  const local: Scope = {};
  for (const f of valueFields) {
    local[f.id] = emptyValue(f);
    const raw = data[f.id];
    if (isEmpty(raw)) continue;
    if (f.type === "table") {
      local[f.id] = raw;
      continue;
    }
    const v = castValue(f, raw);
    if (v !== MISSING) local[f.id] = v;
  }
  const scope: Scope = { ...(outer ?? {}), ...local };
  if (isTable) scope.row = local;
  else scope.answers = scope;

  type Key = string; // "page:<id>" | "field:<id>"
  const graph = new Map<Key, Set<Key>>();
  for (const [pageId, source] of block.pages) {
    graph.set(`page:${pageId}`, new Set(refsOf(source, ids, null).map((x) => `field:${x}`)));
  }
  for (const f of valueFields) {
    const page = block.pageOf.get(f.id);
    const pageConditional = page !== undefined && block.pages.has(page);
    if (!f.visible_if && !pageConditional) continue;
    const deps = new Set<Key>();
    if (f.visible_if) for (const x of refsOf(f.visible_if, ids, isTable ? ids : null)) deps.add(`field:${x}`);
    if (pageConditional) deps.add(`page:${page}`);
    graph.set(`field:${f.id}`, deps);
  }
  const byId = new Map(valueFields.map((f) => [f.id, f]));
  for (const key of dependencyOrder(graph)) {
    const [kind, id] = [key.slice(0, key.indexOf(":")), key.slice(key.indexOf(":") + 1)];
    if (kind === "page") {
      if (!visible(block.pages.get(id), scope)) out.hiddenPages.add(id);
      continue;
    }
    const f = byId.get(id)!;
    const page = block.pageOf.get(id);
    if ((page !== undefined && out.hiddenPages.has(page)) || !visible(f.visible_if, scope)) {
      out.hidden.add(prefix + id);
      scope[id] = local[id] = emptyValue(f);
    }
  }
  // sections and headings follow their own condition and their page
  for (const f of block.fields) {
    if (hasValue(f)) continue;
    const page = block.pageOf.get(f.id);
    if ((page !== undefined && out.hiddenPages.has(page)) || !visible(f.visible_if, scope)) out.hidden.add(prefix + f.id);
  }
  out.scopes.set(prefix.replace(/\.$/, ""), scope);

  for (const f of valueFields) {
    if (f.type !== "table" || out.hidden.has(prefix + f.id)) continue;
    const rows = data[f.id];
    if (!Array.isArray(rows)) continue;
    const columns: Block = { fields: f.fields ?? [], pages: new Map(), pageOf: new Map() };
    rows.forEach((row, i) => {
      if (row && typeof row === "object") runBlock(columns, row as Record<string, unknown>, `${prefix}${f.id}[${i}].`, scope, out);
    });
  }
  return scope;
}

/** The pages and fields hidden by their conditions, for these answers. */
export function computeVisibility(form: FormDoc, answers: Answers): Visibility {
  const out: Visibility = { hiddenPages: new Set(), hidden: new Set(), scopes: new Map() };
  const pages = new Map<string, string>();
  for (const p of form.pages) if (p.visible_if) pages.set(p.id, p.visible_if);
  const pageOf = new Map<string, string>();
  const fields: FieldDef[] = [];
  for (const [page, f] of iterFields(form)) {
    pageOf.set(f.id, page.id);
    fields.push(f);
  }
  runBlock({ fields, pages, pageOf }, answers, "", null, out);
  return out;
}
