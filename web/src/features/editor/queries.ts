/** Server data the editor reads through TanStack Query. */
import { useQuery } from "@tanstack/react-query";
import { getNodeConfigSchema, listNodes } from "../../client/api";
import type { JsonSchema } from "./schema";

export function useNodeSpecs() {
  return useQuery({ queryKey: ["nodes"], queryFn: listNodes, staleTime: 5 * 60_000, select: (p) => p.data });
}

export const configSchemaQuery = (type: string) => ({
  queryKey: ["nodes", type, "config"],
  queryFn: () => getNodeConfigSchema(type) as Promise<JsonSchema>,
  staleTime: 5 * 60_000,
});

export function useConfigSchema(type: string | undefined) {
  return useQuery({ ...configSchemaQuery(type ?? ""), enabled: !!type });
}
