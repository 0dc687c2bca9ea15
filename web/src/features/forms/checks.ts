/**
 * Instant checks in the browser, with the server's words (`forms/validation.py`): required
 * answers, types, lengths, patterns, bounds, choices, rows. They let a respondent fix an
 * answer before going on; the server checks everything again on submission (cross-field rules
 * too), and its answer is the one that counts.
 */
import { castValue, findOption, MISSING, parseNumber, validIsoDate, type Visibility } from "./visibility";
import { fieldTitle, hasValue, isEmpty, type Answers, type FieldDef, type FileRef, type PageDef } from "./schema";

export type FieldErrors = Record<string, string[]>;

export const REQUIRED = "This field is required";

const EMAIL = /^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$/;
const PHONE = /^\+?[0-9 ().\-/]+$/;
const HOST = /^(?:(?:[^\s/:?#@.]+\.)+[^\s/:?#@.]+(?::\d+)?(?:[/?#]\S*)?|localhost(?::\d+)?(?:[/?#]\S*)?)$/;

const count = (n: number, word: string) => `${n} ${word}${n !== 1 ? "s" : ""}`;
const fmt = (x: number) => (Number.isInteger(x) ? String(x) : String(x));
const withUnit = (x: number, unit?: string | null) => (!unit ? fmt(x) : unit === "%" ? `${fmt(x)}${unit}` : `${fmt(x)} ${unit}`);

export function todayIso(): string {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
}

/** A date bound as YYYY-MM-DD (`"today"` is today here), or undefined. */
export function dateBound(bound: unknown): string | undefined {
  if (bound === "today") return todayIso();
  return typeof bound === "string" && validIsoDate(bound) ? bound : undefined;
}

function fullMatch(pattern: string, value: string): boolean {
  try {
    return new RegExp(`^(?:${pattern})$`, "u").test(value);
  } catch {
    try {
      return new RegExp(`^(?:${pattern})$`).test(value);
    } catch {
      return true; // a pattern JavaScript cannot read: the server decides
    }
  }
}

/** What is wrong with one non-empty answer (not tables), in the server's words, or null. */
export function checkValue(f: FieldDef, raw: unknown): string | null {
  const label = fieldTitle(f);
  switch (f.type) {
    case "text":
    case "long_text":
    case "email":
    case "phone":
    case "url": {
      if (typeof raw !== "string" && typeof raw !== "number") return "Please enter text";
      const v = String(raw).trim();
      if (f.type === "email" && (v.length > 254 || !EMAIL.test(v))) return "Please enter a valid email address";
      if (f.type === "phone") {
        const digits = v.replace(/\D/g, "").length;
        if (!PHONE.test(v) || digits < 6 || digits > 15) return "Please enter a valid phone number";
      }
      if (f.type === "url") {
        const low = v.toLowerCase();
        const rest = low.startsWith("https://") ? v.slice(8) : low.startsWith("http://") ? v.slice(7) : v.includes("://") ? null : v;
        if (rest === null) return "Please enter a web address starting with https://";
        if (!HOST.test(rest)) return "Please enter a valid web address (for example https://example.com)";
      }
      if (f.min_length != null && v.length < f.min_length) return `${label} must be at least ${count(f.min_length, "character")} long`;
      if (f.max_length != null && v.length > f.max_length) return `${label} must be at most ${count(f.max_length, "character")} long`;
      if (f.pattern && !fullMatch(f.pattern, v)) return f.pattern_message || `${label} is not in the expected format`;
      if (f.type === "text" && f.allowed_values && !f.allowed_values.map(String).includes(v)) {
        return `${label} must be one of: ${f.allowed_values.join(", ")}`;
      }
      return null;
    }
    case "number":
    case "integer": {
      const whole = f.type === "integer";
      const v = typeof raw === "number" ? raw : typeof raw === "string" ? parseNumber(raw) : null;
      if (v === null) {
        if (whole) return "Please enter a whole number";
        return typeof raw === "string" && raw.includes(",")
          ? "Please enter a number without commas, with a dot for decimals (for example 1234.5)"
          : "Please enter a number, with a dot for decimals (for example 1234.5)";
      }
      if (whole && !Number.isInteger(v)) return "Please enter a whole number";
      const lo = typeof f.min === "number" ? f.min : null;
      const hi = typeof f.max === "number" ? f.max : null;
      if (lo !== null && v < lo) return `${label} must be at least ${withUnit(lo, f.unit)}`;
      if (hi !== null && v > hi) return `${label} must be at most ${withUnit(hi, f.unit)}`;
      if (f.step) {
        const q = (v - (lo ?? 0)) / f.step;
        if (Math.abs(q - Math.round(q)) > 1e-9 * Math.max(1, Math.abs(q))) {
          return `${label} must be a multiple of ${fmt(f.step)}${lo ? ` counted from ${fmt(lo)}` : ""}`;
        }
      }
      if (f.type === "number" && f.decimals != null && !Number.isInteger(v)) {
        const r = Math.round(v * 10 ** f.decimals) / 10 ** f.decimals;
        if (Math.abs(r - v) > 1e-9 * Math.max(1, Math.abs(v))) {
          return f.decimals === 0 ? `${label} must be a whole number` : `${label} can have at most ${count(f.decimals, "decimal place")}`;
        }
      }
      if (f.allowed_values && !f.allowed_values.some((a) => Number(a) === v)) return `${label} must be one of: ${f.allowed_values.join(", ")}`;
      return null;
    }
    case "date": {
      if (typeof raw !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(raw.trim())) return "Please enter a date as YYYY-MM-DD (for example 2025-03-31)";
      const d = raw.trim();
      if (!validIsoDate(d)) return `${f.sensitive ? "This" : d} is not a date in the calendar`;
      if (f.min === "today" && d < todayIso()) return `${label} cannot be in the past`;
      if (f.max === "today" && d > todayIso()) return `${label} cannot be in the future`;
      const lo = f.min !== "today" ? dateBound(f.min) : undefined;
      const hi = f.max !== "today" ? dateBound(f.max) : undefined;
      if (lo && d < lo) return `${label} must be on or after ${lo}`;
      if (hi && d > hi) return `${label} must be on or before ${hi}`;
      return null;
    }
    case "select":
      return findOption(f.options, raw) === MISSING ? "Please choose one of the options" : null;
    case "multi_select": {
      const v = castValue(f, raw);
      if (v === MISSING) return "Please choose from the options";
      const n = (v as unknown[]).length;
      if (f.max_selected != null && n > f.max_selected) return `Please choose at most ${count(f.max_selected, "option")}`;
      if (f.min_selected != null && n < f.min_selected) return `Please choose at least ${count(f.min_selected, "option")}`;
      return null;
    }
    case "boolean":
      return castValue(f, raw) === MISSING ? "Please answer yes or no" : null;
    case "file": {
      const refs = (Array.isArray(raw) ? raw : [raw]) as FileRef[];
      if (!f.multiple && refs.length > 1) return "Only one file can be uploaded here";
      if (f.max_files != null && refs.length > f.max_files) return `Please upload at most ${count(f.max_files, "file")}`;
      return null;
    }
    default:
      return null;
  }
}

/** The checks of one field (a table with its rows) at `path`, added to `errors`. */
export function checkField(f: FieldDef, raw: unknown, path: string, visibility: Visibility, errors: FieldErrors): void {
  if (!hasValue(f) || visibility.hidden.has(path)) return;
  const add = (p: string, message: string) => (errors[p] ??= []).push(message);
  if (isEmpty(raw)) {
    if (f.required) add(path, REQUIRED);
    return;
  }
  if (f.type !== "table") {
    const problem = checkValue(f, raw);
    if (problem) add(path, problem);
    return;
  }
  if (!Array.isArray(raw)) return;
  if (f.max_rows != null && raw.length > f.max_rows) add(path, `${fieldTitle(f)} can have at most ${count(f.max_rows, "row")}`);
  if (f.min_rows != null && raw.length < f.min_rows) add(path, `Please add at least ${count(f.min_rows, "row")}`);
  raw.forEach((row, i) => {
    const r = (row ?? {}) as Record<string, unknown>;
    for (const c of f.fields ?? []) checkField(c, r[c.id], `${path}[${i}].${c.id}`, visibility, errors);
  });
}

/** The checks of every shown field of a page. */
export function checkPage(page: PageDef, answers: Answers, visibility: Visibility): FieldErrors {
  const errors: FieldErrors = {};
  if (visibility.hiddenPages.has(page.id)) return errors;
  for (const f of page.fields) checkField(f, answers[f.id], f.id, visibility, errors);
  return errors;
}

/**
 * The server's 422 details (`[{"field", "message"}]`) by field path. A rule that names several
 * fields is shown once, at the first of them (the server's `field`), so fixing it clears it.
 * Details with no field are kept under "".
 */
export function errorsFromDetails(details: unknown): FieldErrors {
  const out: FieldErrors = {};
  if (!Array.isArray(details)) return out;
  for (const d of details) {
    if (!d || typeof d !== "object") continue;
    const e = d as { field?: unknown; fields?: unknown; message?: unknown };
    const message = typeof e.message === "string" ? e.message : "This answer is not valid";
    const path = typeof e.field === "string" ? e.field : Array.isArray(e.fields) && e.fields.length ? String(e.fields[0]) : "";
    const list = (out[path] ??= []);
    if (!list.includes(message)) list.push(message);
  }
  return out;
}

/** The top-level field id of a path: `sites[2].country` → `sites`. */
export const rootOf = (path: string) => path.split(/[.[]/, 1)[0];

/** Errors without those at `path` and below it (`sites` clears `sites[0].country` too). */
export function clearErrors(errors: FieldErrors, path: string): FieldErrors {
  let changed = false;
  const out: FieldErrors = {};
  for (const [p, msgs] of Object.entries(errors)) {
    if (p === path || p.startsWith(`${path}[`) || p.startsWith(`${path}.`)) changed = true;
    else out[p] = msgs;
  }
  return changed ? out : errors;
}
