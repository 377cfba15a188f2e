import "./workflows.css";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useState } from "react";
import { Link, useParams } from "react-router-dom";
import { ApiError, api, unwrap } from "../../api/client";
import { keys, useJobs, useMe, useModels } from "../../api/queries";
import {
  useSetVisibility,
  useVersions,
  useWorkflow,
  type Workflow,
  type WorkflowVersion,
} from "../../api/workflows";
import { signInHref } from "../../app/Layout";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useJobAnnouncements } from "../../components/useJobAnnouncements";
import { JobRow } from "../../components/JobRow";
import { AddVersion } from "./AddVersion";
import { CompareVersions } from "./CompareVersions";
import { DefinitionView, workflowPageUrl } from "./DefinitionView";
import { PublicWorkflow } from "./PublicWorkflow";
import { RunVersion } from "./RunVersion";

/** One workflow: its owner's workspace (versions, runs, publishing, sharing), or a read-only public view. */
export default function WorkflowScreen() {
  const { workflowId = "" } = useParams();
  const me = useMe();
  const workflow = useWorkflow(workflowId);
  const versions = useVersions(workflowId, Boolean(me.data));
  useEffect(() => {
    document.title = `${workflow.data?.name ?? "Workflow"} · Atelier`;
  }, [workflow.data?.name]);

  if (workflow.isPending || me.isPending || (me.data && versions.isPending)) {
    return <p role="status">Loading the workflow…</p>;
  }
  if (workflow.error instanceof ApiError && workflow.error.status === 404) {
    return (
      <section aria-labelledby="missing-heading" className="panel narrow">
        <h1 id="missing-heading">Workflow not found</h1>
        <p>It does not exist, or it is private. Ask its owner for a share link.</p>
        {me.data ? (
          <Link to="/workflows">Your workflows</Link>
        ) : (
          <p>
            If it is yours, <a href={signInHref(`/workflows/${encodeURIComponent(workflowId)}`)}>sign in</a>{" "}
            to open it.
          </p>
        )}
      </section>
    );
  }
  if (workflow.isError) return <ErrorBanner error={workflow.error} />;
  if (versions.isError) return <ErrorBanner error={versions.error} />;
  if (versions.data) return <OwnWorkflow workflow={workflow.data} versions={versions.data} />;
  return <PublicWorkflow workflow={workflow.data} signedIn={Boolean(me.data)} />;
}

function OwnWorkflow({ workflow, versions }: { workflow: Workflow; versions: WorkflowVersion[] }) {
  const models = useModels();
  const latest = versions[versions.length - 1];
  return (
    <div className="workflow">
      <section aria-labelledby="workflow-heading" className="panel">
        <p>
          <Link to="/workflows">All workflows</Link>
        </p>
        <h1 id="workflow-heading">{workflow.name}</h1>
        {workflow.description && <p>{workflow.description}</p>}
        {workflow.forked_from && <p className="muted">Forked from another workflow.</p>}
        {workflow.removed && (
          <p className="error-text">
            This workflow was removed by moderation: it cannot be run or published.
          </p>
        )}
        <Publishing workflow={workflow} />
        <Sharing workflow={workflow} />
      </section>
      <section aria-labelledby="versions-heading" className="panel">
        <h2 id="versions-heading">Versions</h2>
        <ol className="version-list" reversed>
          {[...versions].reverse().map((version) => (
            <li key={version.id}>
              <article aria-labelledby={`version-${version.version}`}>
                <h3 id={`version-${version.version}`}>Version {version.version}</h3>
                <p>{version.note ? `Note: ${version.note}` : <span className="muted">No note</span>}</p>
                <p className="muted">Saved {new Date(version.created_at).toLocaleString()}</p>
                <DefinitionView definition={version.definition} />
              </article>
            </li>
          ))}
        </ol>
      </section>
      {models.isError && <ErrorBanner error={models.error} />}
      {models.data && (
        <>
          <section className="panel">
            <RunVersion workflowId={workflow.id} versions={versions} models={models.data.items} />
          </section>
          <WorkflowJobs versions={versions} />
          {latest && (
            <section className="panel">
              <AddVersion workflowId={workflow.id} latest={latest} models={models.data.items} />
            </section>
          )}
        </>
      )}
      {versions.length > 1 && (
        <div className="panel">
          <CompareVersions versions={versions} />
        </div>
      )}
    </div>
  );
}

function Publishing({ workflow }: { workflow: Workflow }) {
  const visibility = useSetVisibility(workflow.id);
  const linkId = useId();
  const isPublic = workflow.visibility === "public";
  return (
    <fieldset className="publishing">
      <legend>Visibility</legend>
      <p>
        {isPublic
          ? "Public: anyone with its address can see its latest version and fork it."
          : "Private: only you, and people you give a share link, can see it."}
      </p>
      <button
        type="button"
        onClick={() => visibility.mutate(isPublic ? "private" : "public")}
        disabled={visibility.isPending || (workflow.removed && !isPublic)}
      >
        {isPublic ? "Make private" : "Publish"}
      </button>
      {isPublic && (
        <div className="inline-form">
          <label htmlFor={linkId}>Public link</label>
          <input
            id={linkId}
            readOnly
            value={workflowPageUrl(workflow.id)}
            onFocus={(e) => e.target.select()}
          />
        </div>
      )}
      {visibility.isError && <ErrorBanner error={visibility.error} />}
    </fieldset>
  );
}

function Sharing({ workflow }: { workflow: Workflow }) {
  const client = useQueryClient();
  const linkId = useId();
  const [created, setCreated] = useState<{ id: string; url: string } | null>(null);
  const shares = useQuery({ queryKey: keys.shares, queryFn: () => unwrap(api.GET("/v1/shares")) });
  const mine = (shares.data?.items ?? []).filter(
    (share) => share.target_type === "workflow" && share.target_id === workflow.id,
  );
  const share = useMutation({
    mutationFn: () =>
      unwrap(api.POST("/v1/shares", { body: { target_type: "workflow", target_id: workflow.id } })),
    onSuccess: (answer) => {
      setCreated({
        id: answer.id,
        url: new URL(`/s/${encodeURIComponent(answer.token)}`, window.location.origin).toString(),
      });
      void client.invalidateQueries({ queryKey: keys.shares });
    },
  });
  const revoke = useMutation({
    mutationFn: (shareId: string) =>
      unwrap(api.DELETE("/v1/shares/{share_id}", { params: { path: { share_id: shareId } } })),
    onSuccess: (_answer, shareId) => {
      if (created?.id === shareId) setCreated(null);
      void client.invalidateQueries({ queryKey: keys.shares });
    },
  });
  const error = share.error ?? revoke.error;
  return (
    <fieldset className="share">
      <legend>Share by link</legend>
      <p className="muted">
        A share link shows this workflow read-only to anyone who has it, and lets them fork it.
      </p>
      <button type="button" onClick={() => share.mutate()} disabled={share.isPending || workflow.removed}>
        Create share link
      </button>
      {created && (
        <div className="inline-form">
          <label htmlFor={linkId}>Share link</label>
          <input id={linkId} readOnly value={created.url} onFocus={(e) => e.target.select()} />
        </div>
      )}
      {mine.length > 0 && (
        <ul className="share-list">
          {mine.map((item) => (
            <li key={item.id}>
              <span>Link created {new Date(item.created_at).toLocaleString()}</span>
              <button type="button" onClick={() => revoke.mutate(item.id)} disabled={revoke.isPending}>
                Revoke link
              </button>
            </li>
          ))}
        </ul>
      )}
      {error && <ErrorBanner error={error} />}
    </fieldset>
  );
}

/** The jobs run from this workflow's versions, with their status as in the Studio. */
function WorkflowJobs({ versions }: { versions: WorkflowVersion[] }) {
  const jobs = useJobs();
  const ids = useMemo(() => new Set(versions.map((version) => version.id)), [versions]);
  const items = useMemo(
    () =>
      (jobs.data?.items ?? []).filter((job) => job.workflow_version_id && ids.has(job.workflow_version_id)),
    [jobs.data, ids],
  );
  const announcement = useJobAnnouncements(items);
  return (
    <section aria-labelledby="workflow-jobs-heading" className="panel jobs">
      <h2 id="workflow-jobs-heading">Jobs</h2>
      <p className="visually-hidden" aria-live="polite" role="status">
        {announcement}
      </p>
      {jobs.isError && <ErrorBanner error={jobs.error} />}
      {jobs.isPending ? (
        <p>Loading jobs…</p>
      ) : items.length === 0 ? (
        <p className="muted">No runs yet. Jobs you run from this workflow appear here.</p>
      ) : (
        <ul className="job-list">
          {items.map((job) => (
            <JobRow key={job.id} job={job} />
          ))}
        </ul>
      )}
    </section>
  );
}
