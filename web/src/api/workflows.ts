import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, unwrap, type Job, type Schemas } from "./client";
import { keys as appKeys } from "./queries";

export type Workflow = Schemas["WorkflowResponse"];
export type WorkflowVersion = Schemas["WorkflowVersionResponse"];
export type Definition = Schemas["DefinitionBody"];
export type ParamValue = string | number | boolean;

export const workflowKeys = {
  all: ["workflows"] as const,
  list: ["workflows", "list"] as const,
  one: (id: string) => ["workflows", "one", id] as const,
  versions: (id: string) => ["workflows", "versions", id] as const,
};

/** The signed-in person's workflows, newest first, a page at a time. */
export function useWorkflows() {
  return useInfiniteQuery({
    queryKey: workflowKeys.list,
    initialPageParam: null as string | null,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET("/v1/workflows", {
          params: { query: pageParam ? { limit: 50, cursor: pageParam } : { limit: 50 } },
        }),
      ),
    getNextPageParam: (last) => last.next_cursor ?? undefined,
  });
}

/** One workflow: the person's own, or someone's public one. */
export function useWorkflow(id: string) {
  return useQuery({
    queryKey: workflowKeys.one(id),
    queryFn: () => unwrap(api.GET("/v1/workflows/{workflow_id}", { params: { path: { workflow_id: id } } })),
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
  });
}

/** Every version, oldest first; null when the workflow is not the person's own (only owners see versions). */
export function useVersions(id: string, enabled = true) {
  return useQuery({
    queryKey: workflowKeys.versions(id),
    queryFn: async (): Promise<WorkflowVersion[] | null> => {
      try {
        const page = await unwrap(
          api.GET("/v1/workflows/{workflow_id}/versions", { params: { path: { workflow_id: id } } }),
        );
        return page.items;
      } catch (error) {
        if (error instanceof ApiError && (error.status === 404 || error.status === 401)) return null;
        throw error;
      }
    },
    enabled,
  });
}

export function useCreateWorkflow() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { name: string; note: string | null; definition: Definition }) =>
      unwrap(api.POST("/v1/workflows", { body })),
    onSuccess: () => void client.invalidateQueries({ queryKey: workflowKeys.all }),
  });
}

export function useAddVersion(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { definition: Definition; note: string }) =>
      unwrap(
        api.POST("/v1/workflows/{workflow_id}/versions", { params: { path: { workflow_id: id } }, body }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: workflowKeys.all }),
  });
}

export function useSetVisibility(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (visibility: "public" | "private") =>
      unwrap(
        api.PATCH("/v1/workflows/{workflow_id}", {
          params: { path: { workflow_id: id } },
          body: { visibility },
        }),
      ),
    onSuccess: (workflow) => {
      client.setQueryData(workflowKeys.one(id), workflow);
      void client.invalidateQueries({ queryKey: workflowKeys.list });
    },
  });
}

/** Copies a public workflow, or one shared by the link whose token is given, into the person's account. */
export function useForkWorkflow(id: string, shareToken: string | null = null) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/workflows/{workflow_id}/fork", {
          params: { path: { workflow_id: id } },
          body: shareToken ? { share_token: shareToken } : {},
        }),
      ),
    onSuccess: () => void client.invalidateQueries({ queryKey: workflowKeys.all }),
  });
}

/** Submits a job from one version, its template's variables filled in; the job joins the jobs list. */
export function useRunVersion(id: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (run: { version: number; variables: Record<string, string>; idempotencyKey: string }) =>
      unwrap(
        api.POST("/v1/workflows/{workflow_id}/versions/{version}/jobs", {
          params: {
            path: { workflow_id: id, version: run.version },
            header: { "idempotency-key": run.idempotencyKey },
          },
          body: { variables: run.variables },
        }),
      ),
    onSuccess: (job) => {
      client.setQueryData(appKeys.jobs, (page: { items: Job[]; next_cursor: string | null } | undefined) =>
        page ? { ...page, items: [job, ...page.items.filter((item) => item.id !== job.id)] } : page,
      );
      void client.invalidateQueries({ queryKey: appKeys.jobs });
      void client.invalidateQueries({ queryKey: appKeys.balance });
    },
  });
}

/**
 * The names a prompt template asks for, in order, as the server reads them (Python's format
 * syntax): `{name}` is a variable, `{{` and `}}` are literal braces, `{name:spec}` names `name`.
 */
export function templateVariables(template: string): string[] {
  const names: string[] = [];
  let index = 0;
  while (index < template.length) {
    const char = template[index];
    if (char === "{" && template[index + 1] === "{") {
      index += 2;
    } else if (char === "}" && template[index + 1] === "}") {
      index += 2;
    } else if (char === "{") {
      const end = template.indexOf("}", index);
      if (end === -1) break;
      const name = template.slice(index + 1, end).split(/[!:]/)[0] ?? "";
      if (!names.includes(name)) names.push(name);
      index = end + 1;
    } else {
      index += 1;
    }
  }
  return names;
}

/** A template that fills in to exactly this prompt: its braces doubled, so none reads as a variable. */
export function literalTemplate(prompt: string): string {
  return prompt.replace(/[{}]/g, (brace) => brace + brace);
}

/** Only the values a workflow's definition can hold (the job's parameters are plain values). */
export function definitionParams(
  params: Record<string, unknown> | null | undefined,
): Record<string, ParamValue> {
  const kept: Record<string, ParamValue> = {};
  for (const [name, value] of Object.entries(params ?? {})) {
    if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      kept[name] = value;
  }
  return kept;
}

export interface SettingRow {
  setting: string;
  left: string;
  right: string;
  change: "Same" | "Changed" | "Added" | "Removed";
}

function shown(value: unknown): string {
  return value === undefined || value === null ? "" : String(value);
}

/** Two versions' settings row by row, each row saying in words how it differs. */
export function compareVersions(left: WorkflowVersion, right: WorkflowVersion): SettingRow[] {
  const rows: [string, unknown, unknown][] = [
    ["Kind", left.definition.kind, right.definition.kind],
    ["Model", left.definition.model, right.definition.model],
    ["Prompt template", left.definition.prompt_template, right.definition.prompt_template],
  ];
  const names = [
    ...new Set([...Object.keys(left.definition.params), ...Object.keys(right.definition.params)]),
  ];
  for (const name of names.sort()) {
    rows.push([`Parameter ${name}`, left.definition.params[name], right.definition.params[name]]);
  }
  rows.push(["Note", left.note, right.note]);
  return rows.map(([setting, a, b]) => {
    const leftText = shown(a);
    const rightText = shown(b);
    let change: SettingRow["change"] = "Same";
    if (leftText !== rightText) change = leftText === "" ? "Added" : rightText === "" ? "Removed" : "Changed";
    return { setting, left: leftText, right: rightText, change };
  });
}
