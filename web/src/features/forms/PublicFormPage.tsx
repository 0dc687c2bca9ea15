/**
 * The public form page at `/f/:token`: no login and no app frame, only the form a supplier
 * was sent. Drafts are kept on the server (a button, and on their own a moment after each
 * change) and come back on any device with the same link; the page is in the address (`#page`),
 * so the browser's Back button goes to the previous page. A used, expired or unknown link
 * gets a page that says so.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useLocation, useNavigate, useParams } from "react-router";
import { CheckCircle2, CircleSlash, Clock, Forward, Loader2, Save, ShieldCheck, UserRoundPlus } from "lucide-react";
import { delegatePublicForm, getPublicForm, savePublicDraft, submitPublicForm, uploadPublicFile } from "../../client/api";
import { ApiError, errorMessage } from "../../client/errors";
import type { PublicForm, Submitted } from "../../client/types";
import { formatDateTime } from "../../lib/format";
import { useTitle } from "../../lib/title";
import { Modal } from "../../lib/ui";
import { errorsFromDetails, type FieldErrors } from "./checks";
import { buttonClass, FormRenderer } from "./FormRenderer";
import { initialAnswers, normaliseForm, type Answers, type FormDoc } from "./schema";

const AUTOSAVE_MS = 2000;

type Gone = { code: string; message: string };
type State =
  | { kind: "loading" }
  | { kind: "failed"; message: string }
  | { kind: "gone"; gone: Gone }
  | { kind: "open"; view: PublicForm; form: FormDoc }
  | { kind: "submitted"; answer: Submitted; title: string }
  | { kind: "delegated"; message: string; title: string };

const GONE_CODES = new Set(["link_not_found", "link_expired", "link_used", "link_delegated"]);

function goneOf(e: unknown): Gone | null {
  if (e instanceof ApiError && (GONE_CODES.has(e.code) || e.status === 404 || e.status === 410)) {
    return { code: e.status === 404 ? "link_not_found" : e.code, message: e.message };
  }
  return null;
}

export default function PublicFormPage() {
  const { token = "" } = useParams();
  const [state, setState] = useState<State>({ kind: "loading" });

  const load = useCallback(async () => {
    setState({ kind: "loading" });
    try {
      const view = await getPublicForm(token);
      setState({ kind: "open", view, form: normaliseForm(view.form.schema) });
    } catch (e) {
      const gone = goneOf(e);
      setState(gone ? { kind: "gone", gone } : { kind: "failed", message: errorMessage(e) });
    }
  }, [token]);

  useEffect(() => {
    void load();
  }, [load]);

  useTitle(
    state.kind === "open"
      ? state.view.form.title
      : state.kind === "submitted"
        ? "Thank you"
        : state.kind === "gone"
          ? (GONE_TITLES[state.gone.code] ?? "Form")
          : "Form",
  );

  return (
    <div className="min-h-full bg-stone-100 text-base text-stone-800">
      {state.kind === "loading" && (
        <Centered>
          <p role="status" className="flex items-center justify-center gap-2 text-stone-600">
            <Loader2 className="size-5 animate-spin" aria-hidden /> Opening the form…
          </p>
        </Centered>
      )}
      {state.kind === "failed" && (
        <Centered>
          <Notice icon={<CircleSlash className="size-10 text-stone-400" />} title="The form could not be opened">
            <p>{state.message}</p>
            <button type="button" className={buttonClass("secondary") + " mt-5"} onClick={() => void load()}>
              Try again
            </button>
          </Notice>
        </Centered>
      )}
      {state.kind === "gone" && <GonePage gone={state.gone} />}
      {state.kind === "submitted" && (
        <Centered>
          <Notice icon={<CheckCircle2 className="size-12 text-emerald-600" />} title="Thank you! Your answers were received." testId="confirmation">
            <p>
              Your answers to <strong>{state.title}</strong> were submitted on {formatDateTime(state.answer.submitted_at)}.
            </p>
            <p className="mt-2">
              Reference: <span className="font-mono text-sm">{state.answer.response_id.slice(0, 12)}</span>
            </p>
            <p className="mt-4 text-stone-600">You can close this page. If something needs changing, the team will reopen the form for you.</p>
          </Notice>
        </Centered>
      )}
      {state.kind === "delegated" && (
        <Centered>
          <Notice icon={<Forward className="size-12 text-brand-700" />} title="The form was passed on" testId="delegated">
            <p>{state.message}</p>
          </Notice>
        </Centered>
      )}
      {state.kind === "open" && (
        <OpenForm
          key={token}
          token={token}
          view={state.view}
          form={state.form}
          onGone={(gone) => setState({ kind: "gone", gone })}
          onSubmitted={(answer) => setState({ kind: "submitted", answer, title: state.view.form.title })}
          onDelegated={(message) => setState({ kind: "delegated", message, title: state.view.form.title })}
        />
      )}
    </div>
  );
}

function Centered({ children }: { children: React.ReactNode }) {
  return <main className="mx-auto flex min-h-full max-w-xl flex-col justify-center px-4 py-12">{children}</main>;
}

function Notice({ icon, title, children, testId }: { icon: React.ReactNode; title: string; children: React.ReactNode; testId?: string }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <section className="rounded-xl bg-white px-6 py-10 text-center shadow-sm ring-1 ring-stone-200 sm:px-10" data-testid={testId}>
      <div className="flex justify-center">{icon}</div>
      <h1 ref={ref} tabIndex={-1} className="mt-4 text-2xl font-semibold text-stone-900 focus:outline-none">
        {title}
      </h1>
      <div className="mt-3 text-[15px] leading-relaxed text-stone-700">{children}</div>
    </section>
  );
}

const GONE_TITLES: Record<string, string> = {
  link_used: "This form was already submitted",
  link_expired: "This link has expired",
  link_delegated: "This form was passed on to a colleague",
  link_not_found: "This link is not valid",
};

function GonePage({ gone }: { gone: Gone }) {
  const icon =
    gone.code === "link_used" ? (
      <CheckCircle2 className="size-12 text-emerald-600" />
    ) : gone.code === "link_expired" ? (
      <Clock className="size-12 text-amber-600" />
    ) : gone.code === "link_delegated" ? (
      <Forward className="size-12 text-brand-700" />
    ) : (
      <CircleSlash className="size-12 text-stone-400" />
    );
  return (
    <Centered>
      <Notice icon={icon} title={GONE_TITLES[gone.code] ?? "This form is not available"} testId="link-gone">
        <p>{gone.message}</p>
      </Notice>
    </Centered>
  );
}

type DraftStatus =
  | { kind: "idle" }
  | { kind: "saving" }
  | { kind: "saved"; at: string }
  | { kind: "failed"; message: string };

function OpenForm({
  token,
  view,
  form,
  onGone,
  onSubmitted,
  onDelegated,
}: {
  token: string;
  view: PublicForm;
  form: FormDoc;
  onGone: (gone: Gone) => void;
  onSubmitted: (answer: Submitted) => void;
  onDelegated: (message: string) => void;
}) {
  const location = useLocation();
  const navigate = useNavigate();
  const [answers, setAnswers] = useState<Answers>(() => initialAnswers(form, view.answers));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [focusErrors, setFocusErrors] = useState(0);
  const [submitting, setSubmitting] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [draft, setDraft] = useState<DraftStatus>(view.link.draft_saved_at ? { kind: "saved", at: view.link.draft_saved_at } : { kind: "idle" });
  const [delegating, setDelegating] = useState(false);
  const allowDrafts = view.link.allow_drafts;
  const saved = useRef(JSON.stringify(answers));
  const answersRef = useRef(answers);
  answersRef.current = answers;
  const dirty = JSON.stringify(answers) !== saved.current;
  const timer = useRef<number | undefined>(undefined);
  const closed = useRef(false);

  const pageId = decodeURIComponent(location.hash.replace(/^#/, "")) || null;
  const setPage = useCallback((id: string) => navigate({ hash: id }), [navigate]);

  const saveDraft = useCallback(async () => {
    window.clearTimeout(timer.current);
    if (!allowDrafts || closed.current) return;
    const current = answersRef.current;
    const text = JSON.stringify(current);
    setDraft({ kind: "saving" });
    try {
      const answer = await savePublicDraft(token, current);
      saved.current = text;
      setDraft({ kind: "saved", at: answer.saved_at });
    } catch (e) {
      const gone = goneOf(e);
      if (gone) {
        closed.current = true;
        onGone(gone);
        return;
      }
      setDraft({ kind: "failed", message: errorMessage(e) });
    }
  }, [allowDrafts, token, onGone]);

  // autosave a moment after the last change
  useEffect(() => {
    if (!allowDrafts || !dirty || submitting) return;
    timer.current = window.setTimeout(() => void saveDraft(), AUTOSAVE_MS);
    return () => window.clearTimeout(timer.current);
  }, [answers, dirty, allowDrafts, submitting, saveDraft]);

  // leaving with changes not yet kept
  useEffect(() => {
    if (!dirty) return;
    const warn = (e: BeforeUnloadEvent) => {
      e.preventDefault();
    };
    window.addEventListener("beforeunload", warn);
    return () => window.removeEventListener("beforeunload", warn);
  }, [dirty]);

  const changePage = (id: string) => {
    if (dirty) void saveDraft();
    setPage(id);
  };

  async function submit() {
    window.clearTimeout(timer.current);
    setSubmitting(true);
    setProblem(null);
    try {
      const answer = await submitPublicForm(token, answersRef.current);
      closed.current = true;
      saved.current = JSON.stringify(answersRef.current);
      navigate({ hash: "" }, { replace: true });
      onSubmitted(answer);
    } catch (e) {
      const gone = goneOf(e) ?? (e instanceof ApiError && e.code === "link_used" ? { code: "link_used", message: e.message } : null);
      if (gone) {
        closed.current = true;
        onGone(gone);
        return;
      }
      if (e instanceof ApiError && e.status === 422 && Array.isArray(e.details)) {
        setErrors(errorsFromDetails(e.details));
        setFocusErrors((n) => n + 1);
      } else {
        setProblem(`Your answers could not be sent: ${errorMessage(e)}${allowDrafts ? " Your draft is kept; please try again." : " Please try again."}`);
      }
    } finally {
      setSubmitting(false);
    }
  }

  const limits = useMemo(() => view.upload_limits, [view.upload_limits]);
  const upload = useCallback((key: string, file: File) => uploadPublicFile(token, key, file), [token]);
  const recipient = [view.recipient.name, view.recipient.company].filter(Boolean).join(", ");
  const deadline = view.link.deadline;

  return (
    <div className="mx-auto max-w-2xl px-3 pt-4 pb-16 sm:px-6 sm:pt-10">
      <header className="px-2 sm:px-0">
        <h1 className="text-2xl font-semibold tracking-tight text-stone-900 sm:text-3xl">{view.form.title}</h1>
        {(recipient || deadline) && (
          <p className="mt-1.5 text-sm text-stone-600">
            {recipient && <>For {recipient}</>}
            {recipient && deadline && " · "}
            {deadline && <>Please answer by {formatDateTime(deadline)}</>}
          </p>
        )}
        {view.form.description && <p className="mt-3 text-[15px] leading-relaxed text-stone-700">{view.form.description}</p>}
      </header>

      {view.answers_from === "draft" && (
        <p className="mt-4 rounded-lg bg-sky-50 px-4 py-2.5 text-sm text-sky-900 ring-1 ring-sky-200" data-testid="resumed">
          Welcome back. Your draft{view.link.draft_saved_at ? ` from ${formatDateTime(view.link.draft_saved_at)}` : ""} was restored.
        </p>
      )}
      {view.answers_from === "prefill" && (
        <p className="mt-4 rounded-lg bg-sky-50 px-4 py-2.5 text-sm text-sky-900 ring-1 ring-sky-200">
          Some answers were filled in for you, for example from your last response. Please check them.
        </p>
      )}
      {view.answers_from === "response" && (
        <p className="mt-4 rounded-lg bg-amber-50 px-4 py-2.5 text-sm text-amber-900 ring-1 ring-amber-200">
          The team asked for changes to your answers. Their notes are shown at the fields.
        </p>
      )}
      {problem && (
        <p role="alert" className="mt-4 rounded-lg bg-red-50 px-4 py-2.5 text-sm text-red-800 ring-1 ring-red-200">
          {problem}
        </p>
      )}

      <main className="mt-5 rounded-xl bg-white px-4 py-5 shadow-sm ring-1 ring-stone-200 sm:px-8 sm:py-7">
        <FormRenderer
          form={form}
          answers={answers}
          onAnswersChange={setAnswers}
          errors={errors}
          onErrorsChange={setErrors}
          page={pageId}
          onPageChange={changePage}
          onSubmit={() => void submit()}
          submitting={submitting}
          focusErrors={focusErrors}
          upload={upload}
          limits={limits}
          comments={view.comments}
          actions={
            allowDrafts ? (
              <button type="button" className={buttonClass("ghost")} onClick={() => void saveDraft()} disabled={draft.kind === "saving"}>
                <Save className="size-4" aria-hidden /> Save draft
              </button>
            ) : null
          }
          status={
            <p aria-live="polite" data-testid="draft-status">
              {allowDrafts && draft.kind === "saving" && "Saving your draft…"}
              {allowDrafts && draft.kind === "saved" && !dirty && (
                <>Draft saved {formatDateTime(draft.at)}. You can close this page and come back with the same link.</>
              )}
              {allowDrafts && draft.kind === "failed" && <span className="text-red-700">The draft could not be saved: {draft.message}</span>}
            </p>
          }
        />
      </main>

      <footer className="mt-5 flex flex-wrap items-center justify-between gap-3 px-2 text-sm text-stone-500 sm:px-0">
        <p className="flex items-center gap-1.5">
          <ShieldCheck className="size-4" aria-hidden /> This is your personal link. Please do not share it.
        </p>
        {view.link.can_delegate && (
          <button type="button" className="inline-flex items-center gap-1.5 font-medium text-brand-800 underline-offset-2 hover:underline" onClick={() => setDelegating(true)}>
            <UserRoundPlus className="size-4" aria-hidden /> Pass on to a colleague
          </button>
        )}
      </footer>

      {delegating && (
        <DelegateDialog
          onClose={() => setDelegating(false)}
          onSend={async (to) => {
            if (dirty) await saveDraft();
            const answer = await delegatePublicForm(token, to);
            closed.current = true;
            saved.current = JSON.stringify(answersRef.current);
            setDelegating(false);
            onDelegated(answer.message);
          }}
        />
      )}
    </div>
  );
}

function DelegateDialog({ onClose, onSend }: { onClose: () => void; onSend: (to: { email: string; name?: string; message?: string }) => Promise<void> }) {
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [message, setMessage] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const input = "block w-full rounded-lg border border-stone-300 px-3 text-base focus:border-brand-600 focus:outline-none focus:ring-2 focus:ring-brand-600/25";
  return (
    <Modal title="Pass the form on to a colleague" onClose={onClose}>
      <form
        noValidate
        className="space-y-4 text-[15px]"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!/^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$/.test(email.trim())) {
            setError("Please enter your colleague's email address");
            return;
          }
          setBusy(true);
          setError(null);
          try {
            await onSend({ email: email.trim(), name: name.trim() || undefined, message: message.trim() || undefined });
          } catch (err) {
            setError(errorMessage(err));
          } finally {
            setBusy(false);
          }
        }}
      >
        <p className="text-stone-600">
          Your colleague gets a link of their own by email, with the answers given so far. This link then stops working.
        </p>
        <div>
          <label htmlFor="delegate-email" className="block font-medium text-stone-900">
            Colleague's email
          </label>
          <input
            id="delegate-email"
            type="email"
            autoComplete="email"
            className={input + " mt-1 h-11"}
            value={email}
            aria-invalid={!!error || undefined}
            aria-describedby={error ? "delegate-error" : undefined}
            onChange={(e) => setEmail(e.target.value)}
          />
        </div>
        <div>
          <label htmlFor="delegate-name" className="block font-medium text-stone-900">
            Their name <span className="font-normal text-stone-500">(optional)</span>
          </label>
          <input id="delegate-name" className={input + " mt-1 h-11"} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div>
          <label htmlFor="delegate-message" className="block font-medium text-stone-900">
            A note for them <span className="font-normal text-stone-500">(optional)</span>
          </label>
          <textarea id="delegate-message" rows={3} className={input + " mt-1 py-2"} value={message} onChange={(e) => setMessage(e.target.value)} />
        </div>
        {error && (
          <p id="delegate-error" role="alert" className="text-sm font-medium text-red-700">
            {error}
          </p>
        )}
        <div className="flex justify-end gap-2">
          <button type="button" className={buttonClass("secondary")} onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className={buttonClass("primary")} disabled={busy}>
            {busy ? <Loader2 className="size-4 animate-spin" aria-hidden /> : <Forward className="size-4" aria-hidden />} Pass it on
          </button>
        </div>
      </form>
    </Modal>
  );
}
