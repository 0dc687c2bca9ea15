/** The workflow's own fields: name, id (before the first save), description, variables, settings. */
import { useState } from "react";
import { Button, Field, Input, Modal, Textarea } from "../../lib/ui";
import { slugify } from "../../lib/slug";
import type { WorkflowMeta } from "./mapping";

function parseObject(text: string, what: string): [Record<string, unknown> | undefined, string | null] {
  if (!text.trim()) return [undefined, null];
  try {
    const v = JSON.parse(text);
    if (!v || typeof v !== "object" || Array.isArray(v)) return [undefined, `${what} must be a JSON object.`];
    return [v, null];
  } catch {
    return [undefined, `${what} is not valid JSON.`];
  }
}

export function WorkflowDialog({
  meta,
  isNew,
  readOnly,
  onSave,
  onClose,
}: {
  meta: WorkflowMeta;
  isNew: boolean;
  readOnly: boolean;
  onSave: (patch: Partial<WorkflowMeta>) => void;
  onClose: () => void;
}) {
  const [name, setName] = useState(meta.name);
  const [id, setId] = useState(meta.id);
  const [description, setDescription] = useState(meta.description ?? "");
  const [vars, setVars] = useState(meta.vars && Object.keys(meta.vars).length ? JSON.stringify(meta.vars, null, 2) : "");
  const [settings, setSettings] = useState(meta.settings && Object.keys(meta.settings).length ? JSON.stringify(meta.settings, null, 2) : "");
  const [errors, setErrors] = useState<Record<string, string | null>>({});

  const apply = () => {
    const [v, ve] = parseObject(vars, "Variables");
    const [s, se] = parseObject(settings, "Settings");
    const ne = name.trim() ? null : "Give the workflow a name.";
    const ie = isNew && id && !/^[a-z0-9][a-z0-9-_]*$/.test(id) ? "Use lowercase letters, digits and dashes." : null;
    setErrors({ vars: ve, settings: se, name: ne, id: ie });
    if (ve || se || ne || ie) return;
    onSave({
      name: name.trim(),
      ...(isNew ? { id: id || slugify(name) } : {}),
      description: description.trim() || undefined,
      vars: v,
      settings: s,
    });
    onClose();
  };

  return (
    <Modal
      title="Workflow settings"
      onClose={onClose}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          {!readOnly && (
            <Button variant="primary" onClick={apply}>
              Apply
            </Button>
          )}
        </>
      }
    >
      <fieldset className="space-y-4" disabled={readOnly}>
        <Field label="Name" htmlFor="wf-name" error={errors.name} required>
          <Input id="wf-name" value={name} onChange={(e) => setName(e.target.value)} />
        </Field>
        <Field
          label="Id"
          htmlFor="wf-id"
          error={errors.id}
          hint={isNew ? "The workflow's address and its name in exports. It cannot change after the first save." : "Set when the workflow was created."}
        >
          <Input id="wf-id" className="font-mono" value={isNew ? id : meta.id} placeholder={slugify(name)} disabled={!isNew} onChange={(e) => setId(e.target.value)} />
        </Field>
        <Field label="Description" htmlFor="wf-desc">
          <Textarea id="wf-desc" rows={2} value={description} onChange={(e) => setDescription(e.target.value)} />
        </Field>
        <Field label="Variables (JSON)" htmlFor="wf-vars" error={errors.vars} hint="Read in expressions as vars.name.">
          <Textarea id="wf-vars" rows={4} className="font-mono text-xs" value={vars} onChange={(e) => setVars(e.target.value)} placeholder='{"threshold": 0.8}' />
        </Field>
        <Field
          label="Settings (JSON)"
          htmlFor="wf-settings"
          error={errors.settings}
          hint='error_workflow: a workflow started when a run fails; max_parallel_runs: runs at once; retention: {"run_data_days": 7, "keep_days": 90, "keep_count": 1000}.'
        >
          <Textarea id="wf-settings" rows={3} className="font-mono text-xs" value={settings} onChange={(e) => setSettings(e.target.value)} placeholder='{"max_parallel_runs": 5, "retention": {"keep_days": 90}}' />
        </Field>
      </fieldset>
    </Modal>
  );
}
