import { describe, expect, it } from "vitest";
import { ApiError } from "../../api/client";
import {
  accountAdvice,
  initialsOf,
  lastUseWords,
  REASONS,
  reportAdvice,
  reportStatusWords,
  SCOPES,
} from "./wording";

describe("reportStatusWords", () => {
  it("says an open report is being reviewed, and how a resolved one ended", () => {
    expect(reportStatusWords({ status: "open", outcome: null })).toBe("Being reviewed");
    expect(reportStatusWords({ status: "resolved", outcome: "action_taken" })).toBe("Resolved: action taken");
    expect(reportStatusWords({ status: "resolved", outcome: "no_action" })).toBe(
      "Resolved: no action needed",
    );
  });
});

describe("lastUseWords", () => {
  const now = new Date("2026-12-06T12:00:00Z");
  it("counts minutes, then hours, then gives the date", () => {
    expect(lastUseWords(null, now)).toBe("Never used");
    expect(lastUseWords("2026-12-06T11:59:30Z", now)).toBe("Used just now");
    expect(lastUseWords("2026-12-06T11:59:00Z", now)).toBe("Used 1 minute ago");
    expect(lastUseWords("2026-12-06T11:15:00Z", now)).toBe("Used 45 minutes ago");
    expect(lastUseWords("2026-12-06T10:00:00Z", now)).toBe("Used 2 hours ago");
    expect(lastUseWords("2026-12-01T10:00:00Z", now)).toMatch(/^Last used /);
  });
});

describe("initialsOf", () => {
  it("takes the first and last word's first letters, and copes with none", () => {
    expect(initialsOf("ada lovelace")).toBe("AL");
    expect(initialsOf("Grace Brewster Hopper")).toBe("GH");
    expect(initialsOf("  prince ")).toBe("P");
    expect(initialsOf("   ")).toBe("?");
    expect(initialsOf("émile zola")).toBe("ÉZ");
  });
});

describe("the API's lists", () => {
  it("offers every reason and scope the API takes, in its order", () => {
    expect(REASONS).toEqual(["spam", "sexual", "minor_safety", "violence", "hate", "copyright", "other"]);
    expect(SCOPES).toEqual([
      "generate",
      "library:read",
      "library:write",
      "billing:read",
      "webhooks:read",
      "webhooks:write",
      "account:export",
    ]);
  });
});

describe("accountAdvice", () => {
  const refused = (status: number, code: string) => new ApiError(status, code, "raw message");
  it("puts a non-empty workspace in plain words with the way out", () => {
    const advice = accountAdvice(refused(409, "workspace_not_empty"));
    expect(advice?.title).toBe("This workspace is not empty");
    expect(advice?.action?.to).toBe("/library");
  });
  it("says a spent or expired confirmation link changed nothing, and how to get another", () => {
    const advice = accountAdvice(refused(422, "email_confirmation_invalid"));
    expect(advice?.message).toContain("has not changed");
    expect(advice?.action?.to).toBe("/settings#profile");
  });
  it("sends a second report of the same item to the reports already made", () => {
    expect(reportAdvice(refused(409, "report_exists"))?.action?.to).toBe("/settings#my-reports");
    expect(reportAdvice(refused(404, "not_found"))?.title).toBe("No longer available");
  });
  it("leaves other errors to the general advice", () => {
    expect(accountAdvice(refused(429, "rate_limited"))).toBeUndefined();
    expect(accountAdvice(refused(404, "not_found"))).toBeUndefined();
    expect(accountAdvice(new Error("network"))).toBeUndefined();
  });
});
