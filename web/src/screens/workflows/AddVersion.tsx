import { useId, useState, type FormEvent } from "react";
import type { Model } from "../../api/client";
import type { ParamValues } from "../../api/pricing";
import { definitionParams, useAddVersion, type WorkflowVersion } from "../../api/workflows";
import { ErrorBanner } from "../../components/ErrorBanner";
import { ParamsForm, paramsToSend, type ParamSpec } from "../../components/ParamsForm";

/**
 * A new version from the latest one's settings, edited, with a note saying what changed. After adding,
 * the form keeps the settings just saved (now the latest), so the confirmation stays in place.
 */
export function AddVersion({
  workflowId,
  latest,
  models,
}: {
  workflowId: string;
  latest: WorkflowVersion;
  models: Model[];
}) {
  const prefix = useId();
  const [modelId, setModelId] = useState(latest.definition.model);
  const [template, setTemplate] = useState(latest.definition.prompt_template);
  const [values, setValues] = useState<ParamValues>(latest.definition.params);
  const [note, setNote] = useState("");
  const add = useAddVersion(workflowId);
  const model = models.find((item) => item.id === modelId);
  const params = (model?.params ?? {}) as Record<string, ParamSpec>;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (!model) return;
    add.mutate(
      {
        note: note.trim(),
        definition: {
          kind: model.kind === "video" ? "video" : "image",
          model: model.id,
          prompt_template: template,
          params: definitionParams(paramsToSend(params, values)),
        },
      },
      { onSuccess: () => setNote("") },
    );
  }

  return (
    <form onSubmit={submit} className="version-form" aria-labelledby={`${prefix}-heading`}>
      <h2 id={`${prefix}-heading`}>Add a version</h2>
      <p className="muted">
        Versions never change once saved; a new one starts from version {latest.version}.
      </p>
      <div className="field">
        <label htmlFor={`${prefix}-model`}>Model</label>
        <select
          id={`${prefix}-model`}
          value={modelId}
          onChange={(e) => {
            setModelId(e.target.value);
            setValues({});
          }}
        >
          {!model && <option value={modelId}>{modelId} (no longer offered)</option>}
          {models.map((item) => (
            <option key={item.id} value={item.id}>
              {item.name} ({item.kind}, {item.provider})
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${prefix}-template`}>Prompt template</label>
        <textarea
          id={`${prefix}-template`}
          value={template}
          required
          maxLength={2000}
          rows={3}
          aria-describedby={`${prefix}-hint`}
          onChange={(e) => setTemplate(e.target.value)}
        />
        <small id={`${prefix}-hint`} className="muted">
          <code>{"{name}"}</code> becomes a field to fill in when the version runs.
        </small>
      </div>
      <ParamsForm params={params} values={values} onChange={setValues} />
      <div className="field">
        <label htmlFor={`${prefix}-note`}>Version note</label>
        <textarea
          id={`${prefix}-note`}
          value={note}
          required
          maxLength={500}
          rows={2}
          onChange={(e) => setNote(e.target.value)}
        />
      </div>
      {add.isError && <ErrorBanner error={add.error} />}
      <div className="actions">
        <button type="submit" className="primary" disabled={add.isPending || !model || !note.trim()}>
          Add version
        </button>
        <span role="status">{add.data ? `Version ${add.data.version} added.` : ""}</span>
      </div>
    </form>
  );
}
