import { describe, expect, it } from "vitest";
import { ApiError } from "./client";
import { adviceFor } from "./errors";

describe("adviceFor gives each error code its message and way out", () => {
  it("sends a person without credits to Billing", () => {
    const advice = adviceFor(new ApiError(402, "insufficient_credits", "Not enough credits."));
    expect(advice.title).toBe("Not enough credits");
    expect(advice.action).toEqual({ label: "Buy credits", to: "/billing" });
  });

  it("sends a person over their spend cap to the cap editor", () => {
    const advice = adviceFor(new ApiError(429, "spend_cap_exceeded", "Over the cap."));
    expect(advice.action?.to).toBe("/billing#spend-cap");
  });

  it("asks a rate-limited person to wait the seconds Retry-After gives", () => {
    const advice = adviceFor(new ApiError(429, "rate_limited", "Slow down.", 17));
    expect(advice.retryAfterSeconds).toBe(17);
    expect(advice.message).toBe("Wait 17 seconds before trying again.");
    expect(advice.action).toBeUndefined();
  });

  it("explains a restricted account and a missing consent", () => {
    expect(adviceFor(new ApiError(403, "account_restricted", "Restricted.")).title).toBe(
      "Account restricted",
    );
    expect(adviceFor(new ApiError(403, "consent_required", "Consent.")).action?.label).toBe(
      "Review the terms",
    );
  });

  it("offers sign-in back to the current page when signed out", () => {
    const advice = adviceFor(new ApiError(401, "not_signed_in", "Sign in."), "/studio?x=1");
    expect(advice.action?.to).toBe("/v1/auth/login?redirect_to=%2Fstudio%3Fx%3D1");
  });

  it("falls back to the server's message for codes it does not know, and a generic one for non-API errors", () => {
    expect(adviceFor(new ApiError(409, "job_finished", "The job already finished.")).message).toBe(
      "The job already finished.",
    );
    expect(adviceFor(new TypeError("network")).title).toBe("Something went wrong");
  });
});
