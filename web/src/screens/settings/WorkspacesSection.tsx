import { useId, useState, type FormEvent } from "react";
import {
  useCreateWorkspace,
  useDeleteWorkspace,
  useRenameWorkspace,
  type Workspace,
} from "../../api/account";
import { useWorkspaces } from "../../api/queries";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorBanner } from "../../components/ErrorBanner";
import { accountAdvice } from "./wording";

/** Workspaces group the library: created, renamed, and deleted once empty (never the default). */
export function WorkspacesSection() {
  const workspaces = useWorkspaces();
  return (
    <section aria-labelledby="workspaces" className="panel">
      <h2 id="workspaces">Workspaces</h2>
      {workspaces.isError && <ErrorBanner error={workspaces.error} />}
      {workspaces.data && (
        <ul className="settings-list" aria-label="Your workspaces">
          {workspaces.data.items.map((workspace) => (
            <WorkspaceRow key={workspace.id} workspace={workspace} />
          ))}
        </ul>
      )}
      <CreateWorkspaceForm />
    </section>
  );
}

function CreateWorkspaceForm() {
  const [name, setName] = useState("");
  const create = useCreateWorkspace();
  const id = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate(name.trim(), { onSuccess: () => setName("") });
  }
  return (
    <form onSubmit={submit} className="inline-form" aria-label="Create a workspace">
      <label htmlFor={id}>New workspace name</label>
      <input
        id={id}
        value={name}
        required
        maxLength={100}
        onChange={(event) => setName(event.target.value)}
      />
      <button type="submit" disabled={create.isPending || name.trim() === ""}>
        Create workspace
      </button>
      {create.isError && <ErrorBanner error={create.error} advice={accountAdvice(create.error)} />}
    </form>
  );
}

function WorkspaceRow({ workspace }: { workspace: Workspace }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(workspace.name);
  const [confirming, setConfirming] = useState(false);
  const rename = useRenameWorkspace();
  const remove = useDeleteWorkspace();
  const id = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    rename.mutate({ id: workspace.id, name: name.trim() }, { onSuccess: () => setEditing(false) });
  }
  return (
    <li>
      {editing ? (
        <form onSubmit={submit} className="inline-form" aria-label={`Rename ${workspace.name}`}>
          <label htmlFor={id}>New name for {workspace.name}</label>
          <input
            id={id}
            value={name}
            required
            maxLength={100}
            onChange={(event) => setName(event.target.value)}
          />
          <button type="submit" disabled={rename.isPending || name.trim() === ""}>
            Save
          </button>
          <button
            type="button"
            onClick={() => {
              setEditing(false);
              setName(workspace.name);
              rename.reset();
            }}
          >
            Cancel
          </button>
        </form>
      ) : (
        <>
          <div>
            <strong>{workspace.name}</strong>
            {workspace.is_default && <span className="muted"> (default)</span>}
          </div>
          <div className="actions">
            <button type="button" onClick={() => setEditing(true)} aria-label={`Rename ${workspace.name}`}>
              Rename
            </button>
            {!workspace.is_default && (
              <button
                type="button"
                className="danger"
                onClick={() => {
                  remove.reset();
                  setConfirming(true);
                }}
                aria-label={`Delete ${workspace.name}`}
              >
                Delete
              </button>
            )}
          </div>
        </>
      )}
      {rename.isError && <ErrorBanner error={rename.error} advice={accountAdvice(rename.error)} />}
      {remove.isError && <ErrorBanner error={remove.error} advice={accountAdvice(remove.error)} />}
      {confirming && (
        <ConfirmDialog
          open
          title={`Delete “${workspace.name}”?`}
          confirmLabel="Delete workspace"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            remove.mutate(workspace.id);
          }}
        >
          <p>Only an empty workspace can be deleted.</p>
        </ConfirmDialog>
      )}
    </li>
  );
}
