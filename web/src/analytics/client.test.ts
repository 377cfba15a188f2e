import { describe, expect, it, vi } from "vitest";
import { CHOICE_KEY, readChoice, rememberChoice } from "./choice";
import { createAnalytics, httpSink, type AnalyticsEvent } from "./client";

function recordingSink() {
  const sent: AnalyticsEvent[] = [];
  return { sent, sink: { send: (event: AnalyticsEvent) => void sent.push(event) } };
}

describe("the analytics client", () => {
  it("sends nothing before consent, and does not keep it for later", () => {
    const { sent, sink } = recordingSink();
    const analytics = createAnalytics(sink);
    analytics.pageView("/studio");
    analytics.track("generate", "/studio", { model: "local-image" });
    expect(analytics.enabled).toBe(false);
    expect(sent).toEqual([]);
    // Consent given later sends what happens from then on, never what came before
    analytics.setConsent(true);
    expect(sent).toEqual([]);
    analytics.pageView("/library");
    expect(sent).toEqual([{ name: "page_view", path: "/library", properties: {} }]);
  });

  it("stops sending once consent is withdrawn", () => {
    const { sent, sink } = recordingSink();
    const analytics = createAnalytics(sink, true);
    analytics.pageView("/");
    analytics.setConsent(false);
    analytics.pageView("/billing");
    expect(sent.map((event) => event.path)).toEqual(["/"]);
  });

  it("sends the path only, never the query string or fragment", () => {
    const { sent, sink } = recordingSink();
    const analytics = createAnalytics(sink, true);
    analytics.pageView("/settings/email?token=secret#x");
    analytics.pageView("/s/abc#frag");
    expect(sent.map((event) => event.path)).toEqual(["/settings/email", "/s/abc"]);
  });

  it("posts JSON without cookies to its endpoint", () => {
    const fetcher = vi.fn(() => Promise.resolve(new Response(null, { status: 202 })));
    const analytics = createAnalytics(httpSink("/collect", fetcher as unknown as typeof fetch), true);
    analytics.track("generate", "/studio", { kind: "image" });
    expect(fetcher).toHaveBeenCalledTimes(1);
    const [url, init] = fetcher.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("/collect");
    expect(init.credentials).toBe("omit");
    expect(JSON.parse(init.body as string)).toEqual({
      name: "generate",
      path: "/studio",
      properties: { kind: "image" },
    });
  });

  it("keeps a failed send from reaching the page", async () => {
    const fetcher = vi.fn(() => Promise.reject(new Error("offline")));
    const analytics = createAnalytics(httpSink("/collect", fetcher as unknown as typeof fetch), true);
    expect(() => analytics.pageView("/")).not.toThrow();
    await Promise.resolve();
  });
});

describe("the remembered banner choice", () => {
  it("is read back as given, and anything else counts as no choice", () => {
    const store = new Map<string, string>();
    const storage = {
      getItem: (key: string) => store.get(key) ?? null,
      setItem: (key: string, value: string) => void store.set(key, value),
    };
    expect(readChoice(storage)).toBeNull();
    rememberChoice("analytics", storage);
    expect(readChoice(storage)).toBe("analytics");
    store.set(CHOICE_KEY, "everything");
    expect(readChoice(storage)).toBeNull();
  });
});
