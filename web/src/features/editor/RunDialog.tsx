/**
 * Test run: trigger data typed as JSON, outputs pinned on nodes (from an earlier run) used in
 * place of running those nodes. An earlier run can be shown on the canvas to pin from it.
 */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { History, PinOff, Play } from "lucide-react";
import { getRun, listRuns } from "../../client/api";
import { errorMessage } from "../../client/errors";
import type { Item, Run } from "../../client/types";
import { formatDateTime } from "../../lib/format";
import { toast } from "../../lib/toast";
import { Button, Field, IconButton, Modal, StatusBadge, Textarea } from "../../lib/ui";
import { useEditor, useEditorApi } from "./store";

const sampleKey = (workflowId: string | null) => `datacollect.sample.${workflowId ?? "new"}`;

export function loadSample(workflowId: string | null): string {
  try {
    return localStorage.getItem(sampleKey(workflowId)) ?? "{\n  \n}";
  } catch {
    return "{}";
  }
}

/** Field names of the remembered sample input, for expression hints before any run. */
export function sampleFields(workflowId: string | null): string[] {
  try {
    const v = JSON.parse(loadSample(workflowId));
    return v && typeof v === "object" && !Array.isArray(v) ? Object.keys(v) : [];
  } catch {
    return [];
  }
}

/** Trigger data of an earlier run: the first item its trigger node put out. */
export function triggerDataOf(run: Run, triggerIds: string[]): Record<string, unknown> | null {
  const t = run.trigger;
  if (t && typeof t === "object" && !Array.isArray(t)) return t as Record<string, unknown>;
  if (Array.isArray(t) && t[0] && typeof t[0] === "object") return t[0] as Record<string, unknown>;
  for (const a of run.activations ?? []) {
    if (!triggerIds.includes(a.node_id) || !a.output) continue;
    const items = a.output.main ?? Object.values(a.output)[0];
    if (Array.isArray(items) && items[0] && typeof items[0] === "object") return items[0] as Record<string, unknown>;
  }
  return null;
}

export function RunDialog({
  workflowId,
  onlyNode,
  onStart,
  onClose,
}: {
  workflowId: string | null;
  onlyNode: string | null;
  onStart: (data: Record<string, unknown>, pinned: Record<string, Item[]>) => Promise<void>;
  onClose: () => void;
}) {
  const api = useEditorApi();
  const pinned = useEditor((s) => s.pinned);
  const triggerIds = useEditor((s) => s.nodes.filter((n) => s.specs[n.data.type]?.is_trigger).map((n) => n.id).join(","));
  const [text, setText] = useState(() => loadSample(workflowId));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const earlier = useQuery({
    queryKey: ["runs", { workflow_id: workflowId, page_size: 8 }],
    queryFn: () => listRuns({ workflow_id: workflowId!, page_size: 8 }),
    enabled: !!workflowId,
  });

  const parse = (): Record<string, unknown> | null => {
    if (!text.trim()) return {};
    try {
      const v = JSON.parse(text);
      if (!v || typeof v !== "object" || Array.isArray(v)) {
        setError("The sample input must be a JSON object, like {\"supplier\": \"ACME\"}.");
        return null;
      }
      return v as Record<string, unknown>;
    } catch (e) {
      setError(`This is not valid JSON: ${(e as Error).message}`);
      return null;
    }
  };

  const start = async () => {
    const data = parse();
    if (!data) return;
    try {
      localStorage.setItem(sampleKey(workflowId), text);
    } catch {
      /* private mode: nothing to remember */
    }
    setBusy(true);
    try {
      await onStart(data, pinned);
      onClose();
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setBusy(false);
    }
  };

  const takeRun = async (id: string, fill: boolean) => {
    try {
      const run = await getRun(id);
      api.getState().setRun(run);
      if (fill) {
        const data = triggerDataOf(run, triggerIds.split(",").filter(Boolean));
        if (data) setText(JSON.stringify(data, null, 2));
        else toast.info("That run has no trigger data to reuse.");
      } else {
        toast.info("The run is shown on the canvas. Open a node's Data tab to pin its output.");
        onClose();
      }
    } catch (e) {
      toast.error(errorMessage(e));
    }
  };

  const pinnedIds = Object.keys(pinned);
  return (
    <Modal
      title={onlyNode ? `Test node ${onlyNode}` : "Test run"}
      onClose={onClose}
      width="max-w-xl"
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" icon={<Play className="size-4" />} onClick={() => void start()} busy={busy} data-testid="start-run">
            {onlyNode ? "Run node" : "Run workflow"}
          </Button>
        </>
      }
    >
      <div className="space-y-4">
        <Field
          label="Sample input (trigger data, JSON)"
          htmlFor="run-input"
          error={error}
          hint="What the trigger would receive: a form answer, a webhook body, a row."
        >
          <Textarea
            id="run-input"
            rows={8}
            className="font-mono text-xs"
            spellCheck={false}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setError(null);
            }}
            invalid={!!error}
            data-testid="run-input"
          />
        </Field>
        <section>
          <h3 className="mb-1 text-xs font-medium text-stone-700">Pinned outputs</h3>
          {pinnedIds.length === 0 ? (
            <p className="text-xs text-stone-500">
              None. To pin, show an earlier run on the canvas, open a node’s Data tab and choose “Pin output”; that node then
              is not run again in tests.
            </p>
          ) : (
            <ul className="divide-y divide-stone-100 rounded-md border border-stone-200">
              {pinnedIds.map((id) => (
                <li key={id} className="flex items-center justify-between px-2.5 py-1 text-xs">
                  <span className="font-mono text-stone-800">{id}</span>
                  <span className="text-stone-500">{pinned[id].length} items</span>
                  <IconButton label={`Unpin ${id}`} onClick={() => api.getState().unpin(id)} className="size-7">
                    <PinOff className="size-3.5" />
                  </IconButton>
                </li>
              ))}
            </ul>
          )}
        </section>
        {workflowId && (earlier.data?.data.length ?? 0) > 0 && (
          <section>
            <h3 className="mb-1 flex items-center gap-1 text-xs font-medium text-stone-700">
              <History className="size-3.5" /> Earlier runs
            </h3>
            <ul className="divide-y divide-stone-100 rounded-md border border-stone-200">
              {earlier.data!.data.map((r) => (
                <li key={r.id} className="flex items-center gap-2 px-2.5 py-1 text-xs">
                  <StatusBadge status={r.status} />
                  <span className="text-stone-600">{formatDateTime(r.started_at)}</span>
                  <span className="text-stone-400">v{r.version}</span>
                  <span className="ml-auto flex gap-1">
                    <Button size="sm" variant="ghost" onClick={() => void takeRun(r.id, true)}>
                      Use its input
                    </Button>
                    <Button size="sm" variant="ghost" onClick={() => void takeRun(r.id, false)}>
                      Show on canvas
                    </Button>
                  </span>
                </li>
              ))}
            </ul>
          </section>
        )}
      </div>
    </Modal>
  );
}
