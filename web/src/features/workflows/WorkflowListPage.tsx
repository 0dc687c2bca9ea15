import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Copy, Download, FilePlus2, LayoutTemplate, Plus, Trash2, Upload, Workflow as WorkflowIcon } from "lucide-react";
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
import { DataTable, pageCount, Pager, SearchBox, useSearchText } from "../../lib/table";
import { Button, FileButton, IconButton, PageHeader, Select, StatusBadge, Toggle } from "../../lib/ui";
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
  const [active, setActive] = useState<"" | "true" | "false">("");
  const [page, setPage] = useState(1);
  const { text: searchText, setText: setSearchText, search } = useSearchText(() => setPage(1));
  const [examplesOpen, setExamplesOpen] = useState(false);

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
  const pages = pageCount(data?.count, PAGE_SIZE);

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Workflows" subtitle="Collection workflows: triggers, forms, checks, reviews and exports.">
        {canEdit && (
          <>
            <FileButton accept=".json,application/json" testId="import-file" icon={<Upload className="size-4" />} onFile={(f) => void importFile(f)}>
              Import
            </FileButton>
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
        <SearchBox type="search" label="Search workflows" placeholder="Search workflows" value={searchText} onChange={setSearchText} />
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
        <DataTable
          query={query}
          rows={data?.data}
          rowKey={(w) => w.id}
          rowProps={() => ({ className: "group", "data-testid": "workflow-row" })}
          empty={{
            icon: <WorkflowIcon className="size-8" />,
            title: search || active ? "No workflow matches" : "No workflows yet",
            children:
              search || active ? (
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
              ),
          }}
          columns={[
            {
              header: "Name",
              cell: (w) => (
                <>
                  <Link to={`/workflows/${encodeURIComponent(w.id)}`} className="font-medium text-stone-900 hover:text-brand-700 hover:underline">
                    {w.name}
                  </Link>
                  <div className="truncate text-xs text-stone-500">{w.description || <span className="font-mono">{w.id}</span>}</div>
                </>
              ),
            },
            {
              header: "Active",
              width: "w-20",
              cell: (w) => (
                <Toggle
                  label={w.active ? `Deactivate ${w.name}` : `Activate ${w.name}`}
                  checked={w.active}
                  disabled={!canEdit || toggle.isPending}
                  onChange={(value) => toggle.mutate({ id: w.id, value })}
                />
              ),
            },
            {
              header: "Last run",
              width: "w-44",
              cell: (w) =>
                w.last_run ? (
                  <Link to={`/runs/${encodeURIComponent(w.last_run.id)}`} className="inline-flex items-center gap-2 hover:underline">
                    <StatusBadge status={w.last_run.status} />
                    <span className="text-xs text-stone-500">{timeAgo(w.last_run.started_at)}</span>
                  </Link>
                ) : (
                  <span className="text-xs text-stone-400">Never run</span>
                ),
            },
            { header: "Version", width: "w-20", className: "text-stone-600", cell: (w) => `v${w.version}` },
            { header: "Updated", width: "w-32", className: "text-xs text-stone-500", cell: (w) => timeAgo(w.updated_at) },
            {
              header: "Actions",
              hideHeader: true,
              width: "w-32",
              pad: "px-2 py-2.5",
              cell: (w) => (
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
              ),
            },
          ]}
        />
        <Pager page={page} pages={pages} onPage={setPage} />
      </div>
      {examplesOpen && <ExamplesDialog onClose={() => setExamplesOpen(false)} onCreated={refresh} />}
    </div>
  );
}
