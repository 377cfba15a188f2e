import { useLocation, useNavigate } from "react-router-dom";
import { useForkWorkflow, type Workflow } from "../../api/workflows";
import { signInHref } from "../../app/Layout";
import { ErrorBanner } from "../../components/ErrorBanner";
import { DefinitionView } from "./DefinitionView";

/** Someone else's public workflow, or one opened from a share link: read-only, with Fork. */
export function PublicWorkflow({
  workflow,
  signedIn,
  shareToken = null,
}: {
  workflow: Workflow;
  signedIn: boolean;
  shareToken?: string | null;
}) {
  const fork = useForkWorkflow(workflow.id, shareToken);
  const navigate = useNavigate();
  const location = useLocation();
  return (
    <section aria-labelledby="public-workflow-heading" className="panel narrow">
      <h1 id="public-workflow-heading">{workflow.name}</h1>
      <p className="muted">
        {shareToken ? "A workflow shared with you" : "A public workflow"}, version {workflow.version}.
      </p>
      {workflow.description && <p>{workflow.description}</p>}
      {workflow.definition && <DefinitionView definition={workflow.definition} />}
      {fork.isError && <ErrorBanner error={fork.error} />}
      <div className="actions">
        {signedIn ? (
          <button
            type="button"
            className="primary"
            disabled={fork.isPending}
            onClick={() =>
              fork.mutate(undefined, {
                onSuccess: (copy) => navigate(`/workflows/${encodeURIComponent(copy.id)}`),
              })
            }
          >
            Fork
          </button>
        ) : (
          <a className="button primary" href={signInHref(`${location.pathname}${location.search}`)}>
            Sign in to fork
          </a>
        )}
      </div>
      <p className="muted">
        Forking copies its latest version into your workflows; the original stays as it is.
      </p>
    </section>
  );
}
