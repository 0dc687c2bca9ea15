/** Editor behaviours that are not drawing: live problems, run polling, shortcuts, unsaved warning. */
import { useEffect, useRef, useState } from "react";
import { useBlocker } from "react-router";
import { useQuery } from "@tanstack/react-query";
import { getRun, validateDefinition } from "../../client/api";
import type { Run, RunStatus } from "../../client/types";
import { confirm } from "../../lib/confirm";
import { slugify } from "../../lib/slug";
import type { EditorState, EditorStore } from "./store";

/** Whether the graph's content (not positions or selection) differs between two states. */
export function contentChanged(a: EditorState, b: EditorState): boolean {
  if (a.meta !== b.meta || a.edges.length !== b.edges.length || a.nodes.length !== b.nodes.length) return true;
  for (let i = 0; i < a.nodes.length; i++) if (a.nodes[i].data !== b.nodes[i].data || a.nodes[i].id !== b.nodes[i].id) return true;
  for (let i = 0; i < a.edges.length; i++) if (a.edges[i].id !== b.edges[i].id) return true;
  return false;
}

/**
 * Sends the definition to `POST /api/workflows/validate` a moment after each change and puts
 * the problems on the nodes. Answers that arrive after a newer request are dropped.
 */
export function useLiveProblems(store: EditorStore, enabled: boolean, delay = 600): { checking: boolean; failed: boolean } {
  const [checking, setChecking] = useState(false);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    if (!enabled) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let seq = 0;
    const check = () => {
      const mine = ++seq;
      setChecking(true);
      const def = store.getState().definition();
      // A new workflow gets its id at the first save; check it as it will be.
      if (!def.id) def.id = slugify(def.name || "workflow");
      if (!def.nodes.length) {
        store.getState().setProblems([]);
        setChecking(false);
        return;
      }
      validateDefinition(def)
        .then((answer) => {
          if (mine !== seq) return;
          store.getState().setProblems(answer.problems ?? []);
          setFailed(false);
        })
        .catch(() => mine === seq && setFailed(true))
        .finally(() => mine === seq && setChecking(false));
    };
    const schedule = () => {
      clearTimeout(timer);
      timer = setTimeout(check, delay);
    };
    if (store.getState().nodes.length) schedule();
    const unsubscribe = store.subscribe((state, prev) => {
      if (state.specsLoaded !== prev.specsLoaded || contentChanged(state, prev)) schedule();
    });
    return () => {
      unsubscribe();
      clearTimeout(timer);
      seq++;
    };
  }, [store, enabled, delay]);
  return { checking, failed };
}

export const isActive = (status: RunStatus | undefined) => status === "pending" || status === "running";

/** Polls a run every 500 ms while it is pending or running, and shows it on the canvas. */
export function useRunPolling(store: EditorStore, runId: string | null) {
  const query = useQuery({
    queryKey: ["run", runId],
    queryFn: () => getRun(runId!),
    enabled: !!runId,
    refetchInterval: (q) => (isActive((q.state.data as Run | undefined)?.status) ? 500 : false),
    staleTime: 0,
  });
  useEffect(() => {
    if (query.data) store.getState().setRun(query.data);
  }, [store, query.data]);
  return query;
}

function typing(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

export interface ShortcutActions {
  save?: () => void;
  copy: () => void;
  paste: () => void;
  cut: () => void;
  selectAll: () => void;
}

/** Ctrl/⌘ + Z, Shift+Z / Y, C, X, V, A, S. Inside text fields the browser's own keys win (except save). */
export function useShortcuts(store: EditorStore, actions: ShortcutActions) {
  const ref = useRef(actions);
  ref.current = actions;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod || e.altKey) return;
      const key = e.key.toLowerCase();
      if (key === "s") {
        e.preventDefault();
        ref.current.save?.();
        return;
      }
      if (typing(e.target) || document.querySelector("[role=dialog]")) return;
      const s = store.getState();
      if (key === "z" && !e.shiftKey) s.undo();
      else if ((key === "z" && e.shiftKey) || key === "y") s.redo();
      else if (key === "c") ref.current.copy();
      else if (key === "x") ref.current.cut();
      else if (key === "v") ref.current.paste();
      else if (key === "a") ref.current.selectAll();
      else return;
      e.preventDefault();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [store]);
}

/** Warns before leaving with unsaved changes: closing the tab, and navigating inside the app. */
export function useUnsavedWarning(store: EditorStore, dirty: boolean) {
  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => {
      e.preventDefault();
      e.returnValue = "";
    };
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [dirty]);

  // Read from the store, not the render: a save that navigates right away is not blocked.
  const blocker = useBlocker(
    ({ currentLocation, nextLocation }) =>
      store.getState().dirty &&
      !store.getState().readOnly &&
      currentLocation.pathname !== nextLocation.pathname &&
      nextLocation.pathname !== "/login", // an ended session cannot be stayed in
  );
  useEffect(() => {
    if (blocker.state !== "blocked") return;
    let live = true;
    confirm({
      title: "Leave without saving?",
      message: "This workflow has changes that are not saved. They will be lost.",
      confirmLabel: "Leave",
      cancelLabel: "Stay",
      danger: true,
    }).then((ok) => {
      if (!live) return;
      if (ok) blocker.proceed();
      else blocker.reset();
    });
    return () => {
      live = false;
    };
  }, [blocker]);
}
