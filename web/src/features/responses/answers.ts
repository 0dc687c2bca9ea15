/**
 * A response's answers as people read them, by the form version it was given on: labels for
 * ids, option labels for values, Yes/No, units, files by name, repeating groups as tables.
 * Answers masked for the reader (`***`) say so.
 */
import { formatSize } from "../forms/limits";
import { fieldTitle, hasValue, isEmpty, optionText, type FieldDef, type FileRef, type FormDoc } from "../forms/schema";

export const MASK = "***";

export type Shown =
  | { kind: "text"; text: string; empty?: boolean; masked?: boolean }
  | { kind: "files"; files: FileRef[] }
  | { kind: "table"; columns: { id: string; label: string }[]; rows: string[][] };

export interface AnswerLine {
  id: string;
  label: string;
  page: string;
  shown: Shown;
}

const isFile = (v: unknown): v is FileRef => !!v && typeof v === "object" && "key" in (v as object) && "name" in (v as object);

/** One answer as text (files by name, lists joined). */
export function answerText(f: FieldDef, value: unknown): string {
  if (value === MASK) return "hidden (sensitive)";
  if (isEmpty(value)) return "—";
  switch (f.type) {
    case "boolean":
      return value === true ? "Yes" : value === false ? "No" : String(value);
    case "select": {
      const o = (f.options ?? []).find((x) => x.value === value || String(x.value) === String(value));
      return o ? optionText(o) : String(value);
    }
    case "multi_select":
      return (Array.isArray(value) ? value : [value])
        .map((v) => {
          const o = (f.options ?? []).find((x) => x.value === v || String(x.value) === String(v));
          return o ? optionText(o) : String(v);
        })
        .join("; ");
    case "number":
    case "integer":
      return f.unit ? `${value}${f.unit === "%" ? "" : " "}${f.unit}` : String(value);
    case "file":
      return (Array.isArray(value) ? value : [value]).filter(isFile).map((r) => `${r.name} (${formatSize(r.size)})`).join("; ");
    default:
      return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}

/** The answers in the form's order, then any the form does not know (an older or edited shape). */
export function answerLines(form: FormDoc | null, answers: Record<string, unknown>): AnswerLine[] {
  const out: AnswerLine[] = [];
  const seen = new Set<string>();
  for (const page of form?.pages ?? []) {
    for (const f of page.fields) {
      if (!hasValue(f)) continue;
      seen.add(f.id);
      const value = answers[f.id];
      const pageTitle = page.title || page.id;
      if (f.type === "table") {
        const columns = (f.fields ?? []).filter(hasValue).map((c) => ({ id: c.id, label: fieldTitle(c) }));
        const rows = Array.isArray(value)
          ? (value as Record<string, unknown>[]).map((row) => (f.fields ?? []).filter(hasValue).map((c) => answerText(c, row?.[c.id])))
          : [];
        out.push({ id: f.id, label: fieldTitle(f), page: pageTitle, shown: value === MASK ? { kind: "text", text: "hidden (sensitive)", masked: true } : { kind: "table", columns, rows } });
      } else if (f.type === "file" && !isEmpty(value) && value !== MASK) {
        out.push({ id: f.id, label: fieldTitle(f), page: pageTitle, shown: { kind: "files", files: (Array.isArray(value) ? value : [value]).filter(isFile) } });
      } else {
        out.push({ id: f.id, label: fieldTitle(f), page: pageTitle, shown: { kind: "text", text: answerText(f, value), empty: isEmpty(value), masked: value === MASK } });
      }
    }
  }
  for (const [k, v] of Object.entries(answers)) {
    if (seen.has(k)) continue;
    out.push({ id: k, label: k, page: "Other answers", shown: { kind: "text", text: isEmpty(v) ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v), empty: isEmpty(v) } });
  }
  return out;
}

/** The recipient in a few words: `Anna Schmidt (Acme Steel GmbH) <anna@acme.example>`. */
export function recipientText(r: Record<string, unknown> | null | undefined): string {
  if (!r) return "—";
  const name = typeof r.name === "string" ? r.name : "";
  const company = typeof r.company === "string" ? r.company : "";
  const email = typeof r.email === "string" ? r.email : "";
  const who = [name, company && `(${company})`].filter(Boolean).join(" ");
  return who ? (email ? `${who} <${email}>` : who) : email || "—";
}

export const STATUS_WORDS: Record<string, string> = {
  submitted: "submitted",
  changes_requested: "changes requested",
  approved: "approved",
  rejected: "rejected",
};
