import { Construction, Lock } from "lucide-react";
import { EmptyState, PageHeader } from "../../lib/ui";
import { useTitle } from "../../lib/title";

const WORDS: Record<string, string> = {
  Forms: "Build versioned forms with a field palette, pages, repeating groups and a live preview.",
  Responses: "Browse the answers your forms collected, with their history and files.",
  Reviews: "Approve, reject or request changes on what came back, alone or with a second approver.",
  Connections: "Keep the credentials for SMTP, databases, APIs and ERP systems, stored encrypted.",
  Settings: "Users, teams, roles, API keys and retention policies.",
};

export function ComingSoon({ title }: { title: string }) {
  useTitle(title);
  return (
    <div className="flex h-full flex-col">
      <PageHeader title={title} />
      <div className="m-6 rounded-lg border border-dashed border-stone-300 bg-white">
        <EmptyState icon={<Construction className="size-8" />} title="Coming soon">
          {WORDS[title] ?? "This page is being built."}
        </EmptyState>
      </div>
    </div>
  );
}

export function NoAccess() {
  return (
    <div className="m-6 rounded-lg border border-stone-200 bg-white">
      <EmptyState icon={<Lock className="size-8" />} title="You do not have access to this page">
        Ask an administrator if you need it.
      </EmptyState>
    </div>
  );
}

export function NotFound() {
  return (
    <div className="m-6 rounded-lg border border-stone-200 bg-white">
      <EmptyState title="Page not found">The address may be mistyped, or the page may have moved.</EmptyState>
    </div>
  );
}
