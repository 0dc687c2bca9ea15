/**
 * One run on its workflow's canvas as it was at that version, with each node's status, items
 * and time; a node's panel shows its input, output and error. Cancel and retry from here.
 */
import { useEffect, useRef, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { ReactFlowProvider } from "@xyflow/react";
import { AlertTriangle, ArrowLeft, Ban, PencilLine, RotateCcw } from "lucide-react";
import { cancelRun, getRun, getVersion, retryRun } from "../../client/api";
import { errorMessage } from "../../client/errors";
import type { Run } from "../../client/types";
import { cx } from "../../lib/cx";
import { confirm } from "../../lib/confirm";
import { formatDateTime, formatDuration } from "../../lib/format";
import { backTo } from "../../lib/params";
import { toast } from "../../lib/toast";
import { useTitle } from "../../lib/title";
import { Button, ErrorNote, IconButton, Spinner, StatusBadge } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import { canRunWorkflows } from "../shell/permissions";
import { Canvas } from "../editor/Canvas";
import { NodePanel } from "../editor/NodePanel";
import { useNodeSpecs } from "../editor/queries";
import { createEditorStore, EditorContext, useEditor, type EditorStore } from "../editor/store";
import { outputCount } from "../editor/runInfo";
import type { FlowNode } from "../editor/mapping";
import { runError } from "./RunsPage";

export default function RunPage() {
  const { id } = useParams();
  return <RunRoot key={id} runId={id!} />;
}

function RunRoot({ runId }: { runId: string }) {
  const [store] = useState(() => createEditorStore({ readOnly: true }));
  return (
    <EditorContext.Provider value={store}>
      <ReactFlowProvider>
        <RunView store={store} runId={runId} />
      </ReactFlowProvider>
    </EditorContext.Provider>
  );
}

export const pollInterval = (run: Run | undefined) =>
  run?.status === "pending" || run?.status === "running" ? 500 : run?.status === "waiting" ? 5000 : false;

/** The node a retry should start from: the first failed activation's node. */
export function failedNode(run: Run | undefined): string | null {
  return run?.activations?.find((a) => a.status === "failed")?.node_id ?? null;
}

function useSelected(): FlowNode | null {
  const id = useEditor((s) => {
    const sel = s.nodes.filter((n) => n.selected);
    return sel.length === 1 ? sel[0].id : null;
  });
  const data = useEditor((s) => (id ? s.nodes.find((n) => n.id === id)?.data : undefined));
  return id && data ? ({ id, data, position: { x: 0, y: 0 }, type: "dc" } as FlowNode) : null;
}

function RunView({ store, runId }: { store: EditorStore; runId: string }) {
  const navigate = useNavigate();
  const location = useLocation();
  const qc = useQueryClient();
  const canRun = canRunWorkflows(useAuth((s) => s.user?.role));
  const specs = useNodeSpecs();
  useEffect(() => {
    if (specs.data) store.getState().setSpecs(specs.data);
  }, [specs.data, store]);

  const run = useQuery({
    queryKey: ["run", runId],
    queryFn: () => getRun(runId),
    refetchInterval: (q) => pollInterval(q.state.data as Run | undefined),
    staleTime: 0,
  });
  const [defError, setDefError] = useState<string | null>(null);
  const loaded = useRef(false);
  useEffect(() => {
    const r = run.data;
    if (!r) return;
    if (!loaded.current) {
      loaded.current = true;
      const show = (def: Run["definition"]) => {
        store.getState().load(def);
        store.getState().setRun(r);
        const failed = failedNode(r);
        if (failed) store.getState().selectOnly([failed]);
      };
      if (r.definition) show(r.definition);
      else
        getVersion(r.workflow_id, r.version)
          .then((v) => show(v.definition ?? v))
          .catch((e) => setDefError(errorMessage(e)));
      return;
    }
    store.getState().setRun(r);
  }, [run.data, store]);

  const selected = useSelected();
  useTitle(run.data ? `Run of ${run.data.workflow_name || run.data.workflow_id}` : "Run");
  const [busy, setBusy] = useState<string | null>(null);

  const act = async (what: "cancel" | "retry-failed" | "retry-start") => {
    const r = run.data!;
    if (what === "cancel") {
      const ok = await confirm({ title: "Cancel this run?", message: "Steps that have not run yet will not run.", confirmLabel: "Cancel run", cancelLabel: "Keep running", danger: true });
      if (!ok) return;
    }
    setBusy(what);
    try {
      if (what === "cancel") {
        const answer = await cancelRun(r.id);
        qc.setQueryData(["run", r.id], answer);
        toast.success("Run cancelled");
      } else {
        const answer = await retryRun(r.id, what === "retry-failed" ? failedNode(r) : null);
        qc.invalidateQueries({ queryKey: ["runs"] });
        if (answer.id === r.id) {
          qc.setQueryData(["run", r.id], answer);
          toast.success("The run goes on from the failed step");
        } else {
          toast.success("Started a new run");
          navigate(`/runs/${encodeURIComponent(answer.id)}`, { state: location.state });
        }
      }
    } catch (e) {
      toast.error(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  if (run.isPending) return <div className="p-6"><Spinner label="Opening the run" /></div>;
  if (run.isError || defError) {
    return (
      <div className="space-y-3 p-6">
        <ErrorNote>{defError ?? errorMessage(run.error)}</ErrorNote>
        <Link to={backTo(location.state, "/runs")} className="text-sm text-brand-700 hover:underline">Back to runs</Link>
      </div>
    );
  }
  const r = run.data;
  const failed = failedNode(r);
  const active = r.status === "pending" || r.status === "running" || r.status === "waiting";
  const message = runError(r.error);

  return (
    <div className="flex h-full flex-col">
      <header className="flex h-12 shrink-0 items-center gap-2 border-b border-stone-200 bg-white px-2">
        <IconButton label="Back to runs" onClick={() => navigate(backTo(location.state, "/runs"))}>
          <ArrowLeft className="size-4" />
        </IconButton>
        <div className="min-w-0">
          <h1 className="truncate text-sm font-semibold text-stone-900">
            {r.workflow_name || r.workflow_id} <span className="font-mono text-xs font-normal text-stone-500">v{r.version}</span>
          </h1>
          <p className="truncate text-[11px] text-stone-500">
            Run <span className="font-mono">{r.id}</span> · {r.mode} · started {formatDateTime(r.started_at)} · {formatDuration(r.duration_ms)}
          </p>
        </div>
        <StatusBadge status={r.status} className="ml-1" />
        <div className="ml-auto flex items-center gap-1.5">
          {canRun && active && (
            <Button icon={<Ban className="size-4" />} busy={busy === "cancel"} onClick={() => void act("cancel")}>
              Cancel
            </Button>
          )}
          {canRun && r.status === "failed" && failed && !r.data_pruned_at && (
            <Button variant="primary" icon={<RotateCcw className="size-4" />} busy={busy === "retry-failed"} onClick={() => void act("retry-failed")}>
              Retry from {failed}
            </Button>
          )}
          {canRun && (r.status === "failed" || r.status === "cancelled" || r.status === "completed") && (
            <Button icon={<RotateCcw className="size-4" />} busy={busy === "retry-start"} onClick={() => void act("retry-start")}>
              Run again
            </Button>
          )}
          <Button icon={<PencilLine className="size-4" />} onClick={() => navigate(`/workflows/${encodeURIComponent(r.workflow_id)}`)}>
            Open workflow
          </Button>
        </div>
      </header>
      {message && (
        <div className="flex items-start gap-2 border-b border-red-200 bg-red-50 px-4 py-2 text-sm text-red-800" role="alert">
          <AlertTriangle className="mt-0.5 size-4 shrink-0" />
          <span>{message}</span>
        </div>
      )}
      {r.data_pruned_at && (
        <div className="border-b border-stone-200 bg-stone-100 px-4 py-2 text-sm text-stone-700" role="note" data-testid="run-pruned">
          The inputs and outputs of this run&apos;s steps were removed by the retention policy on {formatDateTime(r.data_pruned_at)}; its
          steps, times and errors stay.
        </div>
      )}
      <div className="flex min-h-0 flex-1">
        <div className="relative min-w-0 flex-1">
          <Canvas />
        </div>
        {selected ? (
          <NodePanel key={selected.id} node={selected} onClose={() => store.getState().selectOnly([])} canRun={false} />
        ) : (
          <RunOverview run={r} onPick={(id) => store.getState().selectOnly([id])} />
        )}
      </div>
    </div>
  );
}

/** Every activation in start order; a click shows its node. */
function RunOverview({ run, onPick }: { run: Run; onPick: (nodeId: string) => void }) {
  const acts = [...(run.activations ?? [])].sort((a, b) => (a.started_at ?? "~").localeCompare(b.started_at ?? "~"));
  return (
    <aside className="flex h-full w-[380px] shrink-0 flex-col border-l border-stone-200 bg-white" aria-label="Steps of this run" data-testid="run-overview">
      <div className="border-b border-stone-200 px-3 py-2.5">
        <h2 className="text-sm font-semibold text-stone-900">Steps</h2>
        <p className="text-xs text-stone-500">Click a step, or a node on the canvas, to see its input and output.</p>
      </div>
      <ol className="min-h-0 flex-1 divide-y divide-stone-100 overflow-y-auto">
        {acts.length === 0 && <li className="px-3 py-4 text-sm text-stone-500">No step has started yet.</li>}
        {acts.map((a) => (
          <li key={a.id}>
            <button type="button" onClick={() => onPick(a.node_id)} className="flex w-full items-center gap-2 px-3 py-2 text-left text-xs hover:bg-stone-50">
              <StatusBadge status={a.status} />
              <span className={cx("flex-1 truncate font-mono", a.status === "failed" ? "text-red-700" : "text-stone-800")}>{a.node_id}</span>
              {a.lane && a.lane !== "0" && <span className="text-stone-400">lane {a.lane}</span>}
              <span className="text-stone-500">{outputCount(a)} items</span>
              <span className="w-14 text-right text-stone-500">{formatDuration(a.duration_ms)}</span>
            </button>
          </li>
        ))}
      </ol>
    </aside>
  );
}
