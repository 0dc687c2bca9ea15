/**
 * One input per field type, for the form renderer. Every input has its label, its help and
 * its errors tied to it (`aria-describedby`); choices and repeating groups are fieldsets with
 * a legend. Values are kept as typed (a number as its text) and read by the server.
 */
import { useId, useRef, useState, type ReactNode } from "react";
import { AlertCircle, FileText, Loader2, MessageSquareWarning, Plus, Trash2, Upload } from "lucide-react";
import { cx } from "../../lib/cx";
import { dateBound } from "./checks";
import { acceptAttribute, fileProblem, formatSize, limitText, type UploadLimit } from "./limits";
import { castValue, findOption, MISSING, type Visibility } from "./visibility";
import { fieldTitle, newRow, optionText, type FieldDef, type FileRef, type Row } from "./schema";

/** What every field component needs from the renderer. */
export interface FieldContext {
  idPrefix: string;
  errors: Record<string, string[]>;
  comments: Record<string, string>;
  limits: Record<string, UploadLimit>;
  visibility: Visibility;
  readOnly: boolean;
  highlight: string | null;
  upload: (limitKey: string, file: File) => Promise<FileRef>;
  setErrors: (path: string, messages: string[]) => void;
  onBlurCheck: (field: FieldDef, path: string, value: unknown) => void;
}

export const domId = (ctx: Pick<FieldContext, "idPrefix">, path: string) => `${ctx.idPrefix}${path}`;

const inputClass =
  "block w-full rounded-lg border border-stone-300 bg-white px-3 text-base text-stone-900 shadow-xs placeholder:text-stone-400 " +
  "focus:border-brand-600 focus:outline-none focus:ring-2 focus:ring-brand-600/25 disabled:bg-stone-100 disabled:text-stone-500 " +
  "aria-invalid:border-red-500 aria-invalid:focus:ring-red-500/25";

function Label({ htmlFor, id, field, as = "label" }: { htmlFor?: string; id?: string; field: FieldDef; as?: "label" | "legend" }) {
  const content = (
    <>
      {fieldTitle(field)}
      {field.required && (
        <>
          <span className="ml-0.5 text-red-600" aria-hidden>
            *
          </span>
          <span className="sr-only"> (required)</span>
        </>
      )}
    </>
  );
  const cls = "block text-[15px] font-medium text-stone-900";
  return as === "legend" ? (
    <legend id={id} className={cx(cls, "mb-1")}>
      {content}
    </legend>
  ) : (
    <label htmlFor={htmlFor} id={id} className={cls}>
      {content}
    </label>
  );
}

function Help({ id, children }: { id: string; children: ReactNode }) {
  return (
    <p id={id} className="mt-0.5 text-sm text-stone-500">
      {children}
    </p>
  );
}

function Errors({ id, messages }: { id: string; messages: string[] }) {
  if (!messages.length) return null;
  return (
    <div id={id} className="mt-1.5 space-y-0.5" data-testid="field-error">
      {messages.map((m) => (
        <p key={m} className="flex items-start gap-1.5 text-sm font-medium text-red-700">
          <AlertCircle className="mt-0.5 size-4 shrink-0" aria-hidden />
          <span>{m}</span>
        </p>
      ))}
    </div>
  );
}

function Comment({ id, text }: { id: string; text: string }) {
  return (
    <p id={id} className="mt-1.5 flex items-start gap-1.5 rounded-md bg-amber-50 px-2.5 py-1.5 text-sm text-amber-900 ring-1 ring-amber-200">
      <MessageSquareWarning className="mt-0.5 size-4 shrink-0" aria-hidden />
      <span>
        <span className="font-medium">The reviewer asks: </span>
        {text}
      </span>
    </p>
  );
}

/** Help, comment and error ids of a field, and the `aria-describedby` that joins them. */
function describe(ctx: FieldContext, path: string, field: FieldDef, extra: string[] = []) {
  const base = domId(ctx, path);
  const errors = ctx.errors[path] ?? [];
  const comment = ctx.comments[path];
  const ids = [
    ...extra,
    field.help ? `${base}-help` : null,
    comment ? `${base}-comment` : null,
    errors.length ? `${base}-error` : null,
  ].filter(Boolean);
  return { base, errors, comment, describedBy: ids.length ? ids.join(" ") : undefined, invalid: errors.length > 0 };
}

function Frame({
  ctx,
  path,
  field,
  children,
  group,
  footer,
}: {
  ctx: FieldContext;
  path: string;
  field: FieldDef;
  children: ReactNode;
  group?: boolean;
  footer?: ReactNode;
}) {
  const d = describe(ctx, path, field);
  const body = (
    <>
      <Label field={field} htmlFor={group ? undefined : d.base} as={group ? "legend" : "label"} id={`${d.base}-label`} />
      {field.help && <Help id={`${d.base}-help`}>{field.help}</Help>}
      <div className="mt-2">{children}</div>
      {footer}
      {d.comment && <Comment id={`${d.base}-comment`} text={d.comment} />}
      <Errors id={`${d.base}-error`} messages={d.errors} />
    </>
  );
  const cls = cx(
    "scroll-mt-24 rounded-lg transition-shadow",
    ctx.highlight === path && "bg-brand-50/60 ring-2 ring-brand-500 ring-offset-4 ring-offset-white",
  );
  return group ? (
    <fieldset id={d.base} tabIndex={-1} className={cx(cls, "min-w-0 focus:outline-none")} data-field={path} aria-describedby={d.describedBy}>
      {body}
    </fieldset>
  ) : (
    <div className={cls} data-field={path}>
      {body}
    </div>
  );
}

export interface FieldProps {
  field: FieldDef;
  path: string;
  value: unknown;
  onChange: (value: unknown) => void;
  ctx: FieldContext;
  /** The key of the field's upload limits: `certificate`, or `sites.certificate` for a column. */
  limitKey: string;
}

export function FieldView(props: FieldProps) {
  const { field, path, ctx } = props;
  if (ctx.visibility.hidden.has(path)) return null;
  switch (field.type) {
    case "section":
      return <SectionView {...props} />;
    case "long_text":
      return <LongTextInput {...props} />;
    case "select":
      return (field.options?.length ?? 0) <= 4 ? <RadioChoice {...props} /> : <SelectInput {...props} />;
    case "multi_select":
      return <CheckboxChoice {...props} />;
    case "boolean":
      return <YesNo {...props} />;
    case "file":
      return <FileInput {...props} />;
    case "table":
      return <TableInput {...props} />;
    case "number":
    case "integer":
      return <NumberInput {...props} />;
    default:
      return <TextInput {...props} />;
  }
}

function SectionView({ field, path, ctx }: FieldProps) {
  return (
    <div className={cx("border-t border-stone-200 pt-5", ctx.highlight === path && "rounded-lg bg-brand-50/60 ring-2 ring-brand-500 ring-offset-4")} data-field={path}>
      <h3 className="text-base font-semibold text-stone-900">{fieldTitle(field)}</h3>
      {field.text && <p className="mt-1 text-sm whitespace-pre-line text-stone-600">{field.text}</p>}
      {field.help && <p className="mt-1 text-sm text-stone-500">{field.help}</p>}
    </div>
  );
}

const text = (value: unknown) => (value === null || value === undefined ? "" : typeof value === "object" ? JSON.stringify(value) : String(value));

const INPUT_TYPES: Record<string, { type: string; inputMode?: "email" | "tel" | "url" | "text"; autoComplete?: string }> = {
  text: { type: "text" },
  email: { type: "email", inputMode: "email", autoComplete: "email" },
  phone: { type: "tel", inputMode: "tel", autoComplete: "tel" },
  url: { type: "url", inputMode: "url", autoComplete: "url" },
  date: { type: "date" },
};

function TextInput(props: FieldProps) {
  const { field, path, value, onChange, ctx } = props;
  const d = describe(ctx, path, field);
  const kind = INPUT_TYPES[field.type] ?? INPUT_TYPES.text;
  const isDate = field.type === "date";
  return (
    <Frame ctx={ctx} path={path} field={field}>
      <input
        id={d.base}
        type={kind.type}
        inputMode={kind.inputMode}
        autoComplete={kind.autoComplete ?? "off"}
        className={cx(inputClass, "h-11", isDate && "max-w-xs")}
        value={text(value)}
        placeholder={field.placeholder ?? undefined}
        min={isDate ? dateBound(field.min) : undefined}
        max={isDate ? dateBound(field.max) : undefined}
        aria-invalid={d.invalid || undefined}
        aria-required={field.required || undefined}
        aria-describedby={d.describedBy}
        readOnly={ctx.readOnly}
        onChange={(e) => onChange(e.target.value)}
        onBlur={(e) => ctx.onBlurCheck(field, path, e.target.value)}
      />
    </Frame>
  );
}

function LongTextInput(props: FieldProps) {
  const { field, path, value, onChange, ctx } = props;
  const d = describe(ctx, path, field, field.max_length ? [`${domId(ctx, path)}-count`] : []);
  const length = text(value).length;
  return (
    <Frame
      ctx={ctx}
      path={path}
      field={field}
      footer={
        field.max_length ? (
          <p id={`${d.base}-count`} className={cx("mt-1 text-right text-xs", length > field.max_length ? "text-red-700" : "text-stone-500")}>
            {length} / {field.max_length} characters
          </p>
        ) : null
      }
    >
      <textarea
        id={d.base}
        rows={4}
        className={cx(inputClass, "py-2")}
        value={text(value)}
        placeholder={field.placeholder ?? undefined}
        aria-invalid={d.invalid || undefined}
        aria-required={field.required || undefined}
        aria-describedby={d.describedBy}
        readOnly={ctx.readOnly}
        onChange={(e) => onChange(e.target.value)}
        onBlur={(e) => ctx.onBlurCheck(field, path, e.target.value)}
      />
    </Frame>
  );
}

function NumberInput(props: FieldProps) {
  const { field, path, value, onChange, ctx } = props;
  const unitId = `${domId(ctx, path)}-unit`;
  const d = describe(ctx, path, field, field.unit ? [unitId] : []);
  return (
    <Frame ctx={ctx} path={path} field={field}>
      <div className="flex max-w-xs items-stretch">
        <input
          id={d.base}
          type="text"
          inputMode={field.type === "integer" ? "numeric" : "decimal"}
          autoComplete="off"
          className={cx(inputClass, "h-11 tabular-nums", field.unit && "rounded-r-none")}
          value={text(value)}
          placeholder={field.placeholder ?? undefined}
          aria-invalid={d.invalid || undefined}
          aria-required={field.required || undefined}
          aria-describedby={d.describedBy}
          readOnly={ctx.readOnly}
          onChange={(e) => onChange(e.target.value)}
          onBlur={(e) => ctx.onBlurCheck(field, path, e.target.value)}
        />
        {field.unit && (
          <span
            id={unitId}
            className="inline-flex items-center rounded-r-lg border border-l-0 border-stone-300 bg-stone-50 px-3 text-sm whitespace-nowrap text-stone-600"
          >
            {field.unit}
          </span>
        )}
      </div>
    </Frame>
  );
}

function SelectInput(props: FieldProps) {
  const { field, path, value, onChange, ctx } = props;
  const d = describe(ctx, path, field);
  const current = findOption(field.options, value);
  const index = current === MISSING ? -1 : (field.options ?? []).findIndex((o) => o.value === current);
  return (
    <Frame ctx={ctx} path={path} field={field}>
      <select
        id={d.base}
        className={cx(inputClass, "h-11 pr-8")}
        value={index >= 0 ? String(index) : ""}
        aria-invalid={d.invalid || undefined}
        aria-required={field.required || undefined}
        aria-describedby={d.describedBy}
        disabled={ctx.readOnly}
        onChange={(e) => onChange(e.target.value === "" ? null : field.options![Number(e.target.value)].value)}
      >
        <option value="">{field.placeholder || "Choose…"}</option>
        {(field.options ?? []).map((o, i) => (
          <option key={`${String(o.value)}-${i}`} value={String(i)}>
            {optionText(o)}
          </option>
        ))}
      </select>
    </Frame>
  );
}

const choiceClass =
  "flex min-h-11 cursor-pointer items-center gap-3 rounded-lg border border-stone-300 bg-white px-3 py-2 text-[15px] text-stone-800 " +
  "hover:border-stone-400 has-checked:border-brand-600 has-checked:bg-brand-50 has-focus-visible:ring-2 has-focus-visible:ring-brand-600/40";

function RadioChoice(props: FieldProps) {
  const { field, path, value, onChange, ctx } = props;
  const d = describe(ctx, path, field);
  const current = findOption(field.options, value);
  return (
    <Frame ctx={ctx} path={path} field={field} group>
      <div className="grid gap-2 @lg:grid-cols-2">
        {(field.options ?? []).map((o, i) => (
          <label key={`${String(o.value)}-${i}`} className={choiceClass}>
            <input
              type="radio"
              id={i === 0 ? `${d.base}-0` : undefined}
              name={d.base}
              className="size-4 accent-brand-700"
              checked={current !== MISSING && current === o.value}
              aria-invalid={d.invalid || undefined}
              disabled={ctx.readOnly}
              onChange={() => onChange(o.value)}
            />
            {optionText(o)}
          </label>
        ))}
      </div>
    </Frame>
  );
}

function CheckboxChoice(props: FieldProps) {
  const { field, path, value, onChange, ctx } = props;
  const d = describe(ctx, path, field);
  const chosen = castValue(field, value ?? []);
  const list = chosen === MISSING ? [] : (chosen as unknown[]);
  const options = field.options ?? [];
  const hint =
    field.min_selected || field.max_selected
      ? field.min_selected && field.max_selected
        ? `Choose ${field.min_selected} to ${field.max_selected}.`
        : field.min_selected
          ? `Choose at least ${field.min_selected}.`
          : `Choose at most ${field.max_selected}.`
      : "Choose all that apply.";
  return (
    <Frame ctx={ctx} path={path} field={field} group>
      <p className="-mt-1 mb-2 text-sm text-stone-500">{hint}</p>
      <div className="grid gap-2 @lg:grid-cols-2">
        {options.map((o, i) => (
          <label key={`${String(o.value)}-${i}`} className={choiceClass}>
            <input
              type="checkbox"
              className="size-4 accent-brand-700"
              checked={list.includes(o.value)}
              aria-invalid={d.invalid || undefined}
              disabled={ctx.readOnly}
              onChange={(e) => {
                const next = e.target.checked ? [...list, o.value] : list.filter((v) => v !== o.value);
                onChange(options.map((x) => x.value).filter((v) => next.includes(v)));
              }}
            />
            {optionText(o)}
          </label>
        ))}
      </div>
    </Frame>
  );
}

function YesNo(props: FieldProps) {
  const { field, path, value, onChange, ctx } = props;
  const d = describe(ctx, path, field);
  const current = value === null || value === undefined || value === "" ? MISSING : castValue(field, value);
  return (
    <Frame ctx={ctx} path={path} field={field} group>
      <div className="flex flex-wrap gap-2">
        {[true, false].map((v) => (
          <label key={String(v)} className={cx(choiceClass, "min-w-28")}>
            <input
              type="radio"
              name={d.base}
              className="size-4 accent-brand-700"
              checked={current === v}
              aria-invalid={d.invalid || undefined}
              disabled={ctx.readOnly}
              onChange={() => onChange(v)}
            />
            {v ? "Yes" : "No"}
          </label>
        ))}
      </div>
    </Frame>
  );
}

function FileInput(props: FieldProps) {
  const { field, path, value, onChange, ctx, limitKey } = props;
  const limitsId = `${domId(ctx, path)}-limits`;
  const d = describe(ctx, path, field, [limitsId]);
  const inputRef = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const limit: UploadLimit = ctx.limits[limitKey] ?? { max_bytes: 25 * 1024 * 1024, max_mb: 25, accept: [], multiple: !!field.multiple, max_files: null };
  const files: FileRef[] = (Array.isArray(value) ? value : value ? [value] : []).filter(
    (f): f is FileRef => !!f && typeof f === "object" && "key" in (f as object),
  );
  const full = !limit.multiple ? files.length >= 1 : limit.max_files != null && files.length >= limit.max_files;

  async function choose(list: FileList | null) {
    const chosen = Array.from(list ?? []);
    if (inputRef.current) inputRef.current.value = "";
    if (!chosen.length) return;
    const problems = chosen.map((f) => fileProblem(f, limit)).filter((p): p is string => !!p);
    if (problems.length) {
      ctx.setErrors(path, problems);
      return;
    }
    if (limit.multiple && limit.max_files != null && files.length + chosen.length > limit.max_files) {
      ctx.setErrors(path, [`Please upload at most ${limit.max_files} files`]);
      return;
    }
    ctx.setErrors(path, []);
    const added: FileRef[] = [];
    try {
      for (const file of chosen) {
        setBusy(file.name);
        added.push(await ctx.upload(limitKey, file));
      }
    } catch (e) {
      ctx.setErrors(path, [e instanceof Error ? e.message : String(e)]);
    } finally {
      setBusy(null);
    }
    if (added.length) onChange(limit.multiple ? [...files, ...added] : added[0]);
  }

  const remove = (key: string) => {
    const rest = files.filter((f) => f.key !== key);
    onChange(limit.multiple ? rest : null);
    ctx.setErrors(path, []);
    setTimeout(() => inputRef.current?.focus(), 0);
  };

  return (
    <Frame ctx={ctx} path={path} field={field}>
      <p id={limitsId} className="-mt-1 mb-2 text-sm text-stone-600" data-testid="upload-limits">
        {limitText(limit)}
      </p>
      {files.length > 0 && (
        <ul className="mb-2 space-y-1.5" aria-label={`Files for ${fieldTitle(field)}`}>
          {files.map((f) => (
            <li key={f.key} className="flex items-center gap-2 rounded-lg border border-stone-200 bg-stone-50 px-3 py-2 text-sm">
              <FileText className="size-4 shrink-0 text-stone-500" aria-hidden />
              <span className="min-w-0 flex-1 truncate font-medium text-stone-800" data-testid="uploaded-file">
                {f.name}
              </span>
              <span className="shrink-0 text-stone-500">{formatSize(f.size)}</span>
              {!ctx.readOnly && (
                <button
                  type="button"
                  className="inline-flex size-8 items-center justify-center rounded-md text-stone-500 hover:bg-stone-200 hover:text-red-700"
                  aria-label={`Remove ${f.name}`}
                  title={`Remove ${f.name}`}
                  onClick={() => remove(f.key)}
                >
                  <Trash2 className="size-4" />
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {busy ? (
        <p role="status" className="flex items-center gap-2 text-sm text-stone-600">
          <Loader2 className="size-4 animate-spin" aria-hidden /> Uploading {busy}…
        </p>
      ) : (
        !full &&
        !ctx.readOnly && (
          <div className="flex items-center gap-2">
            <Upload className="size-4 shrink-0 text-stone-500" aria-hidden />
            <input
              ref={inputRef}
              id={d.base}
              type="file"
              accept={acceptAttribute(limit)}
              multiple={limit.multiple}
              aria-invalid={d.invalid || undefined}
              aria-required={field.required || undefined}
              aria-describedby={d.describedBy}
              className="block w-full text-sm text-stone-600 file:mr-3 file:h-10 file:cursor-pointer file:rounded-lg file:border file:border-stone-300 file:bg-white file:px-3 file:text-sm file:font-medium file:text-stone-800 hover:file:bg-stone-100"
              onChange={(e) => void choose(e.target.files)}
            />
          </div>
        )
      )}
    </Frame>
  );
}

function TableInput(props: FieldProps) {
  const { field, path, value, onChange, ctx } = props;
  const d = describe(ctx, path, field);
  const rows: Row[] = Array.isArray(value) ? (value as Row[]) : [];
  const title = fieldTitle(field);
  const max = field.max_rows ?? null;
  const listId = useId();
  const addRef = useRef<HTMLButtonElement>(null);
  const rowsHint =
    field.min_rows && max ? `Add ${field.min_rows} to ${max} rows.` : field.min_rows ? `Add at least ${field.min_rows} row${field.min_rows > 1 ? "s" : ""}.` : max ? `Up to ${max} rows.` : null;

  const setRow = (i: number, row: Row) => onChange(rows.map((r, j) => (j === i ? row : r)));
  const add = () => {
    onChange([...rows, newRow(field)]);
    const next = rows.length;
    setTimeout(() => {
      const first = document.getElementById(`${domId(ctx, `${path}[${next}]`)}`)?.querySelector<HTMLElement>("input, select, textarea");
      first?.focus();
    }, 0);
  };
  const remove = (i: number) => {
    onChange(rows.filter((_, j) => j !== i));
    setTimeout(() => addRef.current?.focus(), 0);
  };

  return (
    <Frame ctx={ctx} path={path} field={field} group>
      {rowsHint && <p className="-mt-1 mb-2 text-sm text-stone-500">{rowsHint}</p>}
      <ol className="space-y-3" id={listId} aria-label={`${title}: ${rows.length} row${rows.length === 1 ? "" : "s"}`}>
        {rows.map((row, i) => (
          <li key={i}>
            <fieldset
              id={domId(ctx, `${path}[${i}]`)}
              className="relative min-w-0 rounded-lg border border-stone-200 bg-stone-50/60 px-3 pb-3 @lg:px-4 @lg:pb-4"
              data-testid="table-row"
            >
              <legend className="float-left w-full py-2.5 pr-28 text-sm font-semibold text-stone-700">
                {title}: row {i + 1}
              </legend>
              {!ctx.readOnly && (
                <button
                  type="button"
                  className="absolute top-1.5 right-1.5 inline-flex h-9 items-center gap-1 rounded-md px-2 text-sm text-stone-600 hover:bg-stone-200 hover:text-red-700"
                  aria-label={`Remove row ${i + 1} of ${title}`}
                  onClick={() => remove(i)}
                >
                  <Trash2 className="size-4" aria-hidden /> Remove
                </button>
              )}
              <div className="clear-both grid gap-4 @lg:grid-cols-2">
                {(field.fields ?? []).map((c) => (
                  <div key={c.id} className={cx(c.type === "long_text" || c.type === "table" || c.type === "multi_select" || c.type === "section" ? "@lg:col-span-2" : "")}>
                    <FieldView
                      field={c}
                      path={`${path}[${i}].${c.id}`}
                      value={row?.[c.id]}
                      onChange={(v) => setRow(i, { ...(row ?? {}), [c.id]: v })}
                      ctx={ctx}
                      limitKey={`${props.limitKey}.${c.id}`}
                    />
                  </div>
                ))}
              </div>
              <Errors id={`${domId(ctx, `${path}[${i}]`)}-error`} messages={ctx.errors[`${path}[${i}]`] ?? []} />
            </fieldset>
          </li>
        ))}
      </ol>
      {!rows.length && <p className="rounded-lg border border-dashed border-stone-300 px-3 py-4 text-center text-sm text-stone-500">No rows yet.</p>}
      {!ctx.readOnly && (
        <button
          ref={addRef}
          type="button"
          className="mt-3 inline-flex h-10 items-center gap-1.5 rounded-lg border border-stone-300 bg-white px-3 text-sm font-medium text-stone-800 shadow-xs hover:bg-stone-100 disabled:cursor-not-allowed disabled:opacity-50"
          disabled={max !== null && rows.length >= max}
          aria-describedby={d.describedBy}
          onClick={add}
        >
          <Plus className="size-4" aria-hidden /> Add a row to {title}
        </button>
      )}
    </Frame>
  );
}
