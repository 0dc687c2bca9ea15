/** The workflow's problems, from the server: a count that opens into a list; a click shows the node. */
import { useState } from "react";
import { AlertTriangle, CheckCircle2, ChevronUp, Loader2, WifiOff } from "lucide-react";
import { useReactFlow } from "@xyflow/react";
import { cx } from "../../lib/cx";
import { useEditor, useEditorApi } from "./store";

export function ProblemsBar({ checking, failed }: { checking: boolean; failed: boolean }) {
  const api = useEditorApi();
  const problems = useEditor((s) => s.problems);
  const empty = useEditor((s) => s.nodes.length === 0);
  const [open, setOpen] = useState(false);
  const { setCenter, getNode } = useReactFlow();

  const show = (nodeId: string | null) => {
    if (!nodeId) return;
    const n = getNode(nodeId);
    if (!n) return;
    api.getState().selectOnly([nodeId]);
    void setCenter(n.position.x + (n.measured?.width ?? 232) / 2, n.position.y + (n.measured?.height ?? 64) / 2, { zoom: 1, duration: 250 });
  };

  if (empty) return null;
  const count = problems.length;
  return (
    <div className="pointer-events-auto absolute bottom-3 left-1/2 z-10 w-[min(560px,calc(100%-16rem))] -translate-x-1/2" data-testid="problems-bar">
      {open && count > 0 && (
        <ul className="mb-1 max-h-56 overflow-y-auto rounded-md border border-stone-200 bg-white py-1 text-xs shadow-lg">
          {problems.map((p, i) => (
            <li key={i}>
              <button
                type="button"
                className="flex w-full items-start gap-2 px-3 py-1.5 text-left hover:bg-stone-50 disabled:cursor-default"
                onClick={() => show(p.node_id)}
                disabled={!p.node_id}
              >
                <AlertTriangle className="mt-px size-3.5 shrink-0 text-red-600" aria-hidden />
                <span className="flex-1 text-stone-700">{p.message}</span>
                {p.node_id && <span className="font-mono text-stone-400">{p.node_id}</span>}
              </button>
            </li>
          ))}
        </ul>
      )}
      <button
        type="button"
        onClick={() => setOpen(!open)}
        disabled={count === 0}
        aria-expanded={open}
        className={cx(
          "mx-auto flex items-center gap-2 rounded-full border bg-white px-3 py-1 text-xs shadow-sm",
          count ? "border-red-200 text-red-700 hover:bg-red-50" : "border-stone-200 text-stone-600",
        )}
      >
        {failed ? (
          <>
            <WifiOff className="size-3.5 text-stone-400" /> Could not check the workflow
          </>
        ) : checking && count === 0 ? (
          <>
            <Loader2 className="size-3.5 animate-spin" /> Checking…
          </>
        ) : count ? (
          <>
            <AlertTriangle className="size-3.5" />
            {count} {count === 1 ? "problem" : "problems"}
            <ChevronUp className={cx("size-3.5 transition-transform", !open && "rotate-180")} />
          </>
        ) : (
          <>
            <CheckCircle2 className="size-3.5 text-emerald-600" /> No problems
          </>
        )}
      </button>
    </div>
  );
}
