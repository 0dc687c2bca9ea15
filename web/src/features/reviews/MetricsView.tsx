/** How the reviews go: open and overdue items, time to first review and to decision, approval rate, per reviewer. */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { errorMessage } from "../../client/errors";
import { cx } from "../../lib/cx";
import { ErrorNote, Select, Spinner } from "../../lib/ui";
import { getMetrics, type Metrics, type TimeStats } from "./api";
import { ALL_STATUSES, dayBuckets, percent, seconds, STATUS_WORDS } from "./review";

const PERIODS = [
  { days: 7, label: "Last 7 days" },
  { days: 30, label: "Last 30 days" },
  { days: 90, label: "Last 90 days" },
  { days: 365, label: "Last year" },
];

const STATUS_BAR: Record<string, string> = {
  pending: "bg-stone-400",
  in_review: "bg-sky-500",
  escalated: "bg-orange-500",
  changes_requested: "bg-amber-400",
  approved: "bg-emerald-500",
  rejected: "bg-red-500",
};

export function MetricsView({ queue, team }: { queue?: string; team?: string }) {
  const [days, setDays] = useState(30);
  const [since] = useState(() => Date.now());
  const metrics = useQuery({
    queryKey: ["review-metrics", queue, team, days],
    queryFn: () => getMetrics({ queue, team, since: new Date(since - days * 86_400_000).toISOString() }),
    refetchInterval: 30_000,
  });
  return (
    <div className="space-y-5 p-6" data-testid="review-metrics">
      <div className="flex items-center gap-2">
        <Select aria-label="Period" value={days} onChange={(e) => setDays(Number(e.target.value))} className="w-44">
          {PERIODS.map((p) => (
            <option key={p.days} value={p.days}>
              {p.label}
            </option>
          ))}
        </Select>
        <span className="text-xs text-stone-500">Decisions and times count the items decided in the period; open and overdue are now.</span>
      </div>
      {metrics.isPending ? <Spinner /> : metrics.isError ? <ErrorNote>{errorMessage(metrics.error)}</ErrorNote> : <Figures m={metrics.data} />}
    </div>
  );
}

function Card({ label, value, hint, tone }: { label: string; value: string; hint?: string; tone?: "bad" }) {
  return (
    <div className="rounded-lg border border-stone-200 bg-white px-4 py-3" data-testid="metric-card">
      <p className="text-xs font-medium text-stone-500">{label}</p>
      <p className={cx("mt-1 text-2xl font-semibold tabular-nums", tone === "bad" ? "text-red-700" : "text-stone-900")}>{value}</p>
      {hint && <p className="text-xs text-stone-500">{hint}</p>}
    </div>
  );
}

function timeHint(t: TimeStats): string {
  return t.count ? `p90 ${seconds(t.p90)} · ${t.count} items` : "no items yet";
}

function Figures({ m }: { m: Metrics }) {
  const statusMax = Math.max(1, ...Object.values(m.by_status));
  const reviewerMax = Math.max(1, ...m.per_reviewer.map((r) => r.decided + r.changes_requested + r.first_approval));
  return (
    <>
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
        <Card label="Open" value={String(m.open)} />
        <Card label="Overdue" value={String(m.overdue)} tone={m.overdue ? "bad" : undefined} />
        <Card label="Decided" value={String(m.decided)} hint={`${m.approved} approved · ${m.rejected} rejected`} />
        <Card label="Approval rate" value={percent(m.approval_rate)} hint={`${m.changes_requested} sent back for changes`} />
        <Card label="Time to first review (median)" value={seconds(m.time_to_first_review.p50)} hint={timeHint(m.time_to_first_review)} />
        <Card label="Time to decision (median)" value={seconds(m.time_to_decision.p50)} hint={timeHint(m.time_to_decision)} />
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <section className="rounded-lg border border-stone-200 bg-white p-4" aria-label="Items per status">
          <h3 className="mb-3 text-sm font-semibold text-stone-800">Items per status</h3>
          <ul className="space-y-2">
            {ALL_STATUSES.map((s) => {
              const n = m.by_status[s] ?? 0;
              return (
                <li key={s} className="grid grid-cols-[9rem_1fr_3rem] items-center gap-2 text-sm">
                  <span className="text-stone-600">{STATUS_WORDS[s]}</span>
                  <span className="h-3 rounded bg-stone-100">
                    <span className={cx("block h-3 rounded", STATUS_BAR[s])} style={{ width: `${(n / statusMax) * 100}%` }} />
                  </span>
                  <span className="text-right tabular-nums text-stone-700">{n}</span>
                </li>
              );
            })}
          </ul>
        </section>
        <section className="rounded-lg border border-stone-200 bg-white p-4" aria-label="Per reviewer">
          <h3 className="mb-3 text-sm font-semibold text-stone-800">Per reviewer</h3>
          {m.per_reviewer.length === 0 ? (
            <p className="text-sm text-stone-500">Nobody decided anything in this period.</p>
          ) : (
            <table className="w-full text-sm">
              <thead className="text-left text-xs text-stone-500">
                <tr>
                  <th className="pb-1 font-medium">Reviewer</th>
                  <th className="w-2/5 pb-1 font-medium">Decisions</th>
                  <th className="pb-1 pr-2 text-right font-medium">Approved</th>
                  <th className="pb-1 text-right font-medium whitespace-nowrap" title="Median time from queued to decision">Median</th>
                </tr>
              </thead>
              <tbody>
                {m.per_reviewer.map((r) => {
                  const total = r.decided + r.changes_requested + r.first_approval;
                  return (
                    <tr key={r.user_id ?? r.reviewer ?? "platform"} className="border-t border-stone-100" data-testid="reviewer-row">
                      <td className="py-1.5 pr-2 text-stone-800">{r.reviewer ?? "the platform"}</td>
                      <td className="py-1.5 pr-2">
                        <div className="flex h-3 overflow-hidden rounded bg-stone-100" style={{ width: `${(total / reviewerMax) * 100}%` }} title={`${r.approved} approved, ${r.rejected} rejected, ${r.changes_requested} sent back, ${r.first_approval} first approvals`}>
                          <span className="bg-emerald-500" style={{ flexGrow: r.approved }} />
                          <span className="bg-violet-400" style={{ flexGrow: r.first_approval }} />
                          <span className="bg-amber-400" style={{ flexGrow: r.changes_requested }} />
                          <span className="bg-red-500" style={{ flexGrow: r.rejected }} />
                        </div>
                        <span className="text-xs text-stone-500">{total}</span>
                      </td>
                      <td className="py-1.5 pr-2 text-right tabular-nums">{percent(r.approval_rate)}</td>
                      <td className="py-1.5 text-right tabular-nums">{seconds(r.time_to_decision.p50)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <PerDay m={m} />
    </>
  );
}

const DECISION_BARS = [
  { key: "approved", label: "Approved", color: "bg-emerald-500" },
  { key: "first_approval", label: "First approvals", color: "bg-violet-400" },
  { key: "changes_requested", label: "Sent back", color: "bg-amber-400" },
  { key: "rejected", label: "Rejected", color: "bg-red-500" },
] as const;

/** Items queued and decisions taken, a bar a day (a week for long periods). */
function PerDay({ m }: { m: Metrics }) {
  const bars = dayBuckets(m.per_day);
  const top = Math.max(1, ...bars.map((b) => Math.max(b.queued, b.approved + b.first_approval + b.changes_requested + b.rejected)));
  const empty = bars.every((b) => b.queued + b.approved + b.first_approval + b.changes_requested + b.rejected === 0);
  return (
    <section className="rounded-lg border border-stone-200 bg-white p-4" aria-label="Per day">
      <div className="mb-3 flex flex-wrap items-center gap-x-4 gap-y-1">
        <h3 className="text-sm font-semibold text-stone-800">{bars.length && bars[0].from !== bars[0].to ? "Per week" : "Per day"}</h3>
        <span className="flex items-center gap-1 text-xs text-stone-600">
          <span className="inline-block h-2.5 w-2.5 rounded-sm bg-stone-300" /> Queued
        </span>
        {DECISION_BARS.map((d) => (
          <span key={d.key} className="flex items-center gap-1 text-xs text-stone-600">
            <span className={cx("inline-block h-2.5 w-2.5 rounded-sm", d.color)} /> {d.label}
          </span>
        ))}
      </div>
      {empty ? (
        <p className="text-sm text-stone-500">Nothing was queued or decided in this period.</p>
      ) : (
        <>
          <ol className="flex h-36 items-end gap-px border-b border-stone-200" data-testid="per-day">
            {bars.map((b) => (
              <li key={b.from} className="flex h-full min-w-0 flex-1 items-end justify-center gap-px" title={b.label} aria-label={b.label}>
                <span className="w-1/2 max-w-3 rounded-t-sm bg-stone-300" style={{ height: `${(b.queued / top) * 100}%` }} />
                <span className="flex w-1/2 max-w-3 flex-col-reverse overflow-hidden rounded-t-sm" style={{ height: `${((b.approved + b.first_approval + b.changes_requested + b.rejected) / top) * 100}%` }}>
                  {DECISION_BARS.map((d) => (
                    <span key={d.key} className={d.color} style={{ flexGrow: b[d.key] }} />
                  ))}
                </span>
              </li>
            ))}
          </ol>
          <div className="mt-1 flex justify-between text-xs text-stone-500 tabular-nums">
            <span>{bars[0].from}</span>
            <span>most in a bar: {top}</span>
            <span>{bars[bars.length - 1].to}</span>
          </div>
        </>
      )}
    </section>
  );
}
