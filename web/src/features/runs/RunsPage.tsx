/** Execution history: every run with its status, filtered by workflow, status and date. */
import { useMemo } from "react";
import { Link, useLocation, useNavigate, useSearchParams } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { History } from "lucide-react";
import { listRuns, listWorkflows } from "../../client/api";
import type { RunSummary } from "../../client/types";
import { formatDateTime, formatDuration, timeAgo } from "../../lib/format";
import { useTitle } from "../../lib/title";
import { pageParam, patchParams, type FromList } from "../../lib/params";
import { DataTable, FilterField, pageCount, Pager } from "../../lib/table";
import { Button, Input, PageHeader, Select, StatusBadge } from "../../lib/ui";

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
  const location = useLocation();
  const from: FromList = { from: location.pathname + location.search };
  const [params, setParams] = useSearchParams();
  const workflowId = params.get("workflow_id") ?? "";
  const status = params.get("status") ?? "";
  const since = params.get("since") ?? "";
  const until = params.get("until") ?? "";
  const page = pageParam(params);

  const set = (key: string, value: string) => setParams(patchParams(params, { [key]: value }), { replace: true });

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
  const pages = pageCount(data?.count, PAGE_SIZE);
  const filtered = !!(workflowId || status || since || until);

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Runs" subtitle="Every run of every workflow, with what each step received and put out." />
      <div className="flex flex-wrap items-end gap-2 px-6 pt-4">
        <FilterField label="Workflow">
          <Select aria-label="Workflow" value={workflowId} onChange={(e) => set("workflow_id", e.target.value)} className="w-64">
            <option value="">All workflows</option>
            {workflowId && !names.has(workflowId) && <option value={workflowId}>{workflowId}</option>}
            {(workflows.data?.data ?? []).map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </Select>
        </FilterField>
        <FilterField label="Status">
          <Select aria-label="Status" value={status} onChange={(e) => set("status", e.target.value)} className="w-36">
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </Select>
        </FilterField>
        <FilterField label="From">
          <Input type="date" aria-label="Started from" value={since} onChange={(e) => set("since", e.target.value)} className="w-40" />
        </FilterField>
        <FilterField label="To">
          <Input type="date" aria-label="Started until" value={until} onChange={(e) => set("until", e.target.value)} className="w-40" />
        </FilterField>
        {filtered && (
          <Button variant="ghost" onClick={() => setParams(new URLSearchParams(), { replace: true })}>
            Clear filters
          </Button>
        )}
        {data && <span className="ml-auto pb-2 text-sm text-stone-500">{data.count} runs</span>}
      </div>
      <div className="min-h-0 flex-1 overflow-auto px-6 py-4">
        <DataTable
          query={query}
          rows={data?.data}
          rowKey={(r) => r.id}
          rowProps={(r) => ({ className: "cursor-pointer", onClick: () => navigate(`/runs/${encodeURIComponent(r.id)}`, { state: from }), "data-testid": "run-row" })}
          empty={{
            icon: <History className="size-8" />,
            title: filtered ? "No run matches these filters" : "No runs yet",
            children: filtered ? "Try other filters." : "Runs appear here when a workflow is triggered or tested.",
          }}
          columns={[
            { header: "Status", width: "w-32", cell: (r) => <StatusBadge status={r.status} /> },
            {
              header: "Workflow",
              cell: (r) => (
                <>
                  <Link to={`/runs/${encodeURIComponent(r.id)}`} state={from} className="font-medium text-stone-900 hover:text-brand-700 hover:underline" onClick={(e) => e.stopPropagation()}>
                    {r.workflow_name || names.get(r.workflow_id) || r.workflow_id}
                  </Link>
                  <span className="ml-2 font-mono text-xs text-stone-400">v{r.version}</span>
                </>
              ),
            },
            { header: "Mode", width: "w-20", className: "text-xs text-stone-600", cell: (r) => r.mode },
            { header: "Started", width: "w-48", className: "text-xs text-stone-600", title: (r) => formatDateTime(r.started_at), cell: (r) => timeAgo(r.started_at) },
            { header: "Duration", width: "w-24", className: "text-xs text-stone-600", cell: (r) => formatDuration(r.duration_ms) },
            { header: "Error", className: "max-w-80 truncate text-xs text-red-700", title: (r) => runError(r.error) ?? undefined, cell: (r) => runError(r.error) },
          ]}
        />
        <Pager page={page} pages={pages} onPage={(p) => set("page", String(p))} />
      </div>
    </div>
  );
}
