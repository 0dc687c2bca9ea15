/**
 * List filters kept in the address's query string, so back, forward and reload keep them (as the
 * reviews and responses lists do). `patchParams` changes some of them; `useParamText` is a search
 * box that writes to the query string once the user stops typing; `backTo` is where a detail
 * page's back link goes: the list as the user left it. The pure parts are tested in params.test.ts.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { useSearchParams } from "react-router";

/**
 * A copy of the query string with the patch applied: an empty value removes its key, and a change
 * of filters starts again on page 1 unless the patch names the page.
 */
export function patchParams(params: URLSearchParams, patch: Record<string, string | undefined>): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const [key, value] of Object.entries(patch)) {
    if (value) next.set(key, value);
    else next.delete(key);
  }
  if (!("page" in patch)) next.delete("page");
  return next;
}

/** The page number in the query string: 1 unless it holds a whole number above 1. */
export function pageParam(params: URLSearchParams): number {
  return Math.max(1, Math.floor(Number(params.get("page") ?? 1)) || 1);
}

/**
 * What a search box shows after the query string changed: the text being typed when the new value
 * is that text (the box's own write came back), else nothing (`null`: show the query string's
 * value), because someone else changed it (back, forward, a link, "Clear filters").
 */
export function keptDraft(draft: string | null, urlValue: string): string | null {
  return draft !== null && draft.trim() === urlValue ? draft : null;
}

/** One pending call at a time: scheduling again replaces the call waiting. */
export function debouncer(delay: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return {
    schedule(fn: () => void) {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        fn();
      }, delay);
    },
    cancel() {
      clearTimeout(timer);
      timer = undefined;
    },
    get pending() {
      return timer !== undefined;
    },
  };
}

/**
 * A text filter kept in the query string under `key`. The box starts from the query string's value
 * and follows it when it changes from outside; what the user types is written `delay` ms after the
 * last key, trimmed, over the query string as it is then (never over filters set meanwhile). A
 * write waiting is dropped when the query string changes from outside, on `reset`, and when the
 * page goes away, so an old text is never written back.
 */
export function useParamText(key: string, delay = 350) {
  const [params, setParams] = useSearchParams();
  const urlValue = params.get(key) ?? "";
  const [draft, setDraft] = useState<string | null>(null);
  const [wait] = useState(() => debouncer(delay));
  const latest = useRef({ params, setParams, draft });
  useEffect(() => {
    latest.current = { params, setParams, draft };
  });

  useEffect(() => {
    if (keptDraft(latest.current.draft, urlValue) !== null) return;
    wait.cancel();
    setDraft(null);
  }, [urlValue, wait]);
  useEffect(() => () => wait.cancel(), [wait]);

  const onChange = useCallback(
    (text: string) => {
      setDraft(text);
      wait.schedule(() => {
        const { params: now, setParams: write } = latest.current;
        if (text.trim() !== (now.get(key) ?? "")) write(patchParams(now, { [key]: text.trim() }), { replace: true });
      });
    },
    [key, wait],
  );
  const reset = useCallback(() => {
    wait.cancel();
    setDraft(null);
  }, [wait]);

  return { value: draft ?? urlValue, onChange, reset };
}

/** Location state a list passes to the page it opens, so that page's back link returns to it. */
export interface FromList {
  from: string;
}

/** Where a back link goes: the list address the page was opened from, else the bare list. */
export function backTo(state: unknown, list: string): string {
  const from = state && typeof state === "object" ? (state as Partial<FromList>).from : undefined;
  if (typeof from !== "string") return list;
  return from === list || from.startsWith(`${list}?`) ? from : list;
}
