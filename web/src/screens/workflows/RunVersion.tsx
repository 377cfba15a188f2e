import { useId, useRef, useState, type FormEvent } from "react";
import type { Model } from "../../api/client";
import { priceCredits } from "../../api/pricing";
import { templateVariables, useRunVersion, type WorkflowVersion } from "../../api/workflows";
import { ErrorBanner } from "../../components/ErrorBanner";
import { labelFor } from "../../components/ParamsForm";
import { PriceTag } from "../../components/PriceTag";

/** Runs one version: a field for each of its template's variables, the price, and Run. */
export function RunVersion({
  workflowId,
  versions,
  models,
}: {
  workflowId: string;
  versions: WorkflowVersion[];
  models: Model[];
}) {
  const latest = versions[versions.length - 1];
  const [chosen, setChosen] = useState<number | null>(null);
  const version = versions.find((item) => item.version === chosen) ?? latest;
  const [values, setValues] = useState<Record<string, string>>({});
  // One key per intended job: a double click submits once; a change makes a new one.
  const idempotencyKey = useRef(crypto.randomUUID());
  const run = useRunVersion(workflowId);
  const prefix = useId();
  if (!version) return null;

  const variables = templateVariables(version.definition.prompt_template);
  const model = models.find((item) => item.id === version.definition.model);
  const estimate = model ? priceCredits(model, version.definition.params) : 0;
  const quoted =
    run.data && run.variables?.version === version.version && run.data.cost_credits
      ? run.data.cost_credits
      : null;
  const complete = variables.every((name) => (values[name] ?? "").trim() !== "");

  function changed() {
    if (!run.isPending) idempotencyKey.current = crypto.randomUUID();
  }

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!version || run.isPending) return;
    const filled = Object.fromEntries(variables.map((name) => [name, values[name] ?? ""]));
    run.mutate(
      { version: version.version, variables: filled, idempotencyKey: idempotencyKey.current },
      { onSuccess: () => (idempotencyKey.current = crypto.randomUUID()) },
    );
  }

  return (
    <form onSubmit={submit} className="run-form" aria-labelledby={`${prefix}-heading`}>
      <h2 id={`${prefix}-heading`}>Run a version</h2>
      <div className="field">
        <label htmlFor={`${prefix}-version`}>Version</label>
        <select
          id={`${prefix}-version`}
          value={version.version}
          onChange={(e) => {
            setChosen(Number(e.target.value));
            changed();
          }}
        >
          {[...versions].reverse().map((item) => (
            <option key={item.id} value={item.version}>
              Version {item.version}
              {item.note ? ` — ${item.note}` : ""}
            </option>
          ))}
        </select>
      </div>
      {variables.length === 0 ? (
        <p className="muted">This version&rsquo;s prompt has no variables: it runs as it is.</p>
      ) : (
        <fieldset>
          <legend>Variables</legend>
          {variables.map((name) => (
            <div key={name} className="field">
              <label htmlFor={`${prefix}-var-${name}`}>{labelFor(name || "value")}</label>
              <input
                id={`${prefix}-var-${name}`}
                value={values[name] ?? ""}
                required
                maxLength={500}
                onChange={(e) => {
                  setValues({ ...values, [name]: e.target.value });
                  changed();
                }}
              />
            </div>
          ))}
        </fieldset>
      )}
      {run.isError && <ErrorBanner error={run.error} />}
      <div className="submit-row">
        <PriceTag estimate={estimate} confirmed={quoted} />
        <button type="submit" className="primary" disabled={run.isPending || !complete}>
          Run
        </button>
      </div>
    </form>
  );
}
