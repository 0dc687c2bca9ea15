/** Users: who may sign in, with which role; created, renamed, given another role, deactivated. */
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Pencil, UserPlus, Users } from "lucide-react";
import type { Role } from "../../client/types";
import { errorMessage } from "../../client/errors";
import { confirm } from "../../lib/confirm";
import { formatDateTime, plural, timeAgo } from "../../lib/format";
import { toast } from "../../lib/toast";
import { DataTable } from "../../lib/table";
import { Button, Field, FormDialog, IconButton, Input, Select, StatusBadge } from "../../lib/ui";
import { useAuth } from "../shell/auth";
import { createUser, listUsers, updateUser, type UserRead } from "./api";
import { newUserProblems, ROLES, roleLabel } from "./logic";

export function UsersTab() {
  const me = useAuth((s) => s.user);
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ["users"], queryFn: listUsers });
  const [editing, setEditing] = useState<UserRead | "new" | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ["users"] });

  const activate = useMutation({
    mutationFn: ({ user, active }: { user: UserRead; active: boolean }) => updateUser(user.id, { active }),
    onSuccess: (u) => {
      toast.success(u.active ? `${u.name || u.email} can sign in again` : `${u.name || u.email} can no longer sign in`);
      void refresh();
    },
    onError: (e) => toast.error(errorMessage(e)),
  });

  async function deactivate(user: UserRead) {
    const ok = await confirm({
      title: `Deactivate ${user.name || user.email}?`,
      message: "They can no longer sign in, and their API keys stop working. Their work and history stay. You can reactivate them later.",
      confirmLabel: "Deactivate",
      danger: true,
    });
    if (ok) activate.mutate({ user, active: false });
  }

  const data = users.data?.data;
  return (
    <div className="space-y-3">
      <div className="flex items-center justify-between gap-2">
        <p className="text-sm text-stone-500">{data ? plural(data.length, "user") : ""}</p>
        <Button variant="primary" icon={<UserPlus className="size-4" />} onClick={() => setEditing("new")}>
          New user
        </Button>
      </div>
      <DataTable
        query={users}
        rows={data}
        rowKey={(u) => u.id}
        rowProps={(u) => ({ "data-testid": "user-row", "data-email": u.email })}
        className="shadow-xs"
        empty={{ icon: <Users className="size-8" />, title: "No users yet" }}
        columns={[
          {
            header: "User",
            cell: (u) => (
              <>
                <div className="font-medium text-stone-900">
                  {u.name || u.email}
                  {u.id === me?.id && <span className="ml-2 rounded bg-stone-100 px-1.5 py-0.5 text-xs font-normal text-stone-500">you</span>}
                </div>
                <div className="text-xs text-stone-500">{u.email}</div>
              </>
            ),
          },
          { header: "Role", width: "w-32", className: "text-stone-700", testId: "user-role", cell: (u) => roleLabel(u.role) },
          { header: "Status", width: "w-28", cell: (u) => <StatusBadge status={u.active === false ? "inactive" : "active"} /> },
          {
            header: "Last sign-in",
            width: "w-40",
            className: "text-xs text-stone-600",
            title: (u) => formatDateTime(u.last_login_at),
            cell: (u) => (u.last_login_at ? timeAgo(u.last_login_at) : "never"),
          },
          {
            header: "Actions",
            hideHeader: true,
            width: "w-48",
            cell: (u) => (
              <div className="flex items-center justify-end gap-1">
                {u.active === false ? (
                  <Button size="sm" onClick={() => activate.mutate({ user: u, active: true })}>
                    Reactivate
                  </Button>
                ) : (
                  u.id !== me?.id && (
                    <Button size="sm" variant="ghost" onClick={() => void deactivate(u)}>
                      Deactivate
                    </Button>
                  )
                )}
                <IconButton label={`Edit ${u.name || u.email}`} onClick={() => setEditing(u)}>
                  <Pencil className="size-4" />
                </IconButton>
              </div>
            ),
          },
        ]}
      />
      {editing && (
        <UserDialog
          user={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(u, created) => {
            toast.success(created ? `${u.name || u.email} can now sign in as ${roleLabel(u.role).toLowerCase()}` : `${u.name || u.email} saved`);
            setEditing(null);
            void refresh();
            if (u.id === me?.id) void useAuth.getState().check();
          }}
        />
      )}
    </div>
  );
}

/** A new user (email, name, role, password), or a user's name, role and a new password. */
function UserDialog({ user, onClose, onSaved }: { user: UserRead | null; onClose: () => void; onSaved: (u: UserRead, created: boolean) => void }) {
  const [email, setEmail] = useState(user?.email ?? "");
  const [name, setName] = useState(user?.name ?? "");
  const [role, setRole] = useState<Role>((user?.role as Role) ?? "viewer");
  const [password, setPassword] = useState("");
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: async () => {
      setError(null);
      if (user) {
        const change: Parameters<typeof updateUser>[1] = {};
        if (name.trim() !== user.name) change.name = name.trim();
        if (role !== user.role) change.role = role;
        if (password) change.password = password;
        return updateUser(user.id, change);
      }
      const local = newUserProblems({ email, password });
      setProblems(local);
      if (Object.keys(local).length) throw new Error("Fill in the fields marked below.");
      return createUser({ email: email.trim(), password, role, name: name.trim() });
    },
    onSuccess: (u) => onSaved(u, !user),
    onError: (e) => setError(errorMessage(e)),
  });

  return (
    <FormDialog
      title={user ? `Edit ${user.name || user.email}` : "New user"}
      onClose={onClose}
      onSubmit={() => save.mutate()}
      submitLabel={user ? "Save" : "Create user"}
      busy={save.isPending}
      error={error}
    >
      <Field label="Email" htmlFor="user-email" required={!user} error={problems.email} hint={user ? "The email a user signs in with does not change." : undefined}>
        <Input id="user-email" type="email" autoComplete="off" value={email} disabled={!!user} onChange={(e) => setEmail(e.target.value)} invalid={!!problems.email} />
      </Field>
      <Field label="Name" htmlFor="user-name" hint={user ? undefined : "Shown in the app; the part of the email before @ when left empty."}>
        <Input id="user-name" value={name} onChange={(e) => setName(e.target.value)} />
      </Field>
      <Field label="Role" htmlFor="user-role" hint={ROLES.find((r) => r.role === role)?.description}>
        <Select id="user-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
          {ROLES.map((r) => (
            <option key={r.role} value={r.role}>
              {r.label}
            </option>
          ))}
        </Select>
      </Field>
      <Field
        label={user ? "New password" : "Password"}
        htmlFor="user-password"
        required={!user}
        error={problems.password}
        hint={user ? "Leave empty to keep the current password." : "At least 8 characters. Pass it on to the user safely."}
      >
        <Input id="user-password" type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} invalid={!!problems.password} />
      </Field>
    </FormDialog>
  );
}
