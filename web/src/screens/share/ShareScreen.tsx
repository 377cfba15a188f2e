import { useQuery } from "@tanstack/react-query";
import { useEffect } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError, api, unwrap, type SharedAsset } from "../../api/client";
import { keys } from "../../api/queries";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Media } from "../../components/Media";
import { ReportButton } from "../../components/ReportButton";
import { SharedWorkflow } from "../workflows/SharedWorkflow";

/** What a share link shows anyone who has it, signed in or not. */
export default function ShareScreen() {
  const { token = "" } = useParams();
  const shared = useQuery({
    queryKey: keys.shared(token),
    queryFn: () => unwrap(api.GET("/v1/s/{token}", { params: { path: { token } } })),
  });
  const gone =
    shared.error instanceof ApiError && (shared.error.status === 404 || shared.error.status === 410);
  useEffect(() => {
    document.title = gone ? "No longer available · Atelier" : "Shared with you · Atelier";
  }, [gone]);

  if (shared.isPending) return <p role="status">Loading…</p>;
  if (gone) {
    return (
      <section aria-labelledby="gone-heading" className="panel narrow">
        <h1 id="gone-heading">This link is no longer available</h1>
        <p>The link was revoked or has expired. Ask the person who shared it for a new one.</p>
        <Link to="/">Browse the gallery</Link>
      </section>
    );
  }
  if (shared.isError) return <ErrorBanner error={shared.error} />;
  const asset = shared.data.asset as SharedAsset | null | undefined;
  if (!asset && shared.data.workflow) {
    return (
      <SharedWorkflow token={token} workflow={shared.data.workflow} expiresAt={shared.data.expires_at} />
    );
  }
  if (!asset) {
    return (
      <section aria-labelledby="shared-heading" className="panel narrow">
        <h1 id="shared-heading">Shared workflow</h1>
        <p>{shared.data.workflow?.name ?? "A workflow"} was shared with you.</p>
      </section>
    );
  }
  const label = asset.kind === "video" ? "A shared video" : "A shared image";
  return (
    <section aria-labelledby="shared-heading" className="share-page">
      <h1 id="shared-heading">{label}</h1>
      <Media
        kind={asset.kind}
        contentType={asset.content_type}
        src={asset.download_url}
        poster={asset.poster_url}
        alt={label}
        className="shared-media"
      />
      {shared.data.expires_at && (
        <p className="muted">This link expires {new Date(shared.data.expires_at).toLocaleString()}.</p>
      )}
      <div className="actions">
        <ReportButton targetType="asset" targetId={token} />
        <Link to="/">Browse the gallery</Link>
      </div>
    </section>
  );
}
