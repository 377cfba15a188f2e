import "./workflows.css";
import { useEffect } from "react";
import { Link } from "react-router-dom";
import { useWorkflows } from "../../api/workflows";
import { ErrorBanner } from "../../components/ErrorBanner";

/** The person's workflows: saved job settings, each with its versions. */
export default function WorkflowsScreen() {
  const workflows = useWorkflows();
  useEffect(() => {
    document.title = "Workflows · Atelier";
  }, []);
  const items = workflows.data?.pages.flatMap((page) => page.items) ?? [];
  return (
    <section aria-labelledby="workflows-heading" className="panel">
      <h1 id="workflows-heading">Workflows</h1>
      <p className="muted">
        A workflow keeps a job&rsquo;s settings so you can run them again, with a prompt template whose{" "}
        <code>{"{variables}"}</code> you fill in each time.
      </p>
      {workflows.isError && <ErrorBanner error={workflows.error} />}
      {workflows.isPending ? (
        <p role="status">Loading your workflows…</p>
      ) : items.length === 0 ? (
        <p>
          No workflows yet. Use <strong>Save as workflow</strong> on a finished job in the{" "}
          <Link to="/studio">Studio</Link>.
        </p>
      ) : (
        <ul className="workflow-list" aria-label="My workflows">
          {items.map((workflow) => (
            <li key={workflow.id}>
              <Link to={`/workflows/${encodeURIComponent(workflow.id)}`}>{workflow.name}</Link>{" "}
              <span className="muted">
                version {workflow.version} · {workflow.visibility === "public" ? "Public" : "Private"}
                {workflow.forked_from ? " · forked" : ""} · updated{" "}
                {new Date(workflow.updated_at).toLocaleString()}
              </span>
            </li>
          ))}
        </ul>
      )}
      {workflows.hasNextPage && (
        <button
          type="button"
          onClick={() => void workflows.fetchNextPage()}
          disabled={workflows.isFetchingNextPage}
        >
          Show more workflows
        </button>
      )}
    </section>
  );
}
