import { useEffect, useState, type ReactNode } from "react";
import { Navigate, NavLink, Outlet, useLocation } from "react-router";
import {

  FileText,
  History,
  Inbox,
  LogOut,
  PanelLeftClose,
  PanelLeftOpen,
  PlugZap,
  Settings,
  UserCheck,
  Workflow,
} from "lucide-react";
import { cx } from "../../lib/cx";
import { ErrorNote, IconButton, Spinner } from "../../lib/ui";
import { errorMessage } from "../../client/errors";
import { useAuth } from "./auth";
import { canSee, type Page } from "./permissions";
import { Logo } from "./Logo";
import { NoAccess } from "./ComingSoon";

const NAV: { page: Page; to: string; label: string; icon: ReactNode }[] = [
  { page: "workflows", to: "/workflows", label: "Workflows", icon: <Workflow className="size-4" /> },
  { page: "runs", to: "/runs", label: "Runs", icon: <History className="size-4" /> },
  { page: "forms", to: "/forms", label: "Forms", icon: <FileText className="size-4" /> },
  { page: "responses", to: "/responses", label: "Responses", icon: <Inbox className="size-4" /> },
  { page: "reviews", to: "/reviews", label: "Reviews", icon: <UserCheck className="size-4" /> },
  { page: "connections", to: "/connections", label: "Connections", icon: <PlugZap className="size-4" /> },
  { page: "settings", to: "/settings", label: "Settings", icon: <Settings className="size-4" /> },
];

const ROLE_WORDS = { admin: "Administrator", builder: "Builder", reviewer: "Reviewer", viewer: "Viewer" } as const;

/** The signed-in frame: navigation on the left, the page on the right. */
export function Layout() {
  const status = useAuth((s) => s.status);
  const user = useAuth((s) => s.user);
  const check = useAuth((s) => s.check);
  const logout = useAuth((s) => s.logout);
  const location = useLocation();
  const [error, setError] = useState<string | null>(null);
  // Editor and run pages need the width: the navigation shrinks to icons there.
  const wide = /^\/(workflows|runs|forms)\/[^/]+/.test(location.pathname);
  const [collapsed, setCollapsed] = useState<boolean | null>(null);
  const narrow = collapsed ?? wide;

  useEffect(() => {
    if (status === "checking") check().catch((e) => setError(errorMessage(e)));
  }, [status, check]);

  if (status === "checking") {
    return (
      <div className="flex h-full items-center justify-center">
        {error ? <ErrorNote>{error}</ErrorNote> : <Spinner label="Signing in" />}
      </div>
    );
  }
  if (status === "signed-out" || !user) {
    return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  }

  return (
    <div className="flex h-full">
      <nav
        aria-label="Main"
        className={cx(
          "flex shrink-0 flex-col border-r border-stone-200 bg-white transition-[width]",
          narrow ? "w-14" : "w-52",
        )}
      >
        <div className={cx("flex h-14 items-center gap-2 border-b border-stone-200", narrow ? "justify-center" : "px-4")}>
          <Logo className="size-7 shrink-0" />
          {!narrow && <span className="font-semibold tracking-tight text-stone-900">datacollect</span>}
        </div>
        <ul className="flex-1 space-y-0.5 overflow-y-auto p-2">
          {NAV.filter((n) => canSee(user.role, n.page)).map((n) => (
            <li key={n.page}>
              <NavLink
                to={n.to}
                title={narrow ? n.label : undefined}
                aria-label={narrow ? n.label : undefined}
                className={({ isActive }) =>
                  cx(
                    "flex h-8 items-center gap-2.5 rounded-md text-sm",
                    narrow ? "justify-center" : "px-2.5",
                    isActive ? "bg-brand-50 font-medium text-brand-800" : "text-stone-600 hover:bg-stone-100 hover:text-stone-900",
                  )
                }
              >
                {n.icon}
                {!narrow && n.label}
              </NavLink>
            </li>
          ))}
        </ul>
        <div className="border-t border-stone-200 p-2">
          {!narrow && (
            <div className="mb-2 px-2 pt-1" data-testid="current-user">
              <div className="truncate text-sm font-medium text-stone-800" title={user.email}>
                {user.name || user.email}
              </div>
              <div className="text-xs text-stone-500">{ROLE_WORDS[user.role] ?? user.role}</div>
            </div>
          )}
          <div className={cx("flex", narrow ? "flex-col items-center gap-1" : "items-center justify-between")}>
            <IconButton label={narrow ? "Expand navigation" : "Collapse navigation"} onClick={() => setCollapsed(!narrow)}>
              {narrow ? <PanelLeftOpen className="size-4" /> : <PanelLeftClose className="size-4" />}
            </IconButton>
            <IconButton label="Sign out" onClick={logout}>
              <LogOut className="size-4" />
            </IconButton>
          </div>
        </div>
      </nav>
      <main className="min-w-0 flex-1 overflow-auto">
        <Outlet />
      </main>
    </div>
  );
}

/** Shows the page only to roles that may use it. */
export function RequirePage({ page, children }: { page: Page; children: ReactNode }) {
  const role = useAuth((s) => s.user?.role);
  return canSee(role, page) ? <>{children}</> : <NoAccess />;
}

