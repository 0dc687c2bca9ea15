/**
 * The responses list's filters as the query string holds them (`?form=…&status=…&recipient=…`),
 * so that coming back to the list (back button, the detail's back link, a reload) shows the same
 * rows. Tested in filters.test.ts.
 */
import type { ResponseQuery } from "../../client/api";
import { patchParams } from "../../lib/params";
import { dayBound } from "../runs/RunsPage";

export interface ResponseFilters {
  form: string;
  version: string;
  status: string;
  recipient: string;
  campaign: string;
  /** Days as the date inputs give them, `yyyy-mm-dd`. */
  since: string;
  until: string;
}

const KEYS = ["form", "version", "status", "recipient", "campaign", "since", "until"] as const;

export function readFilters(params: URLSearchParams): ResponseFilters {
  return Object.fromEntries(KEYS.map((k) => [k, params.get(k) ?? ""])) as unknown as ResponseFilters;
}

export function isFiltered(f: ResponseFilters): boolean {
  return KEYS.some((k) => f[k] !== "");
}

/** The query string after a change of filters; another form drops the version chosen. */
export function changeFilters(params: URLSearchParams, patch: Partial<ResponseFilters> & { page?: string }): URLSearchParams {
  const next = patchParams(params, patch);
  if ("form" in patch && patch.form !== params.get("form") && !("version" in patch)) next.delete("version");
  return next;
}

/** The API query for the filters (without the page), as the list and the exports send it. */
export function responseQuery(f: ResponseFilters): ResponseQuery {
  return {
    form: f.form || undefined,
    version: f.version || undefined,
    status: f.status || undefined,
    recipient: f.recipient || undefined,
    campaign: f.campaign || undefined,
    since: dayBound(f.since, false),
    until: dayBound(f.until, true),
  };
}
