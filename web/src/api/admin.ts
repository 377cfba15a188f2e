import {
  keepPreviousData,
  useInfiniteQuery,
  useMutation,
  useQuery,
  useQueryClient,
} from "@tanstack/react-query";
import { ApiError, api, unwrap, type Schemas } from "./client";

export type AdminReport = Schemas["AdminReportResponse"];
export type AdminReportDetail = Schemas["AdminReportDetailResponse"];
export type AuditEntry = Schemas["AuditEntryResponse"];
export type ReportStatusFilter = "open" | "resolved";
export type ReportReason = "spam" | "sexual" | "minor_safety" | "violence" | "hate" | "copyright" | "other";
export type ModerationAction = "dismiss" | "remove" | "quarantine" | "suspend_account";
export type PolicyKind = "terms" | "privacy";

export const adminKeys = {
  access: (accountId: string) => ["admin", "access", accountId] as const,
  reports: (status: ReportStatusFilter, reason: ReportReason | "") =>
    ["admin", "reports", status, reason] as const,
  report: (id: string) => ["admin", "report", id] as const,
  audit: (month: string) => ["admin", "audit", month] as const,
};

/**
 * Whether the signed-in person holds the admin role, as the API alone decides it: the queue
 * answers an admin, and 404 to anyone else (the console's routes are not confirmed to exist).
 */
export function useAdminAccess(accountId: string | undefined) {
  return useQuery({
    queryKey: adminKeys.access(accountId ?? ""),
    enabled: Boolean(accountId),
    queryFn: async (): Promise<boolean> => {
      try {
        await unwrap(api.GET("/v1/admin/reports", { params: { query: { limit: 1 } } }));
        return true;
      } catch (error) {
        if (error instanceof ApiError && (error.status === 404 || error.status === 401)) return false;
        throw error;
      }
    },
    staleTime: 300_000,
    retry: false,
  });
}

export function useAdminReports(status: ReportStatusFilter, reason: ReportReason | "") {
  return useInfiniteQuery({
    queryKey: adminKeys.reports(status, reason),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => {
      const query: { status: ReportStatusFilter; limit: number; reason?: ReportReason; cursor?: string } = {
        status,
        limit: 20,
      };
      if (reason) query.reason = reason;
      if (pageParam) query.cursor = pageParam;
      return unwrap(api.GET("/v1/admin/reports", { params: { query } }));
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
    placeholderData: keepPreviousData,
  });
}

export function useAdminReport(id: string) {
  return useQuery({
    queryKey: adminKeys.report(id),
    queryFn: () => unwrap(api.GET("/v1/admin/reports/{report_id}", { params: { path: { report_id: id } } })),
    // The media links are short-lived: fetched again rather than kept for long.
    staleTime: 60_000,
    retry: false,
  });
}

export function useResolveReport(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { action: ModerationAction; note: string }) =>
      unwrap(
        api.POST("/v1/admin/reports/{report_id}/resolve", { params: { path: { report_id: id } }, body }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin"] }),
  });
}

export function useLiftSuspension(accountId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (note: string) =>
      unwrap(
        api.POST("/v1/admin/accounts/{account_id}/lift-suspension", {
          params: { path: { account_id: accountId } },
          body: { note },
        }),
      ),
    onSuccess: () => client.invalidateQueries({ queryKey: ["admin"] }),
  });
}

export function useAuditTrail(month: string) {
  return useInfiniteQuery({
    queryKey: adminKeys.audit(month),
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) => {
      const query: { month: string; limit: number; cursor?: string } = { month, limit: 50 };
      if (pageParam) query.cursor = pageParam;
      return unwrap(api.GET("/v1/admin/audit", { params: { query } }));
    },
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

export function usePublishPolicy() {
  return useMutation({
    mutationFn: (body: {
      kind: PolicyKind;
      version: string;
      summary: string;
      material: boolean;
      effective_at: string;
    }) => unwrap(api.POST("/v1/admin/policies", { body })),
  });
}
