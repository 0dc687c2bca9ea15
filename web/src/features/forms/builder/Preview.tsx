/**
 * The builder's live preview: the form drawn by the same `FormRenderer` as the public page,
 * as it is being edited. It follows the selection to its page and marks the selected field;
 * answers typed here stay here (files are checked against their limits but not sent).
 */
import { useEffect, useMemo, useState } from "react";
import { Eraser, Smartphone, Monitor } from "lucide-react";
import { cx } from "../../../lib/cx";
import { IconButton } from "../../../lib/ui";
import type { FieldErrors } from "../checks";
import { FormRenderer } from "../FormRenderer";
import { limitsOf } from "../limits";
import { computeVisibility } from "../visibility";
import { initialAnswers, type Answers, type FileRef } from "../schema";
import { findField, toDocument } from "./state";
import { useBuilder } from "./store";

export function Preview() {
  const doc = useBuilder((s) => s.doc);
  const selected = useBuilder((s) => s.selected);
  const form = useMemo(() => toDocument(doc), [doc]);
  const limits = useMemo(() => limitsOf(form), [form]);
  const [answers, setAnswers] = useState<Answers>(() => initialAnswers(form, {}));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [page, setPage] = useState<string | null>(null);
  const [narrow, setNarrow] = useState(false);
  const [note, setNote] = useState<string | null>(null);

  // the preview goes to the page of what is selected, and marks the field
  let highlight: string | null = null;
  let pageOfSelection: string | null = null;
  let hiddenBy: string | null = null;
  if (selected.kind === "field") {
    const found = findField(doc, selected.uid);
    if (found) {
      const pageDoc = doc.pages.find((p) => p._uid === found.place.page);
      pageOfSelection = pageDoc?.id ?? null;
      if (found.place.table) {
        const table = findField(doc, found.place.table)!.field;
        const rows = answers[table.id];
        highlight = Array.isArray(rows) && rows.length ? `${table.id}[0].${found.field.id}` : table.id;
      } else highlight = found.field.id;
      if (found.field.visible_if) hiddenBy = found.field.visible_if;
      else if (found.place.table) hiddenBy = findField(doc, found.place.table)!.field.visible_if ?? null;
    }
  } else if (selected.kind === "page") {
    pageOfSelection = doc.pages.find((p) => p._uid === selected.uid)?.id ?? null;
  }
  useEffect(() => {
    if (pageOfSelection) setPage(pageOfSelection);
  }, [pageOfSelection]);
  useEffect(() => {
    if (!highlight) return;
    const el = document.querySelector(`[data-testid=builder-preview] [data-field="${CSS.escape(highlight)}"]`);
    el?.scrollIntoView({ block: "nearest", behavior: "smooth" });
  }, [highlight, page]);

  const visibility = useMemo(() => computeVisibility(form, answers), [form, answers]);
  const isHidden = (path: string) => visibility.hidden.has(path) || visibility.hidden.has(path.split(/[.[]/, 1)[0]);

  const upload = async (_key: string, file: File): Promise<FileRef> => ({
    key: `preview/${file.name}`,
    name: file.name,
    size: file.size,
    content_type: file.type || "application/octet-stream",
  });

  return (
    <section aria-label="Live preview" className="flex min-w-0 flex-1 flex-col border-l border-stone-200 bg-stone-100" data-testid="builder-preview">
      <div className="flex items-center gap-1 border-b border-stone-200 bg-white px-3 py-1.5">
        <h2 className="flex-1 text-sm font-semibold text-stone-900">Live preview</h2>
        <IconButton label="Phone width" active={narrow} onClick={() => setNarrow(true)}>
          <Smartphone className="size-4" />
        </IconButton>
        <IconButton label="Full width" active={!narrow} onClick={() => setNarrow(false)}>
          <Monitor className="size-4" />
        </IconButton>
        <IconButton
          label="Clear the answers"
          onClick={() => {
            setAnswers(initialAnswers(form, {}));
            setErrors({});
            setNote(null);
          }}
        >
          <Eraser className="size-4" />
        </IconButton>
      </div>
      <div className="flex-1 overflow-y-auto p-4">
        {highlight && hiddenBy && isHidden(highlight) && (
          <p className="mx-auto mb-3 max-w-2xl rounded-md bg-amber-50 px-3 py-2 text-xs text-amber-900 ring-1 ring-amber-200" data-testid="preview-hidden-note">
            The selected field is hidden until <span className="font-mono">{hiddenBy}</span>. Answer the preview to see it.
          </p>
        )}
        <div className={cx("mx-auto rounded-xl bg-white px-5 py-5 text-base shadow-sm ring-1 ring-stone-200", narrow ? "max-w-[375px]" : "max-w-2xl")}>
          <h1 className="text-xl font-semibold text-stone-900">{form.title || "Untitled form"}</h1>
          {form.description && <p className="mt-1 text-sm text-stone-600">{form.description}</p>}
          <div className="mt-4">
            <FormRenderer
              form={form}
              answers={answers}
              onAnswersChange={(a) => {
                setAnswers(a);
                setNote(null);
              }}
              errors={errors}
              onErrorsChange={setErrors}
              page={page}
              onPageChange={setPage}
              onSubmit={() => setNote("This is a preview: the answers pass the checks of the browser and are not sent anywhere.")}
              upload={upload}
              limits={limits}
              highlight={highlight}
              idPrefix="preview-"
              submitLabel="Submit (preview)"
              status={note ? <span className="text-brand-800">{note}</span> : null}
            />
          </div>
        </div>
      </div>
    </section>
  );
}
