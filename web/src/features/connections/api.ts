/**
 * The connections API (DESIGN §9, §10): typed credentials, listed with their public fields and,
 * for each secret, only whether it is set. Every function throws an `ApiError` on a non-2xx answer.
 */
import { body, client, unwrap } from "../../client/api";
import type { components } from "../../client/schema";
import type { Page } from "../../client/types";

type Schemas = components["schemas"];
export type Connection = Schemas["ConnectionRead"];
export type ConnectionKind = Schemas["ConnectionKindRead"];
export type ConnectionTest = Schemas["ConnectionTestRead"];

export interface ConnectionCreate {
  id?: string;
  name: string;
  kind: string;
  config: Record<string, unknown>;
}

export interface ConnectionUpdate {
  name?: string;
  /** Fields to change; secrets left out keep their stored value, a secret set to null is removed. */
  config?: Record<string, unknown>;
}

export const listConnections = () => unwrap<Page<Connection>>(client.GET("/api/connections", {}));

export const listConnectionKinds = () => unwrap<ConnectionKind[]>(client.GET("/api/connections/kinds", {}));

export const createConnection = (connection: ConnectionCreate) =>
  unwrap<Connection>(client.POST("/api/connections", { body: body(connection) }));

export const updateConnection = (id: string, change: ConnectionUpdate) =>
  unwrap<Connection>(client.PATCH("/api/connections/{connection_id}", { params: { path: { connection_id: id } }, body: body(change) }));

export const deleteConnection = (id: string) =>
  unwrap<void>(client.DELETE("/api/connections/{connection_id}", { params: { path: { connection_id: id } } }));

export const testConnection = (id: string) =>
  unwrap<ConnectionTest>(client.POST("/api/connections/{connection_id}/test", { params: { path: { connection_id: id } } }));
