import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type Asset, type GalleryItem, type Job, type Me } from "./client";

export const keys = {
  me: ["me"] as const,
  terms: ["policy", "terms"] as const,
  models: ["models"] as const,
  gallery: (kind: string) => ["gallery", kind] as const,
  assets: (kind: string, workspace: string) => ["assets", kind, workspace] as const,
  asset: (id: string) => ["asset", id] as const,
  jobs: ["jobs"] as const,
  balance: ["balance"] as const,
  catalog: ["catalog"] as const,
  ledger: ["ledger"] as const,
  subscription: ["subscription"] as const,
  workspaces: ["workspaces"] as const,
  shares: ["shares"] as const,
  shared: (token: string) => ["shared", token] as const,
};

const FINAL = new Set(["succeeded", "failed", "canceled"]);
export const isFinal = (job: Job) => FINAL.has(job.status);

/** The signed-in person, or null when signed out. */
export function useMe() {
  return useQuery({
    queryKey: keys.me,
    queryFn: async (): Promise<Me | null> => {
      try {
        return await unwrap(api.GET("/v1/me"));
      } catch (error) {
        if (error instanceof ApiError && error.status === 401) return null;
        throw error;
      }
    },
    staleTime: 60_000,
  });
}

export function useTermsPolicy(enabled = true) {
  return useQuery({
    queryKey: keys.terms,
    queryFn: () => unwrap(api.GET("/v1/policies/{kind}", { params: { path: { kind: "terms" } } })),
    staleTime: 300_000,
    enabled,
  });
}

export function useModels() {
  return useQuery({
    queryKey: keys.models,
    queryFn: () => unwrap(api.GET("/v1/models")),
    staleTime: 300_000,
  });
}

export function useGallery(kind: "all" | "image" | "video") {
  return useInfiniteQuery({
    queryKey: keys.gallery(kind),
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) => {
      const query: { limit: number; cursor?: string; kind?: "image" | "video" } = { limit: 24 };
      if (pageParam) query.cursor = pageParam;
      if (kind !== "all") query.kind = kind;
      const page = await unwrap(api.GET("/v1/gallery", { params: { query } }));
      return { ...page, items: page.items as GalleryItem[] };
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useAssets(kind: string, workspace: string) {
  return useInfiniteQuery({
    queryKey: keys.assets(kind, workspace),
    initialPageParam: null as string | null,
    queryFn: async ({ pageParam }) => {
      const query: {
        limit: number;
        cursor?: string;
        kind?: "image" | "video" | "upload";
        workspace_id?: string;
      } = { limit: 24 };
      if (pageParam) query.cursor = pageParam;
      if (kind !== "all") query.kind = kind as "image" | "video" | "upload";
      if (workspace) query.workspace_id = workspace;
      const page = await unwrap(api.GET("/v1/assets", { params: { query } }));
      return { ...page, items: page.items as Asset[] };
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useAsset(id: string) {
  return useQuery({
    queryKey: keys.asset(id),
    queryFn: async () =>
      (await unwrap(api.GET("/v1/assets/{asset_id}", { params: { path: { asset_id: id } } }))) as Asset,
    // Download links are short-lived: fetched again rather than kept for long.
    staleTime: 60_000,
  });
}

export function useJobs() {
  return useQuery({
    queryKey: keys.jobs,
    queryFn: () => unwrap(api.GET("/v1/jobs", { params: { query: { limit: 20 } } })),
    // Polls while a job is still on its way, then stops.
    refetchInterval: (query) => (query.state.data?.items.some((job) => !isFinal(job)) ? 1000 : false),
  });
}

export function useBalance(enabled = true) {
  return useQuery({ queryKey: keys.balance, queryFn: () => unwrap(api.GET("/v1/billing/balance")), enabled });
}

export function useCatalog() {
  return useQuery({
    queryKey: keys.catalog,
    queryFn: () => unwrap(api.GET("/v1/billing/catalog")),
    staleTime: 300_000,
  });
}

export function useSubscription() {
  return useQuery({
    queryKey: keys.subscription,
    queryFn: async () => {
      try {
        return await unwrap(api.GET("/v1/billing/subscription"));
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return null;
        throw error;
      }
    },
  });
}

export function useWorkspaces(enabled = true) {
  return useQuery({
    queryKey: keys.workspaces,
    queryFn: () => unwrap(api.GET("/v1/workspaces")),
    staleTime: 300_000,
    enabled,
  });
}

export function useSignOut() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/v1/auth/logout")),
    onSettled: () => {
      client.clear();
      window.location.assign("/");
    },
  });
}
