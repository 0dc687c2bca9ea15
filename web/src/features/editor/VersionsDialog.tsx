/** Version history: every save is a version; one can be downloaded or restored as a new version. */
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Download, RotateCcw } from "lucide-react";
import { getVersion, listVersions, restoreVersion } from "../../client/api";
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
    </Modal>
  );
}
