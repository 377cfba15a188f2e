import { Link, useSearchParams } from "react-router-dom";
import { useAuditTrail } from "../../api/admin";
import { ErrorBanner } from "../../components/ErrorBanner";
import { actionLabel, when } from "./words";

function thisMonth(): string {
  return new Date().toISOString().slice(0, 7);
}

/** Every moderator action of one month, newest first: who, what, on what, when, and why. */
export function AuditTrail() {
  const [params, setParams] = useSearchParams();
  const chosen = params.get("month") ?? "";
  const month = /^\d{4}-(0[1-9]|1[0-2])$/.test(chosen) ? chosen : thisMonth();
  const audit = useAuditTrail(month);
  const entries = audit.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <section aria-labelledby="audit-heading">
      <div className="screen-head">
        <h1 id="audit-heading">Audit trail</h1>
        <div className="field inline">
          <label htmlFor="audit-month">Month</label>
          <input
            id="audit-month"
            type="month"
            value={month}
            max={thisMonth()}
            onChange={(event) => {
              if (event.target.value) setParams({ month: event.target.value }, { replace: true });
            }}
          />
        </div>
      </div>
      <p className="muted">
        Every moderator action of the month, newest first, with the note it was taken with.
      </p>
      {audit.isError && <ErrorBanner error={audit.error} />}
      {audit.isPending ? (
        <p role="status">Loading the audit trail…</p>
      ) : entries.length === 0 ? (
        <p role="status">No moderator actions in this month.</p>
      ) : (
        <div className="table-scroll">
          <table className="data-table">
            <caption className="visually-hidden">Moderator actions in {month}</caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Moderator</th>
                <th scope="col">Action</th>
                <th scope="col">On</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id}>
                  <td>{when(entry.at)}</td>
                  <td>{entry.moderator_email ?? <code>{entry.moderator_id}</code>}</td>
                  <td>{actionLabel(entry.action)}</td>
                  <td>
                    {entry.target_type === "account"
                      ? "Account"
                      : entry.target_type === "asset"
                        ? "Asset"
                        : "Workflow"}{" "}
                    <code>{entry.target_id}</code>
                    {entry.report_id && (
                      <>
                        {" "}
                        (<Link to={`/admin/reports/${entry.report_id}`}>report</Link>)
                      </>
                    )}
                  </td>
                  <td>{entry.note}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {audit.hasNextPage && (
        <button type="button" onClick={() => void audit.fetchNextPage()} disabled={audit.isFetchingNextPage}>
          {audit.isFetchingNextPage ? "Loading…" : "Load more actions"}
        </button>
      )}
    </section>
  );
}
