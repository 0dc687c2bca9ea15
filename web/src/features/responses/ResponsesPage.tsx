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
import { DataTable, FilterField, pageCount, Pager } from "../../lib/table";
import { Button, Input, PageHeader, Select, StatusBadge } from "../../lib/ui";
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
  const pages = pageCount(data?.count, PAGE_SIZE);
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
        <FilterField label="Form">
          <Select aria-label="Form" value={form} onChange={(e) => set({ form: e.target.value })} className="w-60">
            <option value="">All forms</option>
            {form && !titles.has(form) && <option value={form}>{form}</option>}
            {(forms.data?.data ?? []).map((f) => (
              <option key={f.name} value={f.name}>
                {f.title || f.name}
              </option>
            ))}
          </Select>
        </FilterField>
        <FilterField label="Version">
          <Select aria-label="Version" value={version} disabled={!form} onChange={(e) => set({ version: e.target.value })} className="w-28">
            <option value="">All</option>
            {(versions.data?.data ?? []).map((v) => (
              <option key={v.key} value={v.version}>
                v{v.version}
              </option>
            ))}
          </Select>
        </FilterField>
        <FilterField label="Status">
          <Select aria-label="Status" value={status} onChange={(e) => set({ status: e.target.value })} className="w-44">
            <option value="">Any status</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {STATUS_WORDS[s]}
              </option>
            ))}
          </Select>
        </FilterField>
        <FilterField label="Recipient">
          <Input aria-label="Recipient email" type="email" placeholder="email address" value={recipientBox.value} onChange={(e) => recipientBox.onChange(e.target.value)} className="w-52" />
        </FilterField>
        <FilterField label="Submitted from">
          <Input type="date" aria-label="Submitted from" value={since} onChange={(e) => set({ since: e.target.value })} className="w-40" />
        </FilterField>
        <FilterField label="To">
          <Input type="date" aria-label="Submitted until" value={until} onChange={(e) => set({ until: e.target.value })} className="w-40" />
        </FilterField>
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
        <DataTable
          query={query}
          rows={data?.data}
          rowKey={(r) => r.id}
          rowProps={(r) => ({ className: "cursor-pointer", onClick: () => navigate(`/responses/${encodeURIComponent(r.id)}`, { state: from }), "data-testid": "response-row" })}
          empty={{
            icon: <Inbox className="size-8" />,
            title: filtered ? "No response matches these filters" : "No responses yet",
            children: filtered ? "Try other filters." : "Responses appear here when someone submits a form you sent.",
          }}
          columns={[
            { header: "Status", width: "w-40", cell: (r) => <StatusBadge status={r.status} /> },
            {
              header: "Recipient",
              cell: (r) => (
                <>
                  <Link to={`/responses/${encodeURIComponent(r.id)}`} state={from} className="font-medium text-stone-900 hover:text-brand-700 hover:underline" onClick={(e) => e.stopPropagation()}>
                    {recipientText(r.recipient)}
                  </Link>
                  {r.source !== "link" && <span className="ml-2 text-xs text-stone-500">{r.source}</span>}
                </>
              ),
            },
            {
              header: "Form",
              cell: (r) => (
                <>
                  {titles.get(r.form_name) || r.form_name}
                  <span className="ml-2 font-mono text-xs text-stone-400">v{r.form_version}</span>
                </>
              ),
            },
            { header: "Submitted", width: "w-44", className: "text-xs text-stone-600", title: (r) => formatDateTime(r.submitted_at), cell: (r) => timeAgo(r.submitted_at) },
            { header: "Revision", width: "w-24", className: "text-xs text-stone-600", cell: (r) => r.revision },
          ]}
        />
        <Pager page={page} pages={pages} onPage={(p) => set({ page: String(p) })} />
      </div>
    </div>
  );
}
