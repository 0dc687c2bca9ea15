/**
 * Renders a node Config's JSON Schema as a form: text, numbers, yes/no, selects from enums,
 * lists, nested objects, key/value maps, unions, expressions and templates. A plugin node
 * gets its panel from its schema with no front-end code (DESIGN §4).
 *
 * The decisions (which input, labels, defaults, problems) are pure helpers in `schema.ts`.
 */
import { memo, useEffect, useId, useState, type ReactNode } from "react";
import { ArrowDown, ArrowUp, Plus, Trash2 } from "lucide-react";
import { cx } from "../../lib/cx";
import { Button, IconButton, Input, Select, Textarea, Toggle } from "../../lib/ui";
import type { Problem } from "../../client/types";
import { ExpressionInput } from "./ExpressionInput";
import { Suggestions, suggests } from "./suggestions";
import {
  describeField,
  describeObject,
  emptyValue,
  fieldKind,
  humanize,
  localProblem,
  parseNumber,
  problemsAt,
  resolve,
  variantFor,
  withValue,
  type FieldSpec,
  type JsonSchema,
} from "./schema";

type Path = (string | number)[];

interface Ctx {
  root: JsonSchema;
  problems: readonly Problem[];
  disabled?: boolean;
}

export const SchemaForm = memo(function SchemaForm({
  schema,
  value,
  onChange,
  problems = [],
  disabled,
}: {
  schema: JsonSchema;
  value: Record<string, unknown>;
  /** The new config, and the top-level key that changed (to merge quick edits in undo). */
  onChange: (value: Record<string, unknown>, key: string) => void;
  problems?: readonly Problem[];
  disabled?: boolean;
}) {
  const ctx: Ctx = { root: schema, problems, disabled };
  const fields = describeObject(schema, schema).filter((f) => !f.fixed);
  if (fields.length === 0) return <p className="text-sm text-stone-500">This node has no settings.</p>;
  return (
    <FieldList
      fields={fields}
      gap="space-y-4"
      render={(f) => <FieldRow key={f.key} field={f} value={value[f.key]} path={[f.key]} ctx={ctx} onChange={(v) => onChange(withValue(value, f.key, v), f.key)} />}
    />
  );
});

/** Fields in schema order; those with an `x-group` ("advanced") folded under their group's name. */
function FieldList({ fields, render, gap }: { fields: FieldSpec[]; render: (f: FieldSpec) => ReactNode; gap: string }) {
  const main = fields.filter((f) => !f.group);
  const groups = [...new Set(fields.filter((f) => f.group).map((f) => f.group!))];
  return (
    <div className={gap}>
      {main.map(render)}
      {groups.map((g) => (
        <details key={g} className="group rounded-md border border-stone-200">
          <summary className="cursor-pointer list-none px-2.5 py-1.5 text-xs font-medium text-stone-600 select-none hover:text-stone-900">
            <span className="mr-1 inline-block transition-transform group-open:rotate-90">›</span>
            {humanize(g)} settings
          </summary>
          <div className={cx(gap, "border-t border-stone-200 p-2.5")}>{fields.filter((f) => f.group === g).map(render)}</div>
        </details>
      ))}
    </div>
  );
}

function FieldRow({
  field,
  value,
  onChange,
  path,
  ctx,
  compact,
}: {
  field: FieldSpec;
  value: unknown;
  onChange: (value: unknown) => void;
  path: Path;
  ctx: Ctx;
  compact?: boolean;
}) {
  const id = useId();
  const server = problemsAt(ctx.problems, path);
  const local = localProblem(field, value);
  // "Required" is shown only once the server says so too, so a new node is not all red.
  const shownLocal = local && (local !== "Required" || server.length) ? local : null;
  const error = server[0] ?? shownLocal;
  const boolean = field.kind === "boolean";
  return (
    <div className={cx("space-y-1", compact && "min-w-0 flex-1")} data-field={path.join(".")}>
      {!boolean && (
        <label htmlFor={id} className="flex items-baseline gap-1 text-xs font-medium text-stone-700">
          {field.label}
          {field.required && !field.hasDefault && (
            <span className="text-red-600" aria-label="required">
              *
            </span>
          )}
          {(field.kind === "expression" || field.kind === "template") && (
            <span className="ml-1 rounded bg-violet-50 px-1 text-[10px] font-normal text-violet-700">
              {field.kind === "expression" ? "expression" : "text with {{ }}"}
            </span>
          )}
        </label>
      )}
      <FieldInput id={id} field={field} value={value} onChange={onChange} path={path} ctx={ctx} invalid={!!error} />
      {error ? (
        <p className="text-xs text-red-600" role="alert" data-testid="field-problem">
          {error}
        </p>
      ) : field.description && !compact ? (
        <p className="text-xs text-stone-500">{field.description}</p>
      ) : null}
    </div>
  );
}

function placeholderFor(field: FieldSpec): string | undefined {
  if (field.hasDefault && field.default !== null && field.default !== undefined && field.default !== "") {
    return `Default: ${typeof field.default === "string" ? field.default : JSON.stringify(field.default)}`;
  }
  const ex = field.schema.examples?.[0];
  return ex !== undefined ? `e.g. ${typeof ex === "string" ? ex : JSON.stringify(ex)}` : undefined;
}

function FieldInput({
  id,
  field,
  value,
  onChange,
  path,
  ctx,
  invalid,
}: {
  id: string;
  field: FieldSpec;
  value: unknown;
  onChange: (value: unknown) => void;
  path: Path;
  ctx: Ctx;
  invalid?: boolean;
}) {
  const { disabled } = ctx;
  switch (field.kind) {
    case "expression":
    case "template":
      return (
        <ExpressionInput
          id={id}
          mode={field.kind}
          value={typeof value === "string" ? value : value === undefined || value === null ? "" : JSON.stringify(value)}
          onChange={(v) => onChange(v === "" ? undefined : v)}
          invalid={invalid}
          disabled={disabled}
          placeholder={placeholderFor(field)}
        />
      );
    case "string":
    case "secret": {
      const format = field.schema.format;
      const listed = field.kind === "string" && suggests(format);
      return (
        <>
          <Input
            id={id}
            className="nodrag"
            type={field.kind === "secret" ? "password" : format === "email" ? "email" : format === "uri" ? "url" : "text"}
            autoComplete="off"
            list={listed ? `${id}-choices` : undefined}
            value={typeof value === "string" ? value : value === undefined || value === null ? "" : String(value)}
            onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
            placeholder={placeholderFor(field)}
            invalid={invalid}
            disabled={disabled}
          />
          {listed && <Suggestions id={`${id}-choices`} format={format} />}
        </>
      );
    }
    case "text":
      return (
        <Textarea
          id={id}
          className="nodrag"
          rows={3}
          value={typeof value === "string" ? value : ""}
          onChange={(e) => onChange(e.target.value === "" ? undefined : e.target.value)}
          placeholder={placeholderFor(field)}
          invalid={invalid}
          disabled={disabled}
        />
      );
    case "number":
    case "integer":
      return <NumberInput id={id} value={value} integer={field.kind === "integer"} onChange={onChange} placeholder={placeholderFor(field)} invalid={invalid} disabled={disabled} schema={field.schema} />;
    case "boolean": {
      const checked = value === undefined ? field.default === true : value === true;
      return (
        <div className="flex items-center justify-between gap-3">
          <label htmlFor={id} className="text-xs font-medium text-stone-700">
            {field.label}
          </label>
          <Toggle id={id} label={field.label} checked={checked} onChange={(v) => onChange(v)} disabled={disabled} />
        </div>
      );
    }
    case "enum": {
      const options = field.options ?? [];
      const index = options.findIndex((o) => o.value === value);
      const unset = value === undefined;
      return (
        <Select
          id={id}
          className="nodrag"
          value={unset ? "" : index < 0 ? "__other" : String(index)}
          onChange={(e) => onChange(e.target.value === "" ? undefined : options[Number(e.target.value)]?.value)}
          disabled={disabled}
          aria-invalid={invalid || undefined}
        >
          {(unset || !field.required || field.hasDefault) && (
            <option value="">
              {field.hasDefault ? `Default (${String(field.default ?? "none")})` : field.required ? "Choose…" : "Not set"}
            </option>
          )}
          {index < 0 && !unset && <option value="__other">{String(value)}</option>}
          {options.map((o, i) => (
            <option key={i} value={String(i)}>
              {o.label}
            </option>
          ))}
        </Select>
      );
    }
    case "multi-enum": {
      const list = Array.isArray(value) ? value : [];
      return (
        <div className="flex flex-wrap gap-x-4 gap-y-1.5" role="group" aria-labelledby={id}>
          {(field.options ?? []).map((o, i) => {
            const on = list.includes(o.value);
            return (
              <label key={i} className="flex items-center gap-1.5 text-sm text-stone-700">
                <input
                  type="checkbox"
                  className="nodrag size-4 accent-brand-700"
                  checked={on}
                  disabled={disabled}
                  onChange={() => {
                    const next = on ? list.filter((v) => v !== o.value) : [...list, o.value];
                    onChange(next.length || field.required ? next : undefined);
                  }}
                />
                {o.label}
              </label>
            );
          })}
        </div>
      );
    }
    case "list":
      return <ListInput id={id} field={field} value={value} onChange={onChange} path={path} ctx={ctx} />;
    case "object":
      return <ObjectInput schema={field.schema} value={value} onChange={onChange} path={path} ctx={ctx} />;
    case "map":
      return <MapInput field={field} value={value} onChange={onChange} path={path} ctx={ctx} />;
    case "union":
      return <UnionInput id={id} field={field} value={value} onChange={onChange} path={path} ctx={ctx} invalid={invalid} />;
    default:
      return <JsonInput id={id} value={value} onChange={onChange} invalid={invalid} disabled={disabled} />;
  }
}

function NumberInput({
  id,
  value,
  integer,
  onChange,
  placeholder,
  invalid,
  disabled,
  schema,
}: {
  id: string;
  value: unknown;
  integer: boolean;
  onChange: (v: unknown) => void;
  placeholder?: string;
  invalid?: boolean;
  disabled?: boolean;
  schema: JsonSchema;
}) {
  const shown = value === undefined || value === null ? "" : String(value);
  const [text, setText] = useState(shown);
  // Follow outside changes (undo), but keep what is being typed ("0." stays "0.").
  useEffect(() => {
    const parsed = parseNumber(text, integer);
    if (parsed !== value && !(parsed === undefined && (value === undefined || value === null))) setText(shown);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <Input
      id={id}
      className="nodrag"
      inputMode={integer ? "numeric" : "decimal"}
      value={text}
      onChange={(e) => {
        setText(e.target.value);
        onChange(parseNumber(e.target.value, integer));
      }}
      placeholder={placeholder ?? rangeHint(schema)}
      invalid={invalid}
      disabled={disabled}
    />
  );
}

function rangeHint(s: JsonSchema): string | undefined {
  if (s.minimum !== undefined && s.maximum !== undefined) return `From ${s.minimum} to ${s.maximum}`;
  if (s.minimum !== undefined) return `At least ${s.minimum}`;
  if (s.maximum !== undefined) return `At most ${s.maximum}`;
  return undefined;
}

function singular(label: string): string {
  const l = label.toLowerCase();
  if (l.endsWith("ies")) return l.slice(0, -3) + "y";
  if (l.endsWith("ses")) return l.slice(0, -2);
  if (l.endsWith("s") && !l.endsWith("ss")) return l.slice(0, -1);
  return "item";
}

function ListInput({
  id,
  field,
  value,
  onChange,
  path,
  ctx,
}: {
  id: string;
  field: FieldSpec;
  value: unknown;
  onChange: (v: unknown) => void;
  path: Path;
  ctx: Ctx;
}) {
  const list = Array.isArray(value) ? value : [];
  const itemSchema = resolve(field.schema.items as JsonSchema, ctx.root);
  const itemField = describeField("item", itemSchema, ctx.root, true);
  const isObject = itemField.kind === "object";
  const set = (next: unknown[]) => onChange(next.length || field.required ? next : undefined);
  const move = (i: number, d: number) => {
    const next = [...list];
    [next[i], next[i + d]] = [next[i + d], next[i]];
    set(next);
  };
  return (
    <div className="space-y-1.5" id={id} role="group">
      {list.map((item, i) => (
        <div key={i} className={cx("flex items-start gap-1", isObject && "rounded-md border border-stone-200 bg-stone-50/60 p-2")}>
          <div className="min-w-0 flex-1">
            {isObject ? (
              <ObjectInput schema={itemSchema} value={item} onChange={(v) => set(list.map((x, j) => (j === i ? v : x)))} path={[...path, i]} ctx={ctx} />
            ) : (
              <FieldRowless field={itemField} value={item} onChange={(v) => set(list.map((x, j) => (j === i ? (v === undefined ? emptyValue(itemSchema, ctx.root) : v) : x)))} path={[...path, i]} ctx={ctx} />
            )}
          </div>
          {!ctx.disabled && (
            <div className={cx("flex shrink-0", isObject ? "flex-col" : "items-center")}>
              <IconButton label={`Move ${singular(field.label)} ${i + 1} up`} disabled={i === 0} onClick={() => move(i, -1)} className="size-7">
                <ArrowUp className="size-3.5" />
              </IconButton>
              <IconButton label={`Move ${singular(field.label)} ${i + 1} down`} disabled={i === list.length - 1} onClick={() => move(i, 1)} className="size-7">
                <ArrowDown className="size-3.5" />
              </IconButton>
              <IconButton label={`Remove ${singular(field.label)} ${i + 1}`} onClick={() => set(list.filter((_, j) => j !== i))} className="size-7 hover:text-red-600">
                <Trash2 className="size-3.5" />
              </IconButton>
            </div>
          )}
        </div>
      ))}
      {!ctx.disabled && (
        <Button size="sm" variant="ghost" icon={<Plus className="size-3.5" />} onClick={() => set([...list, emptyValue(itemSchema, ctx.root)])} className="text-brand-700">
          Add {singular(field.label)}
        </Button>
      )}
    </div>
  );
}

/** A field's input without its label, for list items and map values. */
function FieldRowless({ field, value, onChange, path, ctx }: { field: FieldSpec; value: unknown; onChange: (v: unknown) => void; path: Path; ctx: Ctx }) {
  const id = useId();
  const server = problemsAt(ctx.problems, path);
  return (
    <div>
      <FieldInput id={id} field={field} value={value} onChange={onChange} path={path} ctx={ctx} invalid={server.length > 0} />
      {server[0] && <p className="mt-0.5 text-xs text-red-600">{server[0]}</p>}
    </div>
  );
}

function ObjectInput({ schema, value, onChange, path, ctx }: { schema: JsonSchema; value: unknown; onChange: (v: unknown) => void; path: Path; ctx: Ctx }) {
  const obj = value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const fields = describeObject(schema, ctx.root).filter((f) => !f.fixed);
  const nested = path.length > 1 || typeof path[0] === "number";
  if (!fields.length) return null;
  return (
    <div className={cx(!nested && "rounded-md border border-stone-200 p-2.5")}>
      <FieldList
        fields={fields}
        gap="space-y-3"
        render={(f) => <FieldRow key={f.key} field={f} value={obj[f.key]} path={[...path, f.key]} ctx={ctx} onChange={(v) => onChange(withValue(obj, f.key, v))} />}
      />
    </div>
  );
}

function MapInput({ field, value, onChange, path, ctx }: { field: FieldSpec; value: unknown; onChange: (v: unknown) => void; path: Path; ctx: Ctx }) {
  const obj = value && typeof value === "object" && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const entries = Object.entries(obj);
  const valueSchema = resolve(field.schema.additionalProperties as JsonSchema, ctx.root);
  const valueField = describeField("value", valueSchema, ctx.root, true);
  const set = (pairs: [string, unknown][]) => onChange(pairs.length || field.required ? Object.fromEntries(pairs) : undefined);
  return (
    <div className="space-y-1.5">
      {entries.map(([k, v], i) => (
        <div key={i} className="flex items-start gap-1">
          <Input
            className="nodrag w-2/5 font-mono text-xs"
            aria-label={`${field.label} key ${i + 1}`}
            value={k}
            disabled={ctx.disabled}
            onChange={(e) => set(entries.map((p, j) => (j === i ? [e.target.value, p[1]] : p)))}
          />
          <div className="min-w-0 flex-1">
            <FieldRowless field={valueField} value={v} path={[...path, k]} ctx={ctx} onChange={(nv) => set(entries.map((p, j) => (j === i ? [p[0], nv ?? ""] : p)))} />
          </div>
          {!ctx.disabled && (
            <IconButton label={`Remove ${k || "entry"}`} onClick={() => set(entries.filter((_, j) => j !== i))} className="size-8 hover:text-red-600">
              <Trash2 className="size-3.5" />
            </IconButton>
          )}
        </div>
      ))}
      {!ctx.disabled && (
        <Button
          size="sm"
          variant="ghost"
          icon={<Plus className="size-3.5" />}
          className="text-brand-700"
          onClick={() => {
            let n = entries.length + 1;
            while (`key${n}` in obj) n++;
            set([...entries, [`key${n}`, emptyValue(valueSchema, ctx.root)]]);
          }}
        >
          Add entry
        </Button>
      )}
    </div>
  );
}

function UnionInput({ id, field, value, onChange, path, ctx, invalid }: { id: string; field: FieldSpec; value: unknown; onChange: (v: unknown) => void; path: Path; ctx: Ctx; invalid?: boolean }) {
  const variants = field.variants ?? [];
  const [chosen, setChosen] = useState(() => variantFor(value, variants, ctx.root));
  const index = value === undefined ? chosen : variantFor(value, variants, ctx.root);
  const variant = variants[index];
  if (!variant) return <JsonInput id={id} value={value} onChange={onChange} invalid={invalid} disabled={ctx.disabled} />;
  const inner: FieldSpec = { ...describeField(field.key, variant.schema, ctx.root, field.required), label: field.label };
  return (
    <div className="space-y-1">
      {variants.length > 3 ? (
        <Select
          aria-label={`${field.label}: kind of value`}
          value={String(index)}
          disabled={ctx.disabled}
          className="nodrag h-7 text-xs"
          onChange={(e) => {
            const i = Number(e.target.value);
            setChosen(i);
            onChange(fieldKind(variants[i].schema, ctx.root) === "json" ? undefined : emptyValue(variants[i].schema, ctx.root));
          }}
        >
          {variants.map((v, i) => (
            <option key={i} value={i}>
              {v.label}
            </option>
          ))}
        </Select>
      ) : variants.length > 1 && (
        <div className="flex gap-0.5 rounded-md bg-stone-100 p-0.5 text-[11px]" role="radiogroup" aria-label={`${field.label}: kind of value`}>
          {variants.map((v, i) => (
            <button
              key={i}
              type="button"
              role="radio"
              aria-checked={i === index}
              disabled={ctx.disabled}
              className={cx("flex-1 rounded px-2 py-0.5", i === index ? "bg-white font-medium text-stone-800 shadow-xs" : "text-stone-500 hover:text-stone-800")}
              onClick={() => {
                if (i === index) return;
                setChosen(i);
                onChange(fieldKind(v.schema, ctx.root) === "json" ? undefined : emptyValue(v.schema, ctx.root));
              }}
            >
              {v.label}
            </button>
          ))}
        </div>
      )}
      {variants.length > 1 && variant.schema.description && variant.schema.description !== field.description && (
        <p className="text-[11px] text-stone-500">{variant.schema.description}</p>
      )}
      <FieldInput id={id} field={inner} value={value} onChange={onChange} path={path} ctx={ctx} invalid={invalid} />
    </div>
  );
}

function JsonInput({ id, value, onChange, invalid, disabled }: { id: string; value: unknown; onChange: (v: unknown) => void; invalid?: boolean; disabled?: boolean }) {
  const shown = value === undefined ? "" : JSON.stringify(value, null, 2);
  const [text, setText] = useState(shown);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    try {
      if (text.trim() === "" ? value !== undefined : JSON.stringify(JSON.parse(text)) !== JSON.stringify(value)) setText(shown);
    } catch {
      /* keep what is being typed */
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <div>
      <Textarea
        id={id}
        className="nodrag font-mono text-xs"
        rows={Math.min(8, Math.max(2, text.split("\n").length))}
        value={text}
        spellCheck={false}
        invalid={invalid || !!error}
        disabled={disabled}
        placeholder="JSON value"
        onChange={(e) => {
          setText(e.target.value);
          if (e.target.value.trim() === "") {
            setError(null);
            onChange(undefined);
            return;
          }
          try {
            onChange(JSON.parse(e.target.value));
            setError(null);
          } catch {
            setError("Not valid JSON yet");
          }
        }}
      />
      {error && <p className="mt-0.5 text-xs text-amber-700">{error}</p>}
    </div>
  );
}
