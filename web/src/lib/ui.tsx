/** Small building blocks shared by every page: buttons, fields, badges, dialogs. */
import {
  forwardRef,
  useEffect,
  useId,
  useRef,
  type ButtonHTMLAttributes,
  type InputHTMLAttributes,
  type ReactNode,
  type SelectHTMLAttributes,
  type TextareaHTMLAttributes,
} from "react";
import { AlertTriangle, CheckCircle2, Info, Loader2, X } from "lucide-react";
import { cx } from "./cx";
import { useToasts } from "./toast";
import { useConfirmState } from "./confirm";

type Variant = "primary" | "secondary" | "ghost" | "danger";
const VARIANTS: Record<Variant, string> = {
  primary: "bg-brand-700 text-white hover:bg-brand-800 border-transparent shadow-sm",
  secondary: "bg-white text-stone-700 hover:bg-stone-100 border-stone-300 shadow-sm",
  ghost: "bg-transparent text-stone-600 hover:bg-stone-200/70 border-transparent",
  danger: "bg-red-600 text-white hover:bg-red-700 border-transparent shadow-sm",
};

export interface ButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  variant?: Variant;
  size?: "sm" | "md";
  icon?: ReactNode;
  busy?: boolean;
}

export const Button = forwardRef<HTMLButtonElement, ButtonProps>(function Button(
  { variant = "secondary", size = "md", icon, busy, className, children, disabled, type = "button", ...rest },
  ref,
) {
  return (
    <button
      ref={ref}
      type={type}
      disabled={disabled || busy}
      className={cx(
        "inline-flex items-center justify-center gap-1.5 rounded-md border font-medium whitespace-nowrap transition-colors",
        "disabled:cursor-not-allowed disabled:opacity-50",
        size === "sm" ? "h-7 px-2 text-xs" : "h-8 px-3 text-sm",
        VARIANTS[variant],
        className,
      )}
      {...rest}
    >
      {busy ? <Loader2 className="size-4 animate-spin" aria-hidden /> : icon}
      {children}
    </button>
  );
});

export interface IconButtonProps extends ButtonHTMLAttributes<HTMLButtonElement> {
  label: string;
  active?: boolean;
}

/** A square button with an icon; its label is the tooltip and the accessible name. */
export const IconButton = forwardRef<HTMLButtonElement, IconButtonProps>(function IconButton(
  { label, active, className, children, type = "button", ...rest },
  ref,
) {
  return (
    <button
      ref={ref}
      type={type}
      title={label}
      aria-label={label}
      className={cx(
        "inline-flex size-8 items-center justify-center rounded-md text-stone-600 transition-colors",
        "hover:bg-stone-200/70 hover:text-stone-900 disabled:cursor-not-allowed disabled:opacity-40",
        active && "bg-stone-200 text-stone-900",
        className,
      )}
      {...rest}
    >
      {children}
    </button>
  );
});

const fieldBase =
  "rounded-md border border-stone-300 bg-white px-2.5 text-sm text-stone-800 shadow-xs placeholder:text-stone-400 focus:border-brand-600 focus:outline-none focus:ring-2 focus:ring-brand-600/20 disabled:bg-stone-100 disabled:text-stone-500";

/** Fields fill their container unless the caller gives a width. */
const widthOf = (className?: string) => (className && /(^|\s)(w-|flex-1)/.test(className) ? undefined : "w-full");

export const Input = forwardRef<HTMLInputElement, InputHTMLAttributes<HTMLInputElement> & { invalid?: boolean }>(
  function Input({ className, invalid, ...rest }, ref) {
    return (
      <input
        ref={ref}
        className={cx(fieldBase, widthOf(className), "h-8", invalid && "border-red-400 focus:border-red-500 focus:ring-red-500/20", className)}
        aria-invalid={invalid || undefined}
        {...rest}
      />
    );
  },
);

export const Textarea = forwardRef<
  HTMLTextAreaElement,
  TextareaHTMLAttributes<HTMLTextAreaElement> & { invalid?: boolean }
>(function Textarea({ className, invalid, ...rest }, ref) {
  return (
    <textarea
      ref={ref}
      className={cx(fieldBase, widthOf(className), "py-1.5", invalid && "border-red-400", className)}
      aria-invalid={invalid || undefined}
      {...rest}
    />
  );
});

export const Select = forwardRef<HTMLSelectElement, SelectHTMLAttributes<HTMLSelectElement>>(function Select(
  { className, ...rest },
  ref,
) {
  return <select ref={ref} className={cx(fieldBase, widthOf(className), "h-8 pr-7", className)} {...rest} />;
});

export function Field({
  label,
  hint,
  error,
  children,
  htmlFor,
  required,
}: {
  label: ReactNode;
  hint?: ReactNode;
  error?: ReactNode;
  children: ReactNode;
  htmlFor?: string;
  required?: boolean;
}) {
  return (
    <div className="space-y-1">
      <label htmlFor={htmlFor} className="block text-xs font-medium text-stone-700">
        {label}
        {required && <span className="ml-0.5 text-red-600" aria-label="required">*</span>}
      </label>
      {children}
      {error ? <p className="text-xs text-red-600">{error}</p> : hint ? <p className="text-xs text-stone-500">{hint}</p> : null}
    </div>
  );
}

export function Toggle({
  checked,
  onChange,
  label,
  disabled,
  id,
}: {
  checked: boolean;
  onChange: (value: boolean) => void;
  label: string;
  disabled?: boolean;
  id?: string;
}) {
  return (
    <button
      id={id}
      type="button"
      role="switch"
      aria-checked={checked}
      aria-label={label}
      title={label}
      disabled={disabled}
      onClick={() => onChange(!checked)}
      className={cx(
        "relative inline-flex h-5 w-9 shrink-0 items-center rounded-full transition-colors disabled:cursor-not-allowed disabled:opacity-50",
        checked ? "bg-brand-600" : "bg-stone-300",
      )}
    >
      <span
        className={cx(
          "inline-block size-4 rounded-full bg-white shadow transition-transform",
          checked ? "translate-x-4.5" : "translate-x-0.5",
        )}
      />
    </button>
  );
}

const STATUS_STYLES: Record<string, string> = {
  completed: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  failed: "bg-red-50 text-red-700 ring-red-600/20",
  running: "bg-sky-50 text-sky-700 ring-sky-600/20",
  pending: "bg-stone-100 text-stone-600 ring-stone-500/20",
  ready: "bg-stone-100 text-stone-600 ring-stone-500/20",
  waiting: "bg-amber-50 text-amber-700 ring-amber-600/20",
  cancelled: "bg-stone-100 text-stone-500 ring-stone-500/20",
  skipped: "bg-stone-50 text-stone-400 ring-stone-400/20",
  active: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  inactive: "bg-stone-100 text-stone-500 ring-stone-500/20",
  submitted: "bg-sky-50 text-sky-700 ring-sky-600/20",
  changes_requested: "bg-amber-50 text-amber-700 ring-amber-600/20",
  approved: "bg-emerald-50 text-emerald-700 ring-emerald-600/20",
  rejected: "bg-red-50 text-red-700 ring-red-600/20",
  in_review: "bg-sky-50 text-sky-700 ring-sky-600/20",
  escalated: "bg-orange-50 text-orange-700 ring-orange-600/20",
};

export function StatusBadge({ status, className }: { status: string; className?: string }) {
  return (
    <span
      className={cx(
        "inline-flex items-center gap-1 rounded-full px-2 py-0.5 text-xs font-medium ring-1 ring-inset",
        STATUS_STYLES[status] ?? STATUS_STYLES.pending,
        className,
      )}
    >
      {status === "running" && <Loader2 className="size-3 animate-spin" aria-hidden />}
      {status.replace(/_/g, " ")}
    </span>
  );
}

export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <div role="status" className="flex items-center gap-2 text-sm text-stone-500">
      <Loader2 className="size-4 animate-spin" aria-hidden />
      {label}…
    </div>
  );
}

export function ErrorNote({ children }: { children: ReactNode }) {
  return (
    <div role="alert" className="flex items-start gap-2 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
      <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
      <div>{children}</div>
    </div>
  );
}

export function EmptyState({ icon, title, children }: { icon?: ReactNode; title: string; children?: ReactNode }) {
  return (
    <div className="flex flex-col items-center justify-center gap-2 px-6 py-16 text-center">
      {icon && <div className="text-stone-400">{icon}</div>}
      <h2 className="text-base font-semibold text-stone-700">{title}</h2>
      {children && <div className="max-w-md text-sm text-stone-500">{children}</div>}
    </div>
  );
}

/** A modal dialog: Escape and the backdrop close it, focus moves inside and comes back. */
export function Modal({
  title,
  onClose,
  children,
  footer,
  width = "max-w-lg",
}: {
  title: ReactNode;
  onClose: () => void;
  children: ReactNode;
  footer?: ReactNode;
  width?: string;
}) {
  const ref = useRef<HTMLDivElement>(null);
  const titleId = useId();
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const previous = document.activeElement as HTMLElement | null;
    const first = ref.current?.querySelector<HTMLElement>(
      "[autofocus], input:not([disabled]), textarea, select, button:not([data-close])",
    );
    (first ?? ref.current)?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.stopPropagation();
        closeRef.current();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => {
      window.removeEventListener("keydown", onKey);
      previous?.focus?.();
    };
  }, []);
  return (
    <div
      className="fixed inset-0 z-50 flex items-start justify-center overflow-y-auto bg-stone-900/30 p-4 pt-[8vh]"
      onMouseDown={(e) => e.target === e.currentTarget && onClose()}
    >
      <div
        ref={ref}
        role="dialog"
        aria-modal="true"
        aria-labelledby={titleId}
        tabIndex={-1}
        className={cx("w-full rounded-lg bg-white shadow-xl ring-1 ring-stone-900/10", width)}
      >
        <div className="flex items-center justify-between border-b border-stone-200 px-4 py-3">
          <h2 id={titleId} className="text-sm font-semibold text-stone-900">
            {title}
          </h2>
          <IconButton label="Close" onClick={onClose} data-close>
            <X className="size-4" />
          </IconButton>
        </div>
        <div className="px-4 py-4">{children}</div>
        {footer && <div className="flex justify-end gap-2 border-t border-stone-200 bg-stone-50 px-4 py-3 rounded-b-lg">{footer}</div>}
      </div>
    </div>
  );
}

/**
 * A dialog around a form: its error on top, Cancel and the submit button below, and Enter in a
 * field submits it too.
 */
export function FormDialog({
  title,
  onClose,
  onSubmit,
  submitLabel,
  busy,
  error,
  width,
  testId,
  children,
}: {
  title: ReactNode;
  onClose: () => void;
  onSubmit: () => void;
  submitLabel: ReactNode;
  busy?: boolean;
  error?: ReactNode;
  width?: string;
  testId?: string;
  children: ReactNode;
}) {
  return (
    <Modal
      title={title}
      onClose={onClose}
      width={width}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button variant="primary" busy={busy} onClick={onSubmit}>
            {submitLabel}
          </Button>
        </>
      }
    >
      <form
        className="space-y-3"
        data-testid={testId}
        onSubmit={(e) => {
          e.preventDefault();
          onSubmit();
        }}
      >
        {error && <ErrorNote>{error}</ErrorNote>}
        {children}
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}

/** A button that opens the file chooser and hands the file chosen on (the same file may be chosen again). */
export function FileButton({ accept, icon, testId, onFile, children }: { accept: string; icon?: ReactNode; testId?: string; onFile: (file: File) => void; children: ReactNode }) {
  const input = useRef<HTMLInputElement>(null);
  return (
    <>
      <input
        ref={input}
        type="file"
        accept={accept}
        className="hidden"
        data-testid={testId}
        onChange={(e) => {
          const f = e.target.files?.[0];
          e.target.value = "";
          if (f) onFile(f);
        }}
      />
      <Button icon={icon} onClick={() => input.current?.click()}>
        {children}
      </Button>
    </>
  );
}

export function ConfirmHost() {
  const request = useConfirmState((s) => s.request);
  const answer = useConfirmState((s) => s.answer);
  if (!request) return null;
  return (
    <Modal
      title={request.title}
      onClose={() => answer(false)}
      width="max-w-md"
      footer={
        <>
          <Button onClick={() => answer(false)}>{request.cancelLabel ?? "Cancel"}</Button>
          <Button variant={request.danger ? "danger" : "primary"} onClick={() => answer(true)} autoFocus>
            {request.confirmLabel ?? "OK"}
          </Button>
        </>
      }
    >
      {request.message && <p className="text-sm text-stone-600">{request.message}</p>}
    </Modal>
  );
}

export function Toaster() {
  const toasts = useToasts((s) => s.toasts);
  const dismiss = useToasts((s) => s.dismiss);
  return (
    <div className="pointer-events-none fixed right-4 bottom-4 z-[60] flex w-96 max-w-[calc(100vw-2rem)] flex-col gap-2" aria-live="polite">
      {toasts.map((t) => (
        <div
          key={t.id}
          role={t.kind === "error" ? "alert" : "status"}
          className={cx(
            "pointer-events-auto flex items-start gap-2 rounded-lg border bg-white px-3 py-2.5 text-sm shadow-lg",
            t.kind === "error" ? "border-red-200" : "border-stone-200",
          )}
        >
          {t.kind === "error" ? (
            <AlertTriangle className="mt-0.5 size-4 shrink-0 text-red-600" aria-hidden />
          ) : t.kind === "success" ? (
            <CheckCircle2 className="mt-0.5 size-4 shrink-0 text-emerald-600" aria-hidden />
          ) : (
            <Info className="mt-0.5 size-4 shrink-0 text-sky-600" aria-hidden />
          )}
          <p className="flex-1 text-stone-700">{t.message}</p>
          <button className="text-stone-400 hover:text-stone-700" onClick={() => dismiss(t.id)} aria-label="Dismiss">
            <X className="size-4" />
          </button>
        </div>
      ))}
    </div>
  );
}

/** A page header: title on the left, actions on the right. */
export function PageHeader({ title, children, subtitle }: { title: ReactNode; subtitle?: ReactNode; children?: ReactNode }) {
  return (
    <header className="flex flex-wrap items-center justify-between gap-3 border-b border-stone-200 bg-white px-6 py-4">
      <div>
        <h1 className="text-lg font-semibold text-stone-900">{title}</h1>
        {subtitle && <p className="text-sm text-stone-500">{subtitle}</p>}
      </div>
      {children && <div className="flex flex-wrap items-center gap-2">{children}</div>}
    </header>
  );
}
