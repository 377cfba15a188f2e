import type { ApiKeyScope, MyReport, ReportReason } from "../../api/account";
import { ApiError } from "../../api/client";
import type { ErrorAdvice } from "../../api/errors";

/** Every reason the API takes, in words; typed from the schema so a new reason fails the build. */
export const REASON_LABELS: Record<ReportReason, string> = {
  spam: "Spam or scam",
  sexual: "Sexual content",
  minor_safety: "Endangers a child",
  violence: "Violence or gore",
  hate: "Hate or harassment",
  copyright: "Copyright infringement",
  other: "Something else",
};
export const REASONS = Object.keys(REASON_LABELS) as ReportReason[];

/** Every scope a key can have, with what it allows; the API's default is the first two. */
export const SCOPE_LABELS: Record<ApiKeyScope, string> = {
  generate: "Generate images and videos",
  "library:read": "Read the library",
  "library:write": "Change the library and workspaces",
  "billing:read": "Read the balance and billing history",
  "webhooks:read": "Read webhook endpoints, their deliveries and the signing secret",
  "webhooks:write": "Add, change and remove webhook endpoints",
  "account:export": "Download all of the account's data",
};
export const SCOPES = Object.keys(SCOPE_LABELS) as ApiKeyScope[];
export const DEFAULT_SCOPES: ApiKeyScope[] = ["generate", "library:read"];

/** Where a report stands, as its reporter reads it. */
export function reportStatusWords(report: Pick<MyReport, "status" | "outcome">): string {
  if (report.status === "open") return "Being reviewed";
  return report.outcome === "action_taken" ? "Resolved: action taken" : "Resolved: no action needed";
}

/** "Never used", "Used just now", "Used 3 minutes ago", "Used 2 hours ago", or the date. */
export function lastUseWords(lastUsedAt: string | null | undefined, now: Date = new Date()): string {
  if (!lastUsedAt) return "Never used";
  const at = new Date(lastUsedAt);
  const minutes = Math.floor((now.getTime() - at.getTime()) / 60_000);
  if (minutes < 1) return "Used just now";
  if (minutes < 60) return `Used ${minutes} ${minutes === 1 ? "minute" : "minutes"} ago`;
  const hours = Math.floor(minutes / 60);
  if (hours < 24) return `Used ${hours} ${hours === 1 ? "hour" : "hours"} ago`;
  return `Last used ${at.toLocaleDateString()}`;
}

/** What to read for the errors of the account's own tools; undefined leaves it to the general advice. */
/** Why a chosen picture was not used, in words; the way out is choosing another. */
export function pictureAdvice(error: unknown): ErrorAdvice | undefined {
  if (!(error instanceof ApiError)) {
    return error instanceof Error
      ? { title: "The picture could not be used", message: `${error.message} Choose another picture.` }
      : undefined;
  }
  switch (error.code) {
    case "upload_rejected":
      return {
        title: "This file cannot be a picture",
        message: "It is not a PNG, JPEG or WebP image we can read. Choose another picture.",
      };
    case "picture_rejected":
      return {
        title: "This picture breaks the content policy",
        message: "It cannot be your profile picture. Choose another picture.",
      };
    case "upload_quota_exceeded":
      return {
        title: "Too many unused uploads",
        message:
          "Use or wait out the images you uploaded but have not used yet, then choose your picture again.",
      };
    default:
      return undefined;
  }
}

export function accountAdvice(error: unknown): ErrorAdvice | undefined {
  if (!(error instanceof ApiError)) return undefined;
  switch (error.code) {
    case "workspace_not_empty":
      return {
        title: "This workspace is not empty",
        message: "Move or delete what is in it first; then it can be deleted.",
        action: { label: "Open the library", to: "/library" },
      };
    case "default_workspace":
      return { title: "This is your default workspace", message: "The default workspace cannot be deleted." };
    case "too_many_workspaces":
      return { title: "Too many workspaces", message: "Delete a workspace before creating another." };
    case "report_exists":
      return {
        title: "Already reported",
        message: "You reported this already; the moderators are reviewing it.",
        action: { label: "See your reports", to: "/settings#my-reports" },
      };
    case "email_confirmation_invalid":
      return {
        title: "This link no longer works",
        message:
          "It was used already, replaced by a newer request, or has expired. Your email address has not changed. Ask for the change again to get a new link.",
        action: { label: "Change your email", to: "/settings#profile" },
      };
    default:
      return undefined;
  }
}

/** Up to two initials of a display name, for the picture; "?" when it has no letters. */
export function initialsOf(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  const letters = words.length > 1 ? [words[0] ?? "", words.at(-1) ?? ""] : words.slice(0, 1);
  const initials = letters.map((word) => Array.from(word)[0] ?? "").join("");
  return initials ? initials.toLocaleUpperCase() : "?";
}

/** A report's errors: the account's words, and a target gone meanwhile. */
export function reportAdvice(error: unknown): ErrorAdvice | undefined {
  if (error instanceof ApiError && error.code === "not_found") {
    return { title: "No longer available", message: "This item was removed or is no longer public." };
  }
  return accountAdvice(error);
}
