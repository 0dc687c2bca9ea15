/** Review teams: a list on the left, the chosen team with its members (and their leads) on the right. */
import { useEffect, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Pencil, Plus, Trash2, UserMinus, UsersRound } from "lucide-react";
import { errorMessage } from "../../client/errors";
import { confirm } from "../../lib/confirm";
import { cx } from "../../lib/cx";
import { plural } from "../../lib/format";
import { toast } from "../../lib/toast";
import { EmptyPanel } from "../../lib/table";
import { Button, ErrorNote, Field, FormDialog, IconButton, Input, Select, Spinner, Textarea } from "../../lib/ui";
import { createTeam, deleteTeam, getTeam, listTeams, listUsers, putMember, removeMember, updateTeam, type Team, type TeamMember, type TeamRole } from "./api";
import { addableUsers, roleLabel } from "./logic";

export function TeamsTab() {
  const qc = useQueryClient();
  const teams = useQuery({ queryKey: ["teams"], queryFn: listTeams });
  const [selected, setSelected] = useState<string | null>(null);
  const [editing, setEditing] = useState<Team | "new" | null>(null);
  const list = teams.data?.data;

  useEffect(() => {
    if (list && list.length && !list.some((t) => t.id === selected)) setSelected(list[0].id);
    if (list && !list.length) setSelected(null);
  }, [list, selected]);

  return (
    <div className="space-y-3">
      <div className="flex items-center justify-between gap-2">
        <p className="text-sm text-stone-500">A team shares review queues. Its leads may reassign the team's items.</p>
        <Button variant="primary" icon={<Plus className="size-4" />} onClick={() => setEditing("new")}>
          New team
        </Button>
      </div>
      {teams.isPending ? (
        <Spinner />
      ) : teams.isError ? (
        <ErrorNote>{errorMessage(teams.error)}</ErrorNote>
      ) : !list!.length ? (
        <EmptyPanel icon={<UsersRound className="size-8" />} title="No teams yet">
          Make a team of reviewers, such as “Sustainability” or “Procurement”, to share review work.
        </EmptyPanel>
      ) : (
        <div className="flex items-start gap-4">
          <ul className="w-64 shrink-0 divide-y divide-stone-100 overflow-hidden rounded-lg border border-stone-200 bg-white shadow-xs" aria-label="Teams">
            {list!.map((t) => (
              <li key={t.id}>
                <button
                  type="button"
                  data-testid="team-item"
                  aria-current={t.id === selected || undefined}
                  onClick={() => setSelected(t.id)}
                  className={cx("block w-full px-3 py-2 text-left", t.id === selected ? "bg-brand-50" : "hover:bg-stone-50")}
                >
                  <div className={cx("truncate text-sm font-medium", t.id === selected ? "text-brand-800" : "text-stone-900")}>{t.name}</div>
                  <div className="text-xs text-stone-500">{plural(t.member_count, "member")}</div>
                </button>
              </li>
            ))}
          </ul>
          {selected && <TeamDetail key={selected} teamId={selected} onEdit={setEditing} onDeleted={() => setSelected(null)} />}
        </div>
      )}
      {editing && (
        <TeamDialog
          team={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(t, created) => {
            toast.success(created ? `Team “${t.name}” created` : `Team “${t.name}” saved`);
            setEditing(null);
            setSelected(t.id);
            void qc.invalidateQueries({ queryKey: ["teams"] });
            void qc.invalidateQueries({ queryKey: ["team", t.id] });
          }}
        />
      )}
    </div>
  );
}

function TeamDetail({ teamId, onEdit, onDeleted }: { teamId: string; onEdit: (t: Team) => void; onDeleted: () => void }) {
  const qc = useQueryClient();
  const team = useQuery({ queryKey: ["team", teamId], queryFn: () => getTeam(teamId) });
  const users = useQuery({ queryKey: ["users"], queryFn: listUsers });
  const [adding, setAdding] = useState("");
  const [addRole, setAddRole] = useState<TeamRole>("member");
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ["team", teamId] });
    void qc.invalidateQueries({ queryKey: ["teams"] });
  };

  const put = useMutation({
    mutationFn: ({ user, role }: { user: string; role: TeamRole }) => putMember(teamId, user, role),
    onSuccess: (t) => {
      qc.setQueryData(["team", teamId], t);
      setAdding("");
      setAddRole("member");
      refresh();
    },
    onError: (e) => toast.error(errorMessage(e)),
  });

  async function remove(m: TeamMember) {
    const ok = await confirm({
      title: `Remove ${m.name || m.email} from “${team.data?.name}”?`,
      message: "Review items already assigned to them stay theirs.",
      confirmLabel: "Remove",
      danger: true,
    });
    if (!ok) return;
    try {
      await removeMember(teamId, m.user_id);
    } catch (e) {
      toast.error(errorMessage(e));
    }
    refresh();
  }

  async function removeTeam(t: Team) {
    const ok = await confirm({
      title: `Delete the team “${t.name}”?`,
      message: "Its members stay users. A team with open review items cannot be deleted until they move to another team.",
      confirmLabel: "Delete team",
      danger: true,
    });
    if (!ok) return;
    try {
      await deleteTeam(t.id);
      toast.success(`Team “${t.name}” deleted`);
      onDeleted();
      void qc.invalidateQueries({ queryKey: ["teams"] });
    } catch (e) {
      toast.error(errorMessage(e));
    }
  }

  if (team.isPending) return <Spinner />;
  if (team.isError) return <ErrorNote>{errorMessage(team.error)}</ErrorNote>;
  const t = team.data;
  const members = t.members ?? [];
  const candidates = addableUsers(users.data?.data ?? [], t);

  return (
    <section className="min-w-0 flex-1 rounded-lg border border-stone-200 bg-white shadow-xs" data-testid="team-detail" aria-label={`Team ${t.name}`}>
      <div className="flex items-start justify-between gap-3 border-b border-stone-200 px-4 py-3">
        <div className="min-w-0">
          <h2 className="text-base font-semibold text-stone-900">{t.name}</h2>
          <p className="text-sm text-stone-500">{t.description || "No description"}</p>
        </div>
        <div className="flex shrink-0 gap-0.5">
          <IconButton label="Edit team" onClick={() => onEdit(t)}>
            <Pencil className="size-4" />
          </IconButton>
          <IconButton label="Delete team" onClick={() => void removeTeam(t)}>
            <Trash2 className="size-4" />
          </IconButton>
        </div>
      </div>
      {members.length === 0 ? (
        <p className="px-4 py-6 text-center text-sm text-stone-500">No members yet. Add the reviewers of this team below.</p>
      ) : (
        <table className="w-full text-sm">
          <thead className="border-b border-stone-200 bg-stone-50 text-left text-xs font-medium text-stone-500">
            <tr>
              <th className="px-4 py-2">Member</th>
              <th className="w-32 px-4 py-2">Platform role</th>
              <th className="w-36 px-4 py-2">In the team</th>
              <th className="w-12 px-4 py-2">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody className="divide-y divide-stone-100">
            {members.map((m) => (
              <tr key={m.user_id} data-testid="member-row" data-email={m.email}>
                <td className="px-4 py-2">
                  <div className="font-medium text-stone-900">
                    {m.name || m.email}
                    {!m.active && <span className="ml-2 text-xs font-normal text-stone-400">(deactivated)</span>}
                  </div>
                  <div className="text-xs text-stone-500">{m.email}</div>
                </td>
                <td className="px-4 py-2 text-stone-600">{roleLabel(m.user_role)}</td>
                <td className="px-4 py-2">
                  <Select
                    aria-label={`Role of ${m.name || m.email} in the team`}
                    value={m.role}
                    onChange={(e) => put.mutate({ user: m.user_id, role: e.target.value as TeamRole })}
                    className="w-32"
                  >
                    <option value="member">Member</option>
                    <option value="lead">Lead</option>
                  </Select>
                </td>
                <td className="px-4 py-2">
                  <IconButton label={`Remove ${m.name || m.email}`} onClick={() => void remove(m)}>
                    <UserMinus className="size-4" />
                  </IconButton>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="flex flex-wrap items-end gap-2 border-t border-stone-200 bg-stone-50 px-4 py-3 rounded-b-lg"
        onSubmit={(e) => {
          e.preventDefault();
          if (adding) put.mutate({ user: adding, role: addRole });
        }}
      >
        <label className="min-w-48 flex-1 text-xs text-stone-600">
          <span className="mb-1 block">Add a member</span>
          <Select aria-label="User to add" value={adding} onChange={(e) => setAdding(e.target.value)}>
            <option value="">{candidates.length ? "Choose a user…" : "Every active user is in this team"}</option>
            {candidates.map((u) => (
              <option key={u.id} value={u.id}>
                {u.name ? `${u.name} (${u.email})` : u.email}
              </option>
            ))}
          </Select>
        </label>
        <label className="text-xs text-stone-600">
          <span className="mb-1 block">As</span>
          <Select aria-label="Role in the team" value={addRole} onChange={(e) => setAddRole(e.target.value as TeamRole)} className="w-32">
            <option value="member">Member</option>
            <option value="lead">Lead</option>
          </Select>
        </label>
        <Button type="submit" variant="primary" disabled={!adding} busy={put.isPending && put.variables?.user === adding}>
          Add
        </Button>
      </form>
    </section>
  );
}

function TeamDialog({ team, onClose, onSaved }: { team: Team | null; onClose: () => void; onSaved: (t: Team, created: boolean) => void }) {
  const [name, setName] = useState(team?.name ?? "");
  const [description, setDescription] = useState(team?.description ?? "");
  const [error, setError] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: async () => {
      setError(null);
      if (!name.trim()) throw new Error("A team needs a name.");
      return team ? updateTeam(team.id, { name: name.trim(), description }) : createTeam({ name: name.trim(), description });
    },
    onSuccess: (t) => onSaved(t, !team),
    onError: (e) => setError(errorMessage(e)),
  });
  return (
    <FormDialog
      title={team ? `Edit “${team.name}”` : "New team"}
      onClose={onClose}
      onSubmit={() => save.mutate()}
      submitLabel={team ? "Save" : "Create team"}
      busy={save.isPending}
      error={error}
    >
      <Field label="Name" htmlFor="team-name" required>
        <Input id="team-name" value={name} maxLength={120} onChange={(e) => setName(e.target.value)} placeholder="e.g. Sustainability reviewers" />
      </Field>
      <Field label="Description" htmlFor="team-description">
        <Textarea id="team-description" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
      </Field>
    </FormDialog>
  );
}
