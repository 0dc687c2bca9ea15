/**
 * What the review dashboard shows and how the keyboard drives it, as plain functions (tested
 * in review.test.ts): status and priority words, due dates, values and their change against
 * last period, the views (my queue, unassigned, team), and the shortcut keys.
 */
import type { FieldRow, ReviewItem, ReviewQuery, ReviewStatus } from "./api";

export const OPEN_STATUSES: ReviewStatus[] = ["pending", "in_review", "escalated"];
export const ALL_STATUSES: ReviewStatus[] = ["pending", "in_review", "escalated", "changes_requested", "approved", "rejected"];

export const STATUS_WORDS: Record<ReviewStatus, string> = {
  pending: "Pending",
  in_review: "In review",
  escalated: "Escalated",
  changes_requested: "Changes requested",
  approved: "Approved",
  rejected: "Rejected",
};

export const PRIORITIES = ["Low", "Normal", "High", "Urgent"] as const;

export function priorityName(p: number): string {
  return PRIORITIES[Math.max(0, Math.min(3, p))];
}

/** The dashboard's views: whose items the list shows. */
export type View = "mine" | "unassigned" | "team" | "decided";

export const VIEWS: { view: View; label: string; hint: string }[] = [
  { view: "mine", label: "My queue", hint: "Open items assigned to you" },
  { view: "unassigned", label: "Unassigned", hint: "Open items nobody has taken yet" },
  { view: "team", label: "Team queue", hint: "Every open item of your teams" },
  { view: "decided", label: "Decided", hint: "Approved, rejected and sent back" },
];

export interface Filters {
  queue?: string;
  team?: string;
  q?: string;
  priority?: number;
  overdue?: boolean;
  has_issues?: boolean;
  status?: ReviewStatus;
  sort?: ReviewQuery["sort"];
  /** The items a run put in queues (from the run's Review step). */
  run_id?: string;
}

/** The listing query for a view and the filters chosen on top of it. */
export function viewQuery(view: View, f: Filters, page = 1, pageSize = 50): ReviewQuery {
  const statuses = f.status ? [f.status] : view === "decided" ? ["approved", "rejected", "changes_requested"] : OPEN_STATUSES;
  const q: ReviewQuery = { status: statuses, page, page_size: pageSize, sort: f.sort ?? (view === "decided" ? "updated" : "priority") };
  if (view === "mine") q.assignee = "me";
  if (view === "unassigned") q.assignee = "none";
  if (f.queue) q.queue = f.queue;
  if (f.team) q.team = f.team;
  if (f.q) q.q = f.q;
  if (f.priority !== undefined) q.priority = f.priority;
  if (f.overdue) q.overdue = true;
  if (f.has_issues) q.has_issues = true;
  if (f.run_id) q.run_id = f.run_id;
  return q;
}

/** "due in 3 h", "overdue by 2 d", or "" without an SLA. */
export function dueText(item: Pick<ReviewItem, "due_at" | "overdue" | "status">, now: number = Date.now()): string {
  if (!item.due_at || !OPEN_STATUSES.includes(item.status)) return "";
  const ms = new Date(item.due_at).getTime() - now;
  const span = humanSpan(Math.abs(ms));
  return ms < 0 || item.overdue ? `overdue by ${span}` : `due in ${span}`;
}

function humanSpan(ms: number): string {
  const m = Math.round(ms / 60_000);
  if (m < 1) return "less than a minute";
  if (m < 60) return `${m} min`;
  const h = Math.round(m / 60);
  if (h < 48) return `${h} h`;
  return `${Math.round(h / 24)} d`;
}

/** Seconds as people read them: 45 s, 12 min, 3.5 h, 2.1 d. */
export function seconds(s: number | null | undefined): string {
  if (s === null || s === undefined) return "—";
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 172_800) return `${(s / 3600).toFixed(1)} h`;
  return `${(s / 86_400).toFixed(1)} d`;
}

export function percent(rate: number | null | undefined): string {
  return rate === null || rate === undefined ? "—" : `${Math.round(rate * 100)}%`;
}

/** A value as the detail view shows it. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined || value === "") return "—";
  if (typeof value === "boolean") return value ? "Yes" : "No";
  if (typeof value === "number") return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", { maximumFractionDigits: 4 });
  if (typeof value === "string") return value;
  if (Array.isArray(value)) {
    if (value.every((v) => v === null || typeof v !== "object")) return value.map(formatValue).join(", ");
    return `${value.length} ${value.length === 1 ? "row" : "rows"}`;
  }
  return JSON.stringify(value);
}

/** The change against last period: "+25%" (or "+3" when last period was 0), "" when none. */
export function deltaText(row: Pick<FieldRow, "delta" | "delta_pct">): string {
  if (row.delta_pct !== null && row.delta_pct !== undefined) {
    const pct = Math.round(row.delta_pct * 10) / 10;
    return `${pct > 0 ? "+" : ""}${pct}%`;
  }
  if (row.delta !== null && row.delta !== undefined && row.delta !== 0) return `${row.delta > 0 ? "+" : ""}${formatValue(row.delta)}`;
  return "";
}

/** A change against last period is large when it moved by more than this share. */
export const LARGE_CHANGE_PCT = 25;

export function largeChange(row: Pick<FieldRow, "delta_pct">): boolean {
  return row.delta_pct !== null && row.delta_pct !== undefined && Math.abs(row.delta_pct) > LARGE_CHANGE_PCT;
}

/** The text of an issue in any shape a validator gave it. */
export function issueText(issue: unknown): string {
  if (typeof issue === "string") return issue;
  if (issue && typeof issue === "object") {
    const o = issue as Record<string, unknown>;
    const text = o.message ?? o.reason ?? o.rule;
    const field = o.field ? `${o.field}: ` : "";
    if (typeof text === "string") return field + text;
  }
  return JSON.stringify(issue);
}

/** A value typed into the edit box, read back as the type the field had. */
export function parseEdited(text: string, before: unknown): unknown {
  const t = text.trim();
  if (typeof before === "number") {
    const n = Number(t.replace(/,/g, ""));
    if (t === "" || Number.isNaN(n)) throw new Error(`"${text}" is not a number`);
    return n;
  }
  if (typeof before === "boolean") {
    if (/^(yes|true|1)$/i.test(t)) return true;
    if (/^(no|false|0)$/i.test(t)) return false;
    throw new Error(`"${text}" is not yes or no`);
  }
  if (before !== null && typeof before === "object") {
    try {
      return JSON.parse(t);
    } catch {
      throw new Error("This value is a list or a group: write it as JSON");
    }
  }
  return t;
}

// -- the keyboard --------------------------------------------------------------------------

export type KeyAction = "next" | "previous" | "approve" | "reject" | "changes" | "claim" | "select" | "edit" | "comment" | "help" | "claim_next";

/** The shortcuts, as the help lists them. */
export const SHORTCUTS: { keys: string[]; action: KeyAction; label: string }[] = [
  { keys: ["j", "↓"], action: "next", label: "Next item" },
  { keys: ["k", "↑"], action: "previous", label: "Previous item" },
  { keys: ["a"], action: "approve", label: "Approve" },
  { keys: ["r"], action: "reject", label: "Reject (with a reason)" },
  { keys: ["c"], action: "changes", label: "Request changes (a comment per field)" },
  { keys: ["t"], action: "claim", label: "Take the item (claim) or give it back" },
  { keys: ["n"], action: "claim_next", label: "Take the next most urgent item" },
  { keys: ["e"], action: "edit", label: "Edit a value (with a reason)" },
  { keys: ["m"], action: "comment", label: "Write a comment" },
  { keys: ["x"], action: "select", label: "Select for a bulk decision" },
  { keys: ["?"], action: "help", label: "Show these shortcuts" },
];

const KEYS: Record<string, KeyAction> = {
  j: "next",
  ArrowDown: "next",
  k: "previous",
  ArrowUp: "previous",
  a: "approve",
  r: "reject",
  c: "changes",
  t: "claim",
  n: "claim_next",
  e: "edit",
  m: "comment",
  x: "select",
  "?": "help",
};

interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  target?: EventTarget | null;
}

/** The action a key press asks for, or null: keys typed into a field, or with Ctrl/Cmd/Alt, are not shortcuts. */
export function keyAction(e: KeyLike): KeyAction | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  const el = e.target as { tagName?: string; isContentEditable?: boolean } | null;
  const tag = el?.tagName?.toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select" || el?.isContentEditable) return null;
  return KEYS[e.key] ?? null;
}

/** The id `step` places away from `current` in the list (stays at the ends), or the first. */
export function stepId(ids: string[], current: string | null, step: number): string | null {
  if (ids.length === 0) return null;
  const at = current ? ids.indexOf(current) : -1;
  if (at < 0) return ids[0];
  return ids[Math.max(0, Math.min(ids.length - 1, at + step))];
}

/** After a decision the item leaves the open list: the one to show next is the one after it (or before, at the end). */
export function afterDecision(ids: string[], decided: string): string | null {
  const at = ids.indexOf(decided);
  const rest = ids.filter((id) => id !== decided);
  if (rest.length === 0) return null;
  if (at < 0) return rest[0];
  return rest[Math.min(at, rest.length - 1)];
}

export interface DayCounts {
  day: string;
  queued: number;
  approved: number;
  rejected: number;
  changes_requested: number;
  first_approval: number;
}

export interface Bucket extends Omit<DayCounts, "day"> {
  from: string;
  to: string;
  /** what the bar's tooltip and the screen reader say */
  label: string;
}

/** Days of the metrics window gathered into at most `maxBars` bars of whole days each (a year
 * becomes weekly bars), the newest last; the first bar may hold fewer days. */
export function dayBuckets(days: DayCounts[], maxBars = 45): Bucket[] {
  const size = Math.max(1, Math.ceil(days.length / maxBars));
  const out: Bucket[] = [];
  for (let end = days.length; end > 0; end -= size) {
    const part = days.slice(Math.max(0, end - size), end);
    const sum = (k: keyof Omit<DayCounts, "day">) => part.reduce((n, d) => n + d[k], 0);
    const b = {
      from: part[0].day,
      to: part[part.length - 1].day,
      queued: sum("queued"),
      approved: sum("approved"),
      rejected: sum("rejected"),
      changes_requested: sum("changes_requested"),
      first_approval: sum("first_approval"),
    };
    const when = b.from === b.to ? b.from : `${b.from} to ${b.to}`;
    out.unshift({
      ...b,
      label: `${when}: ${b.queued} queued, ${b.approved} approved, ${b.rejected} rejected, ${b.changes_requested} sent back`,
    });
  }
  return out;
}
