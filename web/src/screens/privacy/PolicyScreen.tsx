import { useEffect } from "react";
import { usePolicy, type PolicyKind } from "../../api/privacy";
import { useMe } from "../../api/queries";
import { POLICY_PAGES } from "../../app/PrivacyNotices";
import { TermsGate } from "../../app/TermsGate";
import { ErrorBanner } from "../../components/ErrorBanner";
import { day, exactTime } from "./format";
import { markPolicySeen } from "./policySeen";

/**
 * The terms of service or the privacy policy: the version in force and since when, and the next
 * version with its date once one is published (P15). Opening the page counts as having seen the
 * change; a signed-in person who has not accepted the terms in force is asked to here.
 */
export default function PolicyScreen({ kind }: { kind: PolicyKind }) {
  const policy = usePolicy(kind);
  const me = useMe();
  const { title } = POLICY_PAGES[kind];
  const upcoming = policy.data?.upcoming;
  useEffect(() => {
    document.title = `${title} · Atelier`;
  }, [title]);
  useEffect(() => {
    if (upcoming) markPolicySeen(kind, upcoming.version);
  }, [kind, upcoming]);

  if (policy.isPending) return <p role="status">Loading…</p>;
  if (policy.isError) return <ErrorBanner error={policy.error} />;
  const page = (
    <article aria-labelledby="policy-heading" className="panel narrow policy">
      <h1 id="policy-heading">{title}</h1>
      <p>
        Version <strong>{policy.data.version}</strong>, in effect since{" "}
        <time dateTime={policy.data.effective_at}>{day(policy.data.effective_at)}</time>.
      </p>
      {kind === "terms" && me.data?.terms_version === policy.data.version && (
        <p className="muted">You accepted this version.</p>
      )}
      <p className="policy-summary">{policy.data.summary}</p>
      {upcoming && (
        <section aria-labelledby="upcoming-heading" className="banner">
          <h2 id="upcoming-heading">Coming: version {upcoming.version}</h2>
          <p>
            Takes effect on <time dateTime={upcoming.effective_at}>{exactTime(upcoming.effective_at)}</time>
            {upcoming.material
              ? " (a material change, announced at least 14 days ahead and emailed to every account holder)"
              : ""}
            .
          </p>
          <p className="policy-summary">{upcoming.summary}</p>
        </section>
      )}
    </article>
  );
  // Signed in, the terms in force are accepted here too (they are asked for before generating, buying or publishing).
  if (kind === "terms" && me.data) return <TermsGate me={me.data}>{page}</TermsGate>;
  return page;
}
