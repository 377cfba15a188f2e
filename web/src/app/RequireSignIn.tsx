import type { ReactNode } from "react";
import { useLocation } from "react-router-dom";
import { useMe } from "../api/queries";
import { ErrorBanner } from "../components/ErrorBanner";
import { signInHref } from "./Layout";
import { TermsGate } from "./TermsGate";

/** A screen for signed-in people; with `consent`, only once the current terms are accepted. */
export function RequireSignIn({
  screen,
  element,
  consent = true,
}: {
  screen: string;
  element: ReactNode;
  consent?: boolean;
}) {
  const me = useMe();
  const location = useLocation();
  if (me.isPending) return <p role="status">Loading…</p>;
  if (me.isError) return <ErrorBanner error={me.error} />;
  if (!me.data) {
    return (
      <section aria-labelledby="signin-heading" className="panel narrow">
        <h1 id="signin-heading">{screen}</h1>
        <p>Sign in to use the {screen.toLowerCase()}.</p>
        <a className="button primary" href={signInHref(`${location.pathname}${location.search}`)}>
          Sign in to continue
        </a>
      </section>
    );
  }
  return consent ? <TermsGate me={me.data}>{element}</TermsGate> : <>{element}</>;
}
