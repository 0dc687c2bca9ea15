/**
 * The builder's side panel: the settings of what is selected, a field (label, help,
 * required, validation, options, condition, sensitive...), a page, or the form itself.
 */
import { useId, useMemo } from "react";
import { AlertCircle } from "lucide-react";
import { Input, Select } from "../../../lib/ui";
import { Suggestions } from "../../editor/suggestions";
import { FIELD_LABELS, FIELD_TYPES, hasValue, type FieldType } from "../schema";
import { TypeIcon } from "./Palette";
import { changeType, findField, findPage, updateField, updateForm, updatePage, type BDoc, type BField } from "./state";
import { ExpressionSetting, ListSetting, NumberSetting, OptionsEditor, RulesEditor, TextSetting, ToggleSetting } from "./Settings";
import { useBuilder, useBuilderStore } from "./store";
import { useProblemsByUid } from "./Outline";

export function Panel() {
  const selected = useBuilder((s) => s.selected);
  const doc = useBuilder((s) => s.doc);
  const problems = useProblemsByUid();
  let body: React.ReactNode;
  let heading = "Form settings";
  let uid: string | null = null;
  if (selected.kind === "field") {
    const found = findField(doc, selected.uid);
    if (found) {
      heading = found.place.table ? "Field of each row" : "Field";
      uid = found.field._uid;
      body = <FieldSettings key={found.field._uid} field={found.field} doc={doc} table={found.place.table ? findField(doc, found.place.table)?.field ?? null : null} />;
    }
  } else if (selected.kind === "page") {
    const page = findPage(doc, selected.uid);
    if (page) {
      heading = "Page";
      uid = page._uid;
      body = <PageSettings key={page._uid} pageUid={page._uid} doc={doc} />;
    }
  }
  if (!body) body = <FormSettingsEditor doc={doc} />;
  const mine = problems.get(uid) ?? [];
  return (
    <aside aria-label="Settings" className="flex w-80 shrink-0 flex-col border-l border-stone-200 bg-white" data-testid="builder-panel">
      <h2 className="border-b border-stone-200 px-4 py-2.5 text-sm font-semibold text-stone-900">{heading}</h2>
      <div className="flex-1 space-y-4 overflow-y-auto px-4 py-4">
        {mine.length > 0 && (
          <ul className="space-y-1 rounded-md border border-red-200 bg-red-50 px-3 py-2 text-xs text-red-800" data-testid="panel-problems">
            {mine.map((p) => (
              <li key={p.message} className="flex gap-1.5">
                <AlertCircle className="mt-px size-3.5 shrink-0" aria-hidden />
                {p.message}
              </li>
            ))}
          </ul>
        )}
        {body}
      </div>
    </aside>
  );
}

function fieldNames(doc: BDoc, table: BField | null): string[] {
  const top = doc.pages.flatMap((p) => p.fields).filter(hasValue).map((f) => f.id);
  const cols = (table?.fields ?? []).filter(hasValue).map((c) => c.id);
  return [...cols, ...top.filter((x) => !cols.includes(x))];
}

function FieldSettings({ field, doc, table }: { field: BField; doc: BDoc; table: BField | null }) {
  const store = useBuilderStore();
  const readOnly = useBuilder((s) => s.readOnly);
  const uid = field._uid;
  const set = (patch: Partial<BField>, key: string) => store.getState().change((d) => updateField(d, uid, patch), `${uid}:${key}`);
  const names = useMemo(() => fieldNames(doc, table).filter((n) => n !== field.id), [doc, table, field.id]);
  const t = field.type;
  const textual = t === "text" || t === "long_text" || t === "email" || t === "phone" || t === "url";
  const numeric = t === "number" || t === "integer";

  return (
    <div className="space-y-4" data-testid="field-settings">
      <div className="space-y-1">
        <label htmlFor="field-type" className="block text-xs font-medium text-stone-700">
          Type
        </label>
        <div className="flex items-center gap-2">
          <span className="flex size-8 shrink-0 items-center justify-center rounded bg-stone-100 text-stone-600">
            <TypeIcon type={t} />
          </span>
          <Select
            id="field-type"
            value={t}
            disabled={readOnly}
            onChange={(e) => store.getState().change((d) => changeType(d, uid, e.target.value as FieldType))}
          >
            {FIELD_TYPES.filter((x) => !(table && x === "table")).map((x) => (
              <option key={x} value={x}>
                {FIELD_LABELS[x]}
              </option>
            ))}
          </Select>
        </div>
      </div>
      <TextSetting label={t === "section" ? "Heading" : "Label"} value={field.label} disabled={readOnly} onChange={(v) => set({ label: v }, "label")} />
      <TextSetting
        label="Id"
        mono
        value={field.id}
        disabled={readOnly}
        hint={table ? `The column's name in each row of ${table.id}.` : "The answer's name in responses, exports and conditions."}
        onChange={(v) => set({ id: v.replace(/\s+/g, "_") }, "id")}
      />
      {t === "section" ? (
        <TextSetting label="Text" multiline value={field.text} disabled={readOnly} onChange={(v) => set({ text: v }, "text")} />
      ) : (
        <>
          <TextSetting label="Help" multiline value={field.help} disabled={readOnly} hint="Shown under the label." onChange={(v) => set({ help: v }, "help")} />
          <ToggleSetting label="Required" hint="It must be answered when it is shown." checked={!!field.required} disabled={readOnly} onChange={(v) => set({ required: v || undefined }, "required")} />
          {t !== "boolean" && t !== "file" && t !== "table" && t !== "select" && t !== "multi_select" && (
            <TextSetting label="Placeholder" value={field.placeholder} disabled={readOnly} onChange={(v) => set({ placeholder: v }, "placeholder")} />
          )}
        </>
      )}

      {numeric && (
        <Group title="Number">
          <TextSetting label="Unit" value={field.unit} placeholder="t CO2e" disabled={readOnly} onChange={(v) => set({ unit: v }, "unit")} />
          <div className="grid grid-cols-2 gap-2">
            <NumberSetting label="Smallest" value={typeof field.min === "number" ? field.min : undefined} whole={t === "integer"} disabled={readOnly} onChange={(v) => set({ min: v }, "min")} />
            <NumberSetting label="Largest" value={typeof field.max === "number" ? field.max : undefined} whole={t === "integer"} disabled={readOnly} onChange={(v) => set({ max: v }, "max")} />
            <NumberSetting label="Step" value={field.step} whole={t === "integer"} min={0} disabled={readOnly} onChange={(v) => set({ step: v || undefined }, "step")} />
            {t === "number" && <NumberSetting label="Decimal places" value={field.decimals} whole min={0} disabled={readOnly} onChange={(v) => set({ decimals: v }, "decimals")} />}
          </div>
        </Group>
      )}

      {textual && (
        <Group title="Validation">
          <div className="grid grid-cols-2 gap-2">
            <NumberSetting label="Shortest" value={field.min_length} whole min={0} disabled={readOnly} onChange={(v) => set({ min_length: v }, "min_length")} />
            <NumberSetting label="Longest" value={field.max_length} whole min={1} disabled={readOnly} onChange={(v) => set({ max_length: v }, "max_length")} />
          </div>
          <TextSetting label="Pattern" mono value={field.pattern} placeholder="[A-Z]{2}[A-Z0-9]{2,13}" hint="A regular expression the whole answer must match." disabled={readOnly} onChange={(v) => set({ pattern: v }, "pattern")} />
          {field.pattern && <TextSetting label="Message when it does not match" value={field.pattern_message} disabled={readOnly} onChange={(v) => set({ pattern_message: v }, "pattern_message")} />}
        </Group>
      )}

      {t === "date" && (
        <Group title="Dates allowed">
          <div className="grid grid-cols-2 gap-2">
            <TextSetting label="Earliest" value={typeof field.min === "string" ? field.min : ""} placeholder="2020-01-01" disabled={readOnly} onChange={(v) => set({ min: v }, "min")} />
            <TextSetting label="Latest" value={typeof field.max === "string" ? field.max : ""} placeholder="today" disabled={readOnly} onChange={(v) => set({ max: v }, "max")} />
          </div>
          <p className="text-xs text-stone-500">YYYY-MM-DD, or “today”.</p>
        </Group>
      )}

      {(t === "select" || t === "multi_select") && (
        <Group title="Choices">
          <OptionsEditor options={field.options ?? []} disabled={readOnly} onChange={(o) => store.getState().change((d) => updateField(d, uid, { options: o }), `${uid}:options`)} />
          {t === "multi_select" && (
            <div className="grid grid-cols-2 gap-2">
              <NumberSetting label="At least" value={field.min_selected} whole min={0} disabled={readOnly} onChange={(v) => set({ min_selected: v }, "min_selected")} />
              <NumberSetting label="At most" value={field.max_selected} whole min={1} disabled={readOnly} onChange={(v) => set({ max_selected: v }, "max_selected")} />
            </div>
          )}
        </Group>
      )}

      {t === "file" && (
        <Group title="Uploads">
          <ListSetting label="File types" value={field.accept} placeholder=".pdf, image/*" hint="Extensions or types; empty: the form's setting." disabled={readOnly} onChange={(v) => set({ accept: v }, "accept")} />
          <NumberSetting label="Largest file (MB)" value={field.max_size_mb} min={0} hint="Empty: the form's setting." disabled={readOnly} onChange={(v) => set({ max_size_mb: v || undefined }, "max_size_mb")} />
          <ToggleSetting label="Several files" checked={!!field.multiple} disabled={readOnly} onChange={(v) => set({ multiple: v || undefined, ...(v ? {} : { max_files: undefined }) }, "multiple")} />
          {field.multiple && <NumberSetting label="Most files" value={field.max_files} whole min={1} disabled={readOnly} onChange={(v) => set({ max_files: v }, "max_files")} />}
        </Group>
      )}

      {t === "table" && (
        <Group title="Rows">
          <p className="text-xs text-stone-500">The fields of each row are listed in the card on the left: add them there, drag them to reorder, click one to edit it.</p>
          <div className="grid grid-cols-2 gap-2">
            <NumberSetting label="Fewest rows" value={field.min_rows} whole min={0} disabled={readOnly} onChange={(v) => set({ min_rows: v }, "min_rows")} />
            <NumberSetting label="Most rows" value={field.max_rows} whole min={1} disabled={readOnly} onChange={(v) => set({ max_rows: v }, "max_rows")} />
          </div>
          <RulesEditor
            what="checked on every row"
            rules={field.rules ?? []}
            names={[...(field.fields ?? []).map((c) => c.id), ...names]}
            disabled={readOnly}
            onChange={(r) => store.getState().change((d) => updateField(d, uid, { rules: r }), `${uid}:rules`)}
          />
        </Group>
      )}

      <Group title="Shown">
        <ExpressionSetting
          label="Only if"
          value={field.visible_if}
          names={names}
          placeholder="has_sites == true"
          hint="Empty: always shown. A hidden field is not asked and its answer is not kept."
          disabled={readOnly}
          onChange={(v) => set({ visible_if: v }, "visible_if")}
        />
        {t !== "section" && (
          <ToggleSetting
            label="Sensitive"
            hint="Encrypted at rest and masked for people who may not change responses."
            checked={!!field.sensitive}
            disabled={readOnly}
            onChange={(v) => set({ sensitive: v || undefined }, "sensitive")}
          />
        )}
      </Group>
    </div>
  );
}

function Group({ title, children }: { title: string; children: React.ReactNode }) {
  return (
    <section className="space-y-3 border-t border-stone-200 pt-3">
      <h3 className="text-xs font-semibold tracking-wide text-stone-500 uppercase">{title}</h3>
      {children}
    </section>
  );
}

function PageSettings({ pageUid, doc }: { pageUid: string; doc: BDoc }) {
  const store = useBuilderStore();
  const readOnly = useBuilder((s) => s.readOnly);
  const page = findPage(doc, pageUid)!;
  const set = (patch: Record<string, string>, key: string) => store.getState().change((d) => updatePage(d, pageUid, patch), `${pageUid}:${key}`);
  const names = doc.pages.flatMap((p) => p.fields).filter(hasValue).map((f) => f.id);
  return (
    <div className="space-y-4" data-testid="page-settings">
      <TextSetting label="Title" value={page.title} disabled={readOnly} onChange={(v) => set({ title: v }, "title")} />
      <TextSetting label="Id" mono value={page.id} disabled={readOnly} onChange={(v) => set({ id: v.replace(/\s+/g, "_") }, "id")} />
      <TextSetting label="Introduction" multiline value={page.description} disabled={readOnly} onChange={(v) => set({ description: v }, "description")} />
      <ExpressionSetting
        label="Shown only if"
        value={page.visible_if}
        names={names}
        placeholder="has_sites == true"
        hint="Empty: always shown. The fields of a hidden page are not asked."
        disabled={readOnly}
        onChange={(v) => set({ visible_if: v }, "visible_if")}
      />
    </div>
  );
}

function FormSettingsEditor({ doc }: { doc: BDoc }) {
  const store = useBuilderStore();
  const readOnly = useBuilder((s) => s.readOnly);
  const saved = useBuilder((s) => s.saved);
  const set = (patch: Partial<BDoc>, key: string) => store.getState().change((d) => updateForm(d, patch), `form:${key}`);
  const settings = doc.settings ?? {};
  const setSetting = (patch: Record<string, unknown>, key: string) =>
    store.getState().change((d) => {
      const next: Record<string, unknown> = { ...(d.settings ?? {}) };
      for (const [k, v] of Object.entries(patch)) {
        if (v === undefined || v === null || v === "") delete next[k];
        else next[k] = v;
      }
      return updateForm(d, { settings: next });
    }, `form:${key}`);
  const names = doc.pages.flatMap((p) => p.fields).filter(hasValue).map((f) => f.id);
  return (
    <div className="space-y-4" data-testid="form-settings">
      <TextSetting label="Title" value={doc.title} disabled={readOnly} onChange={(v) => set({ title: v }, "title")} />
      <TextSetting
        label="Name"
        mono
        value={doc.name}
        disabled={readOnly}
        hint={saved && saved.name !== doc.name ? `Saving under a new name starts a new form; ${saved.name} keeps its versions.` : "Lower-case letters, digits, _ and -. Versions are saved as name_v1, name_v2…"}
        onChange={(v) => set({ name: v }, "name")}
      />
      <TextSetting label="Introduction" multiline value={doc.description} disabled={readOnly} hint="Shown at the top of the form." onChange={(v) => set({ description: v }, "description")} />
      <section className="space-y-3 border-t border-stone-200 pt-3">
        <h3 className="text-xs font-semibold tracking-wide text-stone-500 uppercase">Respondents</h3>
        <ToggleSetting
          label="Drafts"
          hint="Respondents can save and come back with the same link."
          checked={settings.allow_drafts !== false}
          disabled={readOnly}
          onChange={(v) => setSetting({ allow_drafts: v }, "allow_drafts")}
        />
        <NumberSetting label="Largest file (MB)" value={typeof settings.max_file_mb === "number" ? settings.max_file_mb : undefined} min={0} hint="For file fields without their own limit (25 MB when empty)." disabled={readOnly} onChange={(v) => setSetting({ max_file_mb: v || undefined }, "max_file_mb")} />
        <ListSetting label="File types" value={settings.allowed_file_types ?? undefined} placeholder=".pdf, .xlsx, image/*" hint="For file fields without their own list." disabled={readOnly} onChange={(v) => setSetting({ allowed_file_types: v }, "allowed_file_types")} />
      </section>
      <ReviewSettings review={settings.review as Review | undefined} disabled={readOnly} onChange={(r) => setSetting({ review: r }, "review")} />
      <section className="border-t border-stone-200 pt-3">
        <RulesEditor what="across fields" rules={doc.rules ?? []} names={names} disabled={readOnly} onChange={(r) => set({ rules: r }, "rules")} />
      </section>
    </div>
  );
}

interface Review {
  team?: string;
  assign?: "team" | "user" | "round_robin" | "least_loaded";
  assignee?: string;
  sla?: string;
  four_eyes_if?: string;
  title?: string;
  [key: string]: unknown;
}

const ASSIGN_WORDS = { team: "Whoever in the team takes it", round_robin: "The team's members in turn", least_loaded: "The member with the fewest open items", user: "One person" } as const;

/** Review on: every response goes into a review queue by itself (the Reviews page), no workflow needed. */
function ReviewSettings({ review, disabled, onChange }: { review: Review | undefined; disabled: boolean; onChange: (r: Review | undefined) => void }) {
  const on = !!review;
  const uid = useId();
  const change = (patch: Partial<Review>) => {
    const next: Review = { ...(review ?? {}) };
    for (const [k, v] of Object.entries(patch)) {
      if (v === undefined || v === "") delete next[k];
      else next[k] = v;
    }
    onChange(next);
  };
  return (
    <section className="space-y-3 border-t border-stone-200 pt-3" data-testid="form-review-settings">
      <h3 className="text-xs font-semibold tracking-wide text-stone-500 uppercase">Review</h3>
      <ToggleSetting label="Review each response" hint="Every response waits in a review queue for a person's decision." checked={on} disabled={disabled} onChange={(v) => onChange(v ? { assign: "team" } : undefined)} />
      {on && (
        <>
          <TeamSetting value={review?.team} disabled={disabled} onChange={(v) => change({ team: v })} />
          <div className="space-y-1">
            <label htmlFor={`${uid}-assign`} className="block text-xs font-medium text-stone-700">
              Who reviews
            </label>
            <Select id={`${uid}-assign`} value={review?.assign ?? "team"} disabled={disabled} onChange={(e) => change({ assign: e.target.value as Review["assign"] })}>
              {Object.entries(ASSIGN_WORDS).map(([k, v]) => (
                <option key={k} value={k}>
                  {v}
                </option>
              ))}
            </Select>
          </div>
          {review?.assign === "user" && <TextSetting label="Reviewer's email" value={review.assignee} disabled={disabled} onChange={(v) => change({ assignee: v })} />}
          <TextSetting label="Time to review" value={review?.sla} placeholder="2d" hint="After it the item is escalated: 8h, 2d, P1W." disabled={disabled} onChange={(v) => change({ sla: v })} />
          <TextSetting label="Second approver when" mono value={review?.four_eyes_if} placeholder="item.total_emissions > 1000" hint="Four eyes: when this holds, two different people approve." disabled={disabled} onChange={(v) => change({ four_eyes_if: v })} />
          <TextSetting label="Shown in the queue as" mono value={review?.title} placeholder="{{ item.company_name }}" disabled={disabled} onChange={(v) => change({ title: v })} />
        </>
      )}
    </section>
  );
}

function TeamSetting({ value, disabled, onChange }: { value: string | undefined; disabled: boolean; onChange: (v: string) => void }) {
  const id = useId();
  return (
    <div className="space-y-1">
      <label htmlFor={id} className="block text-xs font-medium text-stone-700">
        Team
      </label>
      <Input id={id} list={`${id}-teams`} value={value ?? ""} disabled={disabled} placeholder="The team whose members review" onChange={(e) => onChange(e.target.value)} />
      <Suggestions id={`${id}-teams`} format="team" />
    </div>
  );
}
