/**
 * The form as a respondent sees it: one page at a time with Back and Next, a progress
 * indicator, conditional fields shown and hidden as answers change, instant checks of the
 * page before going on, and the server's errors at their fields. The public page (`/f/:token`)
 * and the form builder's live preview both render forms with this component.
 *
 * It is controlled: the caller holds the answers, the errors and the current page, and is told
 * when they change. To show errors from the server, the caller sets `errors` and bumps
 * `focusErrors`: the renderer then goes to the page of the first error and focuses that field.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { AlertTriangle, ArrowLeft, ArrowRight, Send } from "lucide-react";
import { cx } from "../../lib/cx";
import { checkPage, checkValue, clearErrors, rootOf, type FieldErrors } from "./checks";
import { FieldView, type FieldContext } from "./fields";
import type { UploadLimits } from "./limits";
import { computeVisibility } from "./visibility";
import { fieldTitle, hasValue, isEmpty, type Answers, type FieldDef, type FileRef, type FormDoc, type PageDef } from "./schema";

export interface FormRendererProps {
  form: FormDoc;
  answers: Answers;
  onAnswersChange: (answers: Answers) => void;
  errors: FieldErrors;
  onErrorsChange: (errors: FieldErrors) => void;
  /** The id of the page shown; null shows the first page. */
  page: string | null;
  onPageChange: (pageId: string) => void;
  /** Called from the last page once its own checks pass. */
  onSubmit: () => void;
  upload: (limitKey: string, file: File) => Promise<FileRef>;
  limits: UploadLimits;
  /** A reviewer's message per field path, when changes were requested. */
  comments?: Record<string, string>;
  /** Bumped by the caller to go to the first error and focus it. */
  focusErrors?: number;
  submitting?: boolean;
  submitLabel?: string;
  /** More buttons in the footer, beside Back and Next (Save draft). */
  actions?: ReactNode;
  /** A line under the footer (draft status). */
  status?: ReactNode;
  /** The builder's preview: the selected field is marked and scrolled into view. */
  highlight?: string | null;
  /** Prefix of element ids, so two renderers can share a page. */
  idPrefix?: string;
  readOnly?: boolean;
}

/** Every field path of the form in the order shown (tables with their rows), for "the first error". */
export function pathsInOrder(form: FormDoc, answers: Answers): { path: string; page: string }[] {
  const out: { path: string; page: string }[] = [];
  const walk = (fields: FieldDef[], data: Record<string, unknown>, prefix: string, page: string) => {
    for (const f of fields) {
      if (!hasValue(f)) continue;
      const path = prefix + f.id;
      out.push({ path, page });
      if (f.type === "table" && Array.isArray(data[f.id])) {
        (data[f.id] as Record<string, unknown>[]).forEach((row, i) => {
          out.push({ path: `${path}[${i}]`, page });
          walk(f.fields ?? [], row ?? {}, `${path}[${i}].`, page);
        });
      }
    }
  };
  for (const p of form.pages) walk(p.fields, answers, "", p.id);
  return out;
}

/** The first path with an error, in the order shown, and its page. */
export function firstError(form: FormDoc, answers: Answers, errors: FieldErrors): { path: string; page: string } | null {
  const withErrors = Object.keys(errors).filter((p) => errors[p]?.length);
  if (!withErrors.length) return null;
  const ordered = pathsInOrder(form, answers);
  const hit = ordered.find((x) => withErrors.includes(x.path));
  if (hit) return hit;
  // a path the form does not show (a row or a file inside a list): its top-level field's page
  for (const p of withErrors) {
    const root = ordered.find((x) => x.path === rootOf(p));
    if (root) return { path: root.path, page: root.page };
  }
  return null;
}

/** Moves focus to a field's input (or the first input of a group) and brings it into view. */
export function focusField(idPrefix: string, path: string): boolean {
  const el = document.getElementById(`${idPrefix}${path}`);
  if (!el) return false;
  const target =
    el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement
      ? el
      : (el.querySelector<HTMLElement>("input:not([type=hidden]):not([disabled]), select, textarea, button") ?? el);
  target.focus({ preventScroll: true });
  el.scrollIntoView({ block: "center", behavior: "auto" });
  return true;
}

export function FormRenderer(props: FormRendererProps) {
  const { form, answers, errors, onErrorsChange, onAnswersChange, onPageChange, idPrefix = "f-" } = props;
  const visibility = useMemo(() => computeVisibility(form, answers), [form, answers]);
  const pages = useMemo(() => form.pages.filter((p) => !visibility.hiddenPages.has(p.id)), [form, visibility]);
  const index = Math.max(0, pages.findIndex((p) => p.id === props.page));
  const page: PageDef | undefined = pages[index];
  const last = index >= pages.length - 1;
  const headingRef = useRef<HTMLHeadingElement>(null);
  /** Where focus goes once the page it is on is drawn: a field, or the page's heading (null). */
  const [pendingFocus, setPendingFocus] = useState<{ path: string | null; page: string } | null>(null);
  /** The summary of errors shows after a Next or Submit that found some, not while typing. */
  const [attempted, setAttempted] = useState(false);
  const answersRef = useRef(answers);
  answersRef.current = answers;
  const errorsRef = useRef(errors);
  errorsRef.current = errors;

  // focus waits for the page it lives on to be drawn
  useEffect(() => {
    if (!pendingFocus || pendingFocus.page !== page?.id) return;
    if (pendingFocus.path === null) {
      headingRef.current?.focus({ preventScroll: true });
      headingRef.current?.scrollIntoView({ block: "start" });
    } else focusField(idPrefix, pendingFocus.path);
    setPendingFocus(null);
  }, [pendingFocus, idPrefix, page?.id]);

  const goToError = useCallback(
    (errs: FieldErrors) => {
      const first = firstError(form, answersRef.current, errs);
      if (!first) return;
      if (first.page !== page?.id) onPageChange(first.page);
      setPendingFocus({ path: first.path, page: first.page });
    },
    [form, page?.id, onPageChange],
  );

  useEffect(() => {
    if (!Object.keys(errors).length) setAttempted(false);
  }, [errors]);

  useEffect(() => {
    if (!props.focusErrors) return;
    setAttempted(true);
    goToError(errorsRef.current);
    // only when the caller asks
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [props.focusErrors]);

  const ctx: FieldContext = {
    idPrefix,
    errors,
    comments: props.comments ?? {},
    limits: props.limits,
    visibility,
    readOnly: !!props.readOnly,
    highlight: props.highlight ?? null,
    upload: props.upload,
    setErrors: (path, messages) => {
      const rest = clearErrors(errorsRef.current, path);
      onErrorsChange(messages.length ? { ...rest, [path]: messages } : rest);
    },
    onBlurCheck: (field, path, value) => {
      if (isEmpty(value)) return;
      const problem = checkValue(field, value);
      const rest = clearErrors(errorsRef.current, path);
      if (problem) onErrorsChange({ ...rest, [path]: [problem] });
      else if (rest !== errorsRef.current) onErrorsChange(rest);
    },
  };

  const setAnswer = (id: string, value: unknown) => {
    onAnswersChange({ ...answersRef.current, [id]: value });
    const rest = clearErrors(errorsRef.current, id);
    // a rule's message on this field goes too; the server says again if it still holds
    if (rest !== errorsRef.current) onErrorsChange(rest);
  };

  const go = (to: number) => {
    const target = pages[to];
    if (!target) return;
    onPageChange(target.id);
    setPendingFocus({ path: null, page: target.id });
  };

  const next = () => {
    if (!page) return;
    // errors already shown stay until their answer changes; the page's own checks are added
    const found = checkPage(page, answers, visibility);
    if (Object.keys(found).length) {
      setAttempted(true);
      onErrorsChange({ ...errors, ...found });
      goToError(found);
      return;
    }
    if (last) props.onSubmit();
    else go(index + 1);
  };

  const pageErrors = page
    ? Object.entries(errors).filter(([p, msgs]) => msgs.length && page.fields.some((f) => f.id === rootOf(p)) && !visibility.hidden.has(p))
    : [];
  const otherErrors = Object.entries(errors).filter(([p, msgs]) => msgs.length && !page?.fields.some((f) => f.id === rootOf(p)));

  if (!page) {
    return <p className="text-sm text-stone-500">This form has no pages yet.</p>;
  }

  return (
    <div className="@container" data-testid="form-renderer">
      <Progress pages={pages} index={index} idPrefix={idPrefix} />
      <form
        noValidate
        aria-labelledby={`${idPrefix}page-title`}
        onSubmit={(e) => {
          e.preventDefault();
          next();
        }}
      >
        <div className="mt-5">
          <h2 id={`${idPrefix}page-title`} ref={headingRef} tabIndex={-1} className="text-xl font-semibold text-stone-900 focus:outline-none">
            {page.title || `Page ${index + 1}`}
          </h2>
          {page.description && <p className="mt-1 text-[15px] text-stone-600">{page.description}</p>}
        </div>

        {attempted && (pageErrors.length > 0 || otherErrors.length > 0) && (
          <ErrorSummary
            form={form}
            errors={[...pageErrors, ...otherErrors]}
            onGo={(path) => {
              const root = rootOf(path);
              const target = form.pages.find((p) => p.fields.some((f) => f.id === root));
              if (target && target.id !== page.id) onPageChange(target.id);
              setPendingFocus({ path, page: target?.id ?? page.id });
            }}
          />
        )}

        <div className="mt-6 space-y-7">
          {page.fields.map((f) => (
            <FieldView key={f.id} field={f} path={f.id} value={answers[f.id]} onChange={(v) => setAnswer(f.id, v)} ctx={ctx} limitKey={f.id} />
          ))}
        </div>

        <div className="mt-8 flex flex-wrap items-center gap-2 border-t border-stone-200 pt-5">
          {index > 0 && (
            <button type="button" className={buttonClass("secondary")} onClick={() => go(index - 1)}>
              <ArrowLeft className="size-4" aria-hidden /> Back
            </button>
          )}
          {props.actions}
          <span className="hidden flex-1 @md:block" />
          {/* on a phone, Next (or Submit) comes first and takes the whole width */}
          <button type="submit" className={cx(buttonClass("primary"), "order-first w-full @md:order-last @md:w-auto")} disabled={props.submitting || props.readOnly}>
            {last ? (
              <>
                {props.submitting ? "Submitting…" : (props.submitLabel ?? "Submit")} <Send className="size-4" aria-hidden />
              </>
            ) : (
              <>
                Next <ArrowRight className="size-4" aria-hidden />
              </>
            )}
          </button>
        </div>
        {props.status && <div className="mt-3 text-sm text-stone-500">{props.status}</div>}
      </form>
    </div>
  );
}

export function buttonClass(kind: "primary" | "secondary" | "ghost") {
  return cx(
    "inline-flex h-11 items-center justify-center gap-2 rounded-lg border px-4 text-[15px] font-medium whitespace-nowrap transition-colors",
    "disabled:cursor-not-allowed disabled:opacity-60",
    kind === "primary" && "border-transparent bg-brand-700 text-white shadow-sm hover:bg-brand-800",
    kind === "secondary" && "border-stone-300 bg-white text-stone-800 shadow-xs hover:bg-stone-100",
    kind === "ghost" && "border-transparent bg-transparent text-stone-700 hover:bg-stone-100",
  );
}

function Progress({ pages, index, idPrefix }: { pages: PageDef[]; index: number; idPrefix: string }) {
  if (pages.length < 2) return null;
  const pct = Math.round(((index + 1) / pages.length) * 100);
  return (
    <nav aria-label="Progress" data-testid="form-progress">
      <div className="flex items-baseline justify-between gap-3 text-sm">
        <p className="font-medium text-stone-700" id={`${idPrefix}progress-label`}>
          Page {index + 1} of {pages.length}
        </p>
        <p className="text-stone-500">{pct}%</p>
      </div>
      <div
        className="mt-2 h-1.5 overflow-hidden rounded-full bg-stone-200"
        role="progressbar"
        aria-labelledby={`${idPrefix}progress-label`}
        aria-valuemin={1}
        aria-valuemax={pages.length}
        aria-valuenow={index + 1}
      >
        <div className="h-full rounded-full bg-brand-600 transition-[width]" style={{ width: `${pct}%` }} />
      </div>
      <ol className="mt-3 hidden gap-x-4 gap-y-1 text-xs text-stone-500 @lg:flex @lg:flex-wrap">
        {pages.map((p, i) => (
          <li key={p.id} aria-current={i === index ? "step" : undefined} className={cx(i === index && "font-semibold text-brand-800", i < index && "text-stone-700")}>
            {i + 1}. {p.title || `Page ${i + 1}`}
          </li>
        ))}
      </ol>
    </nav>
  );
}

function ErrorSummary({ form, errors, onGo }: { form: FormDoc; errors: [string, string[]][]; onGo: (path: string) => void }) {
  const labelOf = (path: string): string => {
    const parts = path.split(".");
    const root = rootOf(path);
    for (const p of form.pages) {
      const f = p.fields.find((x) => x.id === root);
      if (!f) continue;
      const row = /^[^[]+\[(\d+)\]/.exec(path);
      if (row && f.type === "table") {
        const col = (f.fields ?? []).find((c) => c.id === parts[parts.length - 1]);
        return `${fieldTitle(f)}, row ${Number(row[1]) + 1}${col ? `: ${fieldTitle(col)}` : ""}`;
      }
      return fieldTitle(f);
    }
    return path || "The form";
  };
  const n = errors.reduce((a, [, m]) => a + m.length, 0);
  return (
    <div role="alert" className="mt-5 rounded-lg border border-red-300 bg-red-50 px-4 py-3" data-testid="error-summary">
      <p className="flex items-center gap-2 text-[15px] font-semibold text-red-800">
        <AlertTriangle className="size-4" aria-hidden />
        {n === 1 ? "One answer needs attention" : `${n} answers need attention`}
      </p>
      <ul className="mt-1.5 space-y-1 text-sm">
        {errors.map(([path, msgs]) =>
          msgs.map((m) => (
            <li key={`${path}:${m}`}>
              {path ? (
                <button type="button" className="text-left text-red-800 underline underline-offset-2 hover:text-red-950" onClick={() => onGo(path)}>
                  {labelOf(path)}: {m}
                </button>
              ) : (
                <span className="text-red-800">{m}</span>
              )}
            </li>
          )),
        )}
      </ul>
    </div>
  );
}

