import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { useLocation, useSearchParams } from "react-router-dom";
import {
  isUnfinished,
  useCancelDeletion,
  useDeletion,
  useExports,
  useRequestExport,
  useScheduleDeletion,
  type Export,
} from "../../api/privacy";
import { ErrorBanner } from "../../components/ErrorBanner";
import { exactTime, remaining, size } from "./format";

/** "Download my data" (P8) and "Delete my account" (P9, P10), in the account's settings. */
export function PrivacySection() {
  return (
    <>
      <DataExportSection />
      <DeleteAccountSection />
    </>
  );
}

const STATUS_WORDS: Record<Export["status"], string> = {
  queued: "Queued",
  running: "Being prepared",
  ready: "Ready",
  failed: "Failed",
  expired: "Expired",
};

/**
 * Brings the section a link names (#your-data, #delete-account) into view once it has rendered;
 * `named` does the same without the fragment (which a sign-in on the way loses).
 */
function useLandingTarget(id: string, ready: boolean, named = false) {
  const location = useLocation();
  const done = useRef(false);
  useEffect(() => {
    if (!ready || done.current || (location.hash !== `#${id}` && !named)) return;
    done.current = true;
    const target = document.getElementById(id);
    target?.scrollIntoView?.({ block: "start" });
    target?.focus();
  }, [id, ready, named, location.hash]);
}

function DataExportSection() {
  const exports = useExports();
  const request = useRequestExport();
  const [params] = useSearchParams();
  const named = params.get("export");
  useLandingTarget("your-data", exports.isSuccess, named !== null);

  const items = exports.data?.items ?? [];
  const current = named ? items.find((item) => item.id === named) : items[0];
  const earlier = items.filter((item) => item !== current);
  const busy = items.some(isUnfinished);

  return (
    <section aria-labelledby="your-data" className="settings-section">
      <h2 id="your-data" tabIndex={-1}>
        Your data
      </h2>
      <p>
        One zip of everything Atelier holds about you: your account, jobs and prompts, uploads and outputs,
        workflows, workspaces, your choices, and the record of your credits, with a manifest listing every
        file. We email you a link when it is ready; the archive is deleted 7 days later.
      </p>
      <button
        type="button"
        className="primary"
        disabled={busy || request.isPending || exports.isPending}
        onClick={() => request.mutate()}
      >
        Download my data
      </button>
      {request.isError && <ErrorBanner error={request.error} />}
      {exports.isError && <ErrorBanner error={exports.error} />}
      {named && exports.isSuccess && !current && (
        <p className="banner">
          The export in your email is not listed here: it may belong to another account. Sign in as the
          account it was sent to, or request a new one.
        </p>
      )}
      <div role="status" aria-live="polite">
        {current && <ExportStatus item={current} />}
      </div>
      {earlier.length > 0 && (
        <>
          <h3>Earlier exports</h3>
          <table className="export-table">
            <thead>
              <tr>
                <th scope="col">Requested</th>
                <th scope="col">Status</th>
                <th scope="col">Available until</th>
                <th scope="col">Archive</th>
              </tr>
            </thead>
            <tbody>
              {earlier.map((item) => (
                <tr key={item.id}>
                  <td>{exactTime(item.requested_at)}</td>
                  <td>{STATUS_WORDS[item.status]}</td>
                  <td>{item.expires_at ? exactTime(item.expires_at) : "—"}</td>
                  <td>
                    {item.status === "ready" && item.download_url ? (
                      <a href={item.download_url} download>
                        Download the export of {exactTime(item.requested_at)}
                      </a>
                    ) : (
                      "—"
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function ExportStatus({ item }: { item: Export }) {
  const requested = exactTime(item.requested_at);
  if (isUnfinished(item)) {
    return (
      <p>
        Export requested {requested}: <strong>{STATUS_WORDS[item.status]}</strong>. This page updates by
        itself; we also email you when it is ready.
      </p>
    );
  }
  if (item.status === "ready" && item.download_url) {
    return (
      <p>
        Export requested {requested}: <strong>Ready</strong>
        {item.size_bytes != null && <> ({size(item.size_bytes)})</>}.{" "}
        <a className="button primary" href={item.download_url} download>
          Download
        </a>{" "}
        {item.expires_at && <>Available until {exactTime(item.expires_at)}.</>}
      </p>
    );
  }
  if (item.status === "failed") {
    return (
      <p>
        Export requested {requested}: <strong>Failed</strong>. {item.error ?? "It could not be built."} Use
        “Download my data” to ask again.
      </p>
    );
  }
  return (
    <p>
      Export requested {requested}: <strong>Expired</strong>
      {item.expires_at && <> on {exactTime(item.expires_at)}</>}. Use “Download my data” for a new one.
    </p>
  );
}

function DeleteAccountSection() {
  const deletion = useDeletion();
  const schedule = useScheduleDeletion();
  const cancel = useCancelDeletion();
  const [confirming, setConfirming] = useState(false);
  useLandingTarget("delete-account", deletion.isSuccess);
  const purgeAt = deletion.data?.scheduled ? deletion.data.purge_at : null;

  return (
    <section aria-labelledby="delete-account" className="settings-section">
      <h2 id="delete-account" tabIndex={-1}>
        Delete my account
      </h2>
      {deletion.isError && <ErrorBanner error={deletion.error} />}
      {purgeAt ? (
        <>
          <Countdown purgeAt={purgeAt} />
          {cancel.isError && <ErrorBanner error={cancel.error} />}
          <button
            type="button"
            className="primary"
            disabled={cancel.isPending}
            onClick={() => cancel.mutate()}
          >
            Cancel deletion
          </button>
        </>
      ) : (
        <>
          <p>
            Deleting your account starts a 72-hour countdown. You can cancel it until then; after it, we
            remove:
          </p>
          <ul>
            <li>your account: your name, email address, picture and sign-in links;</li>
            <li>
              everything you made or uploaded: outputs, uploads, jobs and their prompts, workflows,
              workspaces;
            </li>
            <li>your share links, API keys, sessions, choices and preferences.</li>
          </ul>
          <p>
            Your public items are hidden at once. What we keep: the record of credits bought and spent, for 7
            years as the law requires, with nothing that names you (no name, email or content). If you want a
            copy of your data, use “Download my data” first.
          </p>
          <button type="button" className="danger" onClick={() => setConfirming(true)}>
            Delete my account
          </button>
          {deletion.isSuccess && (
            <p className="muted" role="status">
              {cancel.isSuccess ? "The deletion is cancelled; your account stays as it was." : ""}
            </p>
          )}
        </>
      )}
      <DeleteDialog
        open={confirming}
        pending={schedule.isPending}
        error={schedule.error}
        onCancel={() => {
          setConfirming(false);
          schedule.reset();
        }}
        onConfirm={() => schedule.mutate(undefined, { onSuccess: () => setConfirming(false) })}
      />
    </section>
  );
}

/** The exact moment of the purge, and a live count of what is left until it. */
function Countdown({ purgeAt }: { purgeAt: string }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  const left = new Date(purgeAt).getTime() - now;
  return (
    <div className="banner error">
      <p>
        <strong>Your account is scheduled for deletion.</strong> It and everything in it will be removed on{" "}
        <time dateTime={purgeAt} className="purge-time">
          {exactTime(purgeAt)}
        </time>
        .
      </p>
      <p role="timer" aria-live="off">
        {left > 0 ? `Time left: ${remaining(left)}.` : "The time is up: your account is being deleted now."}
      </p>
      <p>Changed your mind? Cancel the deletion and everything stays as it was.</p>
    </div>
  );
}

function DeleteDialog({
  open,
  pending,
  error,
  onCancel,
  onConfirm,
}: {
  open: boolean;
  pending: boolean;
  error: unknown;
  onCancel: () => void;
  onConfirm: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const [typed, setTyped] = useState("");
  const titleId = useId();
  const inputId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (open && !dialog.open) {
      setTyped("");
      dialog.showModal?.();
    }
    if (!open && dialog.open) dialog.close();
  }, [open]);

  function submit(event: FormEvent) {
    event.preventDefault();
    if (typed === "DELETE") onConfirm();
  }

  return (
    <dialog
      ref={ref}
      aria-labelledby={titleId}
      className="dialog"
      onCancel={(event) => {
        event.preventDefault();
        onCancel();
      }}
    >
      <form onSubmit={submit}>
        <h2 id={titleId}>Delete your account?</h2>
        <p>
          Your account and everything in it will be removed for good 72 hours from now, unless you cancel
          before then.
        </p>
        <div className="field">
          <label htmlFor={inputId}>Type DELETE to confirm</label>
          <input
            id={inputId}
            value={typed}
            autoComplete="off"
            spellCheck={false}
            onChange={(event) => setTyped(event.target.value)}
          />
        </div>
        {error != null && <ErrorBanner error={error} />}
        <div className="actions">
          <button type="button" onClick={onCancel}>
            Keep my account
          </button>
          <button type="submit" className="danger" disabled={typed !== "DELETE" || pending}>
            Delete my account
          </button>
        </div>
      </form>
    </dialog>
  );
}
