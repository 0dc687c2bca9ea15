/**
 * The field palette: every field type of DESIGN §7. Drag one onto the outline to put it there,
 * or click it (Enter) to add it after the selected field.
 */
import {
  AlignLeft,
  AtSign,
  Binary,
  Calendar,
  CircleDot,
  Hash,
  Heading,
  Link,
  ListChecks,
  Paperclip,
  Phone,
  Rows3,
  ToggleLeft,
  Type,
  type LucideIcon,
} from "lucide-react";
import { FIELD_LABELS, FIELD_TYPES, type FieldType } from "../schema";
import { startDrag } from "./drag";

export const FIELD_ICONS: Record<FieldType, LucideIcon> = {
  text: Type,
  long_text: AlignLeft,
  number: Hash,
  integer: Binary,
  email: AtSign,
  phone: Phone,
  url: Link,
  date: Calendar,
  select: CircleDot,
  multi_select: ListChecks,
  boolean: ToggleLeft,
  file: Paperclip,
  table: Rows3,
  section: Heading,
};

export const FIELD_HINTS: Record<FieldType, string> = {
  text: "One line of text",
  long_text: "Several lines of text",
  number: "A number, with a unit",
  integer: "A whole number",
  email: "An email address",
  phone: "A phone number",
  url: "A web address",
  date: "A date",
  select: "One of a list of options",
  multi_select: "Several of a list of options",
  boolean: "Yes or no",
  file: "Upload a document or image",
  table: "Rows with their own fields, e.g. sites or line items",
  section: "A heading with some text",
};

export function TypeIcon({ type, className = "size-4" }: { type: FieldType; className?: string }) {
  const Icon = FIELD_ICONS[type] ?? Type;
  return <Icon className={className} aria-hidden />;
}

export function Palette({ onAdd, disabled }: { onAdd: (type: FieldType) => void; disabled?: boolean }) {
  return (
    <aside aria-label="Field types" className="flex w-48 shrink-0 flex-col border-r border-stone-200 bg-white">
      <h2 className="px-3 pt-3 pb-1 text-xs font-semibold tracking-wide text-stone-500 uppercase">Add a field</h2>
      <p className="px-3 pb-2 text-xs text-stone-500">Drag onto the form, or click.</p>
      <ul className="flex-1 space-y-0.5 overflow-y-auto px-2 pb-3">
        {FIELD_TYPES.map((type) => (
          <li key={type}>
            <button
              type="button"
              draggable={!disabled}
              disabled={disabled}
              data-testid="palette-field"
              data-field-type={type}
              title={FIELD_HINTS[type]}
              onDragStart={(e) => startDrag(e, { kind: "new", type })}
              onClick={() => onAdd(type)}
              className="flex h-8 w-full cursor-grab items-center gap-2 rounded-md px-2 text-left text-sm text-stone-700 hover:bg-stone-100 hover:text-stone-900 active:cursor-grabbing disabled:cursor-not-allowed disabled:opacity-50"
            >
              <span className="flex size-6 items-center justify-center rounded bg-stone-100 text-stone-600">
                <TypeIcon type={type} className="size-3.5" />
              </span>
              {FIELD_LABELS[type]}
            </button>
          </li>
        ))}
      </ul>
    </aside>
  );
}
