/**
 * The form builder's one store (zustand), made per builder and provided through context;
 * components read it with selectors. It holds the document being edited, what is selected,
 * the undo history (consecutive edits of one setting within a moment are one step), the
 * server's problems from the last save, and the saved version the document started from.
 */
import { createContext, useContext } from "react";
import { createStore, type StoreApi } from "zustand/vanilla";
import { useStore } from "zustand";
import type { BDoc, BuilderProblem } from "./state";

export type Selection = { kind: "field"; uid: string } | { kind: "page"; uid: string } | { kind: "form" };

export interface SavedVersion {
  key: string;
  name: string;
  version: string;
}

export interface BuilderState {
  doc: BDoc;
  selected: Selection;
  dirty: boolean;
  saved: SavedVersion | null;
  problems: BuilderProblem[];
  past: BDoc[];
  future: BDoc[];
  lastCommit: { key: string; at: number } | null;
  readOnly: boolean;
  /** Applies a change; `key` merges quick edits of the same setting into one undo step. */
  change: (fn: (doc: BDoc) => BDoc, key?: string) => void;
  select: (selection: Selection) => void;
  undo: () => void;
  redo: () => void;
  setProblems: (problems: BuilderProblem[]) => void;
  markSaved: (saved: SavedVersion, doc?: BDoc) => void;
}

export const HISTORY_LIMIT = 100;
const COALESCE_MS = 1200;

export function createBuilderStore(doc: BDoc, saved: SavedVersion | null, readOnly = false, now: () => number = Date.now): StoreApi<BuilderState> {
  return createStore<BuilderState>((set, get) => ({
    doc,
    selected: { kind: "form" },
    dirty: false,
    saved,
    problems: [],
    past: [],
    future: [],
    lastCommit: null,
    readOnly,
    change(fn, key) {
      const s = get();
      if (s.readOnly) return;
      const next = fn(s.doc);
      if (next === s.doc) return;
      const t = now();
      const merge = key !== undefined && s.lastCommit?.key === key && t - s.lastCommit.at < COALESCE_MS;
      // a setting changed: the server's problems on its field or page are the server's to say again
      const owner = key?.split(":")[0];
      const problems = owner ? s.problems.filter((p) => p.uid !== (owner === "form" ? null : owner)) : s.problems;
      set({
        problems,
        doc: next,
        dirty: true,
        past: merge ? s.past : [...s.past, s.doc].slice(-HISTORY_LIMIT),
        future: [],
        lastCommit: key !== undefined ? { key, at: t } : null,
      });
    },
    select(selection) {
      set({ selected: selection });
    },
    undo() {
      const s = get();
      const prev = s.past.at(-1);
      if (!prev) return;
      set({ doc: prev, past: s.past.slice(0, -1), future: [s.doc, ...s.future], dirty: true, lastCommit: null });
    },
    redo() {
      const s = get();
      const next = s.future[0];
      if (!next) return;
      set({ doc: next, past: [...s.past, s.doc], future: s.future.slice(1), dirty: true, lastCommit: null });
    },
    setProblems(problems) {
      set({ problems });
    },
    markSaved(saved, doc) {
      set({ saved, dirty: false, problems: [], ...(doc ? { doc } : {}) });
    },
  }));
}

export const BuilderContext = createContext<StoreApi<BuilderState> | null>(null);

export function useBuilderStore(): StoreApi<BuilderState> {
  const store = useContext(BuilderContext);
  if (!store) throw new Error("useBuilder outside a form builder");
  return store;
}

export function useBuilder<T>(selector: (s: BuilderState) => T): T {
  return useStore(useBuilderStore(), selector);
}
