import { useId, useState, type FormEvent } from "react";
import { Link, useParams } from "react-router-dom";
import {
  useAdminReport,
  useLiftSuspension,
  useResolveReport,
  type AdminReportDetail,
  type ModerationAction,
} from "../../api/admin";
import { ErrorBanner } from "../../components/ErrorBanner";
import { ACCOUNT_STATES, ACTIONS, STATES, actionLabel, problem, reasonLabel, when } from "./words";

/** One report: the item it names as it stands now, its owner, every report on it, and the decision. */
export function ReportReview() {
  const { reportId = "" } = useParams();
  const detail = useAdminReport(reportId);
  if (detail.isPending) return <p role="status">Loading the report…</p>;
  if (detail.isError) {
    return (
      <section aria-labelledby="report-heading">
        <h1 id="report-heading">Report</h1>
        <ErrorBanner error={detail.error} />
        <Link to="/admin">Back to the reports</Link>
      </section>
    );
  }
  const { report, item, owner, history } = detail.data;
  return (
    <section aria-labelledby="report-heading">
      <p>
        <Link to="/admin">Back to the reports</Link>
      </p>
      <h1 id="report-heading">Report: {reasonLabel(report.reason)}</h1>
      <p className="muted">
        Reported {when(report.created_at)} by <code>{report.reporter_id}</code>
        {report.details ? `: “${report.details}”` : "."}
      </p>
      <div className="review">
        <section aria-labelledby="item-heading" className="panel">
          <h2 id="item-heading">Reported item</h2>
          <ItemMedia detail={detail.data} />
          <dl className="facts">
            <dt>Item</dt>
            <dd>
              {item.target_type === "asset"
                ? `Asset${item.kind ? ` (${item.kind})` : ""}`
                : `Workflow “${item.name}”`}{" "}
              <code>{item.target_id}</code>
            </dd>
            <dt>State</dt>
            <dd>{STATES[item.state] ?? item.state}</dd>
            <dt>Visibility</dt>
            <dd>
              {item.visibility === "public" ? "Public" : item.visibility === "private" ? "Private" : "—"}
            </dd>
            <dt>Owner</dt>
            <dd>
              <code>{owner.id}</code> ({owner.status ? ACCOUNT_STATES[owner.status] : "account deleted"})
            </dd>
          </dl>
          {owner.status === "suspended" && <LiftSuspension accountId={owner.id} />}
        </section>
        <section aria-labelledby="decision-heading" className="panel">
          <h2 id="decision-heading">Decision</h2>
          {report.status === "open" ? (
            <ResolveForm detail={detail.data} />
          ) : (
            <p>
              {actionLabel(report.action)} on {report.resolved_at ? when(report.resolved_at) : "—"} by{" "}
              <code>{report.moderator_id}</code>. Note: {report.note}
            </p>
          )}
        </section>
      </div>
      <section aria-labelledby="history-heading">
        <h2 id="history-heading">Report history of this item</h2>
        <p className="muted">Every report made on this item, newest first.</p>
        <div className="table-scroll">
          <table className="data-table">
            <caption className="visually-hidden">Reports on this item</caption>
            <thead>
              <tr>
                <th scope="col">Reported</th>
                <th scope="col">Reason</th>
                <th scope="col">Reporter</th>
                <th scope="col">Outcome</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {history.map((entry) => (
                <tr key={entry.id} aria-current={entry.id === report.id ? "true" : undefined}>
                  <td>
                    {entry.id === report.id ? (
                      when(entry.created_at)
                    ) : (
                      <Link to={`/admin/reports/${entry.id}`}>{when(entry.created_at)}</Link>
                    )}
                  </td>
                  <td>
                    {reasonLabel(entry.reason)}
                    {entry.details ? `: “${entry.details}”` : ""}
                  </td>
                  <td>
                    <code>{entry.reporter_id}</code>
                  </td>
                  <td>{entry.status === "open" ? "Open" : actionLabel(entry.action)}</td>
                  <td>{entry.note ?? ""}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </section>
  );
}

function ItemMedia({ detail }: { detail: AdminReportDetail }) {
  const { item } = detail;
  if (item.state === "quarantined") {
    return <p>Quarantined content is never shown here; its record is kept for the legal report.</p>;
  }
  if (item.state === "gone") return <p>The item no longer exists.</p>;
  if (!item.media_url) return null;
  if (item.content_type?.startsWith("video/")) {
    return (
      <video
        className="review-media"
        src={item.media_url}
        poster={item.preview_url ?? undefined}
        controls
        muted
        aria-label="The reported video"
      />
    );
  }
  return <img className="review-media" src={item.media_url} alt="The reported image" />;
}

function ResolveForm({ detail }: { detail: AdminReportDetail }) {
  const { report, item } = detail;
  const [action, setAction] = useState<ModerationAction>("dismiss");
  const [note, setNote] = useState("");
  const [noteMissing, setNoteMissing] = useState(false);
  const resolve = useResolveReport(report.id);
  const noteId = useId();
  const noteHelp = useId();
  const noteError = useId();
  const choices = ACTIONS.filter(([value]) => value !== "quarantine" || item.target_type === "asset");

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!note.trim()) {
      setNoteMissing(true);
      document.getElementById(noteId)?.focus();
      return;
    }
    setNoteMissing(false);
    resolve.mutate({ action, note });
  }

  if (resolve.isSuccess) {
    return <p role="status">Report resolved: {actionLabel(resolve.data.action).toLowerCase()}.</p>;
  }
  return (
    <form onSubmit={submit} noValidate>
      <fieldset>
        <legend>Action</legend>
        {choices.map(([value, label, explanation]) => (
          <div className="choice" key={value}>
            <input
              type="radio"
              id={`action-${value}`}
              name="action"
              value={value}
              checked={action === value}
              onChange={() => setAction(value)}
              aria-describedby={`action-${value}-help`}
            />
            <label htmlFor={`action-${value}`}>{label}</label>
            <span id={`action-${value}-help`} className="muted">
              {explanation}
            </span>
          </div>
        ))}
      </fieldset>
      <div className="field">
        <label htmlFor={noteId}>Note</label>
        <textarea
          id={noteId}
          value={note}
          onChange={(event) => setNote(event.target.value)}
          rows={3}
          maxLength={2000}
          required
          aria-invalid={noteMissing || undefined}
          aria-describedby={noteMissing ? `${noteError} ${noteHelp}` : noteHelp}
        />
        <span id={noteHelp} className="muted">
          Required. Why you decided this; it is kept in the audit trail.
        </span>
        {noteMissing && (
          <span id={noteError} className="error-text">
            Write a note before resolving the report.
          </span>
        )}
      </div>
      {resolve.isError && (
        <div role="alert" className="banner error">
          <p>
            <strong>The report was not resolved.</strong> {problem(resolve.error)}
          </p>
        </div>
      )}
      <button type="submit" className="primary" disabled={resolve.isPending}>
        {resolve.isPending ? "Resolving…" : "Resolve report"}
      </button>
    </form>
  );
}

function LiftSuspension({ accountId }: { accountId: string }) {
  const [note, setNote] = useState("");
  const [noteMissing, setNoteMissing] = useState(false);
  const lift = useLiftSuspension(accountId);
  const noteId = useId();
  const noteError = useId();

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!note.trim()) {
      setNoteMissing(true);
      document.getElementById(noteId)?.focus();
      return;
    }
    setNoteMissing(false);
    lift.mutate(note);
  }

  if (lift.isSuccess) return <p role="status">Suspension lifted: the account is {lift.data.status} again.</p>;
  return (
    <form onSubmit={submit} noValidate aria-label="Lift the suspension">
      <p>
        This account is suspended until a moderator lifts the suspension. Its public items and links show
        again at once when it is lifted.
      </p>
      <div className="field">
        <label htmlFor={noteId}>Note for lifting the suspension</label>
        <textarea
          id={noteId}
          value={note}
          onChange={(event) => setNote(event.target.value)}
          rows={2}
          maxLength={2000}
          required
          aria-invalid={noteMissing || undefined}
          aria-describedby={noteMissing ? noteError : undefined}
        />
        {noteMissing && (
          <span id={noteError} className="error-text">
            Write a note before lifting the suspension.
          </span>
        )}
      </div>
      {lift.isError && (
        <div role="alert" className="banner error">
          <p>
            <strong>The suspension was not lifted.</strong> {problem(lift.error)}
          </p>
        </div>
      )}
      <button type="submit" disabled={lift.isPending}>
        Lift suspension
      </button>
    </form>
  );
}
