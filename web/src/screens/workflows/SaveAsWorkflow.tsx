import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { Link } from "react-router-dom";
import type { Job } from "../../api/client";
import { definitionParams, literalTemplate, useCreateWorkflow } from "../../api/workflows";
import { ErrorBanner } from "../../components/ErrorBanner";

/** Keeps a job's settings (model, prompt, parameters) as a new workflow, with a name and a note. */
export function SaveAsWorkflow({ job }: { job: Job }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [note, setNote] = useState("");
  const [template, setTemplate] = useState(() => literalTemplate(job.prompt));
  const create = useCreateWorkflow();
  const ids = { title: useId(), name: useId(), note: useId(), template: useId(), hint: useId() };

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal?.();
    if (!open && element.open) element.close();
  }, [open]);

  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate(
      {
        name: name.trim(),
        note: note.trim() || null,
        definition: {
          kind: job.kind === "video" ? "video" : "image",
          model: job.model,
          prompt_template: template,
          params: definitionParams(job.params),
        },
      },
      { onSuccess: () => setOpen(false) },
    );
  }

  return (
    <>
      <button
        type="button"
        onClick={() => {
          create.reset();
          setOpen(true);
        }}
      >
        Save as workflow
      </button>
      {create.data && (
        <p role="status">
          Saved as a workflow:{" "}
          <Link to={`/workflows/${encodeURIComponent(create.data.id)}`}>{create.data.name}</Link>
        </p>
      )}
      <dialog ref={dialog} aria-labelledby={ids.title} onCancel={() => setOpen(false)} className="dialog">
        <h2 id={ids.title}>Save as workflow</h2>
        <form onSubmit={submit}>
          <div className="field">
            <label htmlFor={ids.name}>Name</label>
            <input
              id={ids.name}
              value={name}
              required
              maxLength={100}
              onChange={(e) => setName(e.target.value)}
            />
          </div>
          <div className="field">
            <label htmlFor={ids.template}>Prompt template</label>
            <textarea
              id={ids.template}
              value={template}
              required
              maxLength={2000}
              rows={3}
              aria-describedby={ids.hint}
              onChange={(e) => setTemplate(e.target.value)}
            />
            <small id={ids.hint} className="muted">
              Write <code>{"{name}"}</code> where a value is filled in at each run, e.g.{" "}
              <code>{"a {animal} at dusk"}</code>; <code>{"{{"}</code> and <code>{"}}"}</code> stand for
              literal braces.
            </small>
          </div>
          <div className="field">
            <label htmlFor={ids.note}>Note</label>
            <textarea
              id={ids.note}
              value={note}
              maxLength={500}
              rows={2}
              onChange={(e) => setNote(e.target.value)}
            />
          </div>
          {create.isError && <ErrorBanner error={create.error} />}
          <div className="actions">
            <button type="button" onClick={() => setOpen(false)}>
              Cancel
            </button>
            <button type="submit" className="primary" disabled={create.isPending || !name.trim()}>
              Save workflow
            </button>
          </div>
        </form>
      </dialog>
    </>
  );
}
