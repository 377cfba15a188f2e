import { useMutation } from "@tanstack/react-query";
import { useId, useState, type FormEvent } from "react";
import { api, unwrap } from "../api/client";
import { ErrorBanner } from "./ErrorBanner";

const REASONS = [
  ["spam", "Spam"],
  ["sexual", "Sexual content"],
  ["minor_safety", "Child safety"],
  ["violence", "Violence"],
  ["hate", "Hate"],
  ["copyright", "Copyright"],
  ["other", "Something else"],
] as const;
type Reason = (typeof REASONS)[number][0];

/** Reports a public item (or a shared one, by its token) to the moderators. */
export function ReportButton({
  targetType,
  targetId,
}: {
  targetType: "asset" | "workflow";
  targetId: string;
}) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState<Reason>("spam");
  const selectId = useId();
  const report = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/reports", {
          body: { target_type: targetType, target_id: targetId, reason },
        }),
      ),
  });
  if (report.isSuccess) return <p role="status">Thank you: the report was sent to the moderators.</p>;
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Report
      </button>
    );
  }
  function submit(event: FormEvent) {
    event.preventDefault();
    report.mutate();
  }
  return (
    <form onSubmit={submit} className="inline-form">
      <label htmlFor={selectId}>Reason</label>
      <select id={selectId} value={reason} onChange={(e) => setReason(e.target.value as Reason)}>
        {REASONS.map(([value, label]) => (
          <option key={value} value={value}>
            {label}
          </option>
        ))}
      </select>
      <button type="submit" disabled={report.isPending}>
        Send report
      </button>
      {report.isError && <ErrorBanner error={report.error} />}
    </form>
  );
}
