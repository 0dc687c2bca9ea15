import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Copy, Download, FilePlus2, LayoutTemplate, Plus, Search, Trash2, Upload, Workflow as WorkflowIcon } from "lucide-react";
import {
  deleteWorkflow,
  exportWorkflow,
  getWorkflow,
  listWorkflows,
  setWorkflowActive,
} from "../../client/api";
import { ApiError, errorMessage } from "../../client/errors";
import type { WorkflowSummary } from "../../client/types";
import { confirm } from "../../lib/confirm";
import { downloadJson, readFileText } from "../../lib/files";
import { timeAgo } from "../../lib/format";
import { toast } from "../../lib/toast";
import { Button, EmptyState, ErrorNote, IconButton, Input, PageHeader, Select, Spinner, StatusBadge, Toggle } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import { useTitle } from "../../lib/title";
import { canEditWorkflows } from "../shell/permissions";
import { createWithFreeId, parseWorkflowFile } from "./create";
import { ExamplesDialog } from "./ExamplesDialog";

const PAGE_SIZE = 25;

export function WorkflowListPage() {
  useTitle("Workflows");
  const role = useAuth((s) => s.user?.role);
  const canEdit = canEditWorkflows(role);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [searchText, setSearchText] = useState("");
  const [search, setSearch] = useState("");
  const [active, setActive] = useState<"" | "true" | "false">("");
  const [page, setPage] = useState(1);
  const [examplesOpen, setExamplesOpen] = useState(false);
  const fileRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const t = setTimeout(() => {
      setSearch(searchText.trim());
      setPage(1);
    }, 250);
    return () => clearTimeout(t);
  }, [searchText]);

  const query = useQuery({
    queryKey: ["workflows", { search, active, page }],
    queryFn: () =>
      listWorkflows({
        search: search || undefined,
        active: active === "" ? undefined : active === "true",
        page,
        page_size: PAGE_SIZE,
      }),
    placeholderData: keepPreviousData,
  });

  const refresh = () => qc.invalidateQueries({ queryKey: ["workflows"] });

  const toggle = useMutation({
    mutationFn: ({ id, value }: { id: string; value: boolean }) => setWorkflowActive(id, value),
    onSuccess: (_, { value }) => {
      toast.success(value ? "Workflow activated" : "Workflow deactivated");
      refresh();
    },
    onError: (e) => toast.error(errorMessage(e)),
  });

  async function remove(w: WorkflowSummary) {
    const ok = await confirm({
      title: `Delete “${w.name}”?`,
      message: "The workflow and its versions are deleted. Past runs stay in the run history.",
      confirmLabel: "Delete",
      danger: true,
    });
    if (!ok) return;
    try {
      await deleteWorkflow(w.id);
      toast.success(`Deleted “${w.name}”`);
      refresh();
    } catch (e) {
      toast.error(errorMessage(e));
    }
  }

  async function duplicate(w: WorkflowSummary) {
    try {
      const full = await getWorkflow(w.id);
      const copy = await createWithFreeId({
        ...full.definition,
        id: `${w.id}-copy`,
        name: `${full.definition.name || w.name} (copy)`,
        active: false,
      });
      toast.success(`Created “${copy.name}”`);
      refresh();
    } catch (e) {
      toast.error(errorMessage(e));
    }
  }

  async function exportOne(w: WorkflowSummary) {
    try {
      downloadJson(`${w.id}.json`, await exportWorkflow(w.id));
    } catch (e) {
      toast.error(errorMessage(e));
    }
  }

  async function importFile(file: File) {
    let definition;
    try {
      definition = parseWorkflowFile(await readFileText(file));
    } catch (e) {
      toast.error(errorMessage(e));
      return;
    }
    try {
      const created = await createWithFreeId(definition);
      toast.success(`Imported “${created.name}”`);
      refresh();
      navigate(`/workflows/${encodeURIComponent(created.id)}`);
    } catch (e) {
      if (e instanceof ApiError && e.problems.length) {
        // Open it unsaved, with its problems on the canvas, so they can be fixed before saving.
        toast.info("The imported workflow has problems. Fix them, then save.");
        navigate("/workflows/new", { state: { definition, problems: e.problems } });
      } else {
        toast.error(errorMessage(e));
      }
    }
  }

  const data = query.data;
  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Workflows" subtitle="Collection workflows: triggers, forms, checks, reviews and exports.">
        {canEdit && (
          <>
            <input
              ref={fileRef}
              type="file"
              accept=".json,application/json"
              className="hidden"
              data-testid="import-file"
              onChange={(e) => {
                const f = e.target.files?.[0];
                e.target.value = "";
                if (f) void importFile(f);
              }}
            />
            <Button icon={<Upload className="size-4" />} onClick={() => fileRef.current?.click()}>
              Import
            </Button>
            <Button icon={<LayoutTemplate className="size-4" />} onClick={() => setExamplesOpen(true)}>
              From example
            </Button>
            <Button variant="primary" icon={<Plus className="size-4" />} onClick={() => navigate("/workflows/new")}>
              New workflow
            </Button>
          </>
        )}
      </PageHeader>

      <div className="flex flex-wrap items-center gap-2 px-6 pt-4">
        <div className="relative w-72">
          <Search className="pointer-events-none absolute top-2 left-2.5 size-4 text-stone-400" aria-hidden />
          <Input
            type="search"
            placeholder="Search workflows"
            aria-label="Search workflows"
            value={searchText}
            onChange={(e) => setSearchText(e.target.value)}
            className="pl-8"
          />
        </div>
        <Select
          aria-label="Filter by state"
          value={active}
          onChange={(e) => {
            setActive(e.target.value as typeof active);
            setPage(1);
          }}
          className="w-44"
        >
          <option value="">All workflows</option>
          <option value="true">Active</option>
          <option value="false">Inactive</option>
        </Select>
        {data && <span className="text-sm text-stone-500">{data.count} in all</span>}
      </div>

      <div className="min-h-0 flex-1 overflow-auto px-6 py-4">
        {query.isPending ? (
          <Spinner />
        ) : query.isError ? (
          <ErrorNote>{errorMessage(query.error)}</ErrorNote>
        ) : data && data.data.length === 0 ? (
          <div className="rounded-lg border border-dashed border-stone-300 bg-white">
            <EmptyState icon={<WorkflowIcon className="size-8" />} title={search || active ? "No workflow matches" : "No workflows yet"}>
              {search || active ? (
                "Try another search or filter."
              ) : canEdit ? (
                <div className="mt-2 flex justify-center gap-2">
                  <Button variant="primary" icon={<FilePlus2 className="size-4" />} onClick={() => navigate("/workflows/new")}>
                    Start from blank
                  </Button>
                  <Button icon={<LayoutTemplate className="size-4" />} onClick={() => setExamplesOpen(true)}>
                    Start from an example
                  </Button>
                </div>
              ) : (
                "Workflows built by your team appear here."
              )}
            </EmptyState>
          </div>
        ) : (
          <div className="overflow-hidden rounded-lg border border-stone-200 bg-white">
            <table className="w-full text-sm">
              <thead className="border-b border-stone-200 bg-stone-50 text-left text-xs font-medium text-stone-500">
                <tr>
                  <th className="px-4 py-2">Name</th>
                  <th className="w-20 px-4 py-2">Active</th>
                  <th className="w-44 px-4 py-2">Last run</th>
                  <th className="w-20 px-4 py-2">Version</th>
                  <th className="w-32 px-4 py-2">Updated</th>
                  <th className="w-32 px-4 py-2">
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody className="divide-y divide-stone-100">
                {data?.data.map((w) => (
                  <tr key={w.id} className="group hover:bg-stone-50" data-testid="workflow-row">
                    <td className="px-4 py-2.5">
                      <Link to={`/workflows/${encodeURIComponent(w.id)}`} className="font-medium text-stone-900 hover:text-brand-700 hover:underline">
                        {w.name}
                      </Link>
                      <div className="truncate text-xs text-stone-500">
                        {w.description || <span className="font-mono">{w.id}</span>}
                      </div>
                    </td>
                    <td className="px-4 py-2.5">
                      <Toggle
                        label={w.active ? `Deactivate ${w.name}` : `Activate ${w.name}`}
                        checked={w.active}
                        disabled={!canEdit || toggle.isPending}
                        onChange={(value) => toggle.mutate({ id: w.id, value })}
                      />
                    </td>
                    <td className="px-4 py-2.5">
                      {w.last_run ? (
                        <Link to={`/runs/${encodeURIComponent(w.last_run.id)}`} className="inline-flex items-center gap-2 hover:underline">
                          <StatusBadge status={w.last_run.status} />
                          <span className="text-xs text-stone-500">{timeAgo(w.last_run.started_at)}</span>
                        </Link>
                      ) : (
                        <span className="text-xs text-stone-400">Never run</span>
                      )}
                    </td>
                    <td className="px-4 py-2.5 text-stone-600">v{w.version}</td>
                    <td className="px-4 py-2.5 text-xs text-stone-500">{timeAgo(w.updated_at)}</td>
                    <td className="px-2 py-2.5">
                      <div className="flex justify-end gap-0.5">
                        <IconButton label={`Export ${w.name}`} onClick={() => void exportOne(w)}>
                          <Download className="size-4" />
                        </IconButton>
                        {canEdit && (
                          <>
                            <IconButton label={`Duplicate ${w.name}`} onClick={() => void duplicate(w)}>
                              <Copy className="size-4" />
                            </IconButton>
                            <IconButton label={`Delete ${w.name}`} onClick={() => void remove(w)} className="hover:text-red-600">
                              <Trash2 className="size-4" />
                            </IconButton>
                          </>
                        )}
                      </div>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {data && pages > 1 && (
          <div className="mt-3 flex items-center justify-end gap-2 text-sm text-stone-600">
            <Button size="sm" disabled={page <= 1} onClick={() => setPage(page - 1)}>
              Previous
            </Button>
            <span>
              Page {page} of {pages}
            </span>
            <Button size="sm" disabled={page >= pages} onClick={() => setPage(page + 1)}>
              Next
            </Button>
          </div>
        )}
      </div>
      {examplesOpen && <ExamplesDialog onClose={() => setExamplesOpen(false)} onCreated={refresh} />}
    </div>
  );
}
