import type { ReactNode } from "react";
import { NavLink, useLocation } from "react-router-dom";
import { useMe, useSignOut } from "../api/queries";
import { PolicyLinks, PrivacyNotices } from "./PrivacyNotices";
import { ThemePicker } from "./ThemePicker";

export function signInHref(path: string): string {
  return `/v1/auth/login?redirect_to=${encodeURIComponent(path)}`;
}

export function Layout({ children }: { children: ReactNode }) {
  const me = useMe();
  const signOut = useSignOut();
  const location = useLocation();
  const signedIn = Boolean(me.data);
  const here = `${location.pathname}${location.search}`;

  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="site-header">
        <span className="brand" aria-hidden="true">
          Atelier
        </span>
        <nav aria-label="Main">
          <ul>
            <li>
              <NavLink to="/" end>
                Gallery
              </NavLink>
            </li>
            {signedIn && (
              <>
                <li>
                  <NavLink to="/studio">Studio</NavLink>
                </li>
                <li>
                  <NavLink to="/library">Library</NavLink>
                </li>
                <li>
                  <NavLink to="/workflows">Workflows</NavLink>
                </li>
                <li>
                  <NavLink to="/billing">Billing</NavLink>
                </li>
                <li>
                  <NavLink to="/settings">Settings</NavLink>
                </li>
              </>
            )}
            <li>
              {signedIn ? (
                <button type="button" className="link-button" onClick={() => signOut.mutate()}>
                  Sign out
                </button>
              ) : me.isPending ? null : (
                <a href={signInHref(here)}>Sign in</a>
              )}
            </li>
          </ul>
        </nav>
      </header>
      <PrivacyNotices />
      <main id="main" tabIndex={-1}>
        {children}
      </main>
      <footer className="site-footer">
        <ThemePicker />
        <PolicyLinks />
      </footer>
    </>
  );
}
