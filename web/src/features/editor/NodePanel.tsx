/**
 * The side panel for the selected node: its parameters (SchemaForm from the type's JSON
 * Schema), its common settings (id, name, on_error, retry) and its data from the run shown.
 */
import { useEffect, useMemo, useState } from "react";
import { Link } from "react-router";
import { AlertTriangle, Pin, PinOff, Play, X } from "lucide-react";
import type { Activation, OnError, RetryPolicy } from "../../client/types";
import { cx } from "../../lib/cx";
import { formatDateTime, formatDuration } from "../../lib/format";
import { toast } from "../../lib/toast";
import { Button, ErrorNote, Field, IconButton, Input, Select, Spinner, StatusBadge, Toggle } from "../../lib/ui";
import { listActivationItems } from "../../client/api";
import { errorMessage } from "../../client/errors";
import { ExpressionScopeContext, type ExpressionScope } from "./ExpressionInput";
import { ItemsView, JsonBlock } from "./DataView";
import { categoryStyle, iconFor } from "./icons";
import { upstreamOf, type FlowNode } from "./mapping";
import { displayName } from "./Palette";
import { useConfigSchema } from "./queries";
import { fieldNames, pinnableOutput, PIN_LIMIT, sampleOutput, wholeOutput } from "./runInfo";
import { sampleFields } from "./RunDialog";
import { SchemaForm } from "./SchemaForm";
import { useEditor, useEditorApi } from "./store";

type Tab = "parameters" | "settings" | "data";

export function NodePanel({
  node,
  onClose,
  onRunNode,
  canRun,
}: {
  node: FlowNode;
  onClose: () => void;
  onRunNode?: (nodeId: string) => void;
  canRun: boolean;
}) {
  const spec = useEditor((s) => s.specs[node.data.type]);
  const readOnly = useEditor((s) => s.readOnly);
  const problems = useEditor((s) => s.problemsByNode[node.id]);
  const hasRun = useEditor((s) => !!s.run?.activations?.some((a) => a.node_id === node.id));
  const pinned = useEditor((s) => s.pinned[node.id]);
  const [tab, setTab] = useState<Tab>(readOnly && hasRun ? "data" : "parameters");
  const style = categoryStyle(spec?.category);
  const Icon = iconFor(spec?.icon, spec?.category);

  useEffect(() => {
    if (readOnly && hasRun) setTab("data");
  }, [node.id, readOnly, hasRun]);

  const tabs: { id: Tab; label: string }[] = [
    { id: "parameters", label: "Parameters" },
    { id: "settings", label: "Settings" },
    { id: "data", label: hasRun ? "Data" : pinned ? "Pinned data" : "Data" },
  ];

  return (
    <aside className="flex h-full w-[380px] shrink-0 flex-col border-l border-stone-200 bg-white" aria-label={`Node ${node.id}`} data-testid="node-panel">
      <div className="flex items-start gap-2.5 border-b border-stone-200 px-3 py-2.5">
        <div className={cx("mt-0.5 flex size-8 shrink-0 items-center justify-center rounded-md ring-1", style.tile)}>
          <Icon className="size-4" aria-hidden />
        </div>
        <div className="min-w-0 flex-1">
          <h2 className="truncate text-sm font-semibold text-stone-900">{node.data.name || node.id}</h2>
          <p className="truncate text-xs text-stone-500">
            {displayName(node.data.type)} · <span className="font-mono">{node.id}</span>
          </p>
        </div>
        {canRun && onRunNode && !readOnly && (
          <Button size="sm" icon={<Play className="size-3.5" />} onClick={() => onRunNode(node.id)} title="Run only this node, with pinned or earlier data as its input">
            Test node
          </Button>
        )}
        <IconButton label="Close panel" onClick={onClose} className="size-7">
          <X className="size-4" />
        </IconButton>
      </div>
      {spec?.description && <p className="border-b border-stone-100 px-3 py-2 text-xs text-stone-500">{spec.description}</p>}
      <div className="flex gap-1 border-b border-stone-200 px-2" role="tablist">
        {tabs.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            aria-selected={tab === t.id}
            onClick={() => setTab(t.id)}
            className={cx(
              "-mb-px border-b-2 px-2.5 py-2 text-xs font-medium",
              tab === t.id ? "border-brand-600 text-brand-800" : "border-transparent text-stone-500 hover:text-stone-800",
            )}
          >
            {t.label}
            {t.id === "parameters" && problems && <span className="ml-1 rounded-full bg-red-100 px-1.5 text-[10px] text-red-700">{problems.length}</span>}
          </button>
        ))}
      </div>
      <div className="min-h-0 flex-1 overflow-y-auto p-3">
        {tab === "parameters" && <ParametersTab node={node} />}
        {tab === "settings" && <SettingsTab node={node} />}
        {tab === "data" && <DataTab nodeId={node.id} canPin={canRun && !readOnly} />}
      </div>
    </aside>
  );
}

function useExpressionScope(nodeId: string): ExpressionScope {
  const edges = useEditor((s) => s.edges);
  const run = useEditor((s) => s.run);
  const pinned = useEditor((s) => s.pinned);
  const workflowId = useEditor((s) => s.meta.id);
  const api = useEditorApi();
  return useMemo(() => {
    const acts = run?.activations ?? [];
    const { nodes, specs } = api.getState();
    const upstream: Record<string, string[]> = {};
    for (const id of upstreamOf(nodeId, edges)) {
      upstream[id] = fieldNames(pinned[id] ?? sampleOutput(acts, id));
      // Before any run, a trigger's fields are those of the sample input typed for tests.
      const type = nodes.find((n) => n.id === id)?.data.type;
      if (!upstream[id].length && type && specs[type]?.is_trigger) upstream[id] = sampleFields(workflowId || null);
    }
    const parents = edges.filter((e) => e.target === nodeId).map((e) => e.source);
    const itemFields = [...new Set(parents.flatMap((p) => upstream[p] ?? []))];
    return { upstream, itemFields };
  }, [nodeId, edges, run, pinned, workflowId, api]);
}

function ParametersTab({ node }: { node: FlowNode }) {
  const api = useEditorApi();
  const readOnly = useEditor((s) => s.readOnly);
  const problems = useEditor((s) => s.problemsByNode[node.id]);
  const schema = useConfigSchema(node.data.type);
  const scope = useExpressionScope(node.id);
  const config = node.data.config;
  const onChange = useMemo(
    () => (value: Record<string, unknown>, key: string) => api.getState().updateNodeData(node.id, { config: value }, `config.${key}`),
    [api, node.id],
  );
  const general = (problems ?? []).filter((p) => !p.field || !p.field.startsWith("config."));
  return (
    <div className="space-y-4">
      {general.length > 0 && (
        <ul className="space-y-1 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-xs text-red-800" data-testid="panel-problems">
          {general.map((p, i) => (
            <li key={i} className="flex gap-1.5">
              <AlertTriangle className="mt-px size-3.5 shrink-0" aria-hidden />
              {p.message}
            </li>
          ))}
        </ul>
      )}
      {schema.isPending ? (
        <Spinner label="Loading settings" />
      ) : schema.isError ? (
        <ErrorNote>{errorMessage(schema.error)}</ErrorNote>
      ) : (
        <ExpressionScopeContext.Provider value={scope}>
          <SchemaForm schema={schema.data} value={config} onChange={onChange} problems={problems} disabled={readOnly} />
        </ExpressionScopeContext.Provider>
      )}
    </div>
  );
}

const ON_ERROR: { value: OnError; label: string; help: string }[] = [
  { value: "fail", label: "Stop the run", help: "The run fails when this node fails." },
  { value: "continue", label: "Continue", help: "An item describing the error goes on to the next nodes." },
  { value: "route", label: "Route to the error output", help: "Failed items leave through an extra “error” output you can connect." },
];

function SettingsTab({ node }: { node: FlowNode }) {
  const api = useEditorApi();
  const readOnly = useEditor((s) => s.readOnly);
  const [id, setId] = useState(node.id);
  const [idError, setIdError] = useState<string | null>(null);
  useEffect(() => {
    setId(node.id);
    setIdError(null);
  }, [node.id]);
  const update = (patch: Partial<FlowNode["data"]>, key?: string) => api.getState().updateNodeData(node.id, patch, key);
  const retry = node.data.retry ?? null;
  const setRetry = (patch: Partial<RetryPolicy> | null) =>
    update({ retry: patch === null ? null : { ...(retry ?? { max_attempts: 3, backoff_seconds: 1 }), ...patch } }, "retry");
  const onError = node.data.on_error ?? "fail";
  const applyId = () => {
    const err = api.getState().renameNode(node.id, id);
    setIdError(err);
    if (err) return;
  };

  return (
    <fieldset className="space-y-4" disabled={readOnly}>
      <Field label="Node id" htmlFor="node-id" hint="Expressions refer to this node by its id." error={idError}>
        <Input
          id="node-id"
          className="font-mono"
          value={id}
          onChange={(e) => setId(e.target.value)}
          onBlur={applyId}
          onKeyDown={(e) => e.key === "Enter" && applyId()}
          invalid={!!idError}
        />
      </Field>
      <Field label="Name" htmlFor="node-name" hint="A label shown on the canvas.">
        <Input id="node-name" value={node.data.name ?? ""} placeholder={node.id} onChange={(e) => update({ name: e.target.value || undefined }, "name")} />
      </Field>
      <Field label="When this node fails" htmlFor="node-on-error" hint={ON_ERROR.find((o) => o.value === onError)?.help}>
        <Select id="node-on-error" value={onError} onChange={(e) => update({ on_error: e.target.value as OnError })}>
          {ON_ERROR.map((o) => (
            <option key={o.value} value={o.value}>
              {o.label}
            </option>
          ))}
        </Select>
      </Field>
      <div className="space-y-3 rounded-md border border-stone-200 p-3">
        <div className="flex items-center justify-between">
          <label htmlFor="node-retry" className="text-xs font-medium text-stone-700">
            Retry on failure
          </label>
          <Toggle id="node-retry" label="Retry on failure" checked={!!retry} onChange={(on) => setRetry(on ? {} : null)} disabled={readOnly} />
        </div>
        {retry && (
          <div className="grid grid-cols-2 gap-3">
            <Field label="Attempts" htmlFor="retry-attempts">
              <Input
                id="retry-attempts"
                type="number"
                min={1}
                max={20}
                value={retry.max_attempts ?? ""}
                onChange={(e) => setRetry({ max_attempts: Math.max(1, Number(e.target.value) || 1) })}
              />
            </Field>
            <Field label="Wait between (s)" htmlFor="retry-backoff">
              <Input
                id="retry-backoff"
                type="number"
                min={0}
                step="0.5"
                value={retry.backoff_seconds ?? ""}
                onChange={(e) => setRetry({ backoff_seconds: Math.max(0, Number(e.target.value) || 0) })}
              />
            </Field>
            <p className="col-span-2 text-xs text-stone-500">The wait doubles after each attempt, with a little randomness.</p>
          </div>
        )}
      </div>
    </fieldset>
  );
}

function DataTab({ nodeId, canPin }: { nodeId: string; canPin: boolean }) {
  const api = useEditorApi();
  const run = useEditor((s) => s.run);
  const pinned = useEditor((s) => s.pinned[nodeId]);
  const acts: Activation[] = useMemo(() => (run?.activations ?? []).filter((a) => a.node_id === nodeId), [run, nodeId]);
  const [lane, setLane] = useState(0);
  const a = acts[Math.min(lane, acts.length - 1)];
  const output = run ? pinnableOutput(run.activations ?? [], nodeId) : null;
  // a node with more items than the run holds: the rest are fetched before they are pinned
  const pinWhole = async () => {
    if (!run) return;
    try {
      const items = await wholeOutput(run.activations ?? [], nodeId, (id, port, offset) =>
        listActivationItems(run.id, id, "output", port, offset).then((p) => p.data),
      );
      if (items === null) toast.error(`This node put out more than ${PIN_LIMIT.toLocaleString("en-US")} items; pin a smaller test run's output`);
      else api.getState().pin(nodeId, items);
    } catch (e) {
      toast.error(errorMessage(e));
    }
  };

  return (
    <div className="space-y-4" data-testid="node-data">
      {pinned && (
        <div className="space-y-2 rounded-md border border-sky-200 bg-sky-50/50 p-2">
          <div className="flex items-center justify-between">
            <span className="flex items-center gap-1 text-xs font-medium text-sky-800">
              <Pin className="size-3.5" /> Pinned output, used by test runs
            </span>
            {canPin && (
              <Button size="sm" variant="ghost" icon={<PinOff className="size-3.5" />} onClick={() => api.getState().unpin(nodeId)}>
                Unpin
              </Button>
            )}
          </div>
          <ItemsView items={pinned} label="Pinned items" />
        </div>
      )}
      {!a ? (
        !pinned && <p className="text-sm text-stone-500">This node has no data yet. Run the workflow to see what it receives and puts out.</p>
      ) : (
        <>
          <div className="flex flex-wrap items-center gap-2 text-xs text-stone-600">
            <StatusBadge status={a.status} />
            <span>{formatDuration(a.duration_ms)}</span>
            {a.attempts > 1 && <span>{a.attempts} attempts</span>}
            {acts.length > 1 && (
              <Select aria-label="Lane" value={String(lane)} onChange={(e) => setLane(Number(e.target.value))} className="ml-auto h-7 w-auto text-xs">
                {acts.map((x, i) => (
                  <option key={x.id} value={i}>
                    Lane {x.lane || i + 1} · {x.status}
                  </option>
                ))}
              </Select>
            )}
            {canPin && output && !pinned && (
              <Button size="sm" variant="ghost" className={acts.length > 1 ? "" : "ml-auto"} icon={<Pin className="size-3.5" />} onClick={() => void pinWhole()} title="Use this output in the next test runs instead of running the node">
                Pin output
              </Button>
            )}
          </div>
          {a.status === "waiting" && (a.wait_for || a.wake_at) && (
            <p className="rounded-md border border-amber-200 bg-amber-50 px-2.5 py-1.5 text-xs text-amber-800">
              {a.wait_for?.startsWith("review:") ? (
                <>
                  Waiting for a reviewer's decision.{" "}
                  <Link className="font-medium underline" to={`/reviews?view=team&run=${encodeURIComponent(a.wait_for.slice(7).split("/")[0])}`}>
                    Open its items in Reviews
                  </Link>
                </>
              ) : (
                <>
                  Waiting{a.wait_for ? ` for ${a.wait_for}` : ""}
                  {a.wake_at ? ` until ${formatDateTime(a.wake_at)}` : ""}.
                </>
              )}
            </p>
          )}
          {a.error && (
            <section className="space-y-1 rounded-md border border-red-200 bg-red-50 p-2.5" aria-label="Error" data-testid="node-error">
              <h4 className="text-xs font-semibold text-red-800">Error{a.error.type ? ` · ${a.error.type}` : ""}</h4>
              <p className="text-sm text-red-800">{a.error.message}</p>
              {a.error.expression && (
                <p className="text-xs text-red-700">
                  in <code className="rounded bg-white/70 px-1 font-mono">{a.error.expression}</code>
                </p>
              )}
              <details className="text-xs text-red-700">
                <summary className="cursor-pointer">As JSON</summary>
                <JsonBlock value={a.error} />
              </details>
            </section>
          )}
          {a.input && (
            <ItemsView
              key={`${a.id}-input`}
              items={a.input}
              label="Input"
              total={a.input_total}
              loadMore={run ? (offset) => listActivationItems(run.id, a.id, "input", "main", offset).then((p) => p.data) : undefined}
            />
          )}
          {a.output &&
            Object.entries(a.output).map(([port, items]) => (
              <ItemsView
                key={`${a.id}-${port}`}
                items={Array.isArray(items) ? items : []}
                label={Object.keys(a.output!).length > 1 || port !== "main" ? `Output · ${port}` : "Output"}
                total={a.output_totals?.[port]}
                loadMore={run ? (offset) => listActivationItems(run.id, a.id, "output", port, offset).then((p) => p.data) : undefined}
              />
            ))}
          {!a.input && !a.output && !a.error && <p className="text-sm text-stone-500">No data recorded for this node.</p>}
        </>
      )}
    </div>
  );
}
