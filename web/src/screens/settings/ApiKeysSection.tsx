import { useId, useState, type FormEvent } from "react";
import {
  useApiKeys,
  useCreateApiKey,
  useRevokeApiKey,
  type ApiKey,
  type ApiKeyScope,
  type CreatedApiKey,
} from "../../api/account";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorBanner } from "../../components/ErrorBanner";
import { DEFAULT_SCOPES, lastUseWords, SCOPE_LABELS, SCOPES } from "./wording";

/** Keys for scripts: made with a name and scopes, shown once, listed with their last use, revoked. */
export function ApiKeysSection() {
  const keys = useApiKeys();
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  return (
    <section aria-labelledby="api-keys" className="panel">
      <h2 id="api-keys">API keys</h2>
      <p className="muted">
        A script sends a key as <code>Authorization: Bearer &lt;key&gt;</code>. A key can never change your
        account, its keys or its sessions.
      </p>
      {created ? (
        <NewKey created={created} onDone={() => setCreated(null)} />
      ) : (
        <CreateKeyForm onCreated={setCreated} />
      )}
      {keys.isError && <ErrorBanner error={keys.error} />}
      {keys.data &&
        (keys.data.items.length === 0 ? (
          <p>You have no API keys.</p>
        ) : (
          <ul className="settings-list" aria-label="Your API keys">
            {keys.data.items.map((key) => (
              <KeyRow key={key.id} apiKey={key} />
            ))}
          </ul>
        ))}
    </section>
  );
}

function CreateKeyForm({ onCreated }: { onCreated: (created: CreatedApiKey) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<ApiKeyScope[]>(DEFAULT_SCOPES);
  const create = useCreateApiKey();
  const nameId = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate({ name: name.trim(), scopes }, { onSuccess: onCreated });
  }
  function toggle(scope: ApiKeyScope, on: boolean) {
    setScopes((current) =>
      on ? SCOPES.filter((s) => s === scope || current.includes(s)) : current.filter((s) => s !== scope),
    );
  }
  return (
    <form onSubmit={submit} aria-label="Create an API key">
      <div className="field">
        <label htmlFor={nameId}>Key name</label>
        <input
          id={nameId}
          value={name}
          required
          maxLength={100}
          onChange={(event) => setName(event.target.value)}
        />
      </div>
      <fieldset>
        <legend>What the key may do</legend>
        {SCOPES.map((scope) => (
          <label key={scope} className="check">
            <input
              type="checkbox"
              checked={scopes.includes(scope)}
              onChange={(event) => toggle(scope, event.target.checked)}
            />
            {SCOPE_LABELS[scope]}
          </label>
        ))}
        {scopes.length === 0 && <p className="error-text">Choose at least one.</p>}
      </fieldset>
      <button
        type="submit"
        className="primary"
        disabled={create.isPending || name.trim() === "" || scopes.length === 0}
      >
        Create key
      </button>
      {create.isError && <ErrorBanner error={create.error} />}
    </form>
  );
}

/** The key itself, this once: the API never shows it again. */
function NewKey({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const fieldId = useId();
  async function copy() {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied("yes");
    } catch {
      setCopied("failed");
    }
  }
  return (
    <div className="banner success new-key" role="region" aria-label="New API key">
      <p>
        <strong>Copy your key now.</strong> It is shown this once; if you lose it, revoke it and create
        another.
      </p>
      <div className="inline-form">
        <label htmlFor={fieldId}>Key “{created.name}”</label>
        <input
          id={fieldId}
          value={created.key}
          readOnly
          onFocus={(event) => event.target.select()}
          className="secret"
        />
        <button type="button" onClick={() => void copy()}>
          Copy key
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
      {copied === "yes" && <p role="status">Copied to the clipboard.</p>}
      {copied === "failed" && (
        <p role="status">The browser did not allow copying: select the key and copy it.</p>
      )}
    </div>
  );
}

function KeyRow({ apiKey }: { apiKey: ApiKey }) {
  const [confirming, setConfirming] = useState(false);
  const revoke = useRevokeApiKey();
  return (
    <li>
      <div>
        <strong>{apiKey.name}</strong> <code className="muted">{apiKey.prefix}…</code>
        <br />
        <span className="muted">
          {apiKey.scopes.map((scope) => SCOPE_LABELS[scope]).join(" · ")}
          <br />
          Created {new Date(apiKey.created_at).toLocaleDateString()} · {lastUseWords(apiKey.last_used_at)}
        </span>
      </div>
      <button
        type="button"
        className="danger"
        onClick={() => setConfirming(true)}
        aria-label={`Revoke ${apiKey.name}`}
      >
        Revoke
      </button>
      {revoke.isError && <ErrorBanner error={revoke.error} />}
      {confirming && (
        <ConfirmDialog
          open
          title={`Revoke “${apiKey.name}”?`}
          confirmLabel="Revoke key"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            revoke.mutate(apiKey.id);
          }}
        >
          <p>Scripts using this key stop working at once. This cannot be undone.</p>
        </ConfirmDialog>
      )}
    </li>
  );
}
