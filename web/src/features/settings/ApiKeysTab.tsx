/**
 * API keys for integrations (sent as the `X-API-Key` header): made with a name and a role no
 * higher than their maker's, shown once, revoked when no longer needed.
 */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { AlertTriangle, Check, Copy, KeyRound, Plus } from "lucide-react";
import type { Role } from "../../client/types";
import { errorMessage } from "../../client/errors";
import { confirm } from "../../lib/confirm";
import { cx } from "../../lib/cx";
import { formatDateTime, timeAgo } from "../../lib/format";
import { toast } from "../../lib/toast";
import { DataTable } from "../../lib/table";
import { Button, Field, FormDialog, Input, Modal, Select, StatusBadge } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import { createApiKey, listApiKeys, revokeApiKey, type ApiKey, type ApiKeyCreated } from "./api";
import { keyRolesFor, keyState, roleLabel, sortKeys } from "./logic";

export function ApiKeysTab() {
  const qc = useQueryClient();
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: listApiKeys });
  const [creating, setCreating] = useState(false);
  const refresh = () => qc.invalidateQueries({ queryKey: ["api-keys"] });

  async function revoke(key: ApiKey) {
    const ok = await confirm({
      title: `Revoke the key “${key.name}”?`,
      message: "Anything that uses this key is refused from now on. This cannot be undone; make a new key if one is needed again.",
      confirmLabel: "Revoke",
      danger: true,
    });
    if (!ok) return;
    try {
      await revokeApiKey(key.id);
      toast.success(`Key “${key.name}” revoked`);
    } catch (e) {
      toast.error(errorMessage(e));
    }
    void refresh();
  }

  const data = keys.data ? sortKeys(keys.data.data) : undefined;
  return (
    <div className="space-y-3">
      <div className="flex items-center justify-between gap-2">
        <p className="text-sm text-stone-500">
          Integrations send a key in the <code className="rounded bg-stone-100 px-1 font-mono text-xs">X-API-Key</code> header. A key acts with its role.
        </p>
        <Button variant="primary" icon={<Plus className="size-4" />} onClick={() => setCreating(true)}>
          New API key
        </Button>
      </div>
      <DataTable
        query={keys}
        rows={data}
        rowKey={(k) => k.id}
        rowProps={(k) => ({ className: cx(keyState(k) === "revoked" && "text-stone-400"), "data-testid": "api-key-row", "data-name": k.name })}
        className="shadow-xs"
        empty={{
          icon: <KeyRound className="size-8" />,
          title: "No API keys yet",
          children: "Make a key for each system that calls datacollect, so each can be revoked on its own.",
        }}
        columns={[
          {
            header: "Key",
            cell: (k) => (
              <>
                <div className={cx("font-medium", keyState(k) === "revoked" ? "text-stone-500" : "text-stone-900")}>{k.name}</div>
                <div className="font-mono text-xs text-stone-500">
                  {k.prefix}… {k.owner && <span className="font-sans" data-testid="api-key-owner">· {k.owner}</span>}
                </div>
              </>
            ),
          },
          { header: "Role", width: "w-28", cell: (k) => roleLabel(k.role) },
          {
            header: "Status",
            width: "w-28",
            title: (k) => (k.revoked_at ? `Revoked ${formatDateTime(k.revoked_at)}` : undefined),
            cell: (k) => <StatusBadge status={keyState(k)} />,
          },
          { header: "Created", width: "w-36", className: "text-xs", title: (k) => formatDateTime(k.created_at), cell: (k) => timeAgo(k.created_at) },
          {
            header: "Last used",
            width: "w-36",
            className: "text-xs",
            title: (k) => formatDateTime(k.last_used_at),
            cell: (k) => (k.last_used_at ? timeAgo(k.last_used_at) : "never"),
          },
          {
            header: "Actions",
            hideHeader: true,
            width: "w-28",
            className: "text-right",
            cell: (k) =>
              keyState(k) === "active" ? (
                <Button size="sm" variant="ghost" className="text-red-700 hover:bg-red-50" onClick={() => void revoke(k)}>
                  Revoke
                </Button>
              ) : (
                <span className="text-xs">revoked</span>
              ),
          },
        ]}
      />
      {creating && <NewKeyDialog onClose={() => setCreating(false)} onCreated={() => void refresh()} />}
    </div>
  );
}

/** Name and role, then the key itself, shown this once with a copy button. */
function NewKeyDialog({ onClose, onCreated }: { onClose: () => void; onCreated: () => void }) {
  const owner = useAuth((s) => s.user?.role);
  const roles = keyRolesFor(owner);
  const [name, setName] = useState("");
  const [role, setRole] = useState<Role | "">("");
  const [error, setError] = useState<string | null>(null);
  const [created, setCreated] = useState<ApiKeyCreated | null>(null);
  const [copied, setCopied] = useState(false);

  const create = useMutation({
    mutationFn: async () => {
      setError(null);
      if (!name.trim()) throw new Error("Give the key a name, such as the system that will use it.");
      return createApiKey({ name: name.trim(), ...(role ? { role } : {}) });
    },
    onSuccess: (key) => {
      setCreated(key);
      onCreated();
    },
    onError: (e) => setError(errorMessage(e)),
  });

  async function copy(key: string) {
    try {
      await navigator.clipboard.writeText(key);
      setCopied(true);
    } catch {
      toast.error("The browser did not allow copying. Select the key and copy it by hand.");
    }
  }

  if (created) {
    return (
      <Modal
        title={`API key “${created.name}”`}
        onClose={onClose}
        footer={
          <Button variant="primary" onClick={onClose}>
            Done
          </Button>
        }
      >
        <div className="space-y-3 text-sm">
          <div role="note" className="flex items-start gap-2 rounded-md border border-amber-200 bg-amber-50 px-3 py-2 text-amber-900">
            <AlertTriangle className="mt-0.5 size-4 shrink-0" aria-hidden />
            <p>
              <strong>Copy the key now: you will not see it again.</strong> Only a fingerprint of it is stored. If it is lost, revoke it and make a new one.
            </p>
          </div>
          <div className="flex items-center gap-2">
            <Input readOnly value={created.key} aria-label="The new API key" className="flex-1 font-mono text-xs" data-testid="new-api-key" onFocus={(e) => e.currentTarget.select()} />
            <Button icon={copied ? <Check className="size-4" /> : <Copy className="size-4" />} onClick={() => void copy(created.key)}>
              {copied ? "Copied" : "Copy"}
            </Button>
          </div>
          <p className="text-stone-600">
            It acts as a {roleLabel(created.role).toLowerCase()}. Send it with each request as the header{" "}
            <code className="rounded bg-stone-100 px-1 font-mono text-xs">X-API-Key: {created.prefix}…</code>
          </p>
        </div>
      </Modal>
    );
  }

  return (
    <FormDialog
      title="New API key"
      onClose={onClose}
      onSubmit={() => create.mutate()}
      submitLabel="Create key"
      busy={create.isPending}
      error={error}
    >
      <Field label="Name" htmlFor="key-name" required hint="What uses the key, e.g. “ERP nightly import”.">
        <Input id="key-name" value={name} maxLength={200} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label="Role" htmlFor="key-role" hint="What the key may do. It cannot have more rights than you.">
        <Select id="key-role" value={role} onChange={(e) => setRole(e.target.value as Role | "")}>
          <option value="">Same as mine{owner ? ` (${roleLabel(owner)})` : ""}</option>
          {roles.map((r) => (
            <option key={r} value={r}>
              {roleLabel(r)}
            </option>
          ))}
        </Select>
      </Field>
    </FormDialog>
  );
}
