import { useMyReports, type MyReport } from "../../api/account";
import { ErrorBanner } from "../../components/ErrorBanner";
import { REASON_LABELS, reportStatusWords } from "./wording";

/** What the person reported, and whether the moderators have decided (P7). */
export function MyReportsSection() {
  const reports = useMyReports();
  const items = reports.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section aria-labelledby="my-reports" className="panel">
      <h2 id="my-reports">My reports</h2>
      {reports.isError && <ErrorBanner error={reports.error} />}
      {reports.isPending ? (
        <p role="status">Loading your reports…</p>
      ) : items.length === 0 ? (
        <p>You have not reported anything. Use Report on a public item to tell the moderators about it.</p>
      ) : (
        <ul className="settings-list" aria-label="Your reports">
          {items.map((report) => (
            <ReportRow key={report.id} report={report} />
          ))}
        </ul>
      )}
      {reports.hasNextPage && (
        <button
          type="button"
          onClick={() => void reports.fetchNextPage()}
          disabled={reports.isFetchingNextPage}
        >
          {reports.isFetchingNextPage ? "Loading…" : "Show earlier reports"}
        </button>
      )}
    </section>
  );
}

function ReportRow({ report }: { report: MyReport }) {
  const what = report.target_type === "workflow" ? "A workflow" : "An item";
  return (
    <li>
      <div>
        <strong>{REASON_LABELS[report.reason]}</strong>: {reportStatusWords(report)}
        <br />
        <span className="muted">
          {what} ({report.target_id}), reported {new Date(report.created_at).toLocaleString()}
          {report.resolved_at && `, decided ${new Date(report.resolved_at).toLocaleString()}`}
        </span>
        {report.details && <p className="report-note">Your note: {report.details}</p>}
      </div>
    </li>
  );
}
