/** Version history: every save is a version; one can be downloaded or restored as a new version. */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Download, GitCompare, RotateCcw } from "lucide-react";
import { diffVersions, getVersion, listVersions, restoreVersion, type VersionDiff } from "../../client/api";
import { errorMessage } from "../../client/errors";
import type { Workflow } from "../../client/types";
import { confirm } from "../../lib/confirm";
import { downloadJson } from "../../lib/files";
import { formatDateTime } from "../../lib/format";
import { toast } from "../../lib/toast";
import { Button, ErrorNote, IconButton, Modal, Spinner } from "../../lib/ui";

export function VersionsDialog({
  workflowId,
  current,
  dirty,
  canRestore,
  onRestored,
  onClose,
}: {
  workflowId: string;
  current: number | undefined;
  dirty: boolean;
  canRestore: boolean;
  onRestored: (workflow: Workflow) => void;
  onClose: () => void;
}) {
  const versions = useQuery({ queryKey: ["versions", workflowId], queryFn: () => listVersions(workflowId), staleTime: 0 });
  const [busy, setBusy] = useState<number | null>(null);
  const [compare, setCompare] = useState<number | null>(null);
  const diff = useQuery({
    queryKey: ["diff", workflowId, compare, current],
    queryFn: () => diffVersions(workflowId, compare!, current!),
    enabled: compare !== null && current !== undefined,
  });

  const restore = async (v: number) => {
    const ok = await confirm({
      title: `Restore version ${v}?`,
      message: dirty
        ? "Your unsaved changes will be lost. The restored definition is saved as a new version; no version is deleted."
        : "The restored definition is saved as a new version; no version is deleted.",
      confirmLabel: "Restore",
      danger: dirty,
    });
    if (!ok) return;
    setBusy(v);
    try {
      const wf = await restoreVersion(workflowId, v);
      toast.success(`Restored version ${v} as version ${wf.version}`);
      onRestored(wf);
      onClose();
    } catch (e) {
      toast.error(errorMessage(e));
    } finally {
      setBusy(null);
    }
  };

  const download = async (v: number) => {
    try {
      const answer = await getVersion(workflowId, v);
      downloadJson(`${workflowId}.v${v}.json`, answer.definition ?? answer);
    } catch (e) {
      toast.error(errorMessage(e));
    }
  };

  return (
    <Modal title="Version history" onClose={onClose} width="max-w-xl">
      {versions.isPending ? (
        <Spinner />
      ) : versions.isError ? (
        <ErrorNote>{errorMessage(versions.error)}</ErrorNote>
      ) : (
        <ul className="max-h-[60vh] divide-y divide-stone-100 overflow-y-auto rounded-md border border-stone-200" data-testid="versions">
          {[...versions.data.data]
            .sort((a, b) => b.version - a.version)
            .map((v) => (
              <li key={v.version} className="flex items-center gap-3 px-3 py-2 text-sm">
                <span className="w-10 font-mono font-medium text-stone-800">v{v.version}</span>
                <div className="min-w-0 flex-1">
                  <div className="text-stone-700">
                    {formatDateTime(v.created_at)}
                    {v.created_by && <span className="text-stone-500"> · {v.created_by}</span>}
                  </div>
                  {v.message && <div className="truncate text-xs text-stone-500">{v.message}</div>}
                </div>
                {v.version !== current && current !== undefined && (
                  <IconButton
                    label={`Changes from version ${v.version} to the current one`}
                    active={compare === v.version}
                    onClick={() => setCompare(compare === v.version ? null : v.version)}
                    className="size-7"
                  >
                    <GitCompare className="size-3.5" />
                  </IconButton>
                )}
                {v.version === current ? (
                  <span className="rounded-full bg-brand-50 px-2 py-0.5 text-xs font-medium text-brand-800">current</span>
                ) : (
                  canRestore && (
                    <Button size="sm" icon={<RotateCcw className="size-3.5" />} busy={busy === v.version} onClick={() => void restore(v.version)}>
                      Restore
                    </Button>
                  )
                )}
                <IconButton label={`Download version ${v.version}`} onClick={() => void download(v.version)} className="size-7">
                  <Download className="size-3.5" />
                </IconButton>
              </li>
            ))}
        </ul>
      )}
      {compare !== null && (
        <section className="mt-3 rounded-md border border-stone-200 p-3" aria-label="Changes" data-testid="version-diff">
          <h3 className="mb-2 text-xs font-semibold text-stone-700">
            From v{compare} to v{current}
          </h3>
          {diff.isPending ? <Spinner /> : diff.isError ? <ErrorNote>{errorMessage(diff.error)}</ErrorNote> : <DiffView diff={diff.data} />}
        </section>
      )}
    </Modal>
  );
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === "object" && !Array.isArray(v);

/** A changed field, split into its changed keys when both sides are objects (config.output_field…). */
export function changedPaths(field: string, before: unknown, after: unknown): { path: string; before: unknown; after: unknown }[] {
  if (!isObject(before) || !isObject(after)) return [{ path: field, before, after }];
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
  return keys
    .filter((k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]))
    .map((k) => ({ path: `${field}.${k}`, before: before[k], after: after[k] }));
}

const show = (v: unknown) => (v === undefined ? "—" : typeof v === "string" ? v : JSON.stringify(v));

function DiffView({ diff }: { diff: VersionDiff }) {
  const { nodes, edges } = diff;
  const settings = Object.keys(diff.settings ?? {});
  const none = !nodes.added.length && !nodes.removed.length && !nodes.changed.length && !edges.added.length && !edges.removed.length && !settings.length;
  if (none) return <p className="text-xs text-stone-500">No differences.</p>;
  const edge = (e: { from: string; to: string; condition?: string | null }) => `${e.from} → ${e.to}${e.condition ? ` (${e.condition})` : ""}`;
  return (
    <ul className="max-h-64 space-y-1 overflow-y-auto text-xs">
      {nodes.added.map((id) => (
        <li key={`a-${id}`} className="text-emerald-700">+ node <span className="font-mono">{id}</span></li>
      ))}
      {nodes.removed.map((id) => (
        <li key={`r-${id}`} className="text-red-700">− node <span className="font-mono">{id}</span></li>
      ))}
      {nodes.changed.map((c) => (
        <li key={`c-${c.id}`} className="text-stone-700">
          ~ node <span className="font-mono">{c.id}</span>:
          <ul className="ml-4">
            {c.fields.flatMap((f) =>
              changedPaths(f, c.before?.[f], c.after?.[f]).map((d) => (
                <li key={d.path} className="font-mono text-[11px] break-all text-stone-600">
                  {d.path}: <span className="text-red-700 line-through">{show(d.before)}</span> → <span className="text-emerald-700">{show(d.after)}</span>
                </li>
              )),
            )}
          </ul>
        </li>
      ))}
      {edges.added.map((e, i) => (
        <li key={`ea-${i}`} className="text-emerald-700">+ edge <span className="font-mono">{edge(e)}</span></li>
      ))}
      {edges.removed.map((e, i) => (
        <li key={`er-${i}`} className="text-red-700">− edge <span className="font-mono">{edge(e)}</span></li>
      ))}
      {settings.length > 0 && <li className="text-stone-700">~ workflow settings: {settings.join(", ")}</li>}
    </ul>
  );
}
