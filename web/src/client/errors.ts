/**
 * API errors. The server always answers `{"error": {"code", "message", "details"}}`;
 * `ApiError` carries that, and `errorMessage` turns any thrown value into words for a person.
 */
import type { Problem } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** The problems of an `invalid_definition` answer (or any answer whose details are problems). */
  get problems(): Problem[] {
    return asProblems(this.details);
  }
}

export function asProblems(details: unknown): Problem[] {
  if (!Array.isArray(details)) return [];
  return details
    .filter((d): d is Record<string, unknown> => !!d && typeof d === "object" && "message" in d)
    .map((d) => ({
      node_id: typeof d.node_id === "string" ? d.node_id : null,
      field: typeof d.field === "string" ? d.field : null,
      message: String(d.message),
    }));
}

const STATUS_WORDS: Record<number, string> = {
  400: "The request was not accepted.",
  401: "Your session has ended. Please sign in again.",
  403: "You do not have permission to do this.",
  404: "This was not found. It may have been deleted.",
  409: "This conflicts with a change made elsewhere. Reload and try again.",
  413: "This is too large to send.",
  422: "Some values are not valid.",
  429: "Too many requests. Wait a moment and try again.",
  500: "The server hit an unexpected problem.",
  502: "The server cannot be reached.",
  503: "The server is not available right now.",
  504: "The server took too long to answer.",
};

/** Builds an ApiError from a response and its (parsed) body, whatever shape the body has. */
export function toApiError(status: number, body: unknown): ApiError {
  const fallback = STATUS_WORDS[status] ?? `The server answered with status ${status}.`;
  if (body && typeof body === "object") {
    const b = body as Record<string, unknown>;
    const err = b.error;
    if (err && typeof err === "object") {
      const e = err as Record<string, unknown>;
      return new ApiError(
        status,
        typeof e.code === "string" ? e.code : `http_${status}`,
        typeof e.message === "string" && e.message ? e.message : fallback,
        e.details ?? null,
      );
    }
    // FastAPI's own shape, should a route answer it: {"detail": "..."} or {"detail": [{loc, msg}]}.
    if (typeof b.detail === "string") return new ApiError(status, `http_${status}`, b.detail);
    if (Array.isArray(b.detail)) {
      const msgs = b.detail
        .map((d) => (d && typeof d === "object" && "msg" in d ? String((d as { msg: unknown }).msg) : ""))
        .filter(Boolean);
      return new ApiError(status, `http_${status}`, msgs.join("; ") || fallback, b.detail);
    }
  }
  if (typeof body === "string" && body.trim() && body.length < 300 && !body.trimStart().startsWith("<")) {
    return new ApiError(status, `http_${status}`, body.trim());
  }
  return new ApiError(status, `http_${status}`, fallback);
}

/** Words for a person, from anything thrown. */
export function errorMessage(error: unknown): string {
  if (error instanceof ApiError) {
    const problems = error.problems;
    // the server's message often names the one problem already ("name: too short"): say it once
    if (problems.length === 1) return error.message.includes(problems[0].message) ? error.message : `${error.message}: ${problems[0].message}`;
    if (problems.length > 1) return `${error.message} (${problems.length} problems)`;
    return error.message;
  }
  if (error instanceof TypeError) return "The server cannot be reached. Check your connection.";
  if (error instanceof Error) return error.message;
  return String(error);
}
