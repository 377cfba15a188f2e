import "./workflows.css";
import type { Workflow } from "../../api/workflows";
import { useMe } from "../../api/queries";
import { ReportButton } from "../../components/ReportButton";
import { PublicWorkflow } from "./PublicWorkflow";

/** What a workflow's share link shows: the workflow read-only, with Fork for a signed-in person. */
export function SharedWorkflow({
  token,
  workflow,
  expiresAt,
}: {
  token: string;
  workflow: Workflow;
  expiresAt: string | null | undefined;
}) {
  const me = useMe();
  return (
    <>
      <PublicWorkflow workflow={workflow} signedIn={Boolean(me.data)} shareToken={token} />
      <div className="share-page actions">
        {expiresAt && <p className="muted">This link expires {new Date(expiresAt).toLocaleString()}.</p>}
        <ReportButton targetType="workflow" targetId={token} />
      </div>
    </>
  );
}
