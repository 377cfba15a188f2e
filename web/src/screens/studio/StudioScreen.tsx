import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useMemo, useRef, useState, type FormEvent } from "react";
import { api, unwrap, type Job, type Model } from "../../api/client";
import { priceCredits, type ParamValues } from "../../api/pricing";
import { keys, useJobs, useModels } from "../../api/queries";
import { ErrorBanner } from "../../components/ErrorBanner";
import { useJobAnnouncements } from "../../components/useJobAnnouncements";
import { JobRow } from "../../components/JobRow";
import { ParamsForm, paramsToSend, type ParamSpec } from "../../components/ParamsForm";
import { PriceTag } from "../../components/PriceTag";
import { uploadReference } from "./uploads";

interface Reference {
  key: string;
  name: string;
  preview: string;
  uploadId: string | null;
  error: string | null;
}

export default function StudioScreen() {
  const models = useModels();
  useEffect(() => {
    document.title = "Studio · Atelier";
  }, []);
  if (models.isPending) return <p role="status">Loading the models…</p>;
  if (models.isError) return <ErrorBanner error={models.error} />;
  return <Studio models={models.data.items} />;
}

/** A data: URL for the preview (the CSP allows data: images, not blob: ones). */
function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error("The file could not be read."));
    reader.readAsDataURL(file);
  });
}

function newKey(): string {
  return crypto.randomUUID();
}

function Studio({ models }: { models: Model[] }) {
  const client = useQueryClient();
  const [modelId, setModelId] = useState(models[0]?.id ?? "");
  const model = models.find((candidate) => candidate.id === modelId) ?? models[0];
  const [prompt, setPrompt] = useState("");
  const [negative, setNegative] = useState("");
  const [values, setValues] = useState<ParamValues>({});
  const [references, setReferences] = useState<Reference[]>([]);
  // One key per intended job: a second click (or a retry) of the same submission reuses it.
  const idempotencyKey = useRef(newKey());
  const inFlight = useRef(false);
  const ids = { model: useId(), prompt: useId(), negative: useId(), files: useId() };

  const params = (model?.params ?? {}) as Record<string, ParamSpec>;
  const estimate = model ? priceCredits(model, paramsToSend(params, values)) : 0;
  // The server's price for these exact choices, once a job with them was accepted, wins.
  const signature = JSON.stringify([model?.id, paramsToSend(params, values)]);
  const [quoted, setQuoted] = useState<{ signature: string; credits: number } | null>(null);
  const uploading = references.some((reference) => reference.uploadId === null && reference.error === null);

  const generate = useMutation({
    // The variable is the choices' signature, so the price the server answers is kept for them.
    mutationFn: async (_signature: string): Promise<Job> => {
      if (!model) throw new Error("No model");
      return unwrap(
        api.POST("/v1/jobs", {
          params: { header: { "idempotency-key": idempotencyKey.current } },
          body: {
            kind: model.kind,
            model: model.id,
            prompt,
            negative_prompt: negative.trim() ? negative : null,
            params: paramsToSend(params, values) as Record<string, string | number | boolean>,
            reference_upload_ids: references.flatMap((reference) =>
              reference.uploadId ? [reference.uploadId] : [],
            ),
          },
        }),
      );
    },
    onSuccess: (job, submitted) => {
      idempotencyKey.current = newKey();
      setQuoted({ signature: submitted, credits: job.cost_credits });
      client.setQueryData(keys.jobs, (page: { items: Job[]; next_cursor: string | null } | undefined) =>
        page ? { ...page, items: [job, ...page.items.filter((item) => item.id !== job.id)] } : page,
      );
      void client.invalidateQueries({ queryKey: keys.jobs });
      void client.invalidateQueries({ queryKey: keys.balance });
    },
    onSettled: () => {
      inFlight.current = false;
    },
  });

  function changed() {
    // A different submission is a different job.
    if (!inFlight.current) idempotencyKey.current = newKey();
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (inFlight.current || uploading) return;
    inFlight.current = true;
    generate.mutate(signature);
  }

  async function addFiles(files: FileList | null) {
    if (!files || !model) return;
    const room = Math.max(0, model.max_reference_images - references.length);
    for (const file of Array.from(files).slice(0, room)) {
      const key = newKey();
      const preview = await readAsDataUrl(file);
      setReferences((current) => [
        ...current,
        { key, name: file.name, preview, uploadId: null, error: null },
      ]);
      try {
        const uploadId = await uploadReference(file);
        setReferences((current) => current.map((item) => (item.key === key ? { ...item, uploadId } : item)));
      } catch (error) {
        const message = error instanceof Error ? error.message : "The upload failed.";
        setReferences((current) =>
          current.map((item) => (item.key === key ? { ...item, error: message } : item)),
        );
      }
    }
    changed();
  }

  function removeReference(key: string) {
    setReferences((current) => {
      return current.filter((item) => item.key !== key);
    });
    changed();
  }

  return (
    <div className="studio">
      <section aria-labelledby="studio-heading" className="panel">
        <h1 id="studio-heading">Studio</h1>
        <form onSubmit={submit} className="studio-form">
          <div className="field">
            <label htmlFor={ids.model}>Model</label>
            <select
              id={ids.model}
              value={model?.id ?? ""}
              onChange={(e) => {
                setModelId(e.target.value);
                setValues({});
                setReferences([]);
                changed();
              }}
            >
              {models.map((item) => (
                <option key={item.id} value={item.id}>
                  {item.name} ({item.kind}, {item.provider})
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor={ids.prompt}>Prompt</label>
            <textarea
              id={ids.prompt}
              value={prompt}
              required
              maxLength={2000}
              rows={3}
              onChange={(e) => {
                setPrompt(e.target.value);
                changed();
              }}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.negative}>Negative prompt</label>
            <textarea
              id={ids.negative}
              value={negative}
              maxLength={2000}
              rows={2}
              onChange={(e) => {
                setNegative(e.target.value);
                changed();
              }}
            />
          </div>
          <ParamsForm
            params={params}
            values={values}
            onChange={(next) => {
              setValues(next);
              changed();
            }}
          />
          {model && model.max_reference_images > 0 && (
            <fieldset className="references">
              <legend>Reference images (up to {model.max_reference_images})</legend>
              <label htmlFor={ids.files}>Add reference images</label>
              <input
                id={ids.files}
                type="file"
                accept="image/png,image/jpeg,image/webp"
                multiple
                disabled={references.length >= model.max_reference_images}
                onChange={(e) => {
                  void addFiles(e.target.files);
                  e.target.value = "";
                }}
              />
              {references.length > 0 && (
                <ul className="reference-list">
                  {references.map((reference, index) => (
                    <li key={reference.key}>
                      <img src={reference.preview} alt={`Reference image ${index + 1}: ${reference.name}`} />
                      <span className="muted" role="status">
                        {reference.error ?? (reference.uploadId ? "Uploaded" : "Uploading…")}
                      </span>
                      <button type="button" onClick={() => removeReference(reference.key)}>
                        Remove reference image {index + 1}
                      </button>
                    </li>
                  ))}
                </ul>
              )}
            </fieldset>
          )}
          {generate.isError && <ErrorBanner error={generate.error} />}
          <div className="submit-row">
            <PriceTag
              estimate={estimate}
              confirmed={quoted?.signature === signature ? quoted.credits : null}
            />
            <button
              type="submit"
              className="primary"
              disabled={generate.isPending || uploading || !prompt.trim()}
            >
              Generate
            </button>
          </div>
        </form>
      </section>
      <JobsPanel />
    </div>
  );
}

function JobsPanel() {
  const jobs = useJobs();
  const items = useMemo(() => jobs.data?.items ?? [], [jobs.data]);
  const announcement = useJobAnnouncements(items);

  return (
    <section aria-labelledby="jobs-heading" className="panel jobs">
      <h2 id="jobs-heading">Jobs</h2>
      <p className="visually-hidden" aria-live="polite" role="status">
        {announcement}
      </p>
      {jobs.isError && <ErrorBanner error={jobs.error} />}
      {jobs.isPending ? (
        <p>Loading jobs…</p>
      ) : items.length === 0 ? (
        <p className="muted">No jobs yet. Your generations appear here.</p>
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
