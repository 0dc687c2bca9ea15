import { useState } from "react";
import { useNavigate } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { LayoutTemplate } from "lucide-react";
import { listExamples } from "../../client/api";
import { ApiError, errorMessage } from "../../client/errors";
import type { Example } from "../../client/types";
import { toast } from "../../lib/toast";
import { Button, EmptyState, ErrorNote, Modal, Spinner } from "../../lib/ui";
import { createWithFreeId } from "./create";

/** Lists the shipped example workflows; choosing one creates a workflow from it and opens it. */
export function ExamplesDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const navigate = useNavigate();
  const examples = useQuery({ queryKey: ["examples"], queryFn: listExamples, staleTime: 60_000 });
  const [busy, setBusy] = useState<string | null>(null);

  async function use(example: Example) {
    setBusy(example.id);
    const definition = { ...example.definition, id: example.definition.id || example.id, name: example.definition.name || example.name };
    try {
      const created = await createWithFreeId(definition);
      onCreated();
      toast.success(`Created “${created.name}” from the example`);
      navigate(`/workflows/${encodeURIComponent(created.id)}`);
    } catch (e) {
      if (e instanceof ApiError && e.problems.length) {
        navigate("/workflows/new", { state: { definition, problems: e.problems } });
      } else {
        toast.error(errorMessage(e));
        setBusy(null);
      }
    }
  }

  return (
    <Modal title="Start from an example" onClose={onClose} width="max-w-2xl">
      {examples.isPending ? (
        <Spinner />
      ) : examples.isError ? (
        <ErrorNote>{errorMessage(examples.error)}</ErrorNote>
      ) : examples.data.data.length === 0 ? (
        <EmptyState icon={<LayoutTemplate className="size-8" />} title="No examples are installed" />
      ) : (
        <ul className="grid max-h-[60vh] gap-2 overflow-y-auto sm:grid-cols-2">
          {examples.data.data.map((ex) => (
            <li key={ex.id} className="flex flex-col rounded-lg border border-stone-200 p-3">
              <div className="font-medium text-stone-900">{ex.name}</div>
              <p className="mt-1 flex-1 text-xs text-stone-500">{ex.description}</p>
              <div className="mt-3 flex items-center justify-between">
                <span className="text-xs text-stone-400">{ex.definition.nodes?.length ?? 0} nodes</span>
                <Button size="sm" variant="primary" busy={busy === ex.id} disabled={!!busy} onClick={() => void use(ex)}>
                  Use this example
                </Button>
              </div>
            </li>
          ))}
        </ul>
      )}
    </Modal>
  );
}
