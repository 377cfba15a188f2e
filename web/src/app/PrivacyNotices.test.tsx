import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { act, cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { MemoryRouter } from "react-router-dom";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { Me } from "../api/client";
import { keys } from "../api/queries";
import { CHOICE_KEY } from "../analytics/choice";
import { PrivacyNotices } from "./PrivacyNotices";

const fetcher = vi.fn((input: RequestInfo | URL, _init?: RequestInit) => {
  const url = String(input instanceof Request ? input.url : input);
  if (url.includes("/_local/analytics")) return Promise.resolve(new Response(null, { status: 202 }));
  return Promise.resolve(
    new Response(JSON.stringify({ error: { code: "not_found", message: "Not found." } }), {
      status: 404,
      headers: { "Content-Type": "application/json" },
    }),
  );
});

const analyticsCalls = () =>
  fetcher.mock.calls.filter(([input]) =>
    String(input instanceof Request ? input.url : input).includes("/_local/analytics"),
  );

function person(analytics: boolean): Me {
  return {
    id: "acct_1",
    email: "ada@example.com",
    name: "Ada",
    picture_url: null,
    created_at: "2026-12-01T00:00:00Z",
    status: "active",
    age_confirmed: true,
    terms_version: "1",
    consent: { analytics, product_improvement: false, marketing_emails: false },
    preferences: { theme: "system" },
    default_workspace_id: "ws_1",
  };
}

function show(me: Me | null) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  client.setQueryData(keys.me, me);
  render(
    <QueryClientProvider client={client}>
      <MemoryRouter initialEntries={["/studio?token=x"]}>
        <PrivacyNotices />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

beforeEach(() => {
  window.localStorage.clear();
  fetcher.mockClear();
  vi.stubGlobal("fetch", fetcher);
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("the cookie banner and analytics consent", () => {
  it("asks a first-time visitor and counts nothing until they accept", async () => {
    show(null);
    const banner = screen.getByRole("region", { name: "Cookies" });
    expect(analyticsCalls()).toEqual([]);
    act(() => fireEvent.click(screen.getByRole("button", { name: "Accept analytics" })));
    await waitFor(() => expect(analyticsCalls()).toHaveLength(1));
    expect(banner.isConnected).toBe(false);
    expect(window.localStorage.getItem(CHOICE_KEY)).toBe("analytics");
    const init = analyticsCalls()[0]?.[1] ?? {};
    expect(JSON.parse(init.body as string)).toEqual({ name: "page_view", path: "/studio", properties: {} });
  });

  it("counts nothing after Necessary only", async () => {
    show(null);
    act(() => fireEvent.click(screen.getByRole("button", { name: "Necessary only" })));
    expect(screen.queryByRole("region", { name: "Cookies" })).toBeNull();
    expect(window.localStorage.getItem(CHOICE_KEY)).toBe("necessary");
    await new Promise((settle) => setTimeout(settle, 0));
    expect(analyticsCalls()).toEqual([]);
  });

  it("follows a signed-in person's consent record over this browser's earlier choice", async () => {
    window.localStorage.setItem(CHOICE_KEY, "analytics");
    show(person(false));
    expect(screen.queryByRole("region", { name: "Cookies" })).toBeNull();
    await new Promise((settle) => setTimeout(settle, 0));
    expect(analyticsCalls()).toEqual([]);
  });

  it("counts the page of a signed-in person who consented", async () => {
    window.localStorage.setItem(CHOICE_KEY, "necessary");
    show(person(true));
    await waitFor(() => expect(analyticsCalls()).toHaveLength(1));
  });
});
