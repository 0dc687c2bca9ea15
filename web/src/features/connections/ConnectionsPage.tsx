/**
 * The connections (admins and builders): the credentials workflow nodes use, by id. Listed with
 * where they point and their last test; created and edited in a form drawn from the kind's
 * fields; tested on demand. Secrets are written, never read back.
 */
import { useMemo, useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { CheckCircle2, Pencil, Plus, PlugZap, Trash2, XCircle } from "lucide-react";
import { errorMessage } from "../../client/errors";
import { confirm } from "../../lib/confirm";
import { cx } from "../../lib/cx";
import { formatDateTime, timeAgo } from "../../lib/format";
import { slugify } from "../../lib/slug";
import { toast } from "../../lib/toast";
import { useTitle } from "../../lib/title";
import { DataTable } from "../../lib/table";
import { Button, ErrorNote, Field, FormDialog, IconButton, Input, PageHeader, Select, Textarea, Toggle } from "../../lib/ui";
import {
  createConnection,
  deleteConnection,
  listConnectionKinds,
  listConnections,
  testConnection,
  updateConnection,
  type Connection,
  type ConnectionKind,
  type ConnectionTest,
} from "./api";
import {
  buildConfig,
  connectionFields,
  fieldLabel,
  formError,
  initialValues,
  KIND_WORDS,
  testSummary,
  visibleFields,
  whereTo,
  type ConnectionField,
  type Values,
} from "./fields";

const kindWord = (kind: string) => KIND_WORDS[kind]?.split(" (")[0] ?? kind;

export default function ConnectionsPage() {
  useTitle("Connections");
  const qc = useQueryClient();
  const connections = useQuery({ queryKey: ["connections"], queryFn: listConnections });
  const kinds = useQuery({ queryKey: ["connection-kinds"], queryFn: listConnectionKinds, staleTime: 5 * 60_000 });
  const [editing, setEditing] = useState<Connection | "new" | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ["connections"] });

  const test = useMutation({
    mutationFn: (c: Connection) => testConnection(c.id),
    onSuccess: (result, c) => {
      const s = testSummary(result);
      if (s.ok) toast.success(`${c.name}: works`);
      else toast.error(`${c.name}: ${s.title.toLowerCase()}. ${s.message}`);
      void refresh();
    },
    onError: (e) => toast.error(errorMessage(e)),
  });

  async function remove(c: Connection) {
    const ok = await confirm({
      title: `Delete “${c.name}”?`,
      message: `Workflow nodes that use the connection “${c.id}” will fail until it is made again. Its secrets are deleted.`,
      confirmLabel: "Delete",
      danger: true,
    });
    if (!ok) return;
    try {
      await deleteConnection(c.id);
      toast.success(`Connection “${c.name}” deleted`);
    } catch (e) {
      toast.error(errorMessage(e));
    }
    void refresh();
  }

  const data = connections.data?.data;
  return (
    <div className="flex h-full flex-col">
      <PageHeader title="Connections" subtitle="Credentials for email, APIs, databases and ERP systems, stored encrypted. Nodes name them by id.">
        <Button variant="primary" icon={<Plus className="size-4" />} onClick={() => setEditing("new")} disabled={!kinds.data}>
          New connection
        </Button>
      </PageHeader>
      <div className="min-h-0 flex-1 overflow-auto px-6 py-4">
        {kinds.isError && <ErrorNote>{errorMessage(kinds.error)}</ErrorNote>}
        <DataTable
          query={connections}
          rows={data}
          rowKey={(c) => c.id}
          rowProps={(c) => ({ "data-testid": "connection-row", "data-connection-id": c.id })}
          className="shadow-xs"
          empty={{
            icon: <PlugZap className="size-8" />,
            title: "No connections yet",
            children: "Add the SMTP server that sends your forms, the API or database your figures go to, or your ERP system.",
          }}
          columns={[
            {
              header: "Connection",
              cell: (c) => (
                <>
                  <button type="button" className="text-left font-medium text-stone-900 hover:text-brand-800 hover:underline" onClick={() => setEditing(c)}>
                    {c.name}
                  </button>
                  <div className="font-mono text-xs text-stone-500">{c.id}</div>
                </>
              ),
            },
            { header: "Kind", className: "whitespace-nowrap text-stone-700", cell: (c) => kindWord(c.kind) },
            { header: "Where", className: "max-w-64 truncate font-mono text-xs text-stone-600", title: (c) => whereTo(c), cell: (c) => whereTo(c) || "—" },
            { header: "Secrets", className: "text-xs whitespace-nowrap text-stone-600", cell: (c) => <SecretsSet secrets={c.secrets} /> },
            { header: "Last test", testId: "last-test", cell: (c) => <LastTest test={c.last_test ?? null} /> },
            {
              header: "Actions",
              hideHeader: true,
              cell: (c) => (
                <div className="flex items-center justify-end gap-0.5">
                  <Button size="sm" busy={test.isPending && test.variables?.id === c.id} onClick={() => test.mutate(c)}>
                    Test
                  </Button>
                  <IconButton label={`Edit ${c.name}`} onClick={() => setEditing(c)}>
                    <Pencil className="size-4" />
                  </IconButton>
                  <IconButton label={`Delete ${c.name}`} onClick={() => void remove(c)}>
                    <Trash2 className="size-4" />
                  </IconButton>
                </div>
              ),
            },
          ]}
        />
      </div>
      {editing && kinds.data && (
        <ConnectionDialog
          kinds={kinds.data}
          connection={editing === "new" ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={(c, created) => {
            toast.success(created ? `Connection “${c.name}” created` : `Connection “${c.name}” saved`);
            setEditing(null);
            void refresh();
          }}
        />
      )}
    </div>
  );
}

function SecretsSet({ secrets }: { secrets: Record<string, boolean> }) {
  const set = Object.entries(secrets).filter(([, v]) => v).map(([k]) => k.replace(/_/g, " "));
  if (!Object.keys(secrets).length) return <span className="text-stone-400">none</span>;
  return set.length ? <span>{set.join(", ")} set</span> : <span className="text-stone-400">none set</span>;
}

function LastTest({ test }: { test: ConnectionTest | null }) {
  if (!test) return <span className="text-xs text-stone-400">Not tested</span>;
  const s = testSummary(test);
  return (
    <div className="flex items-start gap-1.5 text-xs" title={test.message}>
      {s.ok ? <CheckCircle2 className="mt-px size-3.5 shrink-0 text-emerald-600" aria-hidden /> : <XCircle className="mt-px size-3.5 shrink-0 text-red-600" aria-hidden />}
      <div className="min-w-0">
        <div className={cx("font-medium", s.ok ? "text-emerald-700" : "text-red-700")} data-testid="last-test-title">
          {s.title}
        </div>
        {!s.ok && <div className="line-clamp-2 max-w-72 text-stone-600">{s.message}</div>}
        {test.at && (
          <div className="text-stone-400" title={formatDateTime(test.at)}>
            {timeAgo(test.at)}
          </div>
        )}
      </div>
    </div>
  );
}

/** Create (kind, name, id, fields) or edit (name and fields) a connection. */
function ConnectionDialog({
  kinds,
  connection,
  onClose,
  onSaved,
}: {
  kinds: ConnectionKind[];
  connection: Connection | null;
  onClose: () => void;
  onSaved: (c: Connection, created: boolean) => void;
}) {
  const editing = !!connection;
  const [kind, setKind] = useState(connection?.kind ?? kinds[0]?.kind ?? "smtp");
  const [name, setName] = useState(connection?.name ?? "");
  const [id, setId] = useState("");
  const spec = kinds.find((k) => k.kind === kind);
  const fields = useMemo(() => (spec ? connectionFields(spec) : []), [spec]);
  const [values, setValues] = useState<Values>(() => initialValues(fields, connection));
  const [problems, setProblems] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);

  const save = useMutation({
    mutationFn: async () => {
      const shown = visibleFields(kind, fields, values);
      const { config, problems: local } = buildConfig(shown, values, editing ? "edit" : "create", connection?.secrets);
      if (!name.trim()) local.name = "Required";
      setProblems(local);
      if (Object.keys(local).length) throw new Error("Fill in the fields marked below.");
      return connection
        ? updateConnection(connection.id, { name: name.trim(), config })
        : createConnection({ name: name.trim(), kind, config, ...(id.trim() ? { id: id.trim() } : {}) });
    },
    onSuccess: (c) => onSaved(c, !editing),
    onError: (e) => {
      const { message, fields: byField } = formError(e);
      setError(message);
      if (Object.keys(byField).length) setProblems((p) => ({ ...p, ...byField }));
    },
  });

  function chooseKind(next: string) {
    setKind(next);
    const nextSpec = kinds.find((k) => k.kind === next);
    setValues(initialValues(nextSpec ? connectionFields(nextSpec) : [], null));
    setProblems({});
    setError(null);
  }

  const shown = visibleFields(kind, fields, values);
  const main = shown.filter((f) => !f.advanced);
  const advanced = shown.filter((f) => f.advanced);
  const set = (key: string, value: string | boolean) => setValues((v) => ({ ...v, [key]: value }));
  const draw = (f: ConnectionField) => (
    <ConnectionInput key={f.key} field={f} value={values[f.key]} onChange={(v) => set(f.key, v)} problem={problems[f.key]} secretSet={!!connection?.secrets[f.key]} editing={editing} />
  );

  return (
    <FormDialog
      title={editing ? `Edit “${connection.name}”` : "New connection"}
      onClose={onClose}
      onSubmit={() => save.mutate()}
      submitLabel={editing ? "Save" : "Create connection"}
      busy={save.isPending}
      error={error}
      width="max-w-xl"
      testId="connection-form"
    >
      <div className="grid grid-cols-2 gap-3">
        <Field label="Kind" htmlFor="conn-kind">
          {editing ? (
            <Input id="conn-kind" value={KIND_WORDS[kind] ?? kind} disabled />
          ) : (
            <Select id="conn-kind" value={kind} onChange={(e) => chooseKind(e.target.value)}>
              {kinds.map((k) => (
                <option key={k.kind} value={k.kind}>
                  {KIND_WORDS[k.kind] ?? k.kind}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Name" htmlFor="conn-name" required error={problems.name}>
          <Input id="conn-name" value={name} onChange={(e) => setName(e.target.value)} invalid={!!problems.name} placeholder="e.g. Company mail server" />
        </Field>
      </div>
      <Field label="ID" htmlFor="conn-id" hint={editing ? "Nodes name the connection by this id; it does not change." : "Nodes name the connection by this id. Made from the name when left empty."} error={problems.id}>
        <Input
          id="conn-id"
          className="font-mono"
          value={editing ? connection.id : id}
          disabled={editing}
          placeholder={name.trim() ? slugify(name) : "e.g. company-mail"}
          onChange={(e) => setId(e.target.value)}
        />
      </Field>
      <div className="space-y-3 border-t border-stone-200 pt-3">{main.map(draw)}</div>
      {advanced.length > 0 && (
        <details className="rounded-md border border-stone-200 px-3 py-2" open={advanced.some((f) => problems[f.key])}>
          <summary className="cursor-pointer text-xs font-medium text-stone-600">Advanced: TLS</summary>
          <div className="mt-3 space-y-3">{advanced.map(draw)}</div>
        </details>
      )}
    </FormDialog>
  );
}

function ConnectionInput({
  field: f,
  value,
  onChange,
  problem,
  secretSet,
  editing,
}: {
  field: ConnectionField;
  value: string | boolean | undefined;
  onChange: (value: string | boolean) => void;
  problem?: string;
  secretSet: boolean;
  editing: boolean;
}) {
  const id = `conn-field-${f.key}`;
  if (f.input === "boolean") {
    return (
      <div className="flex items-start gap-3" data-field={f.key}>
        <Toggle id={id} checked={value === true} onChange={onChange} label={f.label} />
        <div>
          <label htmlFor={id} className="block text-xs font-medium text-stone-700">
            {f.label}
          </label>
          {f.description && <p className="text-xs text-stone-500">{f.description}</p>}
        </div>
      </div>
    );
  }
  const text = typeof value === "string" ? value : "";
  let hint: string | undefined = f.description;
  let placeholder: string | undefined;
  if (f.secret) {
    if (editing && secretSet) {
      placeholder = "set — leave empty to keep";
      hint = `Set — leave empty to keep it.${f.description ? ` ${f.description}` : ""}`;
    } else {
      hint = `${f.description ? `${f.description} ` : ""}Stored encrypted; never shown again.`;
    }
  } else if (!f.required && f.default !== undefined && f.default !== null && f.default !== "") {
    placeholder = String(f.default);
  }
  return (
    <Field label={f.label} htmlFor={id} hint={hint} error={problem} required={f.required}>
      {f.input === "enum" ? (
        <Select id={id} value={text} onChange={(e) => onChange(e.target.value)}>
          {!f.required && f.nullable && <option value="">—</option>}
          {(f.options ?? []).map((o) => (
            <option key={o} value={o}>
              {fieldLabel(o)}
            </option>
          ))}
        </Select>
      ) : f.input === "text" ? (
        <Textarea id={id} rows={3} className="font-mono text-xs" value={text} onChange={(e) => onChange(e.target.value)} invalid={!!problem} placeholder={placeholder} />
      ) : (
        <Input
          id={id}
          type={f.secret ? "password" : f.input === "integer" || f.input === "number" ? "number" : "text"}
          autoComplete={f.secret ? "new-password" : "off"}
          value={text}
          onChange={(e) => onChange(e.target.value)}
          invalid={!!problem}
          placeholder={placeholder}
          min={f.minimum}
          max={f.maximum}
        />
      )}
    </Field>
  );
}
