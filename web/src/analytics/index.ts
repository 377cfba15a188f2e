import { createAnalytics, httpSink, nowhere, type AnalyticsSink } from "./client";

export { type Analytics, type AnalyticsEvent, type AnalyticsSink } from "./client";
export { forgetChoice, readChoice, rememberChoice, useCookieChoice, type CookieChoice } from "./choice";

/**
 * The endpoint consented events go to: VITE_ANALYTICS_ENDPOINT when the build names one, else, on
 * this machine, the local runtime's stand-in (which only records them); elsewhere, nowhere.
 */
function defaultSink(): AnalyticsSink {
  const configured = import.meta.env.VITE_ANALYTICS_ENDPOINT as string | undefined;
  if (configured) return httpSink(configured);
  const host = globalThis.location?.hostname;
  if (host === "127.0.0.1" || host === "localhost") return httpSink("/_local/analytics/events");
  return nowhere;
}

/** The studio's one analytics client; off until the person's choice says otherwise. */
export const analytics = createAnalytics(defaultSink());
