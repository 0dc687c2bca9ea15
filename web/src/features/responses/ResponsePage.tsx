/**
 * One response: its answers read by the form version it was given on, who gave them and
 * when, its status (approve, reject, ask for changes with a note per question), and its
 * audit trail: every change with who, when, before, after and why.
 */
import { useMemo, useState } from "react";
import { Link, useLocation, useParams } from "react-router";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeft, Check, FileText, MessageSquareWarning, Plus, Trash2, X } from "lucide-react";
import { getForm, getResponse, updateResponse } from "../../client/api";
import { errorMessage } from "../../client/errors";
import type { ResponseChange, ResponseDetail } from "../../client/types";
import { formatDateTime } from "../../lib/format";
import { backTo } from "../../lib/params";
import { formatSize } from "../forms/limits";
import { toast } from "../../lib/toast";
import { useTitle } from "../../lib/title";
import { Button, ErrorNote, Field, Modal, Select, Spinner, StatusBadge, Textarea } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import { canEditResponses } from "../shell/permissions";
import { hasValue, normaliseForm, type FormDoc } from "../forms/schema";
import { answerLines, recipientText, STATUS_WORDS, type AnswerLine } from "./answers";

const NEXT: Record<string, string[]> = {
  submitted: ["approved", "changes_requested", "rejected"],
  changes_requested: ["approved", "rejected"],
  approved: ["changes_requested", "rejected"],
  rejected: ["approved", "changes_requested"],
};

export default function ResponsePage() {
  const { id = "" } = useParams();
  const location = useLocation();
  const role = useAuth((s) => s.user?.role);
  const canEdit = canEditResponses(role);
  const qc = useQueryClient();
  const response = useQuery({ queryKey: ["response", id], queryFn: () => getResponse(id) });
  const formKey = response.data?.form_key;
  const form = useQuery({ queryKey: ["form", formKey], queryFn: () => getForm(formKey!), enabled: !!formKey, staleTime: Infinity });
  const doc = useMemo(() => (form.data ? normaliseForm(form.data.schema) : null), [form.data]);
  const [asking, setAsking] = useState(false);
  useTitle(response.data ? `Response from ${recipientText(response.data.recipient)}` : "Response");

  const change = useMutation({
    mutationFn: (body: { status: string; comments?: Record<string, string>; reason?: string }) => updateResponse(id, body),
    onSuccess: (answer) => {
      qc.setQueryData(["response", id], answer);
      void qc.invalidateQueries({ queryKey: ["responses"] });
      toast.success(`The response is ${STATUS_WORDS[answer.status] ?? answer.status}`);
      setAsking(false);
    },
    onError: (e) => toast.error(errorMessage(e)),
  });

  if (response.isPending) {
    return (
      <div className="p-6">
        <Spinner />
      </div>
    );
  }
  if (response.isError) {
    return (
      <div className="p-6">
        <ErrorNote>{errorMessage(response.error)}</ErrorNote>
      </div>
    );
  }
  const r = response.data;
  const lines = answerLines(doc, r.answers);
  const byPage = groupBy(lines, (l) => l.page);
  const who = [r.recipient.company, r.recipient.name ? r.recipient.email : null].filter(Boolean).map(String);

  return (
    <div className="flex h-full flex-col">
      <header className="flex flex-wrap items-center gap-3 border-b border-stone-200 bg-white px-6 py-4">
        <Link to={backTo(location.state, "/responses")} className="inline-flex size-8 items-center justify-center rounded-md text-stone-600 hover:bg-stone-200/70" aria-label="Back to responses" title="Back to responses">
          <ArrowLeft className="size-4" />
        </Link>
        <div className="min-w-0 flex-1">
          <h1 className="flex items-center gap-2 text-lg font-semibold text-stone-900">
            {String(r.recipient.name || r.recipient.email || "Response")} <StatusBadge status={r.status} />
          </h1>
          <p className="text-sm text-stone-500">
            {who.length > 0 && `${who.join(" · ")} · `}
            {form.data?.title || r.form_name} <span className="font-mono text-xs">v{r.form_version}</span> · submitted {formatDateTime(r.submitted_at)}
            {r.revision > 1 && <> · revision {r.revision}</>}
          </p>
        </div>
        {canEdit &&
          (NEXT[r.status] ?? []).map((s) =>
            s === "changes_requested" ? (
              r.request_id ? (
                <Button key={s} icon={<MessageSquareWarning className="size-4" />} onClick={() => setAsking(true)}>
                  Ask for changes
                </Button>
              ) : null
            ) : (
              <Button
                key={s}
                variant={s === "approved" ? "primary" : "secondary"}
                icon={s === "approved" ? <Check className="size-4" /> : <X className="size-4" />}
                busy={change.isPending && change.variables?.status === s}
                onClick={() => change.mutate({ status: s })}
              >
                {s === "approved" ? "Approve" : "Reject"}
              </Button>
            ),
          )}
      </header>
      <div className="min-h-0 flex-1 overflow-auto">
        <div className="mx-auto grid max-w-6xl gap-6 px-6 py-5 lg:grid-cols-[1fr_20rem]">
          <section aria-label="Answers" className="space-y-5">
            {form.isError && <ErrorNote>The form version {r.form_key} could not be read: {errorMessage(form.error)}. The answers are shown by their ids.</ErrorNote>}
            {[...byPage.entries()].map(([page, items]) => (
              <div key={page} className="overflow-hidden rounded-lg border border-stone-200 bg-white">
                <h2 className="border-b border-stone-200 bg-stone-50 px-4 py-2 text-sm font-semibold text-stone-700">{page}</h2>
                <dl className="divide-y divide-stone-100">
                  {items.map((l) => (
                    <AnswerRow key={l.id} line={l} />
                  ))}
                </dl>
              </div>
            ))}
          </section>
          <aside className="space-y-5">
            <section className="rounded-lg border border-stone-200 bg-white p-4 text-sm">
              <h2 className="mb-2 text-sm font-semibold text-stone-700">About</h2>
              <dl className="grid grid-cols-[7rem_1fr] gap-x-2 gap-y-1.5 text-xs">
                <dt className="text-stone-500">Response</dt>
                <dd className="font-mono break-all">{r.id}</dd>
                <dt className="text-stone-500">Form</dt>
                <dd className="font-mono">{r.form_key}</dd>
                <dt className="text-stone-500">Came from</dt>
                <dd>{r.source === "link" ? "a personal link" : r.source}</dd>
                {r.campaign_id && (
                  <>
                    <dt className="text-stone-500">Campaign</dt>
                    <dd>
                      <Link className="font-mono text-brand-800 underline" to={`/responses?campaign=${encodeURIComponent(r.campaign_id)}`}>
                        {r.campaign_id.slice(0, 12)}
                      </Link>
                    </dd>
                  </>
                )}
                {r.run_id && (
                  <>
                    <dt className="text-stone-500">Run</dt>
                    <dd>
                      <Link className="font-mono text-brand-800 underline" to={`/runs/${encodeURIComponent(r.run_id)}`}>
                        {r.run_id.slice(0, 12)}
                      </Link>
                    </dd>
                  </>
                )}
                <dt className="text-stone-500">Last change</dt>
                <dd>{formatDateTime(r.updated_at)}</dd>
                {typeof r.meta?.user_agent === "string" && r.meta.user_agent && (
                  <>
                    <dt className="text-stone-500">Browser</dt>
                    <dd className="truncate" title={r.meta.user_agent}>
                      {r.meta.user_agent}
                    </dd>
                  </>
                )}
              </dl>
            </section>
            <Trail changes={r.changes} />
          </aside>
        </div>
      </div>
      {asking && doc && (
        <AskForChanges
          response={r}
          doc={doc}
          busy={change.isPending}
          onClose={() => setAsking(false)}
          onSend={(comments, reason) => change.mutate({ status: "changes_requested", comments, reason })}
        />
      )}
    </div>
  );
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const i of items) out.set(key(i), [...(out.get(key(i)) ?? []), i]);
  return out;
}

function AnswerRow({ line }: { line: AnswerLine }) {
  const s = line.shown;
  return (
    <div className="grid gap-1 px-4 py-2.5 sm:grid-cols-[14rem_1fr]" data-testid="answer" data-field={line.id}>
      <dt className="text-sm text-stone-500">{line.label}</dt>
      <dd className="min-w-0 text-sm text-stone-900">
        {s.kind === "text" && <span className={s.empty ? "text-stone-400" : s.masked ? "text-stone-500 italic" : "whitespace-pre-line"}>{s.text}</span>}
        {s.kind === "files" &&
          s.files.map((f) => (
            <span key={f.key} className="mr-3 inline-flex items-center gap-1">
              <FileText className="size-4 text-stone-500" aria-hidden /> {f.name} <span className="text-xs text-stone-500">({formatSize(f.size)})</span>
            </span>
          ))}
        {s.kind === "table" &&
          (s.rows.length === 0 ? (
            <span className="text-stone-400">—</span>
          ) : (
            <div className="overflow-x-auto">
              <table className="min-w-full text-xs">
                <thead>
                  <tr className="text-left text-stone-500">
                    <th className="py-1 pr-3 font-medium">#</th>
                    {s.columns.map((c) => (
                      <th key={c.id} className="py-1 pr-3 font-medium">
                        {c.label}
                      </th>
                    ))}
                  </tr>
                </thead>
                <tbody className="divide-y divide-stone-100">
                  {s.rows.map((row, i) => (
                    <tr key={i}>
                      <td className="py-1 pr-3 text-stone-400">{i + 1}</td>
                      {row.map((cell, j) => (
                        <td key={j} className="py-1 pr-3">
                          {cell}
                        </td>
                      ))}
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          ))}
      </dd>
    </div>
  );
}

const ACTIONS: Record<string, string> = {
  submitted: "Submitted",
  resubmitted: "Submitted again",
  edited: "Answers edited",
  status: "Status changed",
  comments: "Comments",
};

function changeSummary(c: ResponseChange): string {
  if (c.action === "status") {
    const before = (c.before as { status?: string } | null)?.status;
    const after = (c.after as { status?: string } | null)?.status;
    return `${STATUS_WORDS[before ?? ""] ?? before ?? "?"} → ${STATUS_WORDS[after ?? ""] ?? after ?? "?"}`;
  }
  if (c.action === "edited" && c.after && typeof c.after === "object") return `Changed: ${Object.keys(c.after as object).join(", ")}`;
  return "";
}

function Trail({ changes }: { changes: ResponseChange[] }) {
  return (
    <section className="rounded-lg border border-stone-200 bg-white p-4" aria-label="History">
      <h2 className="mb-2 text-sm font-semibold text-stone-700">History</h2>
      <ol className="space-y-2.5" data-testid="trail">
        {changes.map((c) => (
          <li key={c.id} className="border-l-2 border-stone-200 pl-3 text-xs">
            <div className="font-medium text-stone-800">{ACTIONS[c.action] ?? c.action}</div>
            {changeSummary(c) && <div className="text-stone-700">{changeSummary(c)}</div>}
            {c.reason && <div className="text-stone-600 italic">“{c.reason}”</div>}
            <div className="text-stone-500">
              {c.actor.replace(/^respondent:/, "respondent ")} · {formatDateTime(c.at)}
            </div>
          </li>
        ))}
      </ol>
    </section>
  );
}

function AskForChanges({
  response,
  doc,
  busy,
  onClose,
  onSend,
}: {
  response: ResponseDetail;
  doc: FormDoc;
  busy: boolean;
  onClose: () => void;
  onSend: (comments: Record<string, string>, reason: string) => void;
}) {
  const fields = doc.pages.flatMap((p) => p.fields).filter(hasValue);
  const [notes, setNotes] = useState<{ field: string; text: string }[]>([{ field: fields[0]?.id ?? "", text: "" }]);
  const [error, setError] = useState<string | null>(null);
  return (
    <Modal
      title="Ask for changes"
      onClose={onClose}
      width="max-w-xl"
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button
            variant="primary"
            busy={busy}
            onClick={() => {
              const comments = Object.fromEntries(notes.filter((n) => n.field && n.text.trim()).map((n) => [n.field, n.text.trim()]));
              if (!Object.keys(comments).length) {
                setError("Write at least one note for the respondent.");
                return;
              }
              onSend(comments, "Changes requested");
            }}
          >
            Send to {recipientText(response.recipient)}
          </Button>
        </>
      }
    >
      <div className="space-y-3">
        <p className="text-sm text-stone-600">The respondent gets a mail with a fresh link; the form reopens with their answers and your notes at the questions.</p>
        {notes.map((n, i) => (
          <div key={i} className="space-y-1.5 rounded-md border border-stone-200 p-2">
            <Field label={`Question ${i + 1}`} htmlFor={`note-field-${i}`}>
              <Select id={`note-field-${i}`} value={n.field} onChange={(e) => setNotes(notes.map((x, j) => (j === i ? { ...x, field: e.target.value } : x)))}>
                {fields.map((f) => (
                  <option key={f.id} value={f.id}>
                    {f.label || f.id}
                  </option>
                ))}
              </Select>
            </Field>
            <Field label="Note" htmlFor={`note-text-${i}`}>
              <Textarea id={`note-text-${i}`} rows={2} value={n.text} onChange={(e) => setNotes(notes.map((x, j) => (j === i ? { ...x, text: e.target.value } : x)))} />
            </Field>
            {notes.length > 1 && (
              <Button size="sm" variant="ghost" icon={<Trash2 className="size-3.5" />} onClick={() => setNotes(notes.filter((_, j) => j !== i))}>
                Remove
              </Button>
            )}
          </div>
        ))}
        <Button size="sm" icon={<Plus className="size-3.5" />} onClick={() => setNotes([...notes, { field: fields[0]?.id ?? "", text: "" }])}>
          Another question
        </Button>
        {error && <ErrorNote>{error}</ErrorNote>}
      </div>
    </Modal>
  );
}
