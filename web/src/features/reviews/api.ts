/** The review API (DESIGN §8): queues, items, decisions, bulk decisions, comments, metrics. */
import { body, client, unwrap } from "../../client/api";
import { toApiError } from "../../client/errors";
import type { components, operations } from "../../client/schema";

type Schemas = components["schemas"];
export type ReviewItem = Schemas["ReviewItemRead"];
export type ReviewDetail = Schemas["ReviewItemDetail"];
export type ReviewPage = Schemas["ReviewItemPage"];
export type ReviewQueue = Schemas["QueueRead"];
export type FieldRow = Schemas["FieldRow"];
export type ReviewEvent = Schemas["EventRead"];
export type ReviewComment = Schemas["CommentRead"];
export type Decision = Schemas["DecisionRead"];
export type BulkAnswer = Schemas["BulkRead"];
export type Metrics = Schemas["MetricsRead"];
export type TimeStats = Schemas["TimeStats"];
export type Team = Schemas["TeamRead"];
export type ReviewStatus = ReviewItem["status"];
export type ReviewQuery = NonNullable<operations["reviews-list"]["parameters"]["query"]>;
export type ReviewFilter = Schemas["ReviewFilter"];

const path = (item_id: string) => ({ params: { path: { item_id } } });

export const listReviewItems = (query: ReviewQuery) =>
  unwrap<ReviewPage>(client.GET("/api/reviews/items", { params: { query } }));

export const listQueues = () => unwrap<{ data: ReviewQueue[]; count: number }>(client.GET("/api/reviews/queues", {}));

export const getReviewItem = (id: string) => unwrap<ReviewDetail>(client.GET("/api/reviews/items/{item_id}", path(id)));

export const claimItem = (id: string) => unwrap<Decision>(client.POST("/api/reviews/items/{item_id}/claim", path(id)));

export const unclaimItem = (id: string) =>
  unwrap<Decision>(client.POST("/api/reviews/items/{item_id}/unclaim", { ...path(id), body: body({}) }));

/** The most urgent item the caller may review, claimed for them; null when nothing is left. */
export async function claimNext(query: { queue?: string; team?: string } = {}): Promise<Decision | null> {
  const { data, error, response } = await client.POST("/api/reviews/claim-next", { params: { query } });
  if (response.status === 204) return null;
  if (!response.ok) throw toApiError(response.status, error);
  return data as Decision;
}

export const approveItem = (id: string, reason?: string) =>
  unwrap<Decision>(client.POST("/api/reviews/items/{item_id}/approve", { ...path(id), body: body({ reason: reason || null }) }));

export const rejectItem = (id: string, reason: string) =>
  unwrap<Decision>(client.POST("/api/reviews/items/{item_id}/reject", { ...path(id), body: body({ reason }) }));

export const requestChanges = (id: string, comments: Record<string, string>, message?: string) =>
  unwrap<Decision>(
    client.POST("/api/reviews/items/{item_id}/request-changes", { ...path(id), body: body({ comments, message: message || null }) }),
  );

export const editItem = (id: string, values: Record<string, unknown>, reason: string) =>
  unwrap<Decision>(client.POST("/api/reviews/items/{item_id}/edit", { ...path(id), body: body({ values, reason }) }));

export const assignItem = (id: string, to: { user?: string; team?: string; strategy?: string; reason?: string }) =>
  unwrap<Decision>(client.POST("/api/reviews/items/{item_id}/assign", { ...path(id), body: body(to) }));

export const addComment = (id: string, text: string, field?: string) =>
  unwrap<ReviewComment>(
    client.POST("/api/reviews/items/{item_id}/comments", { ...path(id), body: body({ body: text, field: field || null }) }),
  );

export const bulkDecide = (request: { action: "approve" | "reject"; reason?: string; ids?: string[]; filter?: ReviewFilter }) =>
  unwrap<BulkAnswer>(client.POST("/api/reviews/bulk", { body: body(request) }));

export const getMetrics = (query: { queue?: string; team?: string; since?: string } = {}) =>
  unwrap<Metrics>(client.GET("/api/reviews/metrics", { params: { query } }));

export const listTeams = () => unwrap<{ data: Team[]; count: number }>(client.GET("/api/teams", {}));

export const getTeam = (team: string) => unwrap<Team>(client.GET("/api/teams/{team}", { params: { path: { team } } }));
