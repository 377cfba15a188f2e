import { ApiError } from "../../api/client";
import type { ModerationAction, ReportReason } from "../../api/admin";

export const REASONS: readonly (readonly [ReportReason, string])[] = [
  ["spam", "Spam"],
  ["sexual", "Sexual content"],
  ["minor_safety", "Child safety"],
  ["violence", "Violence"],
  ["hate", "Hate"],
  ["copyright", "Copyright"],
  ["other", "Something else"],
];

export function reasonLabel(reason: string): string {
  return REASONS.find(([value]) => value === reason)?.[1] ?? reason;
}

export const ACTIONS: readonly (readonly [ModerationAction, string, string])[] = [
  ["dismiss", "Dismiss", "Nothing wrong: the item stays (or goes back) where it was."],
  ["remove", "Remove", "Take the item down everywhere at once; its owner keeps the account."],
  [
    "quarantine",
    "Quarantine",
    "Illegal content: removed for good and moved out of the owner's storage, kept for a report to the authorities.",
  ],
  ["suspend_account", "Suspend account", "Remove the item and suspend its owner until a moderator lifts it."],
];

const DONE: Record<string, string> = {
  dismiss: "Dismissed",
  remove: "Removed",
  quarantine: "Quarantined",
  suspend_account: "Removed, account suspended",
  lift_suspension: "Suspension lifted",
};

export function actionLabel(action: string | null | undefined): string {
  if (!action) return "";
  return DONE[action] ?? action;
}

export const STATES: Record<string, string> = {
  live: "Live",
  under_review: "Hidden pending review",
  removed: "Removed",
  quarantined: "Quarantined",
  gone: "Deleted",
};

export const ACCOUNT_STATES: Record<string, string> = {
  active: "Active",
  restricted: "Restricted",
  suspended: "Suspended",
  deletion_scheduled: "Deletion scheduled",
};

export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** What went wrong with a moderator's request, in plain words, from the API's own answer. */
export function problem(error: unknown): string {
  if (!(error instanceof ApiError))
    return "The request could not be completed. Check your connection and try again.";
  switch (error.code) {
    case "notice_too_short":
      return `${error.message} Choose a later date, or publish it as a non-material change.`;
    case "conflict":
      return `${error.message} Reload to see the current state.`;
    case "not_suspended":
      return "This account is not suspended (any more). Reload to see its current status.";
    case "not_found":
      return "It no longer exists. Go back to the queue.";
    case "policy_version_exists":
      return `${error.message} Give this text a new version name.`;
    case "invalid_field": {
      const fields = Array.isArray(error.details)
        ? (error.details as { field?: unknown }[]).map((detail) => detail.field).filter(Boolean)
        : [];
      if (!fields.length) return `Check the form: ${error.message}`;
      return `Check the form: ${error.message.replace(/\.$/, "")} (${fields.join(", ")}).`;
    }
    default:
      return error.message;
  }
}
