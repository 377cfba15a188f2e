import { useEffect, useId } from "react";
import { Link, useLocation } from "react-router-dom";
import { useMe } from "../api/queries";
import { usePolicy, useUpdateConsent, type PolicyKind } from "../api/privacy";
import { analytics, forgetChoice, rememberChoice, useCookieChoice, type CookieChoice } from "../analytics";
import { ErrorBanner } from "../components/ErrorBanner";
import { day } from "../screens/privacy/format";
import { markPolicySeen, usePolicySeen } from "../screens/privacy/policySeen";
import "../screens/privacy/privacy.css";

export const POLICY_PAGES: Record<PolicyKind, { path: string; title: string }> = {
  terms: { path: "/terms", title: "Terms of service" },
  privacy: { path: "/privacy-policy", title: "Privacy policy" },
};

/**
 * Whether analytics may run, and the page views it counts: off while the account is loading, then
 * the account's consent record when signed in, else this browser's banner choice (P12).
 */
function useAnalyticsConsent(): boolean {
  const me = useMe();
  const choice = useCookieChoice();
  const granted = me.isPending ? false : me.data ? me.data.consent.analytics : choice === "analytics";
  const { pathname } = useLocation();
  useEffect(() => {
    analytics.setConsent(granted);
  }, [granted]);
  useEffect(() => {
    if (granted) analytics.pageView(pathname);
  }, [granted, pathname]);
  return granted;
}

/** The cookie banner on a first visit, and the notice of a published policy change, on every page. */
export function PrivacyNotices() {
  useAnalyticsConsent();
  return (
    <>
      <CookieBanner />
      <PolicyChangeNotice />
    </>
  );
}

function CookieBanner() {
  const me = useMe();
  const choice = useCookieChoice();
  const update = useUpdateConsent();
  const headingId = useId();
  if (me.isPending || (choice !== null && !update.isError)) return null;

  function choose(made: CookieChoice) {
    if (me.data) {
      // Signed in, the choice is the account's consent record; the browser remembers it was asked.
      update.mutate({ analytics: made === "analytics" }, { onSuccess: () => rememberChoice(made) });
    } else {
      rememberChoice(made);
    }
  }

  return (
    <section aria-labelledby={headingId} className="banner cookie-banner">
      <h2 id={headingId}>Cookies</h2>
      <p>
        Atelier sets only the cookies it needs to work: your sign-in, your workspace and your theme. With your
        permission it would also count page visits, without your name or email, to learn what to improve.
        Nothing is counted unless you accept, and you can change your mind in Settings at any time.{" "}
        <Link to={POLICY_PAGES.privacy.path}>Read the privacy policy</Link>.
      </p>
      {update.isError && <ErrorBanner error={update.error} />}
      <div className="actions">
        <button type="button" onClick={() => choose("necessary")} disabled={update.isPending}>
          Necessary only
        </button>
        <button type="button" onClick={() => choose("analytics")} disabled={update.isPending}>
          Accept analytics
        </button>
      </div>
    </section>
  );
}

function PolicyChangeNotice() {
  const me = useMe();
  const terms = usePolicy("terms");
  const privacy = usePolicy("privacy");
  const termsSeen = usePolicySeen("terms");
  const privacySeen = usePolicySeen("privacy");
  const headingId = useId();
  const { pathname } = useLocation();

  const notices: { kind: PolicyKind; text: string; dismissible: boolean }[] = [];
  const accepted = me.data?.terms_version;
  if (terms.data && accepted && accepted !== terms.data.version) {
    notices.push({
      kind: "terms",
      text: `The terms of service changed (version ${terms.data.version}, in effect since ${day(terms.data.effective_at)}). Read them; you will be asked to accept them before you next generate, buy or publish.`,
      dismissible: false,
    });
  }
  for (const [kind, policy, seen] of [
    ["terms", terms.data, termsSeen],
    ["privacy", privacy.data, privacySeen],
  ] as const) {
    const upcoming = policy?.upcoming;
    if (upcoming && seen !== upcoming.version) {
      notices.push({
        kind,
        text: `The ${POLICY_PAGES[kind].title.toLowerCase()} change on ${day(upcoming.effective_at)} (version ${upcoming.version}).`,
        dismissible: true,
      });
    }
  }
  const shown = notices.filter((notice) => pathname !== POLICY_PAGES[notice.kind].path);
  if (shown.length === 0) return null;
  return (
    <section aria-labelledby={headingId} className="banner policy-notice">
      <h2 id={headingId}>Policy changes</h2>
      <ul>
        {shown.map((notice) => {
          const upcoming = (notice.kind === "terms" ? terms.data : privacy.data)?.upcoming;
          return (
            <li key={`${notice.kind}-${notice.dismissible}`}>
              {notice.text}{" "}
              <Link to={POLICY_PAGES[notice.kind].path}>
                Read the {POLICY_PAGES[notice.kind].title.toLowerCase()}
              </Link>
              {notice.dismissible && upcoming && (
                <>
                  {" "}
                  <button
                    type="button"
                    className="link-button"
                    onClick={() => markPolicySeen(notice.kind, upcoming.version)}
                  >
                    Dismiss
                  </button>
                </>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/** The footer's links to the policies, and a way to make the cookie choice again. */
export function PolicyLinks() {
  return (
    <nav aria-label="Policies" className="policy-links">
      <Link to={POLICY_PAGES.terms.path}>Terms of service</Link>
      <Link to={POLICY_PAGES.privacy.path}>Privacy policy</Link>
      <button type="button" className="link-button" onClick={forgetChoice}>
        Cookie settings
      </button>
    </nav>
  );
}
