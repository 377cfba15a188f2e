import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

/** The media fields the backend adds for browsers; optional until every response carries them. */
export interface MediaUrls {
  thumbnail_url?: string | null;
  poster_url?: string | null;
}
export type GalleryItem = Schemas["GalleryItemResponse"] & MediaUrls & { prompt?: string | null };
export type Asset = Schemas["AssetResponse"] & MediaUrls;
export type SharedAsset = Schemas["SharedAssetBody"] & MediaUrls;
export type Job = Schemas["JobResponse"];
export type Model = Schemas["ModelBody"];
export type Me = Schemas["MeResponse"];

/** An answer in the API's error shape, with what the caller may need to act on it. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null = null,
    readonly details: unknown = null,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const WORKSPACE_KEY = "atelier.workspace";

export function activeWorkspace(): string | null {
  try {
    return window.localStorage.getItem(WORKSPACE_KEY);
  } catch {
    return null;
  }
}

export function setActiveWorkspace(id: string | null): void {
  if (id) window.localStorage.setItem(WORKSPACE_KEY, id);
  else window.localStorage.removeItem(WORKSPACE_KEY);
}

const workspaceHeader: Middleware = {
  onRequest({ request }) {
    const workspace = activeWorkspace();
    if (workspace && !request.headers.has("X-Workspace-Id")) request.headers.set("X-Workspace-Id", workspace);
    return request;
  },
};

export const api = createClient<paths>({
  baseUrl: globalThis.location?.origin ?? "",
  credentials: "same-origin",
});
api.use(workspaceHeader);

interface Answer<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful answer, or an ApiError carrying the error's code. */
export async function unwrap<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (response.ok) return data as T;
  throw toApiError(response, error);
}

export function toApiError(response: Response, body: unknown): ApiError {
  const retry = Number.parseInt(response.headers.get("Retry-After") ?? "", 10);
  const shaped = (body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)
    ?.error;
  return new ApiError(
    response.status,
    shaped?.code ?? `http_${response.status}`,
    shaped?.message ?? response.statusText ?? "The request failed.",
    Number.isFinite(retry) ? retry : null,
    shaped?.details ?? null,
  );
}
