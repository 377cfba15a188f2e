import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type FormEvent, type ReactNode } from "react";
import { api, unwrap, type Me } from "../api/client";
import { keys, useTermsPolicy } from "../api/queries";
import { ErrorBanner } from "../components/ErrorBanner";

/** Asks for the terms and the age attestation until the current version is accepted. */
export function TermsGate({ me, children }: { me: Me; children: ReactNode }) {
  const policy = useTermsPolicy();
  if (policy.isPending) return <p role="status">Loading…</p>;
  if (policy.isError) return <ErrorBanner error={policy.error} />;
  if (me.age_confirmed && me.terms_version === policy.data.version) return <>{children}</>;
  return (
    <TermsForm
      me={me}
      version={policy.data.version}
      summary={policy.data.summary}
      age={policy.data.minimum_age}
    />
  );
}

function TermsForm({ me, version, summary, age }: { me: Me; version: string; summary: string; age: number }) {
  const client = useQueryClient();
  const [adult, setAdult] = useState(me.age_confirmed);
  const [terms, setTerms] = useState(false);
  const headingId = useId();
  const accept = useMutation({
    mutationFn: () => unwrap(api.POST("/v1/me/terms", { body: { version, age_confirmed: true } })),
    onSuccess: () => client.invalidateQueries({ queryKey: keys.me }),
  });
  const changed = me.terms_version !== null && me.terms_version !== version;

  function submit(event: FormEvent) {
    event.preventDefault();
    if (adult && terms) accept.mutate();
  }

  return (
    <section aria-labelledby={headingId} className="panel narrow">
      <h1 id={headingId}>{changed ? "The terms have changed" : "Before you start"}</h1>
      <p>
        Terms of service, version <strong>{version}</strong>
        {changed && <> (you accepted version {me.terms_version})</>}.
      </p>
      <p className="policy-summary">{summary}</p>
      <form onSubmit={submit}>
        <div className="check">
          <input
            id="age"
            type="checkbox"
            checked={adult}
            onChange={(e) => setAdult(e.target.checked)}
            required
          />
          <label htmlFor="age">I am at least {age} years old</label>
        </div>
        <div className="check">
          <input
            id="terms"
            type="checkbox"
            checked={terms}
            onChange={(e) => setTerms(e.target.checked)}
            required
          />
          <label htmlFor="terms">I accept the terms of service (version {version})</label>
        </div>
        {accept.isError && <ErrorBanner error={accept.error} />}
        <button type="submit" className="primary" disabled={accept.isPending || !adult || !terms}>
          Accept and continue
        </button>
      </form>
    </section>
  );
}
