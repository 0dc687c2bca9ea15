/**
 * An input for expressions (`validate_1.score > 0.8`) and templates (`Hello {{ item.name }}`)
 * that suggests what is in scope: upstream node ids, their known output fields, `item`,
 * `trigger`, `vars`. Arrow keys move in the list, Enter or Tab takes a suggestion.
 */
import { createContext, useContext, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { Braces } from "lucide-react";
import { cx } from "../../lib/cx";
import { insideTemplate, suggest, tokenBefore, type Suggestion } from "./schema";

export interface ExpressionScope {
  /** Upstream node id → its known output fields (from the last run or pinned data). */
  upstream: Record<string, string[]>;
  /** Fields of the items this node receives. */
  itemFields: string[];
}

export const ExpressionScopeContext = createContext<ExpressionScope>({ upstream: {}, itemFields: [] });

export function ExpressionInput({
  id,
  value,
  onChange,
  mode,
  invalid,
  placeholder,
  disabled,
}: {
  id?: string;
  value: string;
  onChange: (value: string) => void;
  mode: "expression" | "template";
  invalid?: boolean;
  placeholder?: string;
  disabled?: boolean;
}) {
  const scope = useContext(ExpressionScopeContext);
  const ref = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const [focused, setFocused] = useState(false);
  const [cursor, setCursor] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);

  const inScope = mode === "expression" || insideTemplate(value, cursor);
  const token = tokenBefore(value, cursor);
  const suggestions: Suggestion[] = useMemo(
    () => (focused && inScope && !dismissed && token ? suggest(token, scope.upstream, scope.itemFields).slice(0, 8) : []),
    [focused, inScope, dismissed, token, scope],
  );
  const open = suggestions.length > 0;

  const place = (text: string, caret: number) => {
    onChange(text);
    requestAnimationFrame(() => {
      const el = ref.current;
      if (!el) return;
      el.focus();
      el.setSelectionRange(caret, caret);
      setCursor(caret);
    });
  };

  /** Replaces the name before the cursor with `name` (wrapped in {{ }} when a template needs it). */
  const insert = (name: string) => {
    const el = ref.current;
    const at = el ? el.selectionStart : value.length;
    const before = value.slice(0, at);
    const after = value.slice(at);
    const tok = tokenBefore(value, at);
    const head = before.slice(0, before.length - tok.length);
    const wrap = mode === "template" && !insideTemplate(value, at);
    const piece = wrap ? `{{ ${name} }}` : name;
    place(head + piece + after, head.length + piece.length);
    setDismissed(false);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (open) {
      if (e.key === "ArrowDown") {
        e.preventDefault();
        setActive((active + 1) % suggestions.length);
        return;
      }
      if (e.key === "ArrowUp") {
        e.preventDefault();
        setActive((active - 1 + suggestions.length) % suggestions.length);
        return;
      }
      if (e.key === "Enter" || e.key === "Tab") {
        e.preventDefault();
        insert(suggestions[Math.min(active, suggestions.length - 1)].value);
        return;
      }
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        setDismissed(true);
        return;
      }
    }
    if (e.key === "Enter" && !e.shiftKey && mode === "expression") e.preventDefault();
  };

  const track = () => {
    const el = ref.current;
    if (el) setCursor(el.selectionStart);
  };

  const names = Object.entries(scope.upstream);
  const rows = Math.min(4, Math.max(1, value.split("\n").length));

  return (
    <div className="relative">
      <div className="relative">
        <textarea
          ref={ref}
          id={id}
          rows={rows}
          value={value}
          disabled={disabled}
          placeholder={placeholder ?? (mode === "expression" ? "e.g. validate_1.score > 0.8" : "Text, with {{ expressions }}")}
          spellCheck={false}
          role="combobox"
          aria-expanded={open}
          aria-controls={listId}
          aria-autocomplete="list"
          aria-invalid={invalid || undefined}
          data-expression={mode}
          className={cx(
            "nodrag block w-full resize-y rounded-md border bg-white py-1.5 pr-8 pl-2.5 font-mono text-[12.5px] leading-5 text-stone-800 shadow-xs focus:outline-none focus:ring-2",
            invalid ? "border-red-400 focus:ring-red-500/20" : "border-stone-300 focus:border-brand-600 focus:ring-brand-600/20",
            mode === "expression" && "bg-violet-50/30",
          )}
          onChange={(e) => {
            onChange(e.target.value);
            setCursor(e.target.selectionStart);
            setDismissed(false);
            setActive(0);
          }}
          onKeyDown={onKeyDown}
          onKeyUp={track}
          onClick={track}
          onFocus={() => {
            setFocused(true);
            track();
          }}
          onBlur={() => setTimeout(() => setFocused(false), 150)}
        />
        <span
          className="pointer-events-none absolute top-1.5 right-2 text-[10px] font-semibold text-violet-500"
          title={mode === "expression" ? "Expression" : "Text with {{ }} expressions"}
          aria-hidden
        >
          {mode === "expression" ? "fx" : <Braces className="size-3.5" />}
        </span>
      </div>
      {open && (
        <ul
          id={listId}
          role="listbox"
          className="absolute z-30 mt-1 max-h-56 w-full overflow-y-auto rounded-md border border-stone-200 bg-white py-1 text-xs shadow-lg"
        >
          {suggestions.map((s, i) => (
            <li
              key={s.value}
              role="option"
              aria-selected={i === active}
              className={cx("flex cursor-pointer items-center justify-between gap-2 px-2.5 py-1", i === active ? "bg-brand-50" : "hover:bg-stone-50")}
              onMouseDown={(e) => {
                e.preventDefault();
                insert(s.value);
              }}
            >
              <span className="font-mono text-stone-800">{s.value}</span>
              <span className="truncate text-stone-400">{s.detail}</span>
            </li>
          ))}
        </ul>
      )}
      {focused && !disabled && (
        <div className="mt-1 rounded-md bg-stone-50 px-2 py-1.5 text-[11px] text-stone-500" data-testid="expression-hints">
          <div className="mb-1">
            {mode === "template" ? (
              <>
                Put expressions in <code className="font-mono text-violet-700">{"{{ }}"}</code>. Click a name to insert it.
              </>
            ) : (
              <>Type a name to see suggestions, or click one:</>
            )}
          </div>
          <div className="flex flex-wrap gap-1">
            {["item", "trigger", "vars"].map((n) => (
              <HintChip key={n} label={n} onPick={() => insert(n)} />
            ))}
            {names.map(([node, fields]) => (
              <span key={node} className="contents">
                <HintChip label={node} strong onPick={() => insert(node)} />
                {fields.slice(0, 6).map((f) => (
                  <HintChip key={f} label={`${node}.${f}`} onPick={() => insert(`${node}.${f}`)} />
                ))}
              </span>
            ))}
            {scope.itemFields.slice(0, 6).map((f) => (
              <HintChip key={`item.${f}`} label={`item.${f}`} onPick={() => insert(`item.${f}`)} />
            ))}
          </div>
        </div>
      )}
    </div>
  );
}

function HintChip({ label, onPick, strong }: { label: string; onPick: () => void; strong?: boolean }) {
  return (
    <button
      type="button"
      tabIndex={-1}
      className={cx(
        "rounded border px-1.5 py-px font-mono text-[11px] hover:border-brand-600 hover:text-brand-800",
        strong ? "border-stone-300 bg-white text-stone-800" : "border-stone-200 bg-white text-stone-500",
      )}
      onMouseDown={(e) => {
        e.preventDefault();
        onPick();
      }}
    >
      {label}
    </button>
  );
}
