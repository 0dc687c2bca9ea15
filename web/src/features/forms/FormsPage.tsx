/** The forms: every form with its newest version, search, new, import, the example, send. */
import { useEffect, useRef, useState } from "react";
import { Link, useNavigate } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Braces, FilePlus2, FileText, Inbox, LayoutTemplate, Search, Send, Upload } from "lucide-react";
import example from "../../../../examples/forms/supplier_emissions_v2.json";
import { downloadFile, listForms } from "../../client/api";
import { errorMessage } from "../../client/errors";
import type { FormSummary } from "../../client/types";
import { readFileText } from "../../lib/files";
import { timeAgo } from "../../lib/format";
import { toast } from "../../lib/toast";
import { useTitle } from "../../lib/title";
import { Button, EmptyState, ErrorNote, IconButton, Input, PageHeader, Spinner } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import { canEditForms } from "../shell/permissions";
import { SendDialog } from "./SendDialog";

const PAGE_SIZE = 50;

export function FormsPage() {
  useTitle("Forms");
  const role = useAuth((s) => s.user?.role);
  const canEdit = canEditForms(role);
  const navigate = useNavigate();
  const [searchText, setSearchText] = useState("");
  const [search, setSearch] = useState("");
  const [page, setPage] = useState(1);
  const [sending, setSending] = useState<FormSummary | null>(null);
  const fileRef = useRef<HTMLInputElement>(null);

  useEffect(() => {
    const t = setTimeout(() => {
      setSearch(searchText.trim());
      setPage(1);
    }, 250);
    return () => clearTimeout(t);
  }, [searchText]);

  const query = useQuery({
    queryKey: ["forms", { search, page }],
    queryFn: () => listForms({ search: search || undefined, page, page_size: PAGE_SIZE }),
    placeholderData: keepPreviousData,
  });

  async function importFile(file: File) {
    try {
      const document = JSON.parse(await readFileText(file));
      if (!document || typeof document !== "object" || Array.isArray(document)) throw new Error("The file does not hold a form (a JSON object).");
      navigate("/forms/new", { state: { document } });
    } catch (e) {
      toast.error(e instanceof SyntaxError ? `${file.name} is not valid JSON.` : errorMessage(e));
    }
  }

  const data = query.data;
  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Forms" subtitle="Versioned questionnaires sent to suppliers through personal links.">
        {canEdit && (
          <>
            <input
              ref={fileRef}
              type="file"
              accept=".json,application/json"
              className="hidden"
              data-testid="import-form-file"
              onChange={(e) => {
                const f = e.target.files?.[0];
                e.target.value = "";
                if (f) void importFile(f);
              }}
            />
            <Button icon={<Upload className="size-4" />} onClick={() => fileRef.current?.click()}>
              Import JSON
            </Button>
            <Button icon={<LayoutTemplate className="size-4" />} onClick={() => navigate("/forms/new", { state: { document: example } })}>
              From the example
            </Button>
            <Button variant="primary" icon={<FilePlus2 className="size-4" />} onClick={() => navigate("/forms/new")}>
              New form
            </Button>
          </>
        )}
      </PageHeader>
      <div className="flex items-center gap-2 px-6 pt-4">
        <div className="relative w-72">
          <Search className="pointer-events-none absolute top-2 left-2.5 size-4 text-stone-400" aria-hidden />
          <Input aria-label="Search forms" placeholder="Search by title or name" className="pl-8" value={searchText} onChange={(e) => setSearchText(e.target.value)} />
        </div>
      </div>
      <div className="min-h-0 flex-1 overflow-auto px-6 py-4">
        {query.isError && <ErrorNote>{errorMessage(query.error)}</ErrorNote>}
        {query.isPending && <Spinner />}
        {data && data.data.length === 0 && (
          <div className="rounded-lg border border-dashed border-stone-300 bg-white">
            <EmptyState icon={<FileText className="size-8" />} title={search ? "No form matches" : "No forms yet"}>
              {search ? "Try another search." : canEdit ? "Build one from scratch, start from the example questionnaire, or import a form's JSON." : "Forms built by your team will be listed here."}
            </EmptyState>
          </div>
        )}
        {data && data.data.length > 0 && (
          <table className="w-full overflow-hidden rounded-lg border border-stone-200 bg-white text-sm shadow-xs">
            <thead className="bg-stone-50 text-left text-xs text-stone-500">
              <tr>
                <th className="px-4 py-2 font-medium">Form</th>
                <th className="px-4 py-2 font-medium">Newest version</th>
                <th className="px-4 py-2 font-medium">Versions</th>
                <th className="px-4 py-2 font-medium">Changed</th>
                <th className="px-4 py-2 font-medium">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody className="divide-y divide-stone-100">
              {data.data.map((f) => (
                <tr key={f.name} className="hover:bg-stone-50" data-testid="form-row">
                  <td className="px-4 py-2.5">
                    <Link to={`/forms/${encodeURIComponent(f.name)}`} className="font-medium text-stone-900 hover:text-brand-800 hover:underline">
                      {f.title || f.name}
                    </Link>
                    <div className="font-mono text-xs text-stone-500">{f.name}</div>
                  </td>
                  <td className="px-4 py-2.5 font-mono text-xs">{f.key}</td>
                  <td className="px-4 py-2.5">{f.versions}</td>
                  <td className="px-4 py-2.5 text-stone-500">{timeAgo(f.updated_at)}</td>
                  <td className="px-4 py-2.5">
                    <div className="flex justify-end gap-0.5">
                      {canEdit && (
                        <IconButton label={`Send ${f.title || f.name}`} onClick={() => setSending(f)}>
                          <Send className="size-4" />
                        </IconButton>
                      )}
                      <IconButton label={`Responses to ${f.title || f.name}`} onClick={() => navigate(`/responses?form=${encodeURIComponent(f.name)}`)}>
                        <Inbox className="size-4" />
                      </IconButton>
                      <IconButton
                        label={`JSON Schema of ${f.key}`}
                        onClick={() => downloadFile(`/api/forms/${encodeURIComponent(f.key)}/json-schema`, `${f.key}.schema.json`).catch((e) => toast.error(errorMessage(e)))}
                      >
                        <Braces className="size-4" />
                      </IconButton>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {data && pages > 1 && (
          <div className="mt-3 flex items-center justify-end gap-2 text-sm">
            <Button size="sm" disabled={page <= 1} onClick={() => setPage(page - 1)}>
              Previous
            </Button>
            <span className="text-stone-500">
              Page {page} of {pages}
            </span>
            <Button size="sm" disabled={page >= pages} onClick={() => setPage(page + 1)}>
              Next
            </Button>
          </div>
        )}
      </div>
      {sending && <SendDialog formKey={sending.key} title={sending.title || sending.name} onClose={() => setSending(null)} />}
    </div>
  );
}
