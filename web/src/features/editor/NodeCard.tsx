/**
 * The one node component of the canvas. It draws any node type from its spec: an input handle
 * unless it is a trigger, one output handle per port (Conditional true/false, Loop item/done,
 * "error" when it routes errors), its problems and its last run's status.
 */
import { createContext, memo, useContext } from "react";
import { Handle, NodeToolbar, Position, type NodeProps } from "@xyflow/react";
import { AlertTriangle, Ban, CircleCheck, CircleDashed, CircleX, Copy, Hourglass, Loader2, Pin, Play, SkipForward, Trash2 } from "lucide-react";
import { cx } from "../../lib/cx";
import { formatDuration } from "../../lib/format";
import { DEFAULT_PORT, ERROR_PORT, INPUT_HANDLE, outputPorts, type FlowNode } from "./mapping";
import { useEditor, useEditorApi } from "./store";

/** What the toolbar over a selected node can do; given by the page that shows the canvas. */
export interface NodeActions {
  runNode?: (nodeId: string) => void;
  duplicate?: (nodeId: string) => void;
}
export const NodeActionsContext = createContext<NodeActions>({});

function Toolbar({ id }: { id: string }) {
  const actions = useContext(NodeActionsContext);
  const api = useEditorApi();
  const readOnly = useEditor((s) => s.readOnly);
  if (readOnly) return null;
  const btn = "flex size-7 items-center justify-center rounded text-stone-600 hover:bg-stone-100 hover:text-stone-900";
  return (
    <div className="flex items-center gap-0.5 rounded-md border border-stone-200 bg-white p-0.5 shadow-sm" role="toolbar" aria-label={`Actions for ${id}`}>
      {actions.runNode && (
        <button type="button" className={btn} title="Test this node" aria-label="Test this node" onClick={() => actions.runNode!(id)}>
          <Play className="size-3.5" />
        </button>
      )}
      {actions.duplicate && (
        <button type="button" className={btn} title="Duplicate (Ctrl+C, Ctrl+V)" aria-label="Duplicate node" onClick={() => actions.duplicate!(id)}>
          <Copy className="size-3.5" />
        </button>
      )}
      <button
        type="button"
        className={cx(btn, "hover:text-red-600")}
        title="Delete (Delete key)"
        aria-label="Delete node"
        onClick={() => {
          api.getState().selectOnly([id]);
          api.getState().deleteSelection();
        }}
      >
        <Trash2 className="size-3.5" />
      </button>
    </div>
  );
}
import { categoryStyle, iconFor } from "./icons";
import type { NodeRunInfo } from "./runInfo";

const PORT_LABEL: Record<string, string> = { true: "true", false: "false", item: "each item", done: "done", error: "error" };

function RunBadge({ info }: { info: NodeRunInfo }) {
  const s = info.status;
  const icon =
    s === "completed" ? (
      <CircleCheck className="size-3.5 text-emerald-600" />
    ) : s === "failed" ? (
      <CircleX className="size-3.5 text-red-600" />
    ) : s === "running" ? (
      <Loader2 className="size-3.5 animate-spin text-sky-600" />
    ) : s === "waiting" ? (
      <Hourglass className="size-3.5 text-amber-600" />
    ) : s === "skipped" ? (
      <SkipForward className="size-3.5 text-stone-400" />
    ) : s === "cancelled" ? (
      <Ban className="size-3.5 text-stone-400" />
    ) : (
      <CircleDashed className="size-3.5 text-stone-400" />
    );
  return (
    <div
      className={cx(
        "flex items-center gap-1.5 border-t px-2.5 py-1 text-[11px]",
        s === "failed" ? "border-red-100 bg-red-50/60 text-red-700" : "border-stone-100 bg-stone-50 text-stone-600",
      )}
      data-testid="node-run-status"
      data-status={s}
      title={info.error ?? undefined}
    >
      {icon}
      <span className="font-medium">{s}</span>
      {s !== "skipped" && s !== "pending" && (
        <>
          <span aria-hidden>·</span>
          <span data-testid="node-item-count">
            {info.items} {info.items === 1 ? "item" : "items"}
          </span>
          {info.durationMs !== null && (
            <>
              <span aria-hidden>·</span>
              <span>{formatDuration(info.durationMs)}</span>
            </>
          )}
        </>
      )}
      {info.lanes > 1 && <span className="ml-auto text-stone-400">{info.lanes} lanes</span>}
    </div>
  );
}

function NodeCardImpl({ id, data, selected }: NodeProps<FlowNode>) {
  const spec = useEditor((s) => s.specs[data.type]);
  const problems = useEditor((s) => s.problemsByNode[id]);
  const run = useEditor((s) => s.runByNode[id]);
  const pinned = useEditor((s) => !!s.pinned[id]);
  const specsLoaded = useEditor((s) => s.specsLoaded);
  const unknown = specsLoaded && !spec;
  const style = categoryStyle(spec?.category);
  const Icon = iconFor(spec?.icon, spec?.category);
  const hasInput = spec ? spec.inputs && !spec.is_trigger : true;
  const ports = outputPorts(spec?.ports, data.on_error);
  const single = ports.length === 1 && ports[0] === DEFAULT_PORT;
  const title = data.name || id;

  return (
    <div
      className={cx(
        "dc-node relative w-[232px] rounded-lg border bg-white shadow-sm transition-shadow",
        problems ? "border-red-400" : selected ? "border-brand-600" : "border-stone-300 hover:border-stone-400",
      )}
      data-testid="canvas-node"
      data-node-id={id}
      data-node-type={data.type}
      data-has-problems={problems ? "true" : "false"}
    >
      <NodeToolbar position={Position.Top} align="end" offset={6}>
        <Toolbar id={id} />
      </NodeToolbar>
      <span className={cx("absolute top-2 bottom-2 left-0 w-[3px] rounded-r", style.accent)} aria-hidden />
      {hasInput && <Handle type="target" position={Position.Left} id={INPUT_HANDLE} aria-label="input" />}
      <div className="flex items-center gap-2.5 py-2.5 pr-2.5 pl-3.5">
        <div className={cx("flex size-9 shrink-0 items-center justify-center rounded-md ring-1", style.tile)}>
          <Icon className="size-[18px]" aria-hidden />
        </div>
        <div className="min-w-0 flex-1">
          <div className="truncate text-[13px] leading-tight font-semibold text-stone-900" title={title}>
            {title}
          </div>
          <div className="truncate text-[11px] text-stone-500" title={`${data.type} · ${id}`}>
            {data.type}
            {data.name ? <span className="font-mono"> · {id}</span> : null}
          </div>
        </div>
        <div className="flex shrink-0 flex-col items-end gap-1 self-start">
          {problems && (
            <span
              className="text-red-600"
              title={problems.map((p) => p.message).join("\n")}
              aria-label={`${problems.length} problem${problems.length === 1 ? "" : "s"}: ${problems.map((p) => p.message).join("; ")}`}
              data-testid="node-problem"
            >
              <AlertTriangle className="size-4" />
            </span>
          )}
          {pinned && (
            <span className="text-sky-600" title="Output pinned for test runs" aria-label="pinned output">
              <Pin className="size-3.5" />
            </span>
          )}
        </div>
      </div>
      {unknown && <div className="border-t border-red-100 px-3 py-1 text-[11px] text-red-700">Unknown node type</div>}
      {single ? (
        <Handle type="source" position={Position.Right} id={DEFAULT_PORT} aria-label="output" />
      ) : (
        <div className="border-t border-stone-100 py-1">
          {ports.map((p) => (
            <div key={p} className="relative flex h-5 items-center justify-end pr-3.5">
              <span className={cx("text-[11px]", p === ERROR_PORT ? "text-red-600" : "text-stone-500")}>{PORT_LABEL[p] ?? p}</span>
              <Handle
                type="source"
                position={Position.Right}
                id={p}
                aria-label={`${p} output`}
                className={p === ERROR_PORT ? "!border-red-500" : p === "true" ? "!border-emerald-600" : p === "false" ? "!border-stone-500" : undefined}
              />
            </div>
          ))}
        </div>
      )}
      {run && <RunBadge info={run} />}
    </div>
  );
}

export const NodeCard = memo(NodeCardImpl);

/** At module scope so React Flow never sees a new object. */
export const nodeTypes = { dc: NodeCard };
