import { useMutation, useQueryClient } from "@tanstack/react-query";
import { api, unwrap, type Job } from "../api/client";
import { formatCredits } from "../api/pricing";
import { isFinal, keys } from "../api/queries";
import { AssetMedia } from "./AssetMedia";
import { SaveAsWorkflow } from "../screens/workflows/SaveAsWorkflow";
import { ErrorBanner } from "./ErrorBanner";

export const STATUS_WORDS: Record<Job["status"], string> = {
  queued: "Queued",
  running: "Running",
  succeeded: "Succeeded",
  failed: "Failed",
  canceled: "Canceled",
};

export function JobRow({ job }: { job: Job }) {
  const client = useQueryClient();
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/jobs/{job_id}/cancel", { params: { path: { job_id: job.id } } })),
    onSettled: () => {
      void client.invalidateQueries({ queryKey: keys.jobs });
      void client.invalidateQueries({ queryKey: keys.balance });
    },
  });
  const percent = job.progress !== null && job.progress !== undefined ? Math.round(job.progress * 100) : null;
  return (
    <li className={`job job-${job.status}`} aria-label={`${job.kind} job: ${job.prompt}`}>
      <div className="job-head">
        <span className={`status status-${job.status}`}>{STATUS_WORDS[job.status]}</span>
        <span className="job-prompt">{job.prompt}</span>
        <span className="muted">{formatCredits(job.charged_credits || job.cost_credits)}</span>
      </div>
      {job.status === "queued" && job.queue_position !== null && job.queue_position !== undefined && (
        <p className="muted">Position in queue: {job.queue_position}</p>
      )}
      {job.status === "running" && (
        <progress max={100} value={percent ?? undefined} aria-label="Progress">
          {percent !== null ? `${percent}%` : "Working"}
        </progress>
      )}
      {job.error && <p className="error-text">{job.error.message}</p>}
      {job.outputs.length > 0 && (
        <div className="outputs">
          {job.outputs.map((id, index) => (
            <AssetMedia key={id} id={id} alt={`Output ${index + 1} of “${job.prompt}”`} />
          ))}
        </div>
      )}
      {!isFinal(job) && (
        <button type="button" onClick={() => cancel.mutate()} disabled={cancel.isPending}>
          Cancel
        </button>
      )}
      {job.status === "succeeded" && <SaveAsWorkflow job={job} />}
      {cancel.isError && <ErrorBanner error={cancel.error} />}
    </li>
  );
}
