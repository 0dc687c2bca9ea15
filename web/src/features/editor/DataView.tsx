/** Items shown as a table (one column per field) or as JSON. */
import { memo, useState } from "react";
import { cx } from "../../lib/cx";
import type { Item } from "../../client/types";
import { fieldNames } from "./runInfo";

const MAX_ROWS = 200;

function cell(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

export const ItemsTable = memo(function ItemsTable({ items }: { items: Item[] }) {
  const columns = fieldNames(items);
  const rows = items.slice(0, MAX_ROWS);
  if (items.length === 0) return <p className="px-1 py-3 text-sm text-stone-500">No items.</p>;
  const plain = columns.length === 0;
  return (
    <div className="overflow-auto rounded-md border border-stone-200">
      <table className="min-w-full text-xs" data-testid="items-table">
        <thead className="sticky top-0 bg-stone-50 text-left text-stone-500">
          <tr>
            <th className="w-8 border-b border-stone-200 px-2 py-1.5 font-medium">#</th>
            {plain ? (
              <th className="border-b border-stone-200 px-2 py-1.5 font-medium">value</th>
            ) : (
              columns.map((c) => (
                <th key={c} className="border-b border-stone-200 px-2 py-1.5 font-medium whitespace-nowrap">
                  {c}
                </th>
              ))
            )}
          </tr>
        </thead>
        <tbody className="divide-y divide-stone-100">
          {rows.map((item, i) => (
            <tr key={i} className="align-top">
              <td className="px-2 py-1 text-stone-400">{i + 1}</td>
              {plain ? (
                <td className="px-2 py-1 font-mono">{cell(item)}</td>
              ) : (
                columns.map((c) => {
                  const v = item && typeof item === "object" ? (item as Record<string, unknown>)[c] : undefined;
                  return (
                    <td
                      key={c}
                      className={cx(
                        "max-w-64 truncate px-2 py-1 font-mono",
                        typeof v === "number" ? "text-sky-800" : typeof v === "boolean" ? "text-violet-700" : v === null || v === undefined ? "text-stone-400" : "text-stone-800",
                      )}
                      title={cell(v)}
                    >
                      {cell(v)}
                    </td>
                  );
                })
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {items.length > MAX_ROWS && <p className="border-t border-stone-200 px-2 py-1 text-xs text-stone-500">First {MAX_ROWS} of {items.length} items; see JSON for all.</p>}
    </div>
  );
});

export function JsonBlock({ value }: { value: unknown }) {
  return (
    <pre className="max-h-[50vh] overflow-auto rounded-md border border-stone-200 bg-stone-50 p-2 font-mono text-[11.5px] leading-relaxed text-stone-800" data-testid="items-json">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

/**
 * A node's items with a table / JSON switch. `total`: how many there are when `items` holds only
 * the first ones (a run's answer holds at most a thousand per list); `loadMore` fetches the next
 * page from a given offset.
 */
export function ItemsView({ items, label, total, loadMore }: { items: Item[]; label: string; total?: number | null; loadMore?: (offset: number) => Promise<Item[]> }) {
  const [mode, setMode] = useState<"table" | "json">("table");
  const [more, setMore] = useState<Item[]>([]);
  const [loading, setLoading] = useState(false);
  const [failed, setFailed] = useState<string | null>(null);
  const shown = more.length ? [...items, ...more] : items;
  const count = Math.max(total ?? 0, shown.length);
  const next = async () => {
    if (!loadMore) return;
    setLoading(true);
    setFailed(null);
    try {
      const page = await loadMore(shown.length);
      setMore((m) => [...m, ...page]);
    } catch (e) {
      setFailed(e instanceof Error ? e.message : String(e));
    } finally {
      setLoading(false);
    }
  };
  return (
    <section className="space-y-1.5" aria-label={label}>
      <div className="flex items-center justify-between">
        <h4 className="text-xs font-semibold text-stone-600">
          {label} <span className="font-normal text-stone-400">({count.toLocaleString("en-US")} {count === 1 ? "item" : "items"})</span>
        </h4>
        <div className="flex rounded-md bg-stone-100 p-0.5 text-[11px]" role="tablist" aria-label={`${label} view`}>
          {(["table", "json"] as const).map((m) => (
            <button
              key={m}
              type="button"
              role="tab"
              aria-selected={mode === m}
              onClick={() => setMode(m)}
              className={cx("rounded px-2 py-0.5", mode === m ? "bg-white font-medium text-stone-800 shadow-xs" : "text-stone-500")}
            >
              {m === "table" ? "Table" : "JSON"}
            </button>
          ))}
        </div>
      </div>
      {mode === "table" ? <ItemsTable items={shown} /> : <JsonBlock value={shown} />}
      {count > shown.length && (
        <p className="flex flex-wrap items-center gap-2 text-xs text-stone-500" data-testid="items-partial">
          <span>
            {shown.length.toLocaleString("en-US")} of {count.toLocaleString("en-US")} items loaded.
          </span>
          {loadMore && (
            <button type="button" className="font-medium text-brand-700 hover:underline disabled:opacity-50" disabled={loading} onClick={() => void next()}>
              {loading ? "Loading…" : `Load ${Math.min(1000, count - shown.length).toLocaleString("en-US")} more`}
            </button>
          )}
          {failed && <span className="text-red-700">{failed}</span>}
        </p>
      )}
    </section>
  );
}
