import { useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";
import { Button, ErrorNote, Field, Input } from "../../lib/ui";
import { errorMessage } from "../../client/errors";
import { useAuth } from "./auth";
import { Logo } from "./Logo";
import { useTitle } from "../../lib/title";

export function LoginPage() {
  const status = useAuth((s) => s.status);
  const expired = useAuth((s) => s.expired);
  const login = useAuth((s) => s.login);
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? "/workflows";
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useTitle("Sign in");

  if (status === "signed-in") return <Navigate to={from} replace />;

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    setBusy(true);
    try {
      await login(email.trim(), password);
      navigate(from, { replace: true });
    } catch (err) {
      setError(errorMessage(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="flex min-h-full items-center justify-center bg-stone-100 p-4">
      <div className="w-full max-w-sm">
        <div className="mb-6 flex items-center justify-center gap-2">
          <Logo className="size-8" />
          <span className="text-xl font-semibold tracking-tight text-stone-900">datacollect</span>
        </div>
        <form onSubmit={submit} className="space-y-4 rounded-lg border border-stone-200 bg-white p-6 shadow-sm" noValidate>
          <h1 className="text-base font-semibold text-stone-900">Sign in</h1>
          {expired && !error && <p className="text-sm text-stone-600">Your session has ended. Please sign in again.</p>}
          {error && <ErrorNote>{error}</ErrorNote>}
          <Field label="Email" htmlFor="login-email">
            <Input
              id="login-email"
              name="username"
              type="email"
              autoComplete="username"
              autoFocus
              required
              value={email}
              onChange={(e) => setEmail(e.target.value)}
            />
          </Field>
          <Field label="Password" htmlFor="login-password">
            <Input
              id="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </Field>
          <Button type="submit" variant="primary" className="w-full" busy={busy} disabled={!email || !password}>
            Sign in
          </Button>
        </form>
      </div>
    </main>
  );
}
