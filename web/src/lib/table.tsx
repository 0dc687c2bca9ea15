/**
 * What the list pages share: a table drawn from its columns (with the spinner, the error and the
 * empty state in its place while there is no row to show), the pager under it, and the toolbar's
 * labelled filters and search box.
 *
 *   <DataTable query={query} rows={data?.data} rowKey={(r) => r.id} empty={{ title: "No runs yet" }}
 *     columns={[{ header: "Status", width: "w-32", cell: (r) => <StatusBadge status={r.status} /> }]} />
 *   <Pager page={page} pages={pages} onPage={setPage} />
 */
import { useEffect, useRef, useState, type HTMLAttributes, type ReactNode } from "react";
import { Search } from "lucide-react";
import { errorMessage } from "../client/errors";
import { cx } from "./cx";
import { EmptyState, ErrorNote, Input, Spinner, Button } from "./ui";

export interface Column<T> {
  header: string;
  /** The header is read by screen readers only (a column of action buttons). */
  hideHeader?: boolean;
  /** The column's width, e.g. "w-40"; the others share what is left. */
  width?: string;
  cell: (row: T) => ReactNode;
  /** The body cell's classes besides its padding. */
  className?: string;
  /** The body cell's padding when it is not the table's ("px-2 py-2.5"). */
  pad?: string;
  /** The body cell's tooltip. */
  title?: (row: T) => string | undefined;
  /** The body cell's data-testid. */
  testId?: string;
}

type RowProps = HTMLAttributes<HTMLTableRowElement> & { [data: `data-${string}`]: string | undefined };

export interface EmptyProps {
  icon?: ReactNode;
  title: string;
  children?: ReactNode;
}

/** The empty state of a list, in a dashed box where the table would be. */
export function EmptyPanel(props: EmptyProps) {
  return (
    <div className="rounded-lg border border-dashed border-stone-300 bg-white">
      <EmptyState {...props} />
    </div>
  );
}

/**
 * The rows as a table, or in their place the spinner while the query loads, its error, or the
 * empty state when it found nothing.
 */
export function DataTable<T>({
  query,
  rows,
  columns,
  rowKey,
  rowProps,
  empty,
  dense = false,
  className,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown };
  rows: T[] | undefined;
  columns: Column<T>[];
  rowKey: (row: T) => string | number;
  rowProps?: (row: T) => RowProps;
  empty: EmptyProps;
  /** Compact rows, aligned at the top (rows of several lines). */
  dense?: boolean;
  /** Classes of the table's frame (a shadow). */
  className?: string;
}) {
  if (query.isPending) return <Spinner />;
  if (query.isError) return <ErrorNote>{errorMessage(query.error)}</ErrorNote>;
  if (!rows?.length) return <EmptyPanel {...empty} />;
  const pad = dense ? "px-4 py-2" : "px-4 py-2.5";
  return (
    <div className={cx("overflow-hidden rounded-lg border border-stone-200 bg-white", className)}>
      <table className="w-full text-sm">
        <thead className="border-b border-stone-200 bg-stone-50 text-left text-xs font-medium text-stone-500">
          <tr>
            {columns.map((c) => (
              <th key={c.header} className={cx(c.width, "px-4 py-2")}>
                {c.hideHeader ? <span className="sr-only">{c.header}</span> : c.header}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className={cx("divide-y divide-stone-100", dense && "align-top")}>
          {rows.map((row) => {
            const { className: rowClass, ...rest } = rowProps?.(row) ?? {};
            return (
              <tr key={rowKey(row)} className={cx("hover:bg-stone-50", rowClass)} {...rest}>
                {columns.map((c) => (
                  <td key={c.header} className={cx(c.pad ?? pad, c.className)} title={c.title?.(row)} data-testid={c.testId}>
                    {c.cell(row)}
                  </td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Previous and next under a list, shown when it has more than one page. */
export function Pager({ page, pages, onPage, className = "mt-3" }: { page: number; pages: number; onPage: (page: number) => void; className?: string }) {
  if (pages <= 1) return null;
  return (
    <div className={cx("flex items-center justify-end gap-2 text-sm text-stone-600", className)}>
      <Button size="sm" disabled={page <= 1} onClick={() => onPage(page - 1)}>
        Previous
      </Button>
      <span>
        Page {page} of {pages}
      </span>
      <Button size="sm" disabled={page >= pages} onClick={() => onPage(page + 1)}>
        Next
      </Button>
    </div>
  );
}

/** How many pages `count` rows make, at least one. */
export function pageCount(count: number | undefined, pageSize: number): number {
  return count ? Math.max(1, Math.ceil(count / pageSize)) : 1;
}

/** A filter of a list's toolbar with its small label above it. */
export function FilterField({ label, children }: { label: string; children: ReactNode }) {
  return (
    <label className="text-xs text-stone-600">
      <span className="mb-1 block">{label}</span>
      {children}
    </label>
  );
}

/** A list's search box, with the magnifier in it. */
export function SearchBox({
  label,
  placeholder,
  value,
  onChange,
  type,
}: {
  label: string;
  placeholder: string;
  value: string;
  onChange: (text: string) => void;
  type?: "search";
}) {
  return (
    <div className="relative w-72">
      <Search className="pointer-events-none absolute top-2 left-2.5 size-4 text-stone-400" aria-hidden />
      <Input type={type} aria-label={label} placeholder={placeholder} className="pl-8" value={value} onChange={(e) => onChange(e.target.value)} />
    </div>
  );
}

/**
 * A search box's text and the search it settles on `delay` ms after the last key (trimmed);
 * `onSettle` runs then too (to go back to page 1).
 */
export function useSearchText(onSettle: () => void, delay = 250) {
  const [text, setText] = useState("");
  const [search, setSearch] = useState("");
  const settle = useRef(onSettle);
  useEffect(() => {
    settle.current = onSettle;
  });
  useEffect(() => {
    const t = setTimeout(() => {
      setSearch(text.trim());
      settle.current();
    }, delay);
    return () => clearTimeout(t);
  }, [text, delay]);
  return { text, setText, search };
}
