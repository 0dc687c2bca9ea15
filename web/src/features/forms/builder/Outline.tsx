/**
 * The form's outline: its pages and their fields as cards, in order. A card is selected by a
 * click (or Enter), dragged to another place (or moved with its arrow buttons, Alt+↑/↓), and
 * carries its problems. A repeating group's card holds its own fields, which move within it.
 */
import { useMemo, useState, type DragEvent } from "react";
import { AlertCircle, ArrowDown, ArrowUp, Copy, EyeOff, FilePlus2, GripVertical, Lock, Plus, Settings2, Trash2 } from "lucide-react";
import { cx } from "../../../lib/cx";
import { confirm } from "../../../lib/confirm";
import { FIELD_LABELS, FIELD_TYPES, fieldTitle, type FieldType } from "../schema";
import { TypeIcon } from "./Palette";
import { dragging, dropped, endDrag, startDrag } from "./drag";
import {
  addField,
  addPage,
  duplicateField,
  localProblems,
  moveField,
  movePage,
  nudgeField,
  removeField,
  removePage,
  type BField,
  type BPage,
  type BuilderProblem,
  type Place,
} from "./state";
import { useBuilder, useBuilderStore } from "./store";

type Indicator = { list: string; index: number } | null;
const listKey = (place: Place) => (place.table ? `${place.page}/${place.table}` : place.page);

export function useProblemsByUid(): Map<string | null, BuilderProblem[]> {
  const doc = useBuilder((s) => s.doc);
  const server = useBuilder((s) => s.problems);
  return useMemo(() => {
    const out = new Map<string | null, BuilderProblem[]>();
    for (const p of [...server, ...localProblems(doc)]) {
      const list = out.get(p.uid) ?? [];
      if (!list.some((x) => x.message === p.message)) list.push(p);
      out.set(p.uid, list);
    }
    return out;
  }, [doc, server]);
}

export function Outline() {
  const doc = useBuilder((s) => s.doc);
  const selected = useBuilder((s) => s.selected);
  const readOnly = useBuilder((s) => s.readOnly);
  const store = useBuilderStore();
  const problems = useProblemsByUid();
  const [indicator, setIndicator] = useState<Indicator>(null);
  const formProblems = problems.get(null) ?? [];

  const accepts = (place: Place): boolean => {
    const d = dragging();
    if (!d || readOnly) return false;
    if (place.table) return d.kind === "new" ? d.type !== "table" : d.table;
    return d.kind === "new" || !d.table;
  };

  const drop = (e: DragEvent, place: Place, index: number) => {
    e.preventDefault();
    e.stopPropagation();
    setIndicator(null);
    const d = dropped(e);
    if (!d) return;
    const s = store.getState();
    if (d.kind === "new") {
      let made = "";
      s.change((doc) => {
        const [next, id] = addField(doc, d.type, place, index);
        made = id;
        return next;
      });
      if (made) s.select({ kind: "field", uid: made });
    } else {
      s.change((doc) => moveField(doc, d.uid, place, index));
      s.select({ kind: "field", uid: d.uid });
    }
  };

  const listProps = (place: Place, length: number) => ({
    onDragOver: (e: DragEvent) => {
      if (!accepts(place)) return;
      e.preventDefault();
      e.stopPropagation();
      // over the list itself (not a card): the end of the list
      if (e.target === e.currentTarget) setIndicator({ list: listKey(place), index: length });
    },
    onDrop: (e: DragEvent) => {
      if (!accepts(place)) return;
      const at = indicator && indicator.list === listKey(place) ? indicator.index : length;
      drop(e, place, at);
    },
  });

  return (
    <div className="space-y-4 p-4" onDragEnd={() => (setIndicator(null), endDrag())} onDragLeave={(e) => !e.currentTarget.contains(e.relatedTarget as Node) && setIndicator(null)}>
      <button
        type="button"
        onClick={() => store.getState().select({ kind: "form" })}
        className={cx(
          "block w-full rounded-lg border bg-white px-4 py-3 text-left shadow-xs",
          selected.kind === "form" ? "border-brand-600 ring-2 ring-brand-600/20" : "border-stone-200 hover:border-stone-300",
        )}
        data-testid="form-card"
      >
        <div className="flex items-center justify-between gap-2">
          <span className="truncate text-base font-semibold text-stone-900">{doc.title || "Untitled form"}</span>
          <Settings2 className="size-4 shrink-0 text-stone-400" aria-hidden />
        </div>
        <div className="mt-0.5 font-mono text-xs text-stone-500">{doc.name || "no name yet"}</div>
        {formProblems.length > 0 && <ProblemLine problems={formProblems} />}
      </button>

      {doc.pages.map((page, pi) => {
        const place = { page: page._uid };
        const pageProblems = problems.get(page._uid) ?? [];
        return (
          <section key={page._uid} aria-label={`Page ${pi + 1}: ${page.title || page.id}`} className="rounded-lg border border-stone-200 bg-stone-50/80" data-testid="outline-page">
            <div
              className={cx(
                "flex items-center gap-2 rounded-t-lg border-b px-3 py-2",
                selected.kind === "page" && selected.uid === page._uid ? "border-brand-600 bg-brand-50" : "border-stone-200 bg-white",
              )}
            >
              <button type="button" className="min-w-0 flex-1 text-left" onClick={() => store.getState().select({ kind: "page", uid: page._uid })} data-testid="page-card">
                <span className="text-xs font-medium text-stone-500">Page {pi + 1}</span>
                <span className="ml-2 truncate text-sm font-semibold text-stone-800">{page.title || page.id}</span>
                {page.visible_if && (
                  <span className="ml-2 inline-flex items-center gap-1 rounded bg-amber-50 px-1.5 text-xs text-amber-800" title={`Shown only if ${page.visible_if}`}>
                    <EyeOff className="size-3" aria-hidden /> conditional
                  </span>
                )}
                {pageProblems.length > 0 && <ProblemLine problems={pageProblems} />}
              </button>
              {!readOnly && (
                <div className="flex shrink-0 items-center">
                  <SmallButton label={`Move page ${pi + 1} up`} disabled={pi === 0} onClick={() => store.getState().change((d) => movePage(d, page._uid, -1))}>
                    <ArrowUp className="size-3.5" />
                  </SmallButton>
                  <SmallButton label={`Move page ${pi + 1} down`} disabled={pi === doc.pages.length - 1} onClick={() => store.getState().change((d) => movePage(d, page._uid, 1))}>
                    <ArrowDown className="size-3.5" />
                  </SmallButton>
                  <SmallButton
                    label={`Delete page ${pi + 1}`}
                    disabled={doc.pages.length <= 1}
                    onClick={async () => {
                      if (
                        page.fields.length &&
                        !(await confirm({
                          title: `Delete page “${page.title || page.id}”?`,
                          message: `Its ${page.fields.length} field${page.fields.length === 1 ? "" : "s"} are deleted with it.`,
                          confirmLabel: "Delete",
                          danger: true,
                        }))
                      )
                        return;
                      store.getState().change((d) => removePage(d, page._uid));
                      store.getState().select({ kind: "form" });
                    }}
                  >
                    <Trash2 className="size-3.5" />
                  </SmallButton>
                </div>
              )}
            </div>
            <ol className="min-h-12 space-y-1.5 p-2" {...listProps(place, page.fields.length)} data-testid="page-fields">
              {page.fields.map((f, i) => (
                <FieldCard key={f._uid} field={f} place={place} index={i} page={page} indicator={indicator} setIndicator={setIndicator} accepts={accepts} drop={drop} problems={problems} />
              ))}
              <DropLine show={indicator?.list === listKey(place) && indicator.index === page.fields.length} />
              {page.fields.length === 0 && <li className="rounded-md border border-dashed border-stone-300 px-3 py-3 text-center text-xs text-stone-500">Drop a field here</li>}
            </ol>
          </section>
        );
      })}

      {!readOnly && (
        <button
          type="button"
          className="flex h-9 w-full items-center justify-center gap-1.5 rounded-lg border border-dashed border-stone-300 text-sm font-medium text-stone-600 hover:border-stone-400 hover:bg-white"
          onClick={() => {
            let made = "";
            store.getState().change((d) => {
              const [next, id] = addPage(d);
              made = id;
              return next;
            });
            store.getState().select({ kind: "page", uid: made });
          }}
        >
          <FilePlus2 className="size-4" aria-hidden /> Add a page
        </button>
      )}
    </div>
  );
}

function DropLine({ show }: { show: boolean }) {
  return show ? <li aria-hidden className="h-0.5 rounded bg-brand-600" /> : null;
}

function ProblemLine({ problems }: { problems: BuilderProblem[] }) {
  return (
    <span className="mt-1 flex items-start gap-1 text-xs font-normal text-red-700" data-testid="card-problem">
      <AlertCircle className="mt-px size-3.5 shrink-0" aria-hidden />
      <span>
        {problems[0].message}
        {problems.length > 1 && ` (+${problems.length - 1} more)`}
      </span>
    </span>
  );
}

function SmallButton({ label, onClick, disabled, children }: { label: string; onClick: () => void; disabled?: boolean; children: React.ReactNode }) {
  return (
    <button
      type="button"
      title={label}
      aria-label={label}
      disabled={disabled}
      onClick={(e) => {
        e.stopPropagation();
        onClick();
      }}
      className="inline-flex size-7 items-center justify-center rounded text-stone-500 hover:bg-stone-200 hover:text-stone-900 disabled:opacity-30"
    >
      {children}
    </button>
  );
}

function FieldCard({
  field,
  place,
  index,
  page,
  indicator,
  setIndicator,
  accepts,
  drop,
  problems,
}: {
  field: BField;
  place: Place;
  index: number;
  page: BPage;
  indicator: Indicator;
  setIndicator: (i: Indicator) => void;
  accepts: (place: Place) => boolean;
  drop: (e: DragEvent, place: Place, index: number) => void;
  problems: Map<string | null, BuilderProblem[]>;
}) {
  const store = useBuilderStore();
  const readOnly = useBuilder((s) => s.readOnly);
  const isSelected = useBuilder((s) => s.selected.kind === "field" && s.selected.uid === field._uid);
  const mine = problems.get(field._uid) ?? [];
  const key = listKey(place);
  const title = fieldTitle(field);
  const select = () => store.getState().select({ kind: "field", uid: field._uid });
  const columnsPlace: Place = { page: place.page, table: field._uid };
  const columns = field.fields ?? [];

  return (
    <>
      <DropLine show={indicator?.list === key && indicator.index === index} />
      <li
        draggable={!readOnly}
        onDragStart={(e) => {
          e.stopPropagation();
          startDrag(e, { kind: "move", uid: field._uid, table: !!place.table });
        }}
        onDragOver={(e) => {
          if (!accepts(place)) return;
          e.preventDefault();
          e.stopPropagation();
          const box = e.currentTarget.getBoundingClientRect();
          const after = e.clientY > box.top + Math.min(box.height / 2, 24);
          setIndicator({ list: key, index: after ? index + 1 : index });
        }}
        onDrop={(e) => {
          if (!accepts(place)) return;
          drop(e, place, indicator && indicator.list === key ? indicator.index : index);
        }}
        data-testid="field-card"
        data-field-id={field.id}
        className={cx(
          "group rounded-md border bg-white shadow-xs",
          isSelected ? "border-brand-600 ring-2 ring-brand-600/20" : mine.length ? "border-red-300" : "border-stone-200 hover:border-stone-300",
        )}
      >
        <div className="flex items-start gap-1.5 py-1.5 pr-1 pl-1">
          <GripVertical className="mt-1.5 size-4 shrink-0 cursor-grab text-stone-300 group-hover:text-stone-500" aria-hidden />
          <button
            type="button"
            className="flex min-w-0 flex-1 items-start gap-2 text-left"
            onClick={select}
            onKeyDown={(e) => {
              if (e.altKey && (e.key === "ArrowUp" || e.key === "ArrowDown")) {
                e.preventDefault();
                store.getState().change((d) => nudgeField(d, field._uid, e.key === "ArrowUp" ? -1 : 1));
                setTimeout(() => (document.querySelector(`[data-uid="${field._uid}"]`) as HTMLElement | null)?.focus(), 0);
              }
            }}
            data-uid={field._uid}
            aria-label={`${title}, ${FIELD_LABELS[field.type] ?? field.type}${field.required ? ", required" : ""}`}
            aria-current={isSelected || undefined}
          >
            <span className="mt-0.5 flex size-6 shrink-0 items-center justify-center rounded bg-stone-100 text-stone-600">
              <TypeIcon type={field.type} className="size-3.5" />
            </span>
            <span className="min-w-0 flex-1">
              <span className="line-clamp-2 block text-sm font-medium break-words text-stone-800">
                {title}
                {field.required && <span className="ml-0.5 text-red-600">*</span>}
              </span>
              <span className="flex flex-wrap items-center gap-x-2 text-xs text-stone-500">
                <span className="font-mono">{field.id}</span>
                {field.unit && <span>{field.unit}</span>}
                {field.visible_if && (
                  <span className="flex max-w-full min-w-0 items-center gap-0.5 text-amber-700" title={`Shown only if ${field.visible_if}`}>
                    <EyeOff className="size-3 shrink-0" aria-hidden /> <span className="truncate">if {field.visible_if}</span>
                  </span>
                )}
                {field.sensitive && (
                  <span className="inline-flex items-center gap-0.5" title="Sensitive: encrypted and masked">
                    <Lock className="size-3" aria-hidden /> sensitive
                  </span>
                )}
              </span>
              {mine.length > 0 && <ProblemLine problems={mine} />}
            </span>
          </button>
        </div>
          {!readOnly && isSelected && (
            <div className="flex justify-end border-t border-stone-100 px-1 py-0.5" data-testid="card-actions">
              <SmallButton label={`Move ${title} up`} onClick={() => store.getState().change((d) => nudgeField(d, field._uid, -1))}>
                <ArrowUp className="size-3.5" />
              </SmallButton>
              <SmallButton label={`Move ${title} down`} onClick={() => store.getState().change((d) => nudgeField(d, field._uid, 1))}>
                <ArrowDown className="size-3.5" />
              </SmallButton>
              <SmallButton
                label={`Duplicate ${title}`}
                onClick={() => {
                  let made = "";
                  store.getState().change((d) => {
                    const [next, id] = duplicateField(d, field._uid);
                    made = id;
                    return next;
                  });
                  if (made) store.getState().select({ kind: "field", uid: made });
                }}
              >
                <Copy className="size-3.5" />
              </SmallButton>
              <SmallButton
                label={`Delete ${title}`}
                onClick={() => {
                  store.getState().change((d) => removeField(d, field._uid));
                  store.getState().select(place.table ? { kind: "field", uid: place.table } : { kind: "page", uid: page._uid });
                }}
              >
                <Trash2 className="size-3.5" />
              </SmallButton>
            </div>
          )}

        {field.type === "table" && (
          <div className="mr-2 mb-2 ml-7 rounded-md border border-stone-200 bg-stone-50 p-1.5" data-testid="table-columns">
            <p className="px-1 pb-1 text-xs font-medium text-stone-500">Fields of each row</p>
            <ol
              className="min-h-8 space-y-1"
              onDragOver={(e) => {
                if (!accepts(columnsPlace)) return;
                e.preventDefault();
                e.stopPropagation();
                if (e.target === e.currentTarget) setIndicator({ list: listKey(columnsPlace), index: columns.length });
              }}
              onDrop={(e) => {
                if (!accepts(columnsPlace)) return;
                const k = listKey(columnsPlace);
                drop(e, columnsPlace, indicator && indicator.list === k ? indicator.index : columns.length);
              }}
            >
              {columns.map((c, ci) => (
                <FieldCard key={c._uid} field={c} place={columnsPlace} index={ci} page={page} indicator={indicator} setIndicator={setIndicator} accepts={accepts} drop={drop} problems={problems} />
              ))}
              <DropLine show={indicator?.list === listKey(columnsPlace) && indicator.index === columns.length} />
            </ol>
            {!readOnly && <AddColumn tableUid={field._uid} place={columnsPlace} title={title} />}
          </div>
        )}
      </li>
    </>
  );
}

function AddColumn({ place, title }: { tableUid: string; place: Place; title: string }) {
  const store = useBuilderStore();
  return (
    <label className="mt-1 flex items-center gap-1.5 px-1 text-xs text-stone-600">
      <Plus className="size-3.5" aria-hidden />
      <span className="sr-only">Add a field to each row of {title}</span>
      <select
        aria-label={`Add a field to each row of ${title}`}
        className="h-7 flex-1 rounded border border-stone-300 bg-white px-1 text-xs"
        value=""
        onChange={(e) => {
          const type = e.target.value as FieldType;
          if (!type) return;
          let made = "";
          store.getState().change((d) => {
            const [next, id] = addField(d, type, place);
            made = id;
            return next;
          });
          if (made) store.getState().select({ kind: "field", uid: made });
        }}
      >
        <option value="">Add a field to each row…</option>
        {FIELD_TYPES.filter((t) => t !== "table").map((t) => (
          <option key={t} value={t}>
            {FIELD_LABELS[t]}
          </option>
        ))}
      </select>
    </label>
  );
}
