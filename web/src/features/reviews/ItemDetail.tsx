/**
 * One review item: who it is about, where it stands, the values beside the previous version
 * and last period's answer, validation issues highlighted on their fields, the comments, and
 * the trail of every action on it.
 */
import { forwardRef, useState } from "react";
import { Link } from "react-router";
import { AlertTriangle, ArrowRight, Check, Clock, Hand, MessageSquare, MessageSquareWarning, Pencil, Undo2, UserPlus, Users, X } from "lucide-react";
import { cx } from "../../lib/cx";
import { formatDateTime, timeAgo } from "../../lib/format";
import { Button, StatusBadge, Textarea } from "../../lib/ui";
import type { FieldRow, ReviewDetail, ReviewEvent } from "./api";
import { deltaText, dueText, formatValue, largeChange, priorityName } from "./review";

export type ItemAction = "approve" | "reject" | "changes" | "claim" | "unclaim" | "edit" | "reassign";

const PRIORITY_STYLE = ["text-stone-500", "text-stone-600", "text-amber-700", "text-red-700"];

export function ItemDetail({
  item,
  me,
  busy,
  onAction,
  onComment,
  commentBox,
}: {
  item: ReviewDetail;
  me: string | undefined;
  busy: string | null;
  onAction: (action: ItemAction) => void;
  onComment: (text: string) => Promise<boolean>;
  commentBox: React.RefObject<HTMLTextAreaElement | null>;
}) {
  const can = (a: string) => item.actions.includes(a);
  const hasPrevious = !!item.previous;
  const hasLast = !!item.last_period;
  const secondApproval = item.approvals_required > 1 && item.first_approver;
  const mine = !!me && item.assignee_id === me;
  return (
    <article className="flex flex-col gap-4 p-5" data-testid="review-detail" data-item-id={item.id} aria-label={`Review of ${item.title}`}>
      <header className="space-y-2">
        <div className="flex flex-wrap items-start justify-between gap-2">
          <div className="min-w-0">
            <h2 className="truncate text-lg font-semibold text-stone-900">{item.title || item.subject_key || "Untitled item"}</h2>
            <p className="text-sm text-stone-500">
              {item.subject_key && item.subject_key !== item.title && <span className="mr-2 font-mono text-xs">{item.subject_key}</span>}
              Queue <span className="font-medium text-stone-700">{item.queue}</span>
              {item.team && (
                <>
                  {" "}
                  · team <span className="font-medium text-stone-700">{item.team}</span>
                </>
              )}
              {item.round > 1 && <> · round {item.round}</>}
            </p>
          </div>
          <div className="flex items-center gap-2">
            <span className={cx("text-xs font-medium", PRIORITY_STYLE[item.priority] ?? PRIORITY_STYLE[1])}>{priorityName(item.priority)} priority</span>
            <StatusBadge status={item.status} />
          </div>
        </div>
        <dl className="flex flex-wrap gap-x-5 gap-y-1 text-xs text-stone-600">
          <div className="flex items-center gap-1">
            <dt className="sr-only">Assignee</dt>
            <Users className="size-3.5" aria-hidden />
            <dd data-testid="review-assignee">{item.assignee ? (mine ? `You (${item.assignee})` : item.assignee) : "Nobody yet"}</dd>
          </div>
          {item.due_at && (
            <div className={cx("flex items-center gap-1", item.overdue && "font-medium text-red-700")}>
              <dt className="sr-only">Due</dt>
              <Clock className="size-3.5" aria-hidden />
              <dd title={formatDateTime(item.due_at)}>{dueText(item) || `due ${formatDateTime(item.due_at)}`}</dd>
            </div>
          )}
          {item.score !== null && (
            <div>
              <dt className="inline">Score </dt>
              <dd className="inline font-medium">{Math.round(item.score * 100) / 100}</dd>
            </div>
          )}
          <div>
            <dt className="inline">Queued </dt>
            <dd className="inline" title={formatDateTime(item.created_at)}>
              {timeAgo(item.created_at)}
            </dd>
          </div>
          {item.run_id && (
            <Link to={`/runs/${encodeURIComponent(item.run_id)}`} className="text-brand-700 hover:underline">
              Run {item.run_id.slice(0, 8)}
              {item.waiting ? " (waiting for this decision)" : ""}
            </Link>
          )}
          {item.response_id && (
            <Link to={`/responses/${encodeURIComponent(item.response_id)}`} className="text-brand-700 hover:underline">
              Response{item.response ? `, revision ${String(item.response.revision)}` : ""}
            </Link>
          )}
        </dl>
        {item.approvals_required > 1 && (
          <p className="rounded-md bg-violet-50 px-3 py-1.5 text-xs text-violet-800 ring-1 ring-violet-600/20 ring-inset">
            Four eyes: two different people approve this item.{" "}
            {secondApproval ? `First approval by ${item.first_approver} ${timeAgo(item.first_approved_at)}; a second person approves now.` : "No approval yet."}
          </p>
        )}
        {item.decision && item.status !== "pending" && item.status !== "in_review" && (
          <p className="text-xs text-stone-600">
            {item.decision.replace(/_/g, " ")} by {item.decided_by} {timeAgo(item.decided_at)}
            {item.reason ? `: “${item.reason}”` : ""}
          </p>
        )}
      </header>

      <div className="flex flex-wrap gap-2" role="toolbar" aria-label="Decisions">
        <Button variant="primary" icon={<Check className="size-4" />} disabled={!can("approve")} busy={busy === "approve"} onClick={() => onAction("approve")} title="Approve (A)">
          Approve <Kbd>A</Kbd>
        </Button>
        <Button icon={<X className="size-4" />} disabled={!can("reject")} busy={busy === "reject"} onClick={() => onAction("reject")} title="Reject with a reason (R)">
          Reject <Kbd>R</Kbd>
        </Button>
        <Button icon={<MessageSquareWarning className="size-4" />} disabled={!can("request_changes")} busy={busy === "changes"} onClick={() => onAction("changes")} title="Request changes with a comment per field (C)">
          Request changes <Kbd>C</Kbd>
        </Button>
        {can("unclaim") ? (
          <Button variant="ghost" icon={<Undo2 className="size-4" />} busy={busy === "unclaim"} onClick={() => onAction("unclaim")} title="Give the item back to the queue (T)">
            Give back
          </Button>
        ) : (
          <Button variant="ghost" icon={<Hand className="size-4" />} disabled={!can("claim")} busy={busy === "claim"} onClick={() => onAction("claim")} title="Take the item, so nobody else works on it (T)">
            Take
          </Button>
        )}
        <Button variant="ghost" icon={<Pencil className="size-4" />} disabled={!can("edit")} onClick={() => onAction("edit")} title="Change a value with a reason (E)">
          Edit
        </Button>
        <Button variant="ghost" icon={<UserPlus className="size-4" />} disabled={!can("reassign")} onClick={() => onAction("reassign")}>
          Reassign
        </Button>
      </div>

      {(item.general_issues.length > 0 || item.general_comment) && (
        <div className="space-y-1 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="general-issues">
          {item.general_issues.map((issue) => (
            <p key={issue} className="flex items-start gap-1.5">
              <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
              {issue}
            </p>
          ))}
          {item.general_comment && <p className="text-amber-800">Asked for changes: “{item.general_comment}”</p>}
        </div>
      )}

      <section aria-label="Values">
        <table className="w-full table-fixed text-sm">
          <thead className="border-b border-stone-200 text-left text-xs font-medium text-stone-500">
            <tr>
              <th className="w-1/4 py-1.5 pr-2">Field</th>
              <th className="py-1.5 pr-2">Value</th>
              {hasPrevious && <th className="w-1/6 py-1.5 pr-2">Before (rev. {String(item.previous?.revision ?? "")})</th>}
              {hasLast && <th className="w-1/6 py-1.5 pr-2">Last period</th>}
              {hasLast && <th className="w-20 py-1.5 text-right">Change</th>}
            </tr>
          </thead>
          <tbody>
            {item.fields.map((row) => (
              <FieldLine key={row.field} row={row} previous={hasPrevious} last={hasLast} />
            ))}
          </tbody>
        </table>
        {item.fields.length === 0 && <p className="py-4 text-sm text-stone-500">This item carries no values.</p>}
      </section>

      <Comments item={item} onComment={onComment} box={commentBox} canComment={item.actions.includes("comment")} />
      <Trail events={item.trail} />
    </article>
  );
}

function Kbd({ children }: { children: string }) {
  return <kbd className="ml-1 rounded border border-current/30 px-1 font-mono text-[10px] leading-4 opacity-70">{children}</kbd>;
}

function FieldLine({ row, previous, last }: { row: FieldRow; previous: boolean; last: boolean }) {
  const bad = row.issues.length > 0;
  const delta = deltaText(row);
  return (
    <tr
      className={cx("border-b border-stone-100 align-top", bad && "bg-red-50")}
      data-testid="review-field"
      data-field={row.field}
      data-has-issue={bad || undefined}
    >
      <td className={cx("py-2 pr-2 text-stone-600", bad && "border-l-2 border-red-500 pl-2")}>{row.label}</td>
      <td className="py-2 pr-2">
        <span className={cx("font-medium break-words text-stone-900", row.changed && "rounded bg-amber-100 px-1")}>{formatValue(row.value)}</span>
        {row.issues.map((issue) => (
          <p key={issue} className="mt-0.5 flex items-start gap-1 text-xs text-red-700" data-testid="field-issue">
            <AlertTriangle className="mt-0.5 size-3 shrink-0" aria-hidden />
            {issue}
          </p>
        ))}
        {row.comment && (
          <p className="mt-0.5 flex items-start gap-1 text-xs text-amber-800" data-testid="field-comment">
            <MessageSquare className="mt-0.5 size-3 shrink-0" aria-hidden />
            {row.comment}
          </p>
        )}
      </td>
      {previous && (
        <td className={cx("py-2 pr-2 break-words text-stone-500", row.changed && "line-through decoration-amber-500")}>{row.changed ? formatValue(row.previous) : ""}</td>
      )}
      {last && <td className="py-2 pr-2 break-words text-stone-500">{formatValue(row.last_period)}</td>}
      {last && (
        <td className={cx("py-2 text-right text-xs font-medium tabular-nums", largeChange(row) ? "text-red-700" : "text-stone-500")} data-testid="field-delta">
          {delta}
        </td>
      )}
    </tr>
  );
}

const CommentBox = forwardRef<HTMLTextAreaElement, { value: string; onChange: (v: string) => void; onSend: () => void }>(function CommentBox({ value, onChange, onSend }, ref) {
  return (
    <Textarea
      ref={ref}
      rows={2}
      aria-label="Comment"
      placeholder="Write a comment for the other reviewers (M)"
      value={value}
      onChange={(e) => onChange(e.target.value)}
      onKeyDown={(e) => {
        if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
          e.preventDefault();
          onSend();
        }
        if (e.key === "Escape") (e.target as HTMLTextAreaElement).blur();
      }}
    />
  );
});

function Comments({ item, onComment, box, canComment }: { item: ReviewDetail; onComment: (text: string) => Promise<boolean>; box: React.RefObject<HTMLTextAreaElement | null>; canComment: boolean }) {
  const [text, setText] = useState("");
  const [sending, setSending] = useState(false);
  const send = async () => {
    if (!text.trim() || sending) return;
    setSending(true);
    if (await onComment(text.trim())) setText("");
    setSending(false);
  };
  return (
    <section aria-label="Comments" className="space-y-2">
      <h3 className="text-sm font-semibold text-stone-800">Comments</h3>
      {item.comment_list.length === 0 && <p className="text-sm text-stone-500">No comments yet.</p>}
      <ul className="space-y-2">
        {item.comment_list.map((c) => (
          <li key={c.id} className="rounded-md bg-stone-50 px-3 py-2 text-sm" data-testid="review-comment">
            <p className="text-xs text-stone-500">
              <span className="font-medium text-stone-700">{c.author}</span> · {timeAgo(c.at)}
              {c.field && <> · on {item.fields.find((f) => f.field === c.field)?.label ?? c.field}</>}
              {c.kind !== "comment" && <> · {c.kind.replace(/_/g, " ")}</>}
            </p>
            <p className="whitespace-pre-wrap text-stone-800">{c.body}</p>
          </li>
        ))}
      </ul>
      {canComment && (
        <div className="flex items-end gap-2">
          <CommentBox ref={box} value={text} onChange={setText} onSend={() => void send()} />
          <Button busy={sending} disabled={!text.trim()} onClick={() => void send()}>
            Comment
          </Button>
        </div>
      )}
    </section>
  );
}

const ACTION_WORDS: Record<string, string> = {
  created: "queued the item",
  claimed: "took the item",
  unclaimed: "gave the item back",
  assigned: "assigned the item",
  reassigned: "reassigned the item",
  first_approval: "gave the first approval",
  approved: "approved",
  rejected: "rejected",
  changes_requested: "requested changes",
  edited: "edited a value",
  resubmitted: "sent a new version",
  escalated: "escalated the item",
  commented: "commented",
  rebound: "moved the item to a new workflow version",
  refreshed: "refreshed the values",
  run_ended: "saw the workflow end",
};

function changeText(e: ReviewEvent): string {
  const before = e.before as Record<string, unknown> | null;
  const after = e.after as Record<string, unknown> | null;
  if (!after || typeof after !== "object") return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(after)) {
    const was = before && typeof before === "object" ? before[k] : undefined;
    if (k === "status" || JSON.stringify(was) === JSON.stringify(v) || k.endsWith("_id")) continue;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) continue;
    parts.push(was === undefined ? `${k}: ${formatValue(v)}` : `${k}: ${formatValue(was)} → ${formatValue(v)}`);
  }
  return parts.slice(0, 4).join("; ");
}

function Trail({ events }: { events: ReviewEvent[] }) {
  return (
    <section aria-label="Trail" className="space-y-2">
      <h3 className="text-sm font-semibold text-stone-800">Trail</h3>
      <ol className="relative space-y-2 border-l border-stone-200 pl-4">
        {events.map((e) => {
          const change = changeText(e);
          return (
            <li key={e.id} className="text-xs text-stone-600" data-testid="trail-event" data-action={e.action}>
              <span className="absolute -left-[4.5px] mt-1.5 size-2 rounded-full bg-stone-300" aria-hidden />
              <span className="font-medium text-stone-800">{e.actor}</span> {ACTION_WORDS[e.action] ?? e.action.replace(/_/g, " ")}{" "}
              <span title={formatDateTime(e.at)}>{timeAgo(e.at)}</span>
              {e.reason && <span className="text-stone-700">: “{e.reason}”</span>}
              {change && (
                <span className="block text-stone-500">
                  <ArrowRight className="mr-1 inline size-3" aria-hidden />
                  {change}
                </span>
              )}
            </li>
          );
        })}
      </ol>
    </section>
  );
}
