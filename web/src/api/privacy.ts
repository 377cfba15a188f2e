import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Me, type Schemas } from "./client";
import { keys } from "./queries";

export type Export = Schemas["ExportResponse"];
export type Policy = Schemas["PolicyResponse"];
export type PolicyKind = Policy["kind"];
export type Consent = Schemas["ConsentBody"];

export const privacyKeys = {
  exports: ["exports"] as const,
  deletion: ["deletion"] as const,
  policy: (kind: PolicyKind) => ["policy", kind] as const,
};

const UNFINISHED = new Set(["queued", "running"]);
export const isUnfinished = (item: Export) => UNFINISHED.has(item.status);

/** The account's exports, newest first; polled while one is still being built. */
export function useExports(enabled = true) {
  return useQuery({
    queryKey: privacyKeys.exports,
    queryFn: () => unwrap(api.GET("/v1/me/exports", { params: { query: { limit: 20 } } })),
    refetchInterval: (query) => (query.state.data?.items.some(isUnfinished) ? 1000 : false),
    enabled,
  });
}

export function useRequestExport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/v1/me/exports")),
    onSettled: () => client.invalidateQueries({ queryKey: privacyKeys.exports }),
  });
}

export function useDeletion() {
  return useQuery({
    queryKey: privacyKeys.deletion,
    queryFn: () => unwrap(api.GET("/v1/me/deletion")),
  });
}

function useDeletionChange(change: () => Promise<unknown>) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: change,
    onSettled: async () => {
      await client.invalidateQueries({ queryKey: privacyKeys.deletion });
      await client.invalidateQueries({ queryKey: keys.me });
    },
  });
}

export const useScheduleDeletion = () => useDeletionChange(() => unwrap(api.POST("/v1/me/deletion")));
export const useCancelDeletion = () => useDeletionChange(() => unwrap(api.DELETE("/v1/me/deletion")));

/** Changes the account's consent record; the answer is the account as it now is. */
export function useUpdateConsent() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (changes: Partial<Consent>) => unwrap(api.PUT("/v1/me/consent", { body: changes })),
    onSuccess: (me: Me) => client.setQueryData(keys.me, me),
  });
}

export function usePolicy(kind: PolicyKind) {
  return useQuery({
    queryKey: privacyKeys.policy(kind),
    queryFn: () => unwrap(api.GET("/v1/policies/{kind}", { params: { path: { kind } } })),
    staleTime: 300_000,
  });
}
