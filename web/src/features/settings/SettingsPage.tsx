/** The settings (admins): users, review teams, API keys and the audit log, one tab each (`?tab=`). */
import type { ReactNode } from "react";
import { useSearchParams } from "react-router";
import { KeyRound, ScrollText, Users, UsersRound } from "lucide-react";
import { cx } from "../../lib/cx";
import { useTitle } from "../../lib/title";
import { PageHeader } from "../../lib/ui";
import { ApiKeysTab } from "./ApiKeysTab";
import { AuditTab } from "./AuditTab";
import { TeamsTab } from "./TeamsTab";
import { UsersTab } from "./UsersTab";

const TABS: { id: string; label: string; icon: ReactNode }[] = [
  { id: "users", label: "Users", icon: <Users className="size-4" /> },
  { id: "teams", label: "Teams", icon: <UsersRound className="size-4" /> },
  { id: "api-keys", label: "API keys", icon: <KeyRound className="size-4" /> },
  { id: "audit", label: "Audit log", icon: <ScrollText className="size-4" /> },
];

export default function SettingsPage() {
  const [params, setParams] = useSearchParams();
  const tab = TABS.some((t) => t.id === params.get("tab")) ? params.get("tab")! : "users";
  useTitle(`Settings · ${TABS.find((t) => t.id === tab)!.label}`);

  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Settings" subtitle="Who may sign in and what they may do, review teams, keys for integrations, and every change made." />
      <div className="flex gap-1 border-b border-stone-200 bg-white px-6" role="tablist" aria-label="Settings">
        {TABS.map((t) => (
          <button
            key={t.id}
            type="button"
            role="tab"
            aria-selected={tab === t.id}
            onClick={() => setParams(t.id === "users" ? {} : { tab: t.id }, { replace: true })}
            className={cx(
              "-mb-px inline-flex items-center gap-1.5 border-b-2 px-3 py-2.5 text-sm font-medium",
              tab === t.id ? "border-brand-600 text-brand-800" : "border-transparent text-stone-500 hover:text-stone-800",
            )}
          >
            {t.icon}
            {t.label}
          </button>
        ))}
      </div>
      <div className="min-h-0 flex-1 overflow-auto px-6 py-4" role="tabpanel">
        {tab === "users" && <UsersTab />}
        {tab === "teams" && <TeamsTab />}
        {tab === "api-keys" && <ApiKeysTab />}
        {tab === "audit" && <AuditTab />}
      </div>
    </div>
  );
}
