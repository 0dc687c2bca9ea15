/** The audit log, read only: every change, who made it and when, newest first, paged. */
import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ScrollText } from "lucide-react";
import { formatDateTime, timeAgo } from "../../lib/format";
import { DataTable, FilterField, pageCount, Pager } from "../../lib/table";
import { Input, Select } from "../../lib/ui";
import { listAudit, type AuditEntry } from "./api";
import { auditAction, auditChanges } from "./logic";

const PAGE_SIZE = 50;
const ENTITY_TYPES = ["user", "api_key", "team", "connection", "workflow", "form", "response", "review_batch", "mapping", "data_source", "webhook_subscription"];

export function AuditTab() {
  const [entityType, setEntityType] = useState("");
  const [entityId, setEntityId] = useState("");
  const [page, setPage] = useState(1);
  const query = useQuery({
    queryKey: ["audit", entityType, entityId.trim(), page],
    queryFn: () => listAudit({ entity_type: entityType || undefined, entity_id: entityId.trim() || undefined, page, page_size: PAGE_SIZE }),
    placeholderData: keepPreviousData,
  });
  const data = query.data;
  const pages = pageCount(data?.count, PAGE_SIZE);

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-2">
        <FilterField label="What changed">
          <Select
            aria-label="Kind of record"
            value={entityType}
            className="w-44"
            onChange={(e) => {
              setEntityType(e.target.value);
              setPage(1);
            }}
          >
            <option value="">Everything</option>
            {ENTITY_TYPES.map((t) => (
              <option key={t} value={t}>
                {recordWord(t)}
              </option>
            ))}
          </Select>
        </FilterField>
        <FilterField label="Record id">
          <Input
            aria-label="Record id"
            value={entityId}
            className="w-64 font-mono"
            placeholder="any"
            onChange={(e) => {
              setEntityId(e.target.value);
              setPage(1);
            }}
          />
        </FilterField>
        {data && <span className="ml-auto pb-2 text-sm text-stone-500">{data.count} change{data.count === 1 ? "" : "s"}</span>}
      </div>
      <DataTable
        query={query}
        rows={data?.data}
        rowKey={(e) => e.id}
        rowProps={() => ({ "data-testid": "audit-row" })}
        dense
        className="shadow-xs"
        empty={{ icon: <ScrollText className="size-8" />, title: "No changes recorded" }}
        columns={[
          { header: "When", width: "w-36", className: "text-xs text-stone-600", title: (e) => formatDateTime(e.at), cell: (e) => timeAgo(e.at) },
          { header: "Who", width: "w-56", className: "truncate text-xs text-stone-700", title: (e) => e.actor, cell: (e) => e.actor },
          {
            header: "What",
            width: "w-52",
            cell: (e) => (
              <>
                <div className="text-stone-900">{auditAction(e.action)}</div>
                <div className="truncate font-mono text-xs text-stone-500" title={e.entity_id}>
                  {e.entity_id}
                </div>
              </>
            ),
          },
          { header: "Change", className: "text-xs text-stone-600", cell: (e) => <Change entry={e} /> },
        ]}
      />
      <Pager page={page} pages={pages} onPage={setPage} className="" />
    </div>
  );
}

/** What an entry changed, field by field (the first six), and the reason given. */
function Change({ entry: e }: { entry: AuditEntry }) {
  const changes = auditChanges(e.before, e.after);
  return (
    <>
      {changes.length === 0 ? (
        <span className="text-stone-400">—</span>
      ) : (
        <ul className="space-y-0.5">
          {changes.slice(0, 6).map((c) => (
            <li key={c.field} className="break-all">
              {c.field && <span className="font-medium text-stone-700">{c.field.replace(/_/g, " ")}: </span>}
              {c.before && <span className="text-stone-400 line-through">{short(c.before)}</span>}
              {c.before && c.after && " → "}
              {c.after && <span>{short(c.after)}</span>}
            </li>
          ))}
          {changes.length > 6 && <li className="text-stone-400">and {changes.length - 6} more</li>}
        </ul>
      )}
      {e.reason && <div className="mt-1 italic text-stone-500">“{e.reason}”</div>}
    </>
  );
}

const recordWord = (type: string) => {
  const text = type.replace(/_/g, " ").replace(/\bapi\b/, "API");
  return text.charAt(0).toUpperCase() + text.slice(1);
};

const short = (text: string) => (text.length > 120 ? `${text.slice(0, 117)}…` : text);
