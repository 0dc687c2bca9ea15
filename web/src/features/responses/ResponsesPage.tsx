/** The responses: every answer a form collected, filtered, paged, and exported as CSV or Excel. */
import { useState } from "react";
import { Link, useLocation, useNavigate, useSearchParams } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { FileSpreadsheet, FileText, Inbox, X } from "lucide-react";
import { downloadResponses, listFormVersions, listForms, listResponses } from "../../client/api";
import { errorMessage } from "../../client/errors";
import { formatDateTime, timeAgo } from "../../lib/format";
import { pageParam, useParamText, type FromList } from "../../lib/params";
import { toast } from "../../lib/toast";
import { useTitle } from "../../lib/title";
import { Button, EmptyState, ErrorNote, Input, PageHeader, Select, Spinner, StatusBadge } from "../../lib/ui";
import { recipientText, STATUS_WORDS } from "./answers";
import { changeFilters, isFiltered, readFilters, responseQuery, type ResponseFilters } from "./filters";

const PAGE_SIZE = 50;
const STATUSES = ["submitted", "changes_requested", "approved", "rejected"];

export function ResponsesPage() {
  useTitle("Responses");
  const navigate = useNavigate();
  const location = useLocation();
  const [params, setParams] = useSearchParams();
  const current = readFilters(params);
  const { form, version, status, campaign, since, until } = current;
  const page = pageParam(params);
  const recipientBox = useParamText("recipient");
  const [exporting, setExporting] = useState<"csv" | "xlsx" | null>(null);
  /** The list as it is now, for the back link of the response opened from it. */
  const from: FromList = { from: location.pathname + location.search };

  const set = (patch: Partial<ResponseFilters> & { page?: string }) => setParams(changeFilters(params, patch), { replace: true });

  const forms = useQuery({ queryKey: ["forms", "all-names"], queryFn: () => listForms({ page_size: 500 }), staleTime: 60_000 });
  const versions = useQuery({ queryKey: ["form-versions", form], queryFn: () => listFormVersions(form), enabled: !!form, staleTime: 60_000 });
  const filters = responseQuery(current);
  const query = useQuery({
    queryKey: ["responses", filters, page],
    queryFn: () => listResponses({ ...filters, page, page_size: PAGE_SIZE }),
    placeholderData: keepPreviousData,
    refetchInterval: 15_000,
  });
  const titles = new Map((forms.data?.data ?? []).map((f) => [f.name, f.title]));
  const data = query.data;
  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;
  const filtered = isFiltered(current);

  async function exportAs(format: "csv" | "xlsx") {
    setExporting(format);
    try {
      await downloadResponses(format, filters);
    } catch (e) {
      toast.error(errorMessage(e));
    } finally {
      setExporting(null);
    }
  }

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Responses" subtitle="What came back from your forms, with the version it was given on and its history.">
        <Button icon={<FileText className="size-4" />} busy={exporting === "csv"} onClick={() => void exportAs("csv")} title="The responses shown by these filters, as CSV">
          Export CSV
        </Button>
        <Button icon={<FileSpreadsheet className="size-4" />} busy={exporting === "xlsx"} onClick={() => void exportAs("xlsx")} title="The responses shown by these filters, as an Excel workbook">
          Export Excel
        </Button>
      </PageHeader>
      <div className="flex flex-wrap items-end gap-2 px-6 pt-4">
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">Form</span>
          <Select aria-label="Form" value={form} onChange={(e) => set({ form: e.target.value })} className="w-60">
            <option value="">All forms</option>
            {form && !titles.has(form) && <option value={form}>{form}</option>}
            {(forms.data?.data ?? []).map((f) => (
              <option key={f.name} value={f.name}>
                {f.title || f.name}
              </option>
            ))}
          </Select>
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">Version</span>
          <Select aria-label="Version" value={version} disabled={!form} onChange={(e) => set({ version: e.target.value })} className="w-28">
            <option value="">All</option>
            {(versions.data?.data ?? []).map((v) => (
              <option key={v.key} value={v.version}>
                v{v.version}
              </option>
            ))}
          </Select>
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">Status</span>
          <Select aria-label="Status" value={status} onChange={(e) => set({ status: e.target.value })} className="w-44">
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_WORDS[s]}
              </option>
            ))}
          </Select>
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">Recipient</span>
          <Input aria-label="Recipient email" type="email" placeholder="email address" value={recipientBox.value} onChange={(e) => recipientBox.onChange(e.target.value)} className="w-52" />
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">Submitted from</span>
          <Input type="date" aria-label="Submitted from" value={since} onChange={(e) => set({ since: e.target.value })} className="w-40" />
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">To</span>
          <Input type="date" aria-label="Submitted until" value={until} onChange={(e) => set({ until: e.target.value })} className="w-40" />
        </label>
        {campaign && (
          <span className="mb-1 inline-flex h-7 items-center gap-1 rounded-full bg-stone-200 pr-1 pl-2.5 text-xs text-stone-700">
            Campaign <span className="font-mono">{campaign.slice(0, 8)}</span>
            <button type="button" aria-label="Any campaign" className="rounded-full p-0.5 hover:bg-stone-300" onClick={() => set({ campaign: "" })}>
              <X className="size-3" />
            </button>
          </span>
        )}
        {filtered && (
          <Button
            variant="ghost"
            onClick={() => {
              recipientBox.reset();
              setParams(new URLSearchParams(), { replace: true });
            }}
          >
            Clear filters
          </Button>
        )}
        {data && (
          <span className="ml-auto pb-2 text-sm text-stone-500" data-testid="responses-count">
            {data.count} response{data.count === 1 ? "" : "s"}
          </span>
        )}
      </div>
      <div className="min-h-0 flex-1 overflow-auto px-6 py-4">
        {query.isPending ? (
          <Spinner />
        ) : query.isError ? (
          <ErrorNote>{errorMessage(query.error)}</ErrorNote>
        ) : data!.data.length === 0 ? (
          <div className="rounded-lg border border-dashed border-stone-300 bg-white">
            <EmptyState icon={<Inbox className="size-8" />} title={filtered ? "No response matches these filters" : "No responses yet"}>
              {filtered ? "Try other filters." : "Responses appear here when someone submits a form you sent."}
            </EmptyState>
          </div>
        ) : (
          <div className="overflow-hidden rounded-lg border border-stone-200 bg-white">
            <table className="w-full text-sm">
              <thead className="border-b border-stone-200 bg-stone-50 text-left text-xs font-medium text-stone-500">
                <tr>
                  <th className="w-40 px-4 py-2">Status</th>
                  <th className="px-4 py-2">Recipient</th>
                  <th className="px-4 py-2">Form</th>
                  <th className="w-44 px-4 py-2">Submitted</th>
                  <th className="w-24 px-4 py-2">Revision</th>
                </tr>
              </thead>
              <tbody className="divide-y divide-stone-100">
                {data!.data.map((r) => (
                  <tr key={r.id} className="cursor-pointer hover:bg-stone-50" onClick={() => navigate(`/responses/${encodeURIComponent(r.id)}`, { state: from })} data-testid="response-row">
                    <td className="px-4 py-2.5">
                      <StatusBadge status={r.status} />
                    </td>
                    <td className="px-4 py-2.5">
                      <Link to={`/responses/${encodeURIComponent(r.id)}`} state={from} className="font-medium text-stone-900 hover:text-brand-700 hover:underline" onClick={(e) => e.stopPropagation()}>
                        {recipientText(r.recipient)}
                      </Link>
                      {r.source !== "link" && <span className="ml-2 text-xs text-stone-500">{r.source}</span>}
                    </td>
                    <td className="px-4 py-2.5">
                      {titles.get(r.form_name) || r.form_name}
                      <span className="ml-2 font-mono text-xs text-stone-400">v{r.form_version}</span>
                    </td>
                    <td className="px-4 py-2.5 text-xs text-stone-600" title={formatDateTime(r.submitted_at)}>
                      {timeAgo(r.submitted_at)}
                    </td>
                    <td className="px-4 py-2.5 text-xs text-stone-600">{r.revision}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data && pages > 1 && (
          <div className="mt-3 flex items-center justify-end gap-2 text-sm text-stone-600">
            <Button size="sm" disabled={page <= 1} onClick={() => set({ page: String(page - 1) })}>
              Previous
            </Button>
            <span>
              Page {page} of {pages}
            </span>
            <Button size="sm" disabled={page >= pages} onClick={() => set({ page: String(page + 1) })}>
              Next
            </Button>
          </div>
        )}
      </div>
    </div>
  );
}
