/** The list that opens where a connection was dropped on empty canvas: pick the next node. */
import { useEffect, useMemo, useRef, useState, type KeyboardEvent } from "react";
import type { NodeSpec } from "../../client/types";
import { cx } from "../../lib/cx";
import { Input } from "../../lib/ui";
import { categoryStyle, iconFor } from "./icons";
import { displayName } from "./Palette";

export function QuickAdd({
  specs,
  x,
  y,
  onPick,
  onClose,
}: {
  specs: NodeSpec[];
  /** Position inside the canvas element. */
  x: number;
  y: number;
  onPick: (type: string) => void;
  onClose: () => void;
}) {
  const [query, setQuery] = useState("");
  const [active, setActive] = useState(0);
  const ref = useRef<HTMLDivElement>(null);
  const choices = useMemo(() => {
    const q = query.trim().toLowerCase();
    return specs
      .filter((s) => s.inputs && !s.is_trigger)
      .filter((s) => !q || s.type.toLowerCase().includes(q) || displayName(s.type).toLowerCase().includes(q) || s.description.toLowerCase().includes(q))
      .slice(0, 9);
  }, [specs, query]);

  useEffect(() => {
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    window.addEventListener("mousedown", onDown);
    return () => window.removeEventListener("mousedown", onDown);
  }, [onClose]);

  const onKeyDown = (e: KeyboardEvent) => {
    if (e.key === "Escape") {
      e.stopPropagation();
      onClose();
    } else if (e.key === "ArrowDown") {
      e.preventDefault();
      setActive((active + 1) % Math.max(1, choices.length));
    } else if (e.key === "ArrowUp") {
      e.preventDefault();
      setActive((active - 1 + choices.length) % Math.max(1, choices.length));
    } else if (e.key === "Enter" && choices[active]) {
      e.preventDefault();
      onPick(choices[active].type);
    }
  };

  return (
    <div
      ref={ref}
      className="absolute z-20 w-64 rounded-lg border border-stone-200 bg-white p-1.5 shadow-xl"
      style={{ left: x, top: y }}
      role="dialog"
      aria-label="Add the next node"
      data-testid="quick-add"
      onKeyDown={onKeyDown}
    >
      <Input autoFocus placeholder="Next node…" aria-label="Search nodes to add" value={query} onChange={(e) => { setQuery(e.target.value); setActive(0); }} className="mb-1" />
      <ul role="listbox" className="max-h-72 overflow-y-auto">
        {choices.length === 0 && <li className="px-2 py-2 text-xs text-stone-500">No node matches.</li>}
        {choices.map((s, i) => {
          const Icon = iconFor(s.icon, s.category);
          return (
            <li key={s.type} role="option" aria-selected={i === active}>
              <button
                type="button"
                className={cx("flex w-full items-center gap-2 rounded-md px-2 py-1.5 text-left text-[13px]", i === active ? "bg-brand-50" : "hover:bg-stone-50")}
                onMouseEnter={() => setActive(i)}
                onClick={() => onPick(s.type)}
              >
                <span className={cx("flex size-6 items-center justify-center rounded ring-1", categoryStyle(s.category).tile)}>
                  <Icon className="size-3.5" aria-hidden />
                </span>
                {displayName(s.type)}
              </button>
            </li>
          );
        })}
      </ul>
    </div>
  );
}
