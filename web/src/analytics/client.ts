/**
 * A small product-analytics client. It sends nothing, and keeps nothing to send later, unless the
 * person has accepted analytics (P12): events tracked before consent are dropped, not queued.
 * Where events go is a pluggable sink, so the client works the same with any provider.
 */

export interface AnalyticsEvent {
  name: string;
  /** The page the event happened on: a path only, never a query string (it may hold tokens). */
  path: string;
  properties: Record<string, string | number | boolean>;
}

/** Where consented events go. */
export interface AnalyticsSink {
  send(event: AnalyticsEvent): void;
}

/** A sink that drops everything: no analytics provider is configured. */
export const nowhere: AnalyticsSink = { send: () => undefined };

/**
 * Posts each event as JSON to an endpoint, with no cookies (`credentials: "omit"`) and no
 * identifier of the person: events are counted, never linked to an account.
 */
export function httpSink(
  endpoint: string,
  fetcher: typeof fetch = (...args) => fetch(...args),
): AnalyticsSink {
  return {
    send(event) {
      void fetcher(endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(event),
        credentials: "omit",
        keepalive: true,
      }).catch(() => undefined); // analytics never gets in the person's way
    },
  };
}

export interface Analytics {
  /** Whether events are sent now. */
  readonly enabled: boolean;
  /** Turns sending on (the person accepted analytics) or off (declined, withdrew, signed out). */
  setConsent(granted: boolean): void;
  track(name: string, path: string, properties?: AnalyticsEvent["properties"]): void;
  pageView(path: string): void;
}

export function createAnalytics(sink: AnalyticsSink, granted = false): Analytics {
  let consented = granted;
  return {
    get enabled() {
      return consented;
    },
    setConsent(value) {
      consented = value;
    },
    track(name, path, properties = {}) {
      if (!consented) return;
      sink.send({ name, path: path.split(/[?#]/, 1)[0] ?? "/", properties });
    },
    pageView(path) {
      this.track("page_view", path);
    },
  };
}
