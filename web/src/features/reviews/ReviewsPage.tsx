/**
 * The review dashboard (DESIGN §8): my queue, the unassigned items, the team queue and what was
 * decided, with filters; the item beside the list with its values, issues, last period and
 * trail; decisions by button or by key (j/k to move, a approve, r reject, c request changes);
 * bulk decisions on a selection or on everything the filters match; and the metrics.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useNavigate, useParams, useSearchParams } from "react-router";
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { AlertTriangle, ChevronLeft, ChevronRight, Download, Inbox, Keyboard, ListChecks, Play } from "lucide-react";
import { downloadFile } from "../../client/api";
import { errorMessage } from "../../client/errors";
import { cx } from "../../lib/cx";
import { plural, timeAgo } from "../../lib/format";
import { toast } from "../../lib/toast";
import { useTitle } from "../../lib/title";
import { Button, EmptyState, ErrorNote, Input, PageHeader, Select, Spinner, StatusBadge } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import {
  addComment,
  approveItem,
  assignItem,
  bulkDecide,
  claimItem,
  claimNext,
  editItem,
  getReviewItem,
  listQueues,
  listReviewItems,
  listTeams,
  rejectItem,
  requestChanges,
  unclaimItem,
  type BulkAnswer,
  type Decision,
  type ReviewFilter,
  type ReviewItem,
  type ReviewStatus,
} from "./api";
import { AssignDialog, BulkDialog, ChangesDialog, EditDialog, RejectDialog, ShortcutsDialog } from "./dialogs";
import { ItemDetail, type ItemAction } from "./ItemDetail";
import { MetricsView } from "./MetricsView";
import { afterDecision, ALL_STATUSES, dueText, keyAction, priorityName, PRIORITIES, stepId, STATUS_WORDS, viewQuery, VIEWS, type Filters, type View } from "./review";

const PAGE_SIZE = 50;
type Dialog = null | "reject" | "changes" | "edit" | "reassign" | "help" | { bulk: "approve" | "reject" };

const OUTCOME_WORDS: Record<string, string> = {
  approved: "Approved",
  first_approval: "First approval given: a second person approves it now",
  rejected: "Rejected",
  changes_requested: "Changes requested",
  edited: "Value changed",
  claimed: "The item is yours",
  unclaimed: "The item is back in the queue",
  reassigned: "Reassigned",
};

export default function ReviewsPage() {
  useTitle("Reviews");
  const { id: selected = null } = useParams();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const me = useAuth((s) => s.user);
  const qc = useQueryClient();

  const view = (params.get("view") as View | "metrics" | null) ?? "mine";
  const filters: Filters = {
    queue: params.get("queue") ?? undefined,
    team: params.get("team") ?? undefined,
    q: params.get("q") ?? undefined,
    priority: params.get("priority") ? Number(params.get("priority")) : undefined,
    overdue: params.get("overdue") === "1" || undefined,
    has_issues: params.get("issues") === "1" || undefined,
    status: (params.get("status") as ReviewStatus | null) ?? undefined,
    sort: (params.get("sort") as Filters["sort"]) ?? undefined,
    run_id: params.get("run") ?? undefined,
  };
  const page = Math.max(1, Number(params.get("page") ?? 1) || 1);
  const listView: View = view === "metrics" ? "team" : view;
  const query = viewQuery(listView, filters, page, PAGE_SIZE);

  const set = (patch: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!("page" in patch)) next.delete("page");
    setSelection(new Set());
    setAllMatching(false);
    navigate({ pathname: "/reviews", search: next.toString() }, { replace: true });
  };
  const open = useCallback(
    (id: string | null, replace = false) => navigate({ pathname: id ? `/reviews/${encodeURIComponent(id)}` : "/reviews", search: params.toString() }, { replace }),
    [navigate, params],
  );

  const [search, setSearch] = useState(filters.q ?? "");
  useEffect(() => {
    const t = setTimeout(() => {
      if (search.trim() !== (filters.q ?? "")) set({ q: search.trim() || undefined });
    }, 300);
    return () => clearTimeout(t);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [search]);

  const queues = useQuery({ queryKey: ["review-queues"], queryFn: listQueues, refetchInterval: 30_000 });
  const teams = useQuery({ queryKey: ["teams"], queryFn: listTeams, staleTime: 60_000 });
  const items = useQuery({
    queryKey: ["review-items", query],
    queryFn: () => listReviewItems(query),
    placeholderData: keepPreviousData,
    refetchInterval: 15_000,
    enabled: view !== "metrics",
  });
  const list = useMemo(() => items.data?.data ?? [], [items.data]);
  const ids = useMemo(() => list.map((i) => i.id), [list]);
  const detail = useQuery({ queryKey: ["review-item", selected], queryFn: () => getReviewItem(selected!), enabled: !!selected && view !== "metrics" });

  // Open the first item when none is chosen, so the keyboard has something to act on.
  useEffect(() => {
    if (view !== "metrics" && !selected && ids.length > 0 && !items.isPlaceholderData) open(ids[0], true);
  }, [view, selected, ids, items.isPlaceholderData, open]);

  const [selection, setSelection] = useState<Set<string>>(new Set());
  const [allMatching, setAllMatching] = useState(false);
  const [dialog, setDialog] = useState<Dialog>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [bulkResult, setBulkResult] = useState<BulkAnswer | null>(null);
  const commentBox = useRef<HTMLTextAreaElement | null>(null);

  const refresh = useCallback(() => {
    void qc.invalidateQueries({ queryKey: ["review-items"] });
    void qc.invalidateQueries({ queryKey: ["review-queues"] });
    void qc.invalidateQueries({ queryKey: ["review-metrics"] });
  }, [qc]);

  /** Runs a decision on the open item; on success moves on to the next one when the item leaves the list. */
  const decide = useCallback(
    async (label: string, call: () => Promise<Decision>, leaves: boolean) => {
      const id = selected;
      if (!id || busy) return;
      setBusy(label);
      try {
        const answer = await call();
        toast.success(OUTCOME_WORDS[answer.outcome] ?? answer.outcome.replace(/_/g, " "));
        setDialog(null);
        qc.removeQueries({ queryKey: ["review-item", id] });
        refresh();
        const stays = !leaves || (view === "team" && answer.outcome === "first_approval");
        if (stays) void qc.invalidateQueries({ queryKey: ["review-item", id] });
        else open(afterDecision(ids, id), true);
      } catch (e) {
        toast.error(errorMessage(e));
        void qc.invalidateQueries({ queryKey: ["review-item", id] });
      } finally {
        setBusy(null);
      }
    },
    [selected, busy, qc, refresh, view, open, ids],
  );

  const item = detail.data && detail.data.id === selected ? detail.data : undefined;
  const can = (a: string) => !!item?.actions.includes(a);

  const act = (a: ItemAction) => {
    if (!item) return;
    if (a === "approve") void decide("approve", () => approveItem(item.id), view !== "decided");
    else if (a === "claim") void decide("claim", () => claimItem(item.id), view === "unassigned");
    else if (a === "unclaim") void decide("unclaim", () => unclaimItem(item.id), view === "mine");
    else setDialog(a);
  };

  const takeNext = async () => {
    try {
      const answer = await claimNext({ queue: filters.queue, team: filters.team });
      if (!answer) {
        toast.info("Nothing left to review: every item you may take is decided or taken");
        return;
      }
      refresh();
      toast.success(`“${answer.item.title || "The item"}” is yours`);
      const next = new URLSearchParams(params);
      if (view === "unassigned" || view === "decided" || view === "metrics") next.set("view", "mine");
      navigate({ pathname: `/reviews/${encodeURIComponent(answer.item.id)}`, search: next.toString() });
    } catch (e) {
      toast.error(errorMessage(e));
    }
  };

  const toggle = (id: string) => {
    setAllMatching(false);
    setSelection((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  };

  // The keyboard: read the latest state through a ref so one listener serves every render.
  const keys = useRef<(e: KeyboardEvent) => void>(() => {});
  keys.current = (e: KeyboardEvent) => {
    if (dialog || view === "metrics") return;
    const action = keyAction(e);
    if (!action) return;
    e.preventDefault();
    const refuse = (what: string) => toast.info(item ? `You cannot ${what} this item now (${STATUS_WORDS[item.status].toLowerCase()}${item.assignee && item.assignee_id !== me?.id ? `, with ${item.assignee}` : ""})` : "Open an item first");
    switch (action) {
      case "next":
      case "previous":
        open(stepId(ids, selected, action === "next" ? 1 : -1));
        break;
      case "approve":
        if (can("approve")) act("approve");
        else refuse("approve");
        break;
      case "reject":
        if (can("reject")) act("reject");
        else refuse("reject");
        break;
      case "changes":
        if (can("request_changes")) act("changes");
        else refuse("request changes on");
        break;
      case "edit":
        if (can("edit")) act("edit");
        else refuse("edit");
        break;
      case "claim":
        if (can("unclaim")) act("unclaim");
        else if (can("claim")) act("claim");
        else refuse("take");
        break;
      case "claim_next":
        void takeNext();
        break;
      case "comment":
        commentBox.current?.focus();
        break;
      case "select":
        if (selected) toggle(selected);
        break;
      case "help":
        setDialog("help");
        break;
    }
  };
  useEffect(() => {
    const listener = (e: KeyboardEvent) => keys.current(e);
    window.addEventListener("keydown", listener);
    return () => window.removeEventListener("keydown", listener);
  }, []);

  // keep the open row in sight as j/k move through the list
  useEffect(() => {
    if (selected) document.querySelector(`[data-testid=review-row][data-item-id="${CSS.escape(selected)}"]`)?.scrollIntoView({ block: "nearest" });
  }, [selected]);

  const bulkFilter = (): ReviewFilter => ({
    status: query.status as ReviewFilter["status"],
    queue: query.queue ?? null,
    team: query.team ?? null,
    assignee: query.assignee ?? null,
    priority: query.priority ?? null,
    overdue: query.overdue ?? null,
    has_issues: query.has_issues ?? null,
    q: query.q ?? null,
    run_id: query.run_id ?? null,
  });
  const runBulk = async (action: "approve" | "reject", reason: string) => {
    setBusy("bulk");
    try {
      const answer = await bulkDecide({ action, reason: reason || undefined, ...(allMatching ? { filter: bulkFilter() } : { ids: [...selection] }) });
      setBulkResult(answer);
      setSelection(new Set());
      setAllMatching(false);
      refresh();
      void qc.invalidateQueries({ queryKey: ["review-item"] });
    } catch (e) {
      toast.error(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const queueRows = queues.data?.data ?? [];
  const mineCount = queueRows.reduce((n, q) => n + q.mine, 0);
  const openCount = queueRows.reduce((n, q) => n + q.open, 0);
  const data = items.data;
  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;
  const selectedCount = allMatching ? (data?.count ?? 0) : selection.size;
  const filtered = !!(filters.queue || filters.team || filters.q || filters.priority !== undefined || filters.overdue || filters.has_issues || filters.status || filters.run_id);
  const pageAllSelected = list.length > 0 && list.every((i) => selection.has(i.id));
  const queueNames = [...new Set(queueRows.map((q) => q.queue))].sort();
  const canDecide = me?.role !== "viewer";

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Reviews" subtitle="Check what came back before it goes on: approve, reject or send it back with a comment per field.">
        {me?.role === "admin" && (
          <Button icon={<Download className="size-4" />} onClick={() => void downloadFile("/api/reviews/trail?format=csv", "review-trail.csv").catch((e) => toast.error(errorMessage(e)))} title="Every action on every review item, as CSV">
            Export trail
          </Button>
        )}
        <Button icon={<Keyboard className="size-4" />} onClick={() => setDialog("help")} title="Keyboard shortcuts (?)">
          Shortcuts
        </Button>
        {canDecide && (
          <Button variant="primary" icon={<Play className="size-4" />} onClick={() => void takeNext()} title="Take the most urgent item you may review (N)">
            Review next
          </Button>
        )}
      </PageHeader>

      <nav className="flex gap-1 border-b border-stone-200 bg-white px-6" aria-label="Review views">
        {[...VIEWS, { view: "metrics" as const, label: "Metrics", hint: "How the reviews go" }].map((v) => {
          const count = v.view === "mine" ? mineCount : v.view === "team" ? openCount : null;
          return (
            <button
              key={v.view}
              type="button"
              role="tab"
              aria-selected={view === v.view}
              title={v.hint}
              onClick={() => {
                const next = new URLSearchParams(params);
                next.set("view", v.view);
                next.delete("page");
                next.delete("status");
                setSelection(new Set());
                setAllMatching(false);
                navigate({ pathname: "/reviews", search: next.toString() });
              }}
              className={cx("-mb-px border-b-2 px-3 py-2 text-sm font-medium", view === v.view ? "border-brand-700 text-brand-800" : "border-transparent text-stone-500 hover:text-stone-800")}
            >
              {v.label}
              {count !== null && queues.data && <span className="ml-1.5 rounded-full bg-stone-100 px-1.5 text-xs text-stone-600">{count}</span>}
            </button>
          );
        })}
      </nav>

      {view === "metrics" ? (
        <div className="min-h-0 flex-1 overflow-auto">
          <MetricsView queue={filters.queue} team={filters.team} />
        </div>
      ) : (
        <>
          <div className="flex flex-wrap items-end gap-2 px-6 pt-3 pb-2">
            <Input aria-label="Search" placeholder="Search title or key" value={search} onChange={(e) => setSearch(e.target.value)} className="w-44" />
            <Select aria-label="Queue" value={filters.queue ?? ""} onChange={(e) => set({ queue: e.target.value || undefined })} className="w-auto max-w-44">
              <option value="">All queues</option>
              {queueNames.map((q) => (
                <option key={q} value={q}>
                  {q}
                </option>
              ))}
            </Select>
            <Select aria-label="Team" value={filters.team ?? ""} onChange={(e) => set({ team: e.target.value || undefined })} className="w-auto max-w-44">
              <option value="">All my teams</option>
              {(teams.data?.data ?? []).map((t) => (
                <option key={t.id} value={t.name}>
                  {t.name}
                </option>
              ))}
            </Select>
            <Select aria-label="Status" value={filters.status ?? ""} onChange={(e) => set({ status: e.target.value || undefined })} className="w-auto max-w-44">
              <option value="">{view === "decided" ? "Any decision" : "Any open status"}</option>
              {ALL_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {STATUS_WORDS[s]}
                </option>
              ))}
            </Select>
            <Select aria-label="Priority" value={filters.priority ?? ""} onChange={(e) => set({ priority: e.target.value || undefined })} className="w-auto max-w-44">
              <option value="">Any priority</option>
              {PRIORITIES.map((p, i) => (
                <option key={p} value={i}>
                  {p} and above
                </option>
              ))}
            </Select>
            <label className="flex h-8 items-center gap-1.5 text-sm text-stone-700">
              <input type="checkbox" checked={!!filters.overdue} onChange={(e) => set({ overdue: e.target.checked ? "1" : undefined })} />
              Overdue
            </label>
            <label className="flex h-8 items-center gap-1.5 text-sm text-stone-700">
              <input type="checkbox" checked={!!filters.has_issues} onChange={(e) => set({ issues: e.target.checked ? "1" : undefined })} />
              With issues
            </label>

            {filters.run_id && (
              <span className="inline-flex h-7 items-center gap-1 rounded-full bg-stone-200 pr-1 pl-2.5 text-xs text-stone-700" data-testid="run-filter">
                Run <span className="font-mono">{filters.run_id.slice(0, 8)}</span>
                <button type="button" aria-label="Any run" className="rounded-full px-1 hover:bg-stone-300" onClick={() => set({ run: undefined })}>
                  ×
                </button>
              </span>
            )}
            {filtered && (
              <Button
                variant="ghost"
                onClick={() => {
                  setSearch("");
                  const next = new URLSearchParams();
                  next.set("view", view);
                  navigate({ pathname: "/reviews", search: next.toString() }, { replace: true });
                }}
              >
                Clear filters
              </Button>
            )}
          </div>

          {selectedCount > 0 && canDecide && (
            <div className="mx-6 mb-2 flex flex-wrap items-center gap-2 rounded-md border border-brand-600/30 bg-brand-50 px-3 py-1.5 text-sm" data-testid="bulk-bar">
              <ListChecks className="size-4 text-brand-700" aria-hidden />
              <span className="font-medium text-stone-800">{allMatching ? `All ${plural(selectedCount, "item")} matching these filters` : `${plural(selectedCount, "item")} selected`}</span>
              {!allMatching && data && pageAllSelected && data.count > list.length && (
                <button type="button" className="text-brand-700 underline" onClick={() => setAllMatching(true)}>
                  Select all {data.count} matching
                </button>
              )}
              <span className="ml-auto flex gap-2">
                <Button size="sm" variant="primary" onClick={() => setDialog({ bulk: "approve" })}>
                  Approve…
                </Button>
                <Button size="sm" onClick={() => setDialog({ bulk: "reject" })}>
                  Reject…
                </Button>
                <Button size="sm" variant="ghost" onClick={() => (setSelection(new Set()), setAllMatching(false))}>
                  Clear
                </Button>
              </span>
            </div>
          )}

          <div className="flex min-h-0 flex-1 border-t border-stone-200">
            <section className="flex w-[26rem] shrink-0 flex-col border-r border-stone-200 bg-white" aria-label="Queue">
              <div className="flex items-center gap-2 border-b border-stone-100 px-3 py-1.5 text-xs text-stone-500">
                {canDecide && (
                  <input
                    type="checkbox"
                    aria-label="Select every item on this page"
                    checked={pageAllSelected}
                    onChange={(e) => {
                      setAllMatching(false);
                      setSelection(e.target.checked ? new Set(ids) : new Set());
                    }}
                  />
                )}
                {data ? (
                  <span data-testid="review-count">
                    {plural(data.count, "item")}
                    {view !== "decided" && data.counts && <> · {Object.entries(data.counts).filter(([s, n]) => n && !["approved", "rejected"].includes(s)).map(([s, n]) => `${n} ${STATUS_WORDS[s as ReviewStatus]?.toLowerCase() ?? s}`).join(", ")}</>}
                  </span>
                ) : null}
                <Select aria-label="Sort" value={filters.sort ?? ""} onChange={(e) => set({ sort: e.target.value || undefined })} className="ml-auto w-auto text-xs">
                  <option value="">{view === "decided" ? "Recently changed" : "Most urgent"}</option>
                  <option value="due">Due first</option>
                  <option value="oldest">Oldest first</option>
                  <option value="newest">Newest first</option>
                  <option value="score">Lowest score</option>
                </Select>
              </div>
              <div className="min-h-0 flex-1 overflow-y-auto">
                {items.isPending ? (
                  <div className="p-4">
                    <Spinner />
                  </div>
                ) : items.isError ? (
                  <div className="p-4">
                    <ErrorNote>{errorMessage(items.error)}</ErrorNote>
                  </div>
                ) : list.length === 0 ? (
                  <EmptyState icon={<Inbox className="size-8" />} title={filtered ? "No item matches these filters" : view === "mine" ? "Nothing assigned to you" : view === "decided" ? "Nothing decided yet" : "The queue is empty"}>
                    {view === "mine" && canDecide ? (
                      <Button className="mt-2" variant="primary" onClick={() => void takeNext()}>
                        Take the next item (N)
                      </Button>
                    ) : filtered ? (
                      "Try other filters."
                    ) : (
                      "Items appear here when a workflow's Review step puts them in a queue you review."
                    )}
                  </EmptyState>
                ) : (
                  <ul role="listbox" aria-label="Review items">
                    {list.map((it) => (
                      <Row key={it.id} item={it} current={it.id === selected} checked={allMatching || selection.has(it.id)} selectable={canDecide} me={me?.id} onOpen={() => open(it.id)} onCheck={() => toggle(it.id)} />
                    ))}
                  </ul>
                )}
              </div>
              {data && pages > 1 && (
                <div className="flex items-center justify-between border-t border-stone-100 px-3 py-1.5 text-xs text-stone-500">
                  <Button size="sm" variant="ghost" icon={<ChevronLeft className="size-4" />} disabled={page <= 1} onClick={() => set({ page: String(page - 1) })}>
                    Previous
                  </Button>
                  Page {page} of {pages}
                  <Button size="sm" variant="ghost" disabled={page >= pages} onClick={() => set({ page: String(page + 1) })}>
                    Next <ChevronRight className="size-4" />
                  </Button>
                </div>
              )}
            </section>

            <section className="min-w-0 flex-1 overflow-y-auto bg-white" aria-label="Item">
              {!selected ? (
                <EmptyState title="No item open">Choose an item in the list, or press j.</EmptyState>
              ) : detail.isError ? (
                <div className="p-5">
                  <ErrorNote>{errorMessage(detail.error)}</ErrorNote>
                </div>
              ) : !item ? (
                <div className="p-5">
                  <Spinner />
                </div>
              ) : (
                <ItemDetail
                  item={item}
                  me={me?.id}
                  busy={busy}
                  onAction={act}
                  commentBox={commentBox}
                  onComment={async (text) => {
                    try {
                      await addComment(item.id, text);
                      void qc.invalidateQueries({ queryKey: ["review-item", item.id] });
                      return true;
                    } catch (e) {
                      toast.error(errorMessage(e));
                      return false;
                    }
                  }}
                />
              )}
            </section>
          </div>
        </>
      )}

      {dialog === "help" && <ShortcutsDialog onClose={() => setDialog(null)} />}
      {dialog === "reject" && item && <RejectDialog title={item.title} busy={busy === "reject"} onClose={() => setDialog(null)} onSend={(reason) => void decide("reject", () => rejectItem(item.id, reason), view !== "decided")} />}
      {dialog === "changes" && item && (
        <ChangesDialog item={item} busy={busy === "changes"} onClose={() => setDialog(null)} onSend={(comments, message) => void decide("changes", () => requestChanges(item.id, comments, message), view !== "decided")} />
      )}
      {dialog === "edit" && item && <EditDialog item={item} busy={busy === "edit"} onClose={() => setDialog(null)} onSend={(values, reason) => void decide("edit", () => editItem(item.id, values, reason), false)} />}
      {dialog === "reassign" && item && <AssignDialog item={item} busy={busy === "reassign"} onClose={() => setDialog(null)} onSend={(to) => void decide("reassign", () => assignItem(item.id, to), view === "mine")} />}
      {dialog && typeof dialog === "object" && (
        <BulkDialog
          action={dialog.bulk}
          busy={busy === "bulk"}
          result={bulkResult}
          what={allMatching ? `Every open item these filters match (${plural(selectedCount, "item")}), up to 10,000.` : `The ${plural(selectedCount, "selected item")}.`}
          onClose={() => {
            setDialog(null);
            setBulkResult(null);
          }}
          onSend={(reason) => void runBulk(dialog.bulk, reason)}
        />
      )}
    </div>
  );
}

function Row({ item, current, checked, selectable, me, onOpen, onCheck }: { item: ReviewItem; current: boolean; checked: boolean; selectable: boolean; me?: string; onOpen: () => void; onCheck: () => void }) {
  const due = dueText(item);
  return (
    <li
      role="option"
      aria-selected={current}
      data-testid="review-row"
      data-item-id={item.id}
      data-status={item.status}
      onClick={onOpen}
      className={cx("flex cursor-pointer gap-2 border-b border-stone-100 px-3 py-2 text-sm", current ? "bg-brand-50 ring-1 ring-brand-600/40 ring-inset" : "hover:bg-stone-50")}
    >
      {selectable && (
        <input type="checkbox" aria-label={`Select ${item.title}`} checked={checked} onClick={(e) => e.stopPropagation()} onChange={onCheck} className="mt-1" />
      )}
      <div className="min-w-0 flex-1">
        <div className="flex items-center gap-2">
          {item.priority >= 2 && (
            <span className={cx("size-2 shrink-0 rounded-full", item.priority === 3 ? "bg-red-600" : "bg-amber-500")} title={`${priorityName(item.priority)} priority`} aria-label={`${priorityName(item.priority)} priority`} />
          )}
          <span className="truncate font-medium text-stone-900">{item.title || item.subject_key || "Untitled item"}</span>
          <StatusBadge status={item.status} className="ml-auto shrink-0" />
        </div>
        <div className="mt-0.5 flex flex-wrap items-center gap-x-2 text-xs text-stone-500">
          <span>{item.queue}</span>
          {item.issue_count > 0 && (
            <span className="inline-flex items-center gap-0.5 text-red-700">
              <AlertTriangle className="size-3" aria-hidden />
              {plural(item.issue_count, "issue")}
            </span>
          )}
          {item.approvals_required > 1 && <span className="text-violet-700">{item.first_approver ? "second approval" : "four eyes"}</span>}
          {due && <span className={item.overdue ? "font-medium text-red-700" : undefined}>{due}</span>}
          <span className="ml-auto">{item.assignee ? (item.assignee_id === me ? "you" : item.assignee) : timeAgo(item.created_at)}</span>
        </div>
      </div>
    </li>
  );
}
