import { ApiError } from "./client";

/** What a person reads when a request fails, and the way out. The one place codes become words. */
export interface ErrorAdvice {
  title: string;
  message: string;
  action?: { label: string; to: string; external?: boolean };
  retryAfterSeconds?: number;
}

export function adviceFor(error: unknown, currentPath = "/"): ErrorAdvice {
  if (!(error instanceof ApiError)) {
    return { title: "Something went wrong", message: "The request could not be completed. Try again." };
  }
  switch (error.code) {
    case "insufficient_credits":
      return {
        title: "Not enough credits",
        message: "Your balance does not cover this generation.",
        action: { label: "Buy credits", to: "/billing" },
      };
    case "spend_cap_exceeded":
      return {
        title: "Monthly spend cap reached",
        message: "This generation would go over the spend cap you set.",
        action: { label: "Raise the spend cap", to: "/billing#spend-cap" },
      };
    case "rate_limited": {
      const seconds = error.retryAfterSeconds ?? 60;
      return {
        title: "Too many requests",
        message: `Wait ${seconds} ${seconds === 1 ? "second" : "seconds"} before trying again.`,
        retryAfterSeconds: seconds,
      };
    }
    case "consent_required":
      return {
        title: "Terms not accepted",
        message: "Accept the current terms to continue.",
        action: { label: "Review the terms", to: currentPath },
      };
    case "account_restricted":
      return {
        title: "Account restricted",
        message: "Your account is restricted, so it cannot generate or pay. Contact support to resolve it.",
        action: { label: "Contact support", to: "mailto:support@atelier.example.com", external: true },
      };
    case "not_signed_in":
      return {
        title: "Signed out",
        message: "Sign in to continue.",
        action: {
          label: "Sign in",
          to: `/v1/auth/login?redirect_to=${encodeURIComponent(currentPath)}`,
          external: true,
        },
      };
    case "prompt_rejected":
      return {
        title: "Prompt not allowed",
        message: "This prompt cannot be generated. Change it and try again.",
      };
    case "forbidden":
    case "forbidden_origin":
      return { title: "Not allowed", message: error.message };
    case "not_found":
      return { title: "Not found", message: error.message };
    case "invalid_field":
      return { title: "Check the form", message: error.message };
    case "service_unavailable":
      return { title: "Temporarily unavailable", message: "A service is unavailable. Try again shortly." };
    default:
      return { title: "Something went wrong", message: error.message };
  }
}
