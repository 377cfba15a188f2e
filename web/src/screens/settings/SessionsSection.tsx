import { useState } from "react";
import { useSignOutEverywhere } from "../../api/account";
import { useSignOut } from "../../api/queries";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorBanner } from "../../components/ErrorBanner";

/** Ending this session, or every session of the account (a lost device, a shared computer). */
export function SessionsSection() {
  const signOut = useSignOut();
  const everywhere = useSignOutEverywhere();
  const [confirming, setConfirming] = useState(false);
  return (
    <section aria-labelledby="sessions" className="panel">
      <h2 id="sessions">Sessions</h2>
      <p className="muted">
        Signing out everywhere ends every session of your account, on every device and browser, this one
        included. API keys keep working; revoke them above.
      </p>
      <div className="actions">
        <button type="button" onClick={() => signOut.mutate()} disabled={signOut.isPending}>
          Sign out
        </button>
        <button
          type="button"
          className="danger"
          onClick={() => setConfirming(true)}
          disabled={everywhere.isPending}
        >
          Sign out everywhere
        </button>
      </div>
      {everywhere.isError && <ErrorBanner error={everywhere.error} />}
      {confirming && (
        <ConfirmDialog
          open
          title="Sign out everywhere?"
          confirmLabel="Sign out everywhere"
          onCancel={() => setConfirming(false)}
          onConfirm={() => {
            setConfirming(false);
            everywhere.mutate();
          }}
        >
          <p>Every device and browser signed in to your account is signed out, this one included.</p>
        </ConfirmDialog>
      )}
    </section>
  );
}
