/**
 * The decisions that need words: reject (a reason), request changes (a comment per field),
 * edit a value (with a reason), reassign, a bulk decision, and the shortcut help.
 * Ctrl+Enter (⌘+Enter) sends every dialog, so a reviewer never leaves the keyboard.
 */
import { useMemo, useState, type KeyboardEvent, type ReactNode } from "react";
import { useQuery } from "@tanstack/react-query";
import { AlertTriangle } from "lucide-react";
import { Button, Field, Input, Modal, Select, Textarea } from "../../lib/ui";
import { plural } from "../../lib/format";
import { getTeam, listTeams, type BulkAnswer, type ReviewDetail } from "./api";
import { formatValue, parseEdited, SHORTCUTS } from "./review";

/** Ctrl/⌘+Enter sends the dialog's form. */
function sendOnCtrlEnter(send: () => void) {
  return (e: KeyboardEvent) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      send();
    }
  };
}

function Footer({ busy, onClose, label, danger, disabled, onSend }: { busy: boolean; onClose: () => void; label: string; danger?: boolean; disabled?: boolean; onSend: () => void }) {
  return (
    <>
      <span className="mr-auto self-center text-xs text-stone-500">Ctrl+Enter sends</span>
      <Button onClick={onClose}>Cancel</Button>
      <Button variant={danger ? "danger" : "primary"} busy={busy} disabled={disabled} onClick={onSend}>
        {label}
      </Button>
    </>
  );
}

export function RejectDialog({ title, busy, onClose, onSend }: { title: string; busy: boolean; onClose: () => void; onSend: (reason: string) => void }) {
  const [reason, setReason] = useState("");
  const [tried, setTried] = useState(false);
  const send = () => {
    setTried(true);
    if (reason.trim()) onSend(reason.trim());
  };
  return (
    <Modal title={`Reject “${title}”`} onClose={onClose} footer={<Footer busy={busy} onClose={onClose} label="Reject" danger onSend={send} />}>
      <div onKeyDown={sendOnCtrlEnter(send)}>
        <Field label="Reason" required htmlFor="reject-reason" error={tried && !reason.trim() ? "A rejection needs a reason: it goes in the trail and back to the workflow." : undefined} hint="It goes in the trail and back to the workflow.">
          <Textarea id="reject-reason" autoFocus rows={3} value={reason} invalid={tried && !reason.trim()} onChange={(e) => setReason(e.target.value)} />
        </Field>
      </div>
    </Modal>
  );
}

/** A comment per field: the fields with issues come first, the first of them has the focus. */
export function ChangesDialog({ item, busy, onClose, onSend }: { item: ReviewDetail; busy: boolean; onClose: () => void; onSend: (comments: Record<string, string>, message: string) => void }) {
  const rows = useMemo(() => [...item.fields].sort((a, b) => Number(b.issues.length > 0) - Number(a.issues.length > 0)), [item.fields]);
  const [comments, setComments] = useState<Record<string, string>>({});
  const [message, setMessage] = useState("");
  const [tried, setTried] = useState(false);
  const given = Object.fromEntries(Object.entries(comments).filter(([, v]) => v.trim()).map(([k, v]) => [k, v.trim()]));
  const empty = Object.keys(given).length === 0 && !message.trim();
  const send = () => {
    setTried(true);
    if (!empty) onSend(given, message.trim());
  };
  const who = item.response ? "The respondent's link opens again with your comments beside their answers." : "The workflow gets your comments with the item.";
  return (
    <Modal
      title={`Request changes on “${item.title}”`}
      width="max-w-2xl"
      onClose={onClose}
      footer={<Footer busy={busy} onClose={onClose} label="Request changes" onSend={send} />}
    >
      <div className="space-y-3" onKeyDown={sendOnCtrlEnter(send)}>
        <p className="text-sm text-stone-600">{who} Write a comment on each answer that needs a change.</p>
        {tried && empty && (
          <p role="alert" className="text-sm text-red-600">
            Write at least one comment: on a field, or about the whole item.
          </p>
        )}
        <div className="max-h-[50vh] space-y-2 overflow-y-auto pr-1">
          {rows.map((row, i) => (
            <div key={row.field} className={row.issues.length ? "rounded-md border border-red-200 bg-red-50/50 p-2" : "rounded-md border border-stone-200 p-2"}>
              <label htmlFor={`change-${row.field}`} className="flex items-baseline justify-between gap-2 text-xs font-medium text-stone-700">
                <span>{row.label}</span>
                <span className="truncate font-normal text-stone-500">{formatValue(row.value)}</span>
              </label>
              {row.issues.map((issue) => (
                <p key={issue} className="mt-1 flex items-center gap-1 text-xs text-red-700">
                  <AlertTriangle className="size-3" aria-hidden />
                  {issue}
                </p>
              ))}
              <Input
                id={`change-${row.field}`}
                aria-label={`Comment on ${row.label}`}
                className="mt-1"
                autoFocus={i === 0}
                placeholder="What should change?"
                value={comments[row.field] ?? ""}
                onChange={(e) => setComments((c) => ({ ...c, [row.field]: e.target.value }))}
              />
            </div>
          ))}
        </div>
        <Field label="About the whole item" htmlFor="changes-message">
          <Textarea id="changes-message" rows={2} value={message} onChange={(e) => setMessage(e.target.value)} />
        </Field>
      </div>
    </Modal>
  );
}

export function EditDialog({ item, field: initial, busy, onClose, onSend }: { item: ReviewDetail; field?: string; busy: boolean; onClose: () => void; onSend: (values: Record<string, unknown>, reason: string) => void }) {
  const editable = item.fields.filter((f) => !f.sensitive);
  const [field, setField] = useState(initial ?? editable.find((f) => f.issues.length)?.field ?? editable[0]?.field ?? "");
  const row = editable.find((f) => f.field === field);
  const shown = (v: unknown) => (v !== null && typeof v === "object" ? JSON.stringify(v) : v === undefined || v === null ? "" : String(v));
  const [text, setText] = useState(shown(row?.value));
  const [reason, setReason] = useState("");
  const [error, setError] = useState<string | null>(null);
  const send = () => {
    if (!row) return;
    if (!reason.trim()) {
      setError("Say why the value changes: the reason goes in the trail.");
      return;
    }
    try {
      onSend({ [row.field]: parseEdited(text, row.value) }, reason.trim());
      setError(null);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <Modal title={`Edit a value of “${item.title}”`} onClose={onClose} footer={<Footer busy={busy} onClose={onClose} label="Save the change" onSend={send} />}>
      <div className="space-y-3" onKeyDown={sendOnCtrlEnter(send)}>
        <Field label="Field" htmlFor="edit-field">
          <Select
            id="edit-field"
            value={field}
            onChange={(e) => {
              setField(e.target.value);
              setText(shown(editable.find((f) => f.field === e.target.value)?.value));
            }}
          >
            {editable.map((f) => (
              <option key={f.field} value={f.field}>
                {f.label}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="New value" htmlFor="edit-value" hint={row ? `Now: ${formatValue(row.value)}` : undefined}>
          <Input id="edit-value" autoFocus value={text} onChange={(e) => setText(e.target.value)} />
        </Field>
        <Field label="Reason" required htmlFor="edit-reason">
          <Textarea id="edit-reason" rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
        {error && (
          <p role="alert" className="text-sm text-red-600">
            {error}
          </p>
        )}
        {item.response && <p className="text-xs text-stone-500">The response gets a new revision, checked by its form; the earlier one stays in the history.</p>}
      </div>
    </Modal>
  );
}

export function AssignDialog({ item, busy, onClose, onSend }: { item: ReviewDetail; busy: boolean; onClose: () => void; onSend: (to: { user?: string; team?: string; strategy?: string; reason?: string }) => void }) {
  const teams = useQuery({ queryKey: ["teams"], queryFn: listTeams, staleTime: 60_000 });
  const [team, setTeam] = useState(item.team ?? "");
  const members = useQuery({ queryKey: ["team", team], queryFn: () => getTeam(team), enabled: !!team, staleTime: 60_000 });
  const [user, setUser] = useState("");
  const [reason, setReason] = useState("");
  const send = () => {
    const to: { user?: string; team?: string; strategy?: string; reason?: string } = { reason: reason.trim() || undefined };
    if (user === "__round_robin" || user === "__least_loaded") to.strategy = user.slice(2);
    else if (user) to.user = user;
    if (team && team !== item.team) to.team = team;
    if (!to.user && !to.team && !to.strategy) to.strategy = "team";
    onSend(to);
  };
  return (
    <Modal title={`Reassign “${item.title}”`} onClose={onClose} footer={<Footer busy={busy} onClose={onClose} label="Reassign" onSend={send} />}>
      <div className="space-y-3" onKeyDown={sendOnCtrlEnter(send)}>
        <Field label="Team" htmlFor="assign-team">
          <Select id="assign-team" value={team} onChange={(e) => setTeam(e.target.value)}>
            {!item.team && <option value="">No team</option>}
            {(teams.data?.data ?? []).map((t) => (
              <option key={t.id} value={t.name}>
                {t.name}
              </option>
            ))}
          </Select>
        </Field>
        <Field label="To" htmlFor="assign-user" hint="Leave the team's queue to let any member take it.">
          <Select id="assign-user" value={user} onChange={(e) => setUser(e.target.value)}>
            <option value="">The team's queue</option>
            <option value="__round_robin">The next member in turn</option>
            <option value="__least_loaded">The member with the fewest open items</option>
            {(members.data?.members ?? [])
              .filter((m) => m.active)
              .map((m) => (
                <option key={m.user_id} value={m.email}>
                  {m.name || m.email} ({m.email})
                </option>
              ))}
          </Select>
        </Field>
        <Field label="Reason" htmlFor="assign-reason">
          <Input id="assign-reason" value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
      </div>
    </Modal>
  );
}

/** One decision on many items: the selected ones, or every item the filters match. */
export function BulkDialog({
  action,
  what,
  busy,
  result,
  onClose,
  onSend,
}: {
  action: "approve" | "reject";
  what: ReactNode;
  busy: boolean;
  result: BulkAnswer | null;
  onClose: () => void;
  onSend: (reason: string) => void;
}) {
  const [reason, setReason] = useState("");
  const [tried, setTried] = useState(false);
  const needs = action === "reject";
  const send = () => {
    setTried(true);
    if (!needs || reason.trim()) onSend(reason.trim());
  };
  if (result) {
    return (
      <Modal title="Bulk decision done" onClose={onClose} footer={<Button variant="primary" onClick={onClose}>Close</Button>}>
        <div className="space-y-2 text-sm text-stone-700" data-testid="bulk-result">
          <p>
            {plural(result.decided, "item")} {action === "approve" ? "approved" : "rejected"}
            {result.first_approvals ? `, ${plural(result.first_approvals, "first approval")} (a second person must approve those)` : ""}.
          </p>
          {result.busy > 0 && <p>{plural(result.busy, "item")} left as they were: someone was working on them.</p>}
          {result.skipped.length > 0 && (
            <div>
              <p>{plural(result.skipped.length, "item")} skipped:</p>
              <ul className="mt-1 max-h-40 list-disc overflow-y-auto pl-5 text-xs text-stone-600">
                {result.skipped.slice(0, 50).map((s) => (
                  <li key={s.id}>{s.reason}</li>
                ))}
              </ul>
            </div>
          )}
        </div>
      </Modal>
    );
  }
  return (
    <Modal
      title={action === "approve" ? "Approve in bulk" : "Reject in bulk"}
      onClose={onClose}
      footer={<Footer busy={busy} onClose={onClose} label={action === "approve" ? "Approve all" : "Reject all"} danger={needs} onSend={send} />}
    >
      <div className="space-y-3" onKeyDown={sendOnCtrlEnter(send)}>
        <p className="text-sm text-stone-600">{what}</p>
        <Field label="Reason" required={needs} htmlFor="bulk-reason" error={tried && needs && !reason.trim() ? "A rejection needs a reason." : undefined} hint="One reason for every item, kept in each item's trail.">
          <Textarea id="bulk-reason" autoFocus rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />
        </Field>
      </div>
    </Modal>
  );
}

export function ShortcutsDialog({ onClose }: { onClose: () => void }) {
  return (
    <Modal title="Keyboard shortcuts" onClose={onClose} width="max-w-md">
      <table className="w-full text-sm">
        <tbody>
          {SHORTCUTS.map((s) => (
            <tr key={s.action} className="border-b border-stone-100 last:border-0">
              <td className="w-24 py-1.5">
                {s.keys.map((k) => (
                  <kbd key={k} className="mr-1 rounded border border-stone-300 bg-stone-50 px-1.5 py-0.5 font-mono text-xs text-stone-700">
                    {k}
                  </kbd>
                ))}
              </td>
              <td className="py-1.5 text-stone-700">{s.label}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Modal>
  );
}
