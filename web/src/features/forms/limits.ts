/**
 * Upload limits, said before the upload (DESIGN §13): the size and the types a file field
 * takes, as the public API gives them (`upload_limits`) or, in the builder's preview, as the
 * server would work them out from the form (the field's own, else the form's settings).
 */
import type { FieldDef, FormDoc } from "./schema";

export interface UploadLimit {
  max_bytes: number;
  max_mb: number;
  accept: string[];
  multiple: boolean;
  max_files: number | null;
}

export type UploadLimits = Record<string, UploadLimit>;

/** The limits of every file field (table columns as `table.column`), from the form itself. */
export function limitsOf(form: FormDoc): UploadLimits {
  const out: UploadLimits = {};
  const one = (f: FieldDef): UploadLimit => {
    const mb = f.max_size_mb ?? form.settings?.max_file_mb ?? 25;
    return {
      max_bytes: Math.floor(mb * 1024 * 1024),
      max_mb: mb,
      accept: f.accept ?? form.settings?.allowed_file_types ?? [],
      multiple: !!f.multiple,
      max_files: f.max_files ?? null,
    };
  };
  for (const page of form.pages) {
    for (const f of page.fields) {
      if (f.type === "file") out[f.id] = one(f);
      if (f.type === "table") for (const c of f.fields ?? []) if (c.type === "file") out[`${f.id}.${c.id}`] = one(c);
    }
  }
  return out;
}

const TYPE_WORDS: Record<string, string> = {
  "application/pdf": "PDF",
  "image/*": "images",
  "image/png": "PNG",
  "image/jpeg": "JPEG",
  "text/csv": "CSV",
  "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
  "application/vnd.ms-excel": "Excel",
  "application/msword": "Word",
  "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
};

/** `[".pdf", "application/pdf", "image/*"]` → `PDF, images`. */
export function acceptWords(accept: string[]): string {
  const words: string[] = [];
  for (const a of accept) {
    const low = a.trim().toLowerCase();
    const word = TYPE_WORDS[low] ?? (low.startsWith(".") ? low.slice(1).toUpperCase() : low.includes("/") ? low : low.toUpperCase());
    if (!words.includes(word)) words.push(word);
  }
  return words.join(", ");
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) {
    const mb = bytes / (1024 * 1024);
    return `${mb >= 10 ? Math.round(mb) : Math.round(mb * 10) / 10} MB`;
  }
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

const mbText = (mb: number) => `${Number.isInteger(mb) ? mb : Math.round(mb * 10) / 10} MB`;

/** The sentence shown beside a file field before anything is chosen. */
export function limitText(limit: UploadLimit): string {
  const parts: string[] = [];
  const types = acceptWords(limit.accept);
  parts.push(types ? `${types}` : "Any type of file");
  parts.push(`at most ${mbText(limit.max_mb)}${limit.multiple ? " each" : ""}`);
  if (limit.multiple && limit.max_files) parts.push(`up to ${limit.max_files} files`);
  return parts.join(", ");
}

/** What the `accept` attribute of the file input says. */
export const acceptAttribute = (limit: UploadLimit) => limit.accept.join(",") || undefined;

/** Why a chosen file would be refused, in the server's words, or null. */
export function fileProblem(file: { name: string; size: number; type: string }, limit: UploadLimit): string | null {
  if (file.size > limit.max_bytes) {
    return `The file is too large (${formatSize(file.size)}): the limit for this field is ${mbText(limit.max_mb)}`;
  }
  if (limit.accept.length) {
    const dot = file.name.lastIndexOf(".");
    const ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
    const ctype = (file.type || "application/octet-stream").split(";")[0].trim().toLowerCase();
    const ok = limit.accept.some((a) => {
      const x = a.trim().toLowerCase();
      if (x.endsWith("/*")) return ctype.startsWith(x.slice(0, -1));
      if (x.includes("/")) return ctype === x;
      return ext === (x.startsWith(".") ? x : `.${x}`);
    });
    if (!ok) return `Files of this type are not accepted here; please upload ${acceptWords(limit.accept)}`;
  }
  return null;
}
