/**
 * The form builder (`/forms/new`, `/forms/:name`): the field palette, the form's outline
 * (pages and fields, dragged into order), the settings of what is selected, and a live
 * preview drawn by the public page's own renderer. Saving makes a new version; the server's
 * problems are put on the fields they concern.
 */
import { useEffect, useMemo, useState } from "react";
import { Link, useBlocker, useLocation, useNavigate, useParams } from "react-router";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { ArrowLeft, Braces, Eye, EyeOff, FileDown, Redo2, Save, Send, Undo2 } from "lucide-react";
import { downloadFile, getForm, listFormVersions, saveForm } from "../../client/api";
import { ApiError, errorMessage } from "../../client/errors";
import type { FormProblem, FormRead } from "../../client/types";
import { confirm } from "../../lib/confirm";
import { downloadJson } from "../../lib/files";
import { toast, useToasts } from "../../lib/toast";
import { useTitle } from "../../lib/title";
import { Button, ErrorNote, IconButton, Select, Spinner } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import { canEditForms } from "../shell/permissions";
import { Outline, useProblemsByUid } from "./builder/Outline";
import { Palette } from "./builder/Palette";
import { Panel } from "./builder/Panel";
import { Preview } from "./builder/Preview";
import { addField, blankForm, findField, fromDocument, nextVersionDocument, serverProblems, toDocument, type BDoc } from "./builder/state";
import { BuilderContext, createBuilderStore, useBuilder, useBuilderStore, type SavedVersion } from "./builder/store";
import { SendDialog } from "./SendDialog";
import type { FieldType } from "./schema";

export default function FormBuilderPage() {
  const { name } = useParams();
  const location = useLocation();
  const role = useAuth((s) => s.user?.role);
  const query = useQuery({ queryKey: ["form", name], queryFn: () => getForm(name!), enabled: !!name, staleTime: Infinity });
  const imported = (location.state as { document?: unknown } | null)?.document;

  if (name && query.isPending) {
    return (
      <div className="p-6">
        <Spinner label="Opening the form" />
      </div>
    );
  }
  if (name && query.isError) {
    return (
      <div className="p-6">
        <ErrorNote>{errorMessage(query.error)}</ErrorNote>
      </div>
    );
  }
  const form = query.data;
  return (
    <Builder
      key={form?.name ?? `new:${location.key}`}
      initial={form ? fromDocument(form.schema) : imported ? fromDocument(imported) : blankForm()}
      saved={form ? { key: form.key, name: form.name, version: form.version } : null}
      readOnly={!canEditForms(role)}
      startDirty={!form && !!imported}
    />
  );
}

function Builder({ initial, saved, readOnly, startDirty }: { initial: BDoc; saved: SavedVersion | null; readOnly: boolean; startDirty: boolean }) {
  const [store] = useState(() => {
    const s = createBuilderStore(initial, saved, readOnly);
    if (startDirty) s.setState({ dirty: true });
    return s;
  });
  return (
    <BuilderContext.Provider value={store}>
      <BuilderFrame />
    </BuilderContext.Provider>
  );
}

function BuilderFrame() {
  const store = useBuilderStore();
  const doc = useBuilder((s) => s.doc);
  const dirty = useBuilder((s) => s.dirty);
  const saved = useBuilder((s) => s.saved);
  const readOnly = useBuilder((s) => s.readOnly);
  const canUndo = useBuilder((s) => s.past.length > 0);
  const canRedo = useBuilder((s) => s.future.length > 0);
  const problems = useProblemsByUid();
  const problemCount = useMemo(() => [...problems.values()].reduce((n, l) => n + l.length, 0), [problems]);
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [preview, setPreview] = useState(true);
  const [sending, setSending] = useState(false);
  useTitle(doc.title || doc.name || "New form");
  useUnsavedWarning(dirty && !readOnly);

  async function save() {
    const s = store.getState();
    if (s.readOnly) return;
    setBusy(true);
    try {
      const answer: FormRead = await saveForm(nextVersionDocument(s.doc));
      s.markSaved({ key: answer.key, name: answer.name, version: answer.version });
      qc.setQueryData(["form", answer.name], answer);
      void qc.invalidateQueries({ queryKey: ["forms"] });
      // the problems of an earlier try are solved: their messages go
      useToasts.setState((t) => ({ toasts: t.toasts.filter((x) => x.kind !== "error") }));
      toast.success(`Saved as version ${answer.version} (${answer.key})`);
      if (!saved || saved.name !== answer.name) navigate(`/forms/${encodeURIComponent(answer.name)}`, { replace: true });
    } catch (e) {
      if (e instanceof ApiError && e.status === 422 && Array.isArray(e.details)) {
        s.setProblems(serverProblems(s.doc, e.details as FormProblem[]));
        toast.error(e.message);
      } else toast.error(errorMessage(e));
    } finally {
      setBusy(false);
    }
  }

  const addFromPalette = (type: FieldType) => {
    const s = store.getState();
    let made = "";
    s.change((d) => {
      const sel = s.selected;
      let place = { page: d.pages[0]._uid } as { page: string; table?: string };
      let index: number | undefined;
      if (sel.kind === "field") {
        const found = findField(d, sel.uid);
        if (found) {
          place = found.place.table && type !== "table" ? found.place : { page: found.place.page };
          const topIndex = found.place.table ? d.pages.find((p) => p._uid === found.place.page)!.fields.findIndex((f) => f._uid === found.place.table) : found.index;
          index = (found.place.table && type !== "table" ? found.index : topIndex) + 1;
        }
      } else if (sel.kind === "page") place = { page: sel.uid };
      else place = { page: d.pages[d.pages.length - 1]._uid };
      const [next, id] = addField(d, type, place, index);
      made = id;
      return next;
    });
    if (made) s.select({ kind: "field", uid: made });
  };

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey)) return;
      const key = e.key.toLowerCase();
      if (key === "s") {
        e.preventDefault();
        if (store.getState().dirty) void save();
        return;
      }
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable)) return;
      if (key === "z" && !e.shiftKey) store.getState().undo();
      else if ((key === "z" && e.shiftKey) || key === "y") store.getState().redo();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [store]);

  return (
    <div className="flex h-full flex-col">
      <header className="flex flex-wrap items-center gap-2 border-b border-stone-200 bg-white px-3 py-2">
        <IconButton label="Back to forms" onClick={() => navigate("/forms")}>
          <ArrowLeft className="size-4" />
        </IconButton>
        <div className="min-w-0 flex-1">
          <h1 className="truncate text-base font-semibold text-stone-900">{doc.title || "Untitled form"}</h1>
          <p className="truncate text-xs text-stone-500" data-testid="builder-status">
            {saved ? (
              <>
                <span className="font-mono">{saved.key}</span> · version {saved.version}
              </>
            ) : (
              "Not saved yet"
            )}
            {dirty && !readOnly && <span className="text-amber-700"> · unsaved changes</span>}
            {readOnly && " · read only"}
            {problemCount > 0 && <span className="text-red-700"> · {problemCount === 1 ? "1 problem" : `${problemCount} problems`}</span>}
          </p>
        </div>
        {saved && <VersionsMenu saved={saved} />}
        {!readOnly && (
          <>
            <IconButton label="Undo (Ctrl+Z)" disabled={!canUndo} onClick={() => store.getState().undo()}>
              <Undo2 className="size-4" />
            </IconButton>
            <IconButton label="Redo (Ctrl+Shift+Z)" disabled={!canRedo} onClick={() => store.getState().redo()}>
              <Redo2 className="size-4" />
            </IconButton>
          </>
        )}
        <IconButton label={preview ? "Hide the preview" : "Show the preview"} active={preview} onClick={() => setPreview(!preview)}>
          {preview ? <Eye className="size-4" /> : <EyeOff className="size-4" />}
        </IconButton>
        <Button
          icon={<Braces className="size-4" />}
          disabled={!saved}
          title={saved ? `The JSON Schema of ${saved.key}` : "Save the form first"}
          onClick={() => saved && downloadFile(`/api/forms/${encodeURIComponent(saved.key)}/json-schema`, `${saved.key}.schema.json`).catch((e) => toast.error(errorMessage(e)))}
        >
          JSON Schema
        </Button>
        <Button icon={<FileDown className="size-4" />} title="The form's JSON, as it is now" onClick={() => downloadJson(`${doc.name || "form"}.json`, toDocument(doc))}>
          Form JSON
        </Button>
        {!readOnly && (
          <Button
            icon={<Send className="size-4" />}
            disabled={!saved}
            title={saved ? (dirty ? `Sends ${saved.key}, without the unsaved changes` : `Send ${saved.key}`) : "Save the form first"}
            onClick={() => setSending(true)}
          >
            Send…
          </Button>
        )}
        {!readOnly && (
          <Button variant="primary" icon={<Save className="size-4" />} busy={busy} disabled={!dirty} onClick={() => void save()}>
            {saved ? "Save new version" : "Save"}
          </Button>
        )}
      </header>
      <div className="flex min-h-0 flex-1">
        {!readOnly && <Palette onAdd={addFromPalette} />}
        <div className="w-80 shrink-0 overflow-y-auto bg-stone-100/60" data-testid="builder-outline">
          <Outline />
        </div>
        <Panel />
        {preview && <Preview />}
      </div>
      {sending && saved && <SendDialog formKey={saved.key} title={doc.title || saved.name} onClose={() => setSending(false)} />}
      {readOnly && (
        <p className="border-t border-stone-200 bg-white px-4 py-1.5 text-xs text-stone-500">
          Your role may read forms but not change them. <Link to="/forms" className="underline">Back to forms</Link>
        </p>
      )}
    </div>
  );
}

/**
 * The saved versions of the form. Choosing an older one puts it in the builder (one undo
 * step); saving it then makes it the newest version again.
 */
function VersionsMenu({ saved }: { saved: SavedVersion }) {
  const store = useBuilderStore();
  const versions = useQuery({ queryKey: ["form-versions", saved.name, saved.key], queryFn: () => listFormVersions(saved.name), staleTime: 30_000 });
  const [shown, setShown] = useState(saved.key);
  useEffect(() => setShown(saved.key), [saved.key]);
  const list = versions.data?.data ?? [];
  if (list.length < 2) return null;
  return (
    <Select
      aria-label="Version"
      className="w-40"
      value={shown}
      onChange={async (e) => {
        const key = e.target.value;
        try {
          const older = await getForm(key);
          const doc = fromDocument(older.schema);
          const s = store.getState();
          if (s.readOnly) store.setState({ doc, selected: { kind: "form" } });
          else s.change(() => doc);
          s.select({ kind: "form" });
          setShown(key);
          if (key !== saved.key && !s.readOnly) toast.info(`Version ${older.version} is in the builder. Save it to make it the newest version again.`);
        } catch (err) {
          toast.error(errorMessage(err));
        }
      }}
    >
      {list.map((v) => (
        <option key={v.key} value={v.key}>
          Version {v.version}
          {v.key === saved.key ? " (newest)" : ""}
        </option>
      ))}
    </Select>
  );
}

/** Warns before leaving with unsaved changes: closing the tab, and moving inside the app. */
function useUnsavedWarning(active: boolean) {
  const store = useBuilderStore();
  useEffect(() => {
    if (!active) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [active]);
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      store.getState().dirty && !store.getState().readOnly && currentLocation.pathname !== nextLocation.pathname && nextLocation.pathname !== "/login",
  );
  useEffect(() => {
    if (blocker.state !== "blocked") return;
    let live = true;
    void confirm({
      title: "Leave without saving?",
      message: "This form has changes that are not saved. They will be lost.",
      confirmLabel: "Leave",
      cancelLabel: "Stay",
      danger: true,
    }).then((ok) => {
      if (!live) return;
      if (ok) blocker.proceed();
      else blocker.reset();
    });
    return () => {
      live = false;
    };
  }, [blocker]);
}
