/** The audit log, read only: every change, who made it and when, newest first, paged. */
import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { ScrollText } from "lucide-react";
import { errorMessage } from "../../client/errors";
import { formatDateTime, timeAgo } from "../../lib/format";
import { Button, EmptyState, ErrorNote, Input, Select, Spinner } from "../../lib/ui";
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
  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;

  return (
    <div className="space-y-3">
      <div className="flex flex-wrap items-end gap-2">
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">What changed</span>
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
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">Record id</span>
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
        </label>
        {data && <span className="ml-auto pb-2 text-sm text-stone-500">{data.count} change{data.count === 1 ? "" : "s"}</span>}
      </div>
      {query.isPending ? (
        <Spinner />
      ) : query.isError ? (
        <ErrorNote>{errorMessage(query.error)}</ErrorNote>
      ) : data!.data.length === 0 ? (
        <div className="rounded-lg border border-dashed border-stone-300 bg-white">
          <EmptyState icon={<ScrollText className="size-8" />} title="No changes recorded" />
        </div>
      ) : (
        <div className="overflow-hidden rounded-lg border border-stone-200 bg-white shadow-xs">
          <table className="w-full text-sm">
            <thead className="border-b border-stone-200 bg-stone-50 text-left text-xs font-medium text-stone-500">
              <tr>
                <th className="w-36 px-4 py-2">When</th>
                <th className="w-56 px-4 py-2">Who</th>
                <th className="w-52 px-4 py-2">What</th>
                <th className="px-4 py-2">Change</th>
              </tr>
            </thead>
            <tbody className="divide-y divide-stone-100 align-top">
              {data!.data.map((e) => (
                <AuditRow key={e.id} entry={e} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {data && pages > 1 && (
        <div className="flex items-center justify-end gap-2 text-sm text-stone-600">
          <Button size="sm" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            Previous
          </Button>
          <span>
            Page {page} of {pages}
          </span>
          <Button size="sm" disabled={page >= pages} onClick={() => setPage(page + 1)}>
            Next
          </Button>
        </div>
      )}
    </div>
  );
}

function AuditRow({ entry: e }: { entry: AuditEntry }) {
  const changes = auditChanges(e.before, e.after);
  return (
    <tr data-testid="audit-row">
      <td className="px-4 py-2 text-xs text-stone-600" title={formatDateTime(e.at)}>
        {timeAgo(e.at)}
      </td>
      <td className="truncate px-4 py-2 text-xs text-stone-700" title={e.actor}>
        {e.actor}
      </td>
      <td className="px-4 py-2">
        <div className="text-stone-900">{auditAction(e.action)}</div>
        <div className="truncate font-mono text-xs text-stone-500" title={e.entity_id}>
          {e.entity_id}
        </div>
      </td>
      <td className="px-4 py-2 text-xs text-stone-600">
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
      </td>
    </tr>
  );
}

const recordWord = (type: string) => {
  const text = type.replace(/_/g, " ").replace(/\bapi\b/, "API");
  return text.charAt(0).toUpperCase() + text.slice(1);
};

const short = (text: string) => (text.length > 120 ? `${text.slice(0, 117)}…` : text);
