/** The node palette: types from GET /api/nodes grouped by category, with search; drag or press Enter to add. */
import { memo, useMemo, useState, type DragEvent } from "react";
import { ChevronDown, ChevronRight, Search } from "lucide-react";
import type { NodeSpec } from "../../client/types";
import { cx } from "../../lib/cx";
import { Input } from "../../lib/ui";
import { CATEGORY_ORDER, categoryStyle, iconFor } from "./icons";
import { humanize } from "./schema";

export const DRAG_TYPE = "application/x-datacollect-node";

export function displayName(type: string): string {
  return humanize(type.replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")).replace(/\b(erp|api|sap)\b/gi, (m) => m.toUpperCase());
}

function PaletteItem({ spec, onAdd }: { spec: NodeSpec; onAdd: (type: string) => void }) {
  const style = categoryStyle(spec.category);
  const Icon = iconFor(spec.icon, spec.category);
  const onDragStart = (e: DragEvent) => {
    e.dataTransfer.setData(DRAG_TYPE, spec.type);
    e.dataTransfer.setData("text/plain", spec.type);
    e.dataTransfer.effectAllowed = "move";
  };
  return (
    <li>
      <button
        type="button"
        draggable
        onDragStart={onDragStart}
        onClick={() => onAdd(spec.type)}
        title={`${spec.description}\nDrag onto the canvas, or click to add.`}
        className="flex w-full cursor-grab items-start gap-2.5 rounded-md border border-transparent px-2 py-1.5 text-left hover:border-stone-200 hover:bg-white active:cursor-grabbing"
        data-testid="palette-item"
        data-node-type={spec.type}
      >
        <span className={cx("mt-0.5 flex size-7 shrink-0 items-center justify-center rounded-md ring-1", style.tile)}>
          <Icon className="size-4" aria-hidden />
        </span>
        <span className="min-w-0">
          <span className="block truncate text-[13px] font-medium text-stone-800">{displayName(spec.type)}</span>
          <span className="line-clamp-2 text-[11px] leading-snug text-stone-500">{spec.description}</span>
        </span>
      </button>
    </li>
  );
}

export const Palette = memo(function Palette({
  specs,
  onAdd,
}: {
  specs: NodeSpec[];
  onAdd: (type: string) => void;
}) {
  const [query, setQuery] = useState("");
  const [closed, setClosed] = useState<Record<string, boolean>>({});
  const groups = useMemo(() => {
    const q = query.trim().toLowerCase();
    const hits = specs.filter(
      (s) =>
        !q ||
        s.type.toLowerCase().includes(q) ||
        displayName(s.type).toLowerCase().includes(q) ||
        s.description.toLowerCase().includes(q) ||
        s.category.toLowerCase().includes(q),
    );
    const cats = [...CATEGORY_ORDER, ...new Set(hits.map((s) => s.category).filter((c) => !CATEGORY_ORDER.includes(c)))];
    return cats
      .map((c) => ({ category: c, items: hits.filter((s) => s.category === c).sort((a, b) => a.type.localeCompare(b.type)) }))
      .filter((g) => g.items.length);
  }, [specs, query]);

  return (
    <aside className="flex h-full w-60 shrink-0 flex-col border-r border-stone-200 bg-stone-50" aria-label="Node palette">
      <div className="border-b border-stone-200 p-2">
        <div className="relative">
          <Search className="pointer-events-none absolute top-2 left-2.5 size-4 text-stone-400" aria-hidden />
          <Input
            type="search"
            placeholder="Search nodes"
            aria-label="Search nodes"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            className="pl-8"
            data-testid="palette-search"
          />
        </div>
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto p-2">
        {groups.length === 0 && <p className="px-2 py-4 text-sm text-stone-500">No node matches “{query}”.</p>}
        {groups.map((g) => {
          const isClosed = closed[g.category] && !query;
          return (
            <section key={g.category} className="mb-2">
              <button
                type="button"
                className="flex w-full items-center gap-1 px-1 py-1 text-[11px] font-semibold tracking-wide text-stone-500 uppercase hover:text-stone-800"
                aria-expanded={!isClosed}
                onClick={() => setClosed({ ...closed, [g.category]: !closed[g.category] })}
              >
                {isClosed ? <ChevronRight className="size-3.5" /> : <ChevronDown className="size-3.5" />}
                {categoryStyle(g.category).label}
                <span className="ml-auto font-normal text-stone-400">{g.items.length}</span>
              </button>
              {!isClosed && (
                <ul className="space-y-0.5">
                  {g.items.map((s) => (
                    <PaletteItem key={s.type} spec={s} onAdd={onAdd} />
                  ))}
                </ul>
              )}
            </section>
          );
        })}
      </div>
    </aside>
  );
});
