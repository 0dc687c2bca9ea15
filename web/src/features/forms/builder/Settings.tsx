/**
 * Inputs of the builder's side panel: text, numbers, yes/no, lists, conditions, options and
 * rules. Each writes through `onChange`; an emptied setting is taken out of the form.
 */
import { useEffect, useId, useState } from "react";
import { ArrowDown, ArrowUp, Plus, Trash2 } from "lucide-react";
import { cx } from "../../../lib/cx";
import { Button, IconButton, Input, Textarea, Toggle } from "../../../lib/ui";
import { references, syntaxProblem, HELPERS } from "../expression";
import type { Option, Rule } from "../schema";

export function Setting({ label, hint, error, children, htmlFor }: { label: string; hint?: React.ReactNode; error?: string | null; children: React.ReactNode; htmlFor?: string }) {
  return (
    <div className="space-y-1">
      <label htmlFor={htmlFor} className="block text-xs font-medium text-stone-700">
        {label}
      </label>
      {children}
      {error ? <p className="text-xs text-red-600">{error}</p> : hint ? <p className="text-xs text-stone-500">{hint}</p> : null}
    </div>
  );
}

export function TextSetting({
  label,
  value,
  onChange,
  hint,
  placeholder,
  multiline,
  mono,
  error,
  disabled,
}: {
  label: string;
  value: string | null | undefined;
  onChange: (value: string) => void;
  hint?: React.ReactNode;
  placeholder?: string;
  multiline?: boolean;
  mono?: boolean;
  error?: string | null;
  disabled?: boolean;
}) {
  const id = useId();
  return (
    <Setting label={label} hint={hint} error={error} htmlFor={id}>
      {multiline ? (
        <Textarea id={id} rows={3} value={value ?? ""} placeholder={placeholder} disabled={disabled} invalid={!!error} className={cx(mono && "font-mono text-xs")} onChange={(e) => onChange(e.target.value)} />
      ) : (
        <Input id={id} value={value ?? ""} placeholder={placeholder} disabled={disabled} invalid={!!error} className={cx(mono && "font-mono text-xs")} onChange={(e) => onChange(e.target.value)} />
      )}
    </Setting>
  );
}

/** A number typed as text: kept while it is being typed, written once it reads as a number. */
export function NumberSetting({
  label,
  value,
  onChange,
  hint,
  whole,
  min,
  disabled,
}: {
  label: string;
  value: number | null | undefined;
  onChange: (value: number | undefined) => void;
  hint?: string;
  whole?: boolean;
  min?: number;
  disabled?: boolean;
}) {
  const id = useId();
  const [text, setText] = useState(value === null || value === undefined ? "" : String(value));
  useEffect(() => {
    const current = text.trim() === "" ? undefined : Number(text);
    if (current !== (value ?? undefined)) setText(value === null || value === undefined ? "" : String(value));
    // only when the value changes from outside (undo, another field)
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  const parsed = text.trim() === "" ? undefined : Number(text.trim());
  const bad = parsed !== undefined && (Number.isNaN(parsed) || (whole && !Number.isInteger(parsed)) || (min !== undefined && parsed < min));
  return (
    <Setting label={label} hint={hint} error={bad ? (whole ? "A whole number, please" : "A number, with a dot for decimals") + (min !== undefined ? ` (at least ${min})` : "") : null} htmlFor={id}>
      <Input
        id={id}
        inputMode={whole ? "numeric" : "decimal"}
        value={text}
        disabled={disabled}
        invalid={bad}
        onChange={(e) => {
          setText(e.target.value);
          const t = e.target.value.trim();
          if (t === "") onChange(undefined);
          else {
            const n = Number(t);
            if (!Number.isNaN(n) && (!whole || Number.isInteger(n)) && (min === undefined || n >= min)) onChange(n);
          }
        }}
      />
    </Setting>
  );
}

export function ToggleSetting({ label, hint, checked, onChange, disabled }: { label: string; hint?: string; checked: boolean; onChange: (v: boolean) => void; disabled?: boolean }) {
  const id = useId();
  return (
    <div className="flex items-start justify-between gap-3">
      <div>
        <label htmlFor={id} className="block text-xs font-medium text-stone-700">
          {label}
        </label>
        {hint && <p className="text-xs text-stone-500">{hint}</p>}
      </div>
      <Toggle id={id} label={label} checked={checked} onChange={onChange} disabled={disabled} />
    </div>
  );
}

/** A list typed with commas: `.pdf, image/*`. */
export function ListSetting({ label, value, onChange, hint, placeholder, disabled }: { label: string; value: string[] | null | undefined; onChange: (v: string[] | undefined) => void; hint?: string; placeholder?: string; disabled?: boolean }) {
  const [text, setText] = useState((value ?? []).join(", "));
  useEffect(() => {
    const mine = text.split(",").map((x) => x.trim()).filter(Boolean);
    if (JSON.stringify(mine) !== JSON.stringify(value ?? [])) setText((value ?? []).join(", "));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [value]);
  return (
    <TextSetting
      label={label}
      hint={hint}
      placeholder={placeholder}
      value={text}
      disabled={disabled}
      onChange={(t) => {
        setText(t);
        const list = t.split(",").map((x) => x.trim()).filter(Boolean);
        onChange(list.length ? list : undefined);
      }}
    />
  );
}

const KNOWN = new Set([...Object.keys(HELPERS), "answers", "row", "range", "namespace"]);

/** Why a condition or rule cannot be used, or null. */
export function expressionProblem(source: string, names: string[]): string | null {
  if (!source.trim()) return null;
  const problem = syntaxProblem(source);
  if (problem) return `This cannot be read: ${problem}`;
  const r = references(source);
  const unknown = [...r.bare, ...r.answers, ...r.row].filter((n) => !names.includes(n) && !KNOWN.has(n));
  return unknown.length ? `'${unknown[0]}' is not a field of this form` : null;
}

/** A condition or rule: the expression, a check as it is typed, and the field ids to use in it. */
export function ExpressionSetting({
  label,
  value,
  onChange,
  names,
  hint,
  placeholder,
  disabled,
}: {
  label: string;
  value: string | null | undefined;
  onChange: (v: string) => void;
  names: string[];
  hint?: string;
  placeholder?: string;
  disabled?: boolean;
}) {
  const id = useId();
  const problem = expressionProblem(value ?? "", names);
  return (
    <Setting label={label} htmlFor={id} error={problem} hint={hint}>
      <Input id={id} className="font-mono text-xs" value={value ?? ""} placeholder={placeholder} invalid={!!problem} disabled={disabled} onChange={(e) => onChange(e.target.value)} spellCheck={false} />
      {names.length > 0 && !disabled && (
        <div className="flex flex-wrap gap-1 pt-0.5" aria-label="Fields to use">
          {names.slice(0, 24).map((n) => (
            <button
              key={n}
              type="button"
              className="rounded bg-stone-100 px-1.5 py-0.5 font-mono text-[11px] text-stone-600 hover:bg-brand-50 hover:text-brand-800"
              onClick={() => onChange(`${(value ?? "").trimEnd()}${value?.trim() ? " " : ""}${n}`)}
            >
              {n}
            </button>
          ))}
        </div>
      )}
    </Setting>
  );
}

/** The options of a choice: value (what is stored) and label (what is shown), in order. */
export function OptionsEditor({ options, onChange, disabled }: { options: Option[]; onChange: (o: Option[]) => void; disabled?: boolean }) {
  const set = (i: number, o: Option) => onChange(options.map((x, j) => (j === i ? o : x)));
  const move = (i: number, step: number) => {
    const j = i + step;
    if (j < 0 || j >= options.length) return;
    const next = [...options];
    [next[i], next[j]] = [next[j], next[i]];
    onChange(next);
  };
  const nextValue = () => {
    const taken = new Set(options.map((o) => String(o.value)));
    for (let n = options.length + 1; ; n++) if (!taken.has(`option_${n}`)) return `option_${n}`;
  };
  return (
    <fieldset className="space-y-1.5">
      <legend className="mb-1 text-xs font-medium text-stone-700">Options</legend>
      <div className="grid grid-cols-[1fr_1fr_auto] gap-1 text-[11px] text-stone-500">
        <span>Shown as</span>
        <span>Stored as</span>
        <span className="w-20" />
      </div>
      {options.map((o, i) => (
        <div key={i} className="grid grid-cols-[1fr_1fr_auto] items-center gap-1" data-testid="option-row">
          <Input aria-label={`Option ${i + 1} label`} value={o.label ?? ""} placeholder={String(o.value)} disabled={disabled} onChange={(e) => set(i, { ...o, label: e.target.value || undefined })} />
          <Input
            aria-label={`Option ${i + 1} value`}
            className="font-mono text-xs"
            value={String(o.value)}
            disabled={disabled}
            onChange={(e) => {
              const t = e.target.value;
              // a number stays a number (the answer keeps the option's type)
              const value = typeof o.value === "number" && t.trim() !== "" && !Number.isNaN(Number(t)) ? Number(t) : t;
              set(i, { ...o, value });
            }}
          />
          <div className="flex w-20 items-center">
            <IconButton label={`Move option ${i + 1} up`} disabled={disabled || i === 0} onClick={() => move(i, -1)} className="size-6">
              <ArrowUp className="size-3.5" />
            </IconButton>
            <IconButton label={`Move option ${i + 1} down`} disabled={disabled || i === options.length - 1} onClick={() => move(i, 1)} className="size-6">
              <ArrowDown className="size-3.5" />
            </IconButton>
            <IconButton label={`Remove option ${i + 1}`} disabled={disabled} onClick={() => onChange(options.filter((_, j) => j !== i))} className="size-6">
              <Trash2 className="size-3.5" />
            </IconButton>
          </div>
        </div>
      ))}
      {!disabled && (
        <Button size="sm" icon={<Plus className="size-3.5" />} onClick={() => onChange([...options, { value: nextValue(), label: `Option ${options.length + 1}` }])}>
          Add option
        </Button>
      )}
    </fieldset>
  );
}

/** Rules across fields: an expression that must hold, the message, and the fields it is shown at. */
export function RulesEditor({ rules, onChange, names, disabled, what }: { rules: Rule[]; onChange: (r: Rule[]) => void; names: string[]; disabled?: boolean; what: string }) {
  const set = (i: number, r: Rule) => onChange(rules.map((x, j) => (j === i ? r : x)));
  return (
    <fieldset className="space-y-2">
      <legend className="mb-1 text-xs font-medium text-stone-700">Rules {what}</legend>
      {rules.length === 0 && <p className="text-xs text-stone-500">A rule checks answers together, for example that a total adds up. The server checks it on submission.</p>}
      {rules.map((r, i) => (
        <div key={i} className="space-y-1.5 rounded-md border border-stone-200 bg-stone-50 p-2" data-testid="rule">
          <ExpressionSetting label={`Rule ${i + 1}: must hold`} value={r.expression} names={names} disabled={disabled} placeholder="period_end > period_start" onChange={(v) => set(i, { ...r, expression: v })} />
          <TextSetting label="Message when it does not" value={r.message} disabled={disabled} onChange={(v) => set(i, { ...r, message: v })} />
          <ListSetting label="Shown at the fields" value={r.fields} disabled={disabled} placeholder={names[0]} onChange={(v) => set(i, { ...r, fields: v ?? [] })} />
          {!disabled && (
            <Button size="sm" variant="ghost" icon={<Trash2 className="size-3.5" />} onClick={() => onChange(rules.filter((_, j) => j !== i))}>
              Remove rule
            </Button>
          )}
        </div>
      ))}
      {!disabled && (
        <Button size="sm" icon={<Plus className="size-3.5" />} onClick={() => onChange([...rules, { expression: "", message: "", fields: [] }])}>
          Add rule
        </Button>
      )}
    </fieldset>
  );
}
