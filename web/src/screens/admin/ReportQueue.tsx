import { Link, useSearchParams } from "react-router-dom";
import { useAdminReports, type ReportReason, type ReportStatusFilter } from "../../api/admin";
import { ErrorBanner } from "../../components/ErrorBanner";
import { REASONS, actionLabel, reasonLabel, when } from "./words";

/** The report queue: open reports (child-safety first, then newest) or resolved ones, by reason. */
export function ReportQueue() {
  const [params, setParams] = useSearchParams();
  const status: ReportStatusFilter = params.get("status") === "resolved" ? "resolved" : "open";
  const reasonParam = params.get("reason") ?? "";
  const reason = (REASONS.some(([value]) => value === reasonParam) ? reasonParam : "") as ReportReason | "";
  const reports = useAdminReports(status, reason);
  const items = reports.data?.pages.flatMap((page) => page.items) ?? [];

  function choose(next: { status?: ReportStatusFilter; reason?: string }) {
    const merged = { status, reason, ...next };
    const search = new URLSearchParams();
    if (merged.status !== "open") search.set("status", merged.status);
    if (merged.reason) search.set("reason", merged.reason);
    setParams(search, { replace: true });
  }

  return (
    <section aria-labelledby="reports-heading">
      <div className="screen-head">
        <h1 id="reports-heading">Reports</h1>
        <div className="filters">
          <fieldset className="segmented">
            <legend className="visually-hidden">Status</legend>
            {(
              [
                ["open", "Open"],
                ["resolved", "Resolved"],
              ] as const
            ).map(([value, label]) => (
              <label key={value}>
                <input
                  type="radio"
                  name="report-status"
                  value={value}
                  checked={status === value}
                  onChange={() => choose({ status: value })}
                />
                {label}
              </label>
            ))}
          </fieldset>
          <div className="field inline">
            <label htmlFor="report-reason">Reason</label>
            <select
              id="report-reason"
              value={reason}
              onChange={(event) => choose({ reason: event.target.value })}
            >
              <option value="">All reasons</option>
              {REASONS.map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </div>
        </div>
      </div>
      <p className="muted">
        {status === "open"
          ? "Open reports, child-safety reports first, then newest first."
          : "Resolved reports, newest first."}
      </p>
      {reports.isError && <ErrorBanner error={reports.error} />}
      {reports.isPending ? (
        <p role="status">Loading reports…</p>
      ) : items.length === 0 ? (
        <p role="status">{status === "open" ? "No open reports." : "No resolved reports."}</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table">
            <caption className="visually-hidden">
              {status === "open" ? "Open reports" : "Resolved reports"}
              {reason ? `: ${reasonLabel(reason)}` : ""}
            </caption>
            <thead>
              <tr>
                <th scope="col">Reported</th>
                <th scope="col">Reason</th>
                <th scope="col">Item</th>
                <th scope="col">Owner</th>
                <th scope="col">{status === "open" ? "Details" : "Outcome"}</th>
                <th scope="col">
                  <span className="visually-hidden">Review</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((report) => (
                <tr key={report.id}>
                  <td>{when(report.created_at)}</td>
                  <td>{reasonLabel(report.reason)}</td>
                  <td>
                    {report.target_type === "asset" ? "Asset" : "Workflow"} <code>{report.target_id}</code>
                  </td>
                  <td>
                    <code>{report.owner_id}</code>
                  </td>
                  <td>{status === "open" ? (report.details ?? "") : actionLabel(report.action)}</td>
                  <td>
                    <Link to={`/admin/reports/${report.id}`} aria-label={`Review report ${report.id}`}>
                      Review
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {reports.hasNextPage && (
        <button
          type="button"
          onClick={() => void reports.fetchNextPage()}
          disabled={reports.isFetchingNextPage}
        >
          {reports.isFetchingNextPage ? "Loading…" : "Load more reports"}
        </button>
      )}
    </section>
  );
}
