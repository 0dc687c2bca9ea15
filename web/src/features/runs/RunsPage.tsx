/** Execution history: every run with its status, filtered by workflow, status and date. */
import { useMemo } from "react";
import { Link, useNavigate, useSearchParams } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { History } from "lucide-react";
import { listRuns, listWorkflows } from "../../client/api";
import { errorMessage } from "../../client/errors";
import type { RunSummary } from "../../client/types";
import { formatDateTime, formatDuration, timeAgo } from "../../lib/format";
import { useTitle } from "../../lib/title";
import { Button, EmptyState, ErrorNote, Input, PageHeader, Select, Spinner, StatusBadge } from "../../lib/ui";

const PAGE_SIZE = 50;
const STATUSES = ["pending", "running", "waiting", "completed", "failed", "cancelled"];

/** `yyyy-mm-dd` from a date input → ISO instant at the start (or end) of that local day. */
export function dayBound(day: string, end: boolean): string | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return undefined;
  const [y, m, d] = day.split("-").map(Number);
  const date = end ? new Date(y, m - 1, d, 23, 59, 59, 999) : new Date(y, m - 1, d);
  return date.toISOString();
}

export function runError(error: unknown): string | null {
  if (!error) return null;
  if (typeof error === "string") return error;
  if (typeof error === "object" && error && "message" in error) return String((error as { message: unknown }).message);
  return JSON.stringify(error);
}

export function RunsPage() {
  useTitle("Runs");
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const workflowId = params.get("workflow_id") ?? "";
  const status = params.get("status") ?? "";
  const since = params.get("since") ?? "";
  const until = params.get("until") ?? "";
  const page = Math.max(1, Number(params.get("page") ?? 1) || 1);

  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== "page") next.delete("page");
    setParams(next, { replace: true });
  };

  const workflows = useQuery({ queryKey: ["workflows", "all-names"], queryFn: () => listWorkflows({ page_size: 200 }), staleTime: 60_000 });
  const query = useQuery({
    queryKey: ["runs", { workflowId, status, since, until, page }],
    queryFn: () =>
      listRuns({
        workflow_id: workflowId || undefined,
        status: status || undefined,
        since: dayBound(since, false),
        until: dayBound(until, true),
        page,
        page_size: PAGE_SIZE,
      }),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.data.some((r: RunSummary) => r.status === "running" || r.status === "pending") ? 2000 : 15_000),
  });

  const names = useMemo(() => new Map((workflows.data?.data ?? []).map((w) => [w.id, w.name])), [workflows.data]);
  const data = query.data;
  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;
  const filtered = !!(workflowId || status || since || until);

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Runs" subtitle="Every run of every workflow, with what each step received and put out." />
      <div className="flex flex-wrap items-end gap-2 px-6 pt-4">
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">Workflow</span>
          <Select aria-label="Workflow" value={workflowId} onChange={(e) => set("workflow_id", e.target.value)} className="w-64">
            <option value="">All workflows</option>
            {workflowId && !names.has(workflowId) && <option value={workflowId}>{workflowId}</option>}
            {(workflows.data?.data ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </Select>
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">Status</span>
          <Select aria-label="Status" value={status} onChange={(e) => set("status", e.target.value)} className="w-36">
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </Select>
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">From</span>
          <Input type="date" aria-label="Started from" value={since} onChange={(e) => set("since", e.target.value)} className="w-40" />
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">To</span>
          <Input type="date" aria-label="Started until" value={until} onChange={(e) => set("until", e.target.value)} className="w-40" />
        </label>
        {filtered && (
          <Button variant="ghost" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear filters
          </Button>
        )}
        {data && <span className="ml-auto pb-2 text-sm text-stone-500">{data.count} runs</span>}
      </div>
      <div className="min-h-0 flex-1 overflow-auto px-6 py-4">
        {query.isPending ? (
          <Spinner />
        ) : query.isError ? (
          <ErrorNote>{errorMessage(query.error)}</ErrorNote>
        ) : data!.data.length === 0 ? (
          <div className="rounded-lg border border-dashed border-stone-300 bg-white">
            <EmptyState icon={<History className="size-8" />} title={filtered ? "No run matches these filters" : "No runs yet"}>
              {filtered ? "Try other filters." : "Runs appear here when a workflow is triggered or tested."}
            </EmptyState>
          </div>
        ) : (
          <div className="overflow-hidden rounded-lg border border-stone-200 bg-white">
            <table className="w-full text-sm">
              <thead className="border-b border-stone-200 bg-stone-50 text-left text-xs font-medium text-stone-500">
                <tr>
                  <th className="w-32 px-4 py-2">Status</th>
                  <th className="px-4 py-2">Workflow</th>
                  <th className="w-20 px-4 py-2">Mode</th>
                  <th className="w-48 px-4 py-2">Started</th>
                  <th className="w-24 px-4 py-2">Duration</th>
                  <th className="px-4 py-2">Error</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-stone-100">
                {data!.data.map((r) => (
                  <tr
                    key={r.id}
                    className="cursor-pointer hover:bg-stone-50"
                    onClick={() => navigate(`/runs/${encodeURIComponent(r.id)}`)}
                    data-testid="run-row"
                  >
                    <td className="px-4 py-2.5">
                      <StatusBadge status={r.status} />
                    </td>
                    <td className="px-4 py-2.5">
                      <Link
                        to={`/runs/${encodeURIComponent(r.id)}`}
                        className="font-medium text-stone-900 hover:text-brand-700 hover:underline"
                        onClick={(e) => e.stopPropagation()}
                      >
                        {r.workflow_name || names.get(r.workflow_id) || r.workflow_id}
                      </Link>
                      <span className="ml-2 font-mono text-xs text-stone-400">v{r.version}</span>
                    </td>
                    <td className="px-4 py-2.5 text-xs text-stone-600">{r.mode}</td>
                    <td className="px-4 py-2.5 text-xs text-stone-600" title={formatDateTime(r.started_at)}>
                      {timeAgo(r.started_at)}
                    </td>
                    <td className="px-4 py-2.5 text-xs text-stone-600">{formatDuration(r.duration_ms)}</td>
                    <td className="max-w-80 truncate px-4 py-2.5 text-xs text-red-700" title={runError(r.error) ?? undefined}>
                      {runError(r.error)}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data && pages > 1 && (
          <div className="mt-3 flex items-center justify-end gap-2 text-sm text-stone-600">
            <Button size="sm" disabled={page <= 1} onClick={() => set("page", String(page - 1))}>
              Previous
            </Button>
            <span>
              Page {page} of {pages}
            </span>
            <Button size="sm" disabled={page >= pages} onClick={() => set("page", String(page + 1))}>
              Next
            </Button>
          </div>
        )}
      </div>
    </div>
  );
}
