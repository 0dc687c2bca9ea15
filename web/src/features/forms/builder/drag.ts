/**
 * Drag and drop in the builder (the browser's own): what is being dragged, a new field from
 * the palette or a field of the outline. The payload is kept here too, because a drop target
 * cannot read the drag's data before the drop.
 */
import type { DragEvent } from "react";
import type { FieldType } from "../schema";

export type DragPayload = { kind: "new"; type: FieldType } | { kind: "move"; uid: string; table: boolean };

const MIME = "application/x-datacollect-field";
let current: DragPayload | null = null;

export function startDrag(e: DragEvent, payload: DragPayload): void {
  current = payload;
  e.dataTransfer.setData(MIME, JSON.stringify(payload));
  e.dataTransfer.setData("text/plain", payload.kind === "new" ? payload.type : payload.uid);
  e.dataTransfer.effectAllowed = payload.kind === "new" ? "copy" : "move";
}

export function endDrag(): void {
  current = null;
}

/** What is being dragged over the page, if it is ours. */
export function dragging(): DragPayload | null {
  return current;
}

/** What was dropped, if it is ours. */
export function dropped(e: DragEvent): DragPayload | null {
  const text = e.dataTransfer.getData(MIME);
  const payload = text ? (JSON.parse(text) as DragPayload) : current;
  current = null;
  return payload;
}
