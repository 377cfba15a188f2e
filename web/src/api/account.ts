import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, setActiveWorkspace, unwrap, activeWorkspace, type Schemas } from "./client";
import { keys } from "./queries";

export type ApiKey = Schemas["ApiKeyResponse"];
export type CreatedApiKey = Schemas["CreatedApiKeyResponse"];
export type ApiKeyScope = Schemas["CreateApiKeyRequest"]["scopes"] extends (infer S)[] | null | undefined
  ? S
  : never;
export type Workspace = Schemas["WorkspaceResponse"];
export type MyReport = Schemas["MyReportResponse"];
export type ReportReason = Schemas["CreateReportRequest"]["reason"];

export const accountKeys = {
  apiKeys: ["api-keys"] as const,
  myReports: ["my-reports"] as const,
};

/** Name, email (a new one waits for its confirmation link) or preferences. */
export function useUpdateProfile() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["UpdateMeRequest"]) => unwrap(api.PATCH("/v1/me", { body })),
    onSuccess: (me) => client.setQueryData(keys.me, me),
  });
}

/** Takes the token from the emailed link back to the API, which makes the new address the account's. */
export function useConfirmEmail() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (token: string) => unwrap(api.POST("/v1/me/email-confirmations", { body: { token } })),
    onSuccess: (me) => client.setQueryData(keys.me, me),
  });
}

export function useApiKeys() {
  return useQuery({
    queryKey: accountKeys.apiKeys,
    queryFn: () => unwrap(api.GET("/v1/me/api-keys")),
  });
}

export function useCreateApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; scopes: ApiKeyScope[] }) =>
      unwrap(api.POST("/v1/me/api-keys", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: accountKeys.apiKeys }),
  });
}

export function useRevokeApiKey() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/v1/me/api-keys/{api_key_id}", { params: { path: { api_key_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: accountKeys.apiKeys }),
  });
}

export function useCreateWorkspace() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (name: string) => unwrap(api.POST("/v1/workspaces", { body: { name } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.workspaces }),
  });
}

export function useRenameWorkspace() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: ({ id, name }: { id: string; name: string }) =>
      unwrap(
        api.PATCH("/v1/workspaces/{workspace_id}", {
          params: { path: { workspace_id: id } },
          body: { name },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.workspaces }),
  });
}

export function useDeleteWorkspace() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/v1/workspaces/{workspace_id}", { params: { path: { workspace_id: id } } })),
    onSuccess: (_data, id) => {
      // A deleted workspace cannot stay the active one: the library falls back to the default.
      if (activeWorkspace() === id) setActiveWorkspace(null);
      return client.invalidateQueries({ queryKey: keys.workspaces });
    },
  });
}

export function useMyReports() {
  return useInfiniteQuery({
    queryKey: accountKeys.myReports,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/v1/me/reports", {
          params: { query: pageParam ? { limit: 20, cursor: pageParam } : { limit: 20 } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function useSendReport() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas["CreateReportRequest"]) => unwrap(api.POST("/v1/reports", { body })),
    onSuccess: () => client.invalidateQueries({ queryKey: accountKeys.myReports }),
  });
}

/** Ends every session of the account, this one included, and leaves the app signed out. */
export function useSignOutEverywhere() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST("/v1/auth/logout-all")),
    onSuccess: () => {
      client.clear();
      window.location.assign("/");
    },
  });
}
