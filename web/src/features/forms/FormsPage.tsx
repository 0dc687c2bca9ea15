/** The forms: every form with its newest version, search, new, import, the example, send. */
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { Braces, FilePlus2, FileText, Inbox, LayoutTemplate, Send, Upload } from "lucide-react";
import example from "../../../../examples/forms/supplier_emissions_v2.json";
import { downloadFile, listForms } from "../../client/api";
import { errorMessage } from "../../client/errors";
import type { FormSummary } from "../../client/types";
import { readFileText } from "../../lib/files";
import { timeAgo } from "../../lib/format";
import { toast } from "../../lib/toast";
import { useTitle } from "../../lib/title";
import { DataTable, pageCount, Pager, SearchBox, useSearchText } from "../../lib/table";
import { Button, FileButton, IconButton, PageHeader } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import { canEditForms } from "../shell/permissions";
import { SendDialog } from "./SendDialog";

const PAGE_SIZE = 50;

export function FormsPage() {
  useTitle("Forms");
  const role = useAuth((s) => s.user?.role);
  const canEdit = canEditForms(role);
  const navigate = useNavigate();
  const [page, setPage] = useState(1);
  const { text: searchText, setText: setSearchText, search } = useSearchText(() => setPage(1));
  const [sending, setSending] = useState<FormSummary | null>(null);

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
  const pages = pageCount(data?.count, PAGE_SIZE);

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Forms" subtitle="Versioned questionnaires sent to suppliers through personal links.">
        {canEdit && (
          <>
            <FileButton accept=".json,application/json" testId="import-form-file" icon={<Upload className="size-4" />} onFile={(f) => void importFile(f)}>
              Import JSON
            </FileButton>
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
        <SearchBox label="Search forms" placeholder="Search by title or name" value={searchText} onChange={setSearchText} />
      </div>
      <div className="min-h-0 flex-1 overflow-auto px-6 py-4">
        <DataTable
          query={query}
          rows={data?.data}
          rowKey={(f) => f.name}
          rowProps={() => ({ "data-testid": "form-row" })}
          className="shadow-xs"
          empty={{
            icon: <FileText className="size-8" />,
            title: search ? "No form matches" : "No forms yet",
            children: search ? "Try another search." : canEdit ? "Build one from scratch, start from the example questionnaire, or import a form's JSON." : "Forms built by your team will be listed here.",
          }}
          columns={[
            {
              header: "Form",
              cell: (f) => (
                <>
                  <Link to={`/forms/${encodeURIComponent(f.name)}`} className="font-medium text-stone-900 hover:text-brand-800 hover:underline">
                    {f.title || f.name}
                  </Link>
                  <div className="font-mono text-xs text-stone-500">{f.name}</div>
                </>
              ),
            },
            { header: "Newest version", className: "font-mono text-xs", cell: (f) => f.key },
            { header: "Versions", cell: (f) => f.versions },
            { header: "Changed", className: "text-stone-500", cell: (f) => timeAgo(f.updated_at) },
            {
              header: "Actions",
              hideHeader: true,
              cell: (f) => (
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
              ),
            },
          ]}
        />
        <Pager page={page} pages={pages} onPage={setPage} />
      </div>
      {sending && <SendDialog formKey={sending.key} title={sending.title || sending.name} onClose={() => setSending(null)} />}
    </div>
  );
}
