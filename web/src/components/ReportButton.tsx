import { useId, useState, type FormEvent } from "react";
import { Link, useLocation } from "react-router-dom";
import { useSendReport, type ReportReason } from "../api/account";
import { useMe } from "../api/queries";
import { signInHref } from "../app/Layout";
import { REASON_LABELS, REASONS, reportAdvice } from "../screens/settings/wording";
import { ErrorBanner } from "./ErrorBanner";

const NOTE_LIMIT = 2000;

/**
 * Reports a public item (or a shared one, by its link's token) to the moderators: a reason from the
 * API's list, an optional note, then a confirmation with where to follow it (P7).
 */
export function ReportButton({
  targetType,
  targetId,
}: {
  targetType: "asset" | "workflow";
  targetId: string;
}) {
  const me = useMe();
  const location = useLocation();
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState<ReportReason | null>(null);
  const [details, setDetails] = useState("");
  const report = useSendReport();
  const ids = { note: useId(), noteHint: useId() };

  if (report.isSuccess) {
    return (
      <div role="status" className="banner success">
        <p>
          <strong>Report sent.</strong> The moderators will review it. You can follow it in{" "}
          <Link to="/settings#my-reports">your reports</Link>.
        </p>
      </div>
    );
  }
  if (!open) {
    return (
      <button type="button" onClick={() => setOpen(true)}>
        Report
      </button>
    );
  }
  if (!me.data) {
    return (
      <div className="banner">
        <p>Sign in to report this, so the moderators can follow up with you.</p>
        <a className="button" href={signInHref(`${location.pathname}${location.search}`)}>
          Sign in to report
        </a>
      </div>
    );
  }
  function submit(event: FormEvent) {
    event.preventDefault();
    if (!reason) return;
    const note = details.trim();
    report.mutate({
      target_type: targetType,
      target_id: targetId,
      reason,
      ...(note ? { details: note } : {}),
    });
  }
  return (
    <form onSubmit={submit} className="report-form" aria-label="Report this">
      <fieldset>
        <legend>Why are you reporting this?</legend>
        {REASONS.map((value) => (
          <label key={value} className="check">
            <input
              type="radio"
              name={`reason-${targetId}`}
              value={value}
              checked={reason === value}
              onChange={() => setReason(value)}
              required
            />
            {REASON_LABELS[value]}
          </label>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={ids.note}>Note (optional)</label>
        <textarea
          id={ids.note}
          value={details}
          maxLength={NOTE_LIMIT}
          rows={3}
          aria-describedby={ids.noteHint}
          onChange={(event) => setDetails(event.target.value)}
        />
        <span id={ids.noteHint} className="muted">
          What the moderators should know, in up to {NOTE_LIMIT} characters.
        </span>
      </div>
      <div className="actions">
        <button type="submit" className="primary" disabled={report.isPending || reason === null}>
          Send report
        </button>
        <button
          type="button"
          onClick={() => {
            setOpen(false);
            report.reset();
          }}
        >
          Cancel
        </button>
      </div>
      {report.isError && <ErrorBanner error={report.error} advice={reportAdvice(report.error)} />}
    </form>
  );
}
