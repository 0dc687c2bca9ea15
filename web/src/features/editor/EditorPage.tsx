/**
 * The workflow builder: palette, canvas and node panel around one editor store. Saves make a
 * new version; problems come from the server while editing; test runs show per-node results.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import {
  ArrowLeft,
  Download,
  History,
  Network,
  PanelLeftClose,
  PanelLeftOpen,
  Play,
  Redo2,
  Save,
  Settings2,
  Undo2,
  X,
} from "lucide-react";
import { exportWorkflow, getWorkflow, setWorkflowActive, startRun, updateWorkflow } from "../../client/api";
import { ApiError, errorMessage } from "../../client/errors";
import type { Definition, Item, Problem, Workflow } from "../../client/types";
import { downloadJson } from "../../lib/files";
import { toast } from "../../lib/toast";
import { Button, ErrorNote, IconButton, Spinner, StatusBadge, Toggle } from "../../lib/ui";
import { slugify } from "../../lib/slug";
import { useTitle } from "../../lib/title";
import { useAuth } from "../shell/auth";
import { canEditWorkflows, canRunWorkflows } from "../shell/permissions";
import { createWithFreeId } from "../workflows/create";
import { Canvas, type LooseConnection } from "./Canvas";
import { QuickAdd } from "./QuickAdd";
import { isActive, useLiveProblems, useRunPolling, useShortcuts, useUnsavedWarning } from "./hooks";
import { NODE_HEIGHT, NODE_WIDTH } from "./layout";
import { DEFAULT_PORT, type FlowNode } from "./mapping";
import { NodeActionsContext, type NodeActions } from "./NodeCard";
import { NodePanel } from "./NodePanel";
import { Palette } from "./Palette";
import { ProblemsBar } from "./ProblemsBar";
import { useNodeSpecs } from "./queries";
import { RunDialog } from "./RunDialog";
import { pinnableOutput } from "./runInfo";
import { createEditorStore, EditorContext, useEditor, type Clipboard, type EditorStore } from "./store";
import { VersionsDialog } from "./VersionsDialog";
import { WorkflowDialog } from "./WorkflowDialog";

const CLIPBOARD_KEY = "datacollect.clipboard";

export default function EditorPage() {
  const { id } = useParams();
  return <EditorRoot key={id ?? "new"} workflowId={id ?? null} />;
}

function EditorRoot({ workflowId }: { workflowId: string | null }) {
  const role = useAuth((s) => s.user?.role);
  const canEdit = canEditWorkflows(role);
  const [store] = useState(() => createEditorStore({ readOnly: !canEdit }));
  return (
    <EditorContext.Provider value={store}>
      <ReactFlowProvider>
        <Editor store={store} workflowId={workflowId} canEdit={canEdit} canRun={canRunWorkflows(role)} />
      </ReactFlowProvider>
    </EditorContext.Provider>
  );
}

interface LocationState {
  definition?: Definition;
  problems?: Problem[];
}

/** The selected node when exactly one is selected; its data only, so dragging does not re-render the panel. */
function useSelectedNode(): FlowNode | null {
  const id = useEditor((s) => {
    let found: string | null = null;
    for (const n of s.nodes)
      if (n.selected) {
        if (found) return null;
        found = n.id;
      }
    return found;
  });
  const data = useEditor((s) => (id ? s.nodes.find((n) => n.id === id)?.data : undefined));
  return useMemo(() => (id && data ? ({ id, data, position: { x: 0, y: 0 }, type: "dc" } as FlowNode) : null), [id, data]);
}

function Editor({ store, workflowId, canEdit, canRun }: { store: EditorStore; workflowId: string | null; canEdit: boolean; canRun: boolean }) {
  const navigate = useNavigate();
  const location = useLocation();
  const qc = useQueryClient();
  const { screenToFlowPosition, flowToScreenPosition, getViewport, setViewport } = useReactFlow();
  const isNew = workflowId === null;
  const canvasRef = useRef<HTMLDivElement>(null);

  const specs = useNodeSpecs();
  useEffect(() => {
    if (specs.data) store.getState().setSpecs(specs.data);
  }, [specs.data, store]);

  const workflow = useQuery({
    queryKey: ["workflow", workflowId],
    queryFn: () => getWorkflow(workflowId!),
    enabled: !isNew,
    staleTime: Infinity,
    refetchOnMount: "always",
  });
  const [saved, setSaved] = useState<Pick<Workflow, "version" | "active"> | null>(null);
  const loaded = useRef(false);
  useEffect(() => {
    if (loaded.current) return;
    if (isNew) {
      loaded.current = true;
      const state = (location.state ?? {}) as LocationState;
      if (state.definition) {
        store.getState().load(state.definition, { dirty: true });
        if (state.problems) store.getState().setProblems(state.problems);
      } else {
        // New workflows start inactive: their triggers wait until someone turns them on.
        store.getState().load({ id: "", name: "Untitled workflow", active: false, nodes: [], edges: [] });
      }
    } else if (workflow.data) {
      loaded.current = true;
      store.getState().load({ ...workflow.data.definition, id: workflow.data.id, name: workflow.data.definition.name ?? workflow.data.name });
      setSaved({ version: workflow.data.version, active: workflow.data.active });
    }
  }, [isNew, workflow.data, location.state, store]);

  // Pinned outputs are kept in this browser, per workflow, until unpinned.
  useEffect(() => {
    if (!workflowId) return;
    const key = `datacollect.pinned.${workflowId}`;
    try {
      const saved = JSON.parse(localStorage.getItem(key) ?? "null");
      if (saved && typeof saved === "object") for (const [id, items] of Object.entries(saved)) if (Array.isArray(items)) store.getState().pin(id, items);
    } catch {
      /* nothing kept */
    }
    return store.subscribe((state, prev) => {
      if (state.pinned === prev.pinned) return;
      try {
        if (Object.keys(state.pinned).length) localStorage.setItem(key, JSON.stringify(state.pinned));
        else localStorage.removeItem(key);
      } catch {
        /* too large to keep: pins last for this visit only */
      }
    });
  }, [workflowId, store]);

  const dirty = useEditor((s) => s.dirty);
  const readOnly = useEditor((s) => s.readOnly);
  const meta = useEditor((s) => s.meta);
  const canUndo = useEditor((s) => s.past.length > 0);
  const canRedo = useEditor((s) => s.future.length > 0);
  const nodeCount = useEditor((s) => s.nodes.length);
  const selected = useSelectedNode();
  useTitle(`${dirty ? "• " : ""}${meta.name || "Workflow"}`);
  const live = useLiveProblems(store, canEdit);

  // When the panel opens over a node's place, slide the canvas so the node stays in view.
  const selectedId = selected?.id;
  useEffect(() => {
    if (!selectedId) return;
    const t = setTimeout(() => {
      const n = store.getState().nodes.find((x) => x.id === selectedId);
      const r = canvasRef.current?.getBoundingClientRect();
      if (!n || !r) return;
      const tl = flowToScreenPosition(n.position);
      const br = flowToScreenPosition({ x: n.position.x + (n.measured?.width ?? NODE_WIDTH), y: n.position.y + (n.measured?.height ?? NODE_HEIGHT) });
      let dx = 0;
      let dy = 0;
      if (br.x > r.right - 16) dx = r.right - 16 - br.x;
      if (tl.x + dx < r.left + 16) dx = r.left + 16 - tl.x;
      if (br.y > r.bottom - 16) dy = r.bottom - 16 - br.y;
      if (tl.y + dy < r.top + 16) dy = r.top + 16 - tl.y;
      if (dx || dy) {
        const v = getViewport();
        void setViewport({ x: v.x + dx, y: v.y + dy, zoom: v.zoom }, { duration: 200 });
      }
    }, 30);
    return () => clearTimeout(t);
  }, [selectedId, store, flowToScreenPosition, getViewport, setViewport]);
  useUnsavedWarning(store, dirty);

  const [runId, setRunId] = useState<string | null>(null);
  const run = useRunPolling(store, runId);
  const shownRun = useEditor((s) => s.run);

  const [showPalette, setShowPalette] = useState(true);
  const [dialog, setDialog] = useState<null | "run" | "versions" | "settings">(null);
  const [runNode, setRunNode] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [quickAdd, setQuickAdd] = useState<LooseConnection | null>(null);

  // -- saving ---------------------------------------------------------------------------
  const save = useCallback(async (): Promise<string | null> => {
    const s = store.getState();
    if (s.readOnly) return null;
    const before = { nodes: s.nodes, edges: s.edges, meta: s.meta };
    const def = s.definition();
    setSaving(true);
    try {
      let wf: Workflow;
      if (isNew) {
        wf = await createWithFreeId({ ...def, id: def.id || slugify(def.name) });
      } else {
        wf = await updateWorkflow(workflowId!, def);
      }
      const now = store.getState();
      if (now.nodes === before.nodes && now.edges === before.edges && now.meta === before.meta) now.markSaved();
      setSaved({ version: wf.version, active: wf.active });
      qc.invalidateQueries({ queryKey: ["workflows"] });
      qc.invalidateQueries({ queryKey: ["versions", wf.id] });
      toast.success(isNew ? `Created “${wf.name}”` : `Saved version ${wf.version}`);
      if (isNew) {
        qc.setQueryData(["workflow", wf.id], wf);
        navigate(`/workflows/${encodeURIComponent(wf.id)}`, { replace: true });
      }
      return wf.id;
    } catch (e) {
      if (e instanceof ApiError && e.problems.length) {
        store.getState().setProblems(e.problems);
        toast.error(`Not saved: ${e.problems.length === 1 ? "1 problem" : `${e.problems.length} problems`}, marked on the nodes.`);
      } else {
        toast.error(`Not saved. ${errorMessage(e)}`);
      }
      return null;
    } finally {
      setSaving(false);
    }
  }, [store, isNew, workflowId, qc, navigate]);

  // -- adding, copying, pasting ------------------------------------------------------------
  const viewCenter = useCallback(() => {
    const r = canvasRef.current?.getBoundingClientRect();
    if (!r) return { x: 0, y: 0 };
    return screenToFlowPosition({ x: r.left + r.width / 2, y: r.top + r.height / 2 });
  }, [screenToFlowPosition]);

  const addFromPalette = useCallback(
    (type: string) => {
      const s = store.getState();
      const sel = s.nodes.filter((n) => n.selected);
      const spec = s.specs[type];
      const takesInput = spec ? spec.inputs && !spec.is_trigger : true;
      if (sel.length === 1 && takesInput) {
        // Put it after the selected node and connect them, as the next step.
        const from = sel[0];
        const below = s.edges.filter((e) => e.source === from.id).length;
        const id = s.addNode(type, { x: from.position.x + NODE_WIDTH + 80, y: from.position.y + below * (NODE_HEIGHT + 40) });
        const fromSpec = s.specs[from.data.type];
        if (id) store.getState().onConnect({ source: from.id, sourceHandle: fromSpec?.ports?.[0] ?? DEFAULT_PORT, target: id, targetHandle: "in" });
        return;
      }
      const c = viewCenter();
      const jitter = (s.nodes.length % 5) * 20;
      s.addNode(type, { x: Math.round(c.x - NODE_WIDTH / 2 + jitter), y: Math.round(c.y - NODE_HEIGHT / 2 + jitter) });
    },
    [store, viewCenter],
  );

  const copy = useCallback(() => {
    const clip = store.getState().copySelection();
    if (!clip) return false;
    try {
      localStorage.setItem(CLIPBOARD_KEY, JSON.stringify(clip));
    } catch {
      /* too large or private mode */
    }
    toast.info(`Copied ${clip.nodes.length === 1 ? "1 node" : `${clip.nodes.length} nodes`}`);
    return true;
  }, [store]);

  const paste = useCallback(() => {
    let clip: Clipboard | null = null;
    try {
      clip = JSON.parse(localStorage.getItem(CLIPBOARD_KEY) ?? "null");
    } catch {
      clip = null;
    }
    if (clip?.nodes?.length) store.getState().paste(clip);
  }, [store]);

  useShortcuts(store, {
    save: () => void save(),
    copy: () => void copy(),
    cut: () => copy() && store.getState().deleteSelection(),
    paste,
    selectAll: () => store.getState().selectOnly(store.getState().nodes.map((n) => n.id)),
  });

  const onConnectToNothing = useCallback((c: LooseConnection) => setQuickAdd(c), []);
  const pickNext = (type: string) => {
    if (!quickAdd) return;
    const id = store.getState().addNode(type, { x: Math.round(quickAdd.flow.x), y: Math.round(quickAdd.flow.y - NODE_HEIGHT / 2) });
    if (id) store.getState().onConnect({ source: quickAdd.nodeId, sourceHandle: quickAdd.port, target: id, targetHandle: "in" });
    setQuickAdd(null);
  };

  // -- running --------------------------------------------------------------------------
  const openRun = useCallback((nodeId: string | null) => {
    setRunNode(nodeId);
    setDialog("run");
  }, []);

  const nodeActions: NodeActions = useMemo(
    () => ({
      runNode: canRun ? (id: string) => openRun(id) : undefined,
      duplicate: (id: string) => {
        const s = store.getState();
        s.selectOnly([id]);
        const clip = s.copySelection();
        if (clip) store.getState().paste(clip);
      },
    }),
    [canRun, openRun, store],
  );

  const start = async (data: Record<string, unknown>, pinned: Record<string, Item[]>) => {
    let id = workflowId;
    if (isNew || store.getState().dirty) {
      id = await save();
      if (!id) throw new Error("The workflow must be saved before it runs. Fix its problems, then try again.");
    }
    const s = store.getState();
    const pins = { ...pinned };
    if (runNode && s.run) {
      // Testing one node: its inputs come from the run on the canvas, unless pinned.
      for (const e of s.edges)
        if (e.target === runNode && !pins[e.source]) {
          const out = pinnableOutput(s.run.activations ?? [], e.source);
          if (out) pins[e.source] = out;
        }
    }
    const answer = await startRun(id!, { data, wait: false, pinned: pins, only_node: runNode, test: true });
    qc.setQueryData(["run", answer.id], answer);
    store.getState().setRun(answer);
    setRunId(answer.id);
    qc.invalidateQueries({ queryKey: ["runs"] });
    if (!isActive(answer.status)) toast.info(`Run ${answer.status}`);
  };

  const toggleActive = async (value: boolean) => {
    if (!workflowId) return;
    try {
      const wf = await setWorkflowActive(workflowId, value);
      const active = wf.active ?? value;
      setSaved((s) => (s ? { ...s, active } : s));
      // Keep the definition in step, so the next save does not undo the switch.
      store.setState({ meta: { ...store.getState().meta, active } });
      qc.invalidateQueries({ queryKey: ["workflows"] });
      toast.success(value ? "Workflow activated" : "Workflow deactivated");
    } catch (e) {
      toast.error(errorMessage(e));
    }
  };

  const onRestored = (wf: Workflow) => {
    store.getState().load({ ...wf.definition, id: wf.id });
    setSaved({ version: wf.version, active: wf.active });
    qc.setQueryData(["workflow", wf.id], wf);
  };

  if (!isNew && workflow.isPending) {
    return (
      <div className="p-6">
        <Spinner label="Opening the workflow" />
      </div>
    );
  }
  if (!isNew && workflow.isError) {
    return (
      <div className="space-y-3 p-6">
        <ErrorNote>{errorMessage(workflow.error)}</ErrorNote>
        <Link to="/workflows" className="text-sm text-brand-700 hover:underline">
          Back to workflows
        </Link>
      </div>
    );
  }

  return (
    <div className="flex h-full flex-col">
      <header className="flex h-12 shrink-0 items-center gap-1 border-b border-stone-200 bg-white px-2">
        <IconButton label="Back to workflows" onClick={() => navigate("/workflows")}>
          <ArrowLeft className="size-4" />
        </IconButton>
        {canEdit && (
          <IconButton label={showPalette ? "Hide node palette" : "Show node palette"} onClick={() => setShowPalette(!showPalette)}>
            {showPalette ? <PanelLeftClose className="size-4" /> : <PanelLeftOpen className="size-4" />}
          </IconButton>
        )}
        <input
          aria-label="Workflow name"
          size={Math.min(48, Math.max(12, meta.name.length + 2))}
          className="nodrag ml-1 h-8 max-w-md min-w-0 rounded-md border border-transparent px-2 text-sm font-semibold text-stone-900 hover:border-stone-300 focus:border-brand-600 focus:outline-none disabled:bg-transparent"
          value={meta.name}
          disabled={readOnly}
          onChange={(e) => store.getState().updateMeta({ name: e.target.value }, "name")}
          data-testid="workflow-name"
        />
        <span className="text-xs whitespace-nowrap text-stone-500" data-testid="save-state">
          {saved && <span className="mr-1.5 rounded bg-stone-100 px-1.5 py-0.5 font-mono">v{saved.version}</span>}
          {readOnly ? "Read only" : dirty ? "Unsaved changes" : isNew ? "Not saved yet" : "Saved"}
        </span>
        <div className="ml-auto flex items-center gap-1">
          {!readOnly && (
            <>
              <IconButton label="Undo (Ctrl+Z)" disabled={!canUndo} onClick={() => store.getState().undo()}>
                <Undo2 className="size-4" />
              </IconButton>
              <IconButton label="Redo (Ctrl+Shift+Z)" disabled={!canRedo} onClick={() => store.getState().redo()}>
                <Redo2 className="size-4" />
              </IconButton>
              <IconButton label="Tidy up: auto-layout" disabled={nodeCount < 2} onClick={() => store.getState().autoLayout()}>
                <Network className="size-4 -rotate-90" />
              </IconButton>
            </>
          )}
          <IconButton label="Workflow settings" onClick={() => setDialog("settings")}>
            <Settings2 className="size-4" />
          </IconButton>
          {!isNew && (
            <>
              <IconButton label="Version history" onClick={() => setDialog("versions")}>
                <History className="size-4" />
              </IconButton>
              <IconButton
                label="Export as JSON"
                onClick={() =>
                  void exportWorkflow(workflowId!)
                    .then((d) => downloadJson(`${workflowId}.json`, d))
                    .catch((e) => toast.error(errorMessage(e)))
                }
              >
                <Download className="size-4" />
              </IconButton>
              <label className="mx-2 flex items-center gap-2 text-xs text-stone-600">
                Active
                <Toggle label={saved?.active ? "Deactivate workflow" : "Activate workflow"} checked={!!saved?.active} disabled={!canEdit} onChange={(v) => void toggleActive(v)} />
              </label>
            </>
          )}
          {canRun && (
            <Button icon={<Play className="size-4" />} onClick={() => openRun(null)} disabled={nodeCount === 0} data-testid="open-run">
              Test run
            </Button>
          )}
          {!readOnly && (
            <Button variant="primary" icon={<Save className="size-4" />} onClick={() => void save()} busy={saving} disabled={!dirty && !isNew} data-testid="save">
              Save
            </Button>
          )}
        </div>
      </header>
      <div className="flex min-h-0 flex-1">
        {canEdit && showPalette && (
          specs.isError ? (
            <div className="w-60 border-r border-stone-200 p-3">
              <ErrorNote>{errorMessage(specs.error)}</ErrorNote>
            </div>
          ) : (
            <Palette specs={specs.data ?? []} onAdd={addFromPalette} />
          )
        )}
        <div ref={canvasRef} className="relative min-w-0 flex-1">
          <NodeActionsContext.Provider value={nodeActions}>
          <Canvas onPaneClick={() => setQuickAdd(null)} onConnectToNothing={canEdit ? onConnectToNothing : undefined}>
            {nodeCount === 0 && (
              <div className="pointer-events-none absolute inset-0 z-[4] flex items-center justify-center">
                <div className="rounded-lg border border-dashed border-stone-300 bg-white/80 px-6 py-5 text-center">
                  <p className="text-sm font-medium text-stone-700">{canEdit ? "Start with a trigger" : "This workflow has no nodes"}</p>
                  {canEdit && <p className="mt-1 text-xs text-stone-500">Drag one from the palette on the left, or click it.</p>}
                </div>
              </div>
            )}
            {canEdit && <ProblemsBar checking={live.checking} failed={live.failed} />}
            {shownRun && (
              <div className="absolute top-3 left-1/2 z-10 flex -translate-x-1/2 items-center gap-2 rounded-full border border-stone-200 bg-white py-1 pr-1 pl-3 text-xs shadow-sm" data-testid="run-strip">
                <span className="text-stone-500">{shownRun.id === runId ? "Test run" : "Run shown"}</span>
                <StatusBadge status={shownRun.status} />
                {run.isError && <span className="text-red-600">{errorMessage(run.error)}</span>}
                <Link to={`/runs/${encodeURIComponent(shownRun.id)}`} className="text-brand-700 hover:underline">
                  Details
                </Link>
                <IconButton
                  label="Clear run results"
                  className="size-6"
                  onClick={() => {
                    setRunId(null);
                    store.getState().setRun(null);
                  }}
                >
                  <X className="size-3.5" />
                </IconButton>
              </div>
            )}
          </Canvas>
          </NodeActionsContext.Provider>
          {quickAdd && canvasRef.current && (
            <QuickAdd
              specs={specs.data ?? []}
              x={Math.min(quickAdd.screen.x - canvasRef.current.getBoundingClientRect().left, canvasRef.current.clientWidth - 270)}
              y={Math.min(quickAdd.screen.y - canvasRef.current.getBoundingClientRect().top, canvasRef.current.clientHeight - 340)}
              onPick={pickNext}
              onClose={() => setQuickAdd(null)}
            />
          )}
        </div>
        {selected && <NodePanel key={selected.id} node={selected} onClose={() => store.getState().selectOnly([])} onRunNode={openRun} canRun={canRun} />}
      </div>
      {dialog === "run" && <RunDialog workflowId={workflowId} onlyNode={runNode} onStart={start} onClose={() => setDialog(null)} />}
      {dialog === "versions" && workflowId && (
        <VersionsDialog workflowId={workflowId} current={saved?.version} dirty={dirty} canRestore={canEdit} onRestored={onRestored} onClose={() => setDialog(null)} />
      )}
      {dialog === "settings" && (
        <WorkflowDialog meta={meta} isNew={isNew} readOnly={readOnly} onSave={(patch) => store.getState().updateMeta(patch)} onClose={() => setDialog(null)} />
      )}
    </div>
  );
}
