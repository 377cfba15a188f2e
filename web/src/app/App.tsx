import { lazy, Suspense, useEffect, type ReactNode } from "react";
import { Route, Routes, useLocation } from "react-router-dom";
import { useMe } from "../api/queries";
import { GalleryScreen } from "../screens/gallery/GalleryScreen";
// The two screens people land on from outside (the home page and shared links) are in the first
// load; the others are fetched when opened.
import ShareScreen from "../screens/share/ShareScreen";
import { Layout } from "./Layout";
import { RequireSignIn } from "./RequireSignIn";
import { applyTheme, rememberTheme } from "./theme";

const StudioScreen = lazy(() => import("../screens/studio/StudioScreen"));
const LibraryScreen = lazy(() => import("../screens/library/LibraryScreen"));
const BillingScreen = lazy(() => import("../screens/billing/BillingScreen"));
const SettingsScreen = lazy(() => import("../screens/settings/SettingsScreen"));
const WorkflowsScreen = lazy(() => import("../screens/workflows/WorkflowsScreen"));
const WorkflowScreen = lazy(() => import("../screens/workflows/WorkflowScreen"));
const EmailConfirmationScreen = lazy(() => import("../screens/settings/EmailConfirmationScreen"));
const NotFoundScreen = lazy(() => import("../screens/notfound/NotFoundScreen"));
const PolicyScreen = lazy(() => import("../screens/privacy/PolicyScreen"));
const AdminScreen = lazy(() => import("../screens/admin/AdminScreen"));

export function App() {
  const me = useMe();
  const theme = me.data?.preferences.theme;
  useEffect(() => {
    if (theme === "system" || theme === "light" || theme === "dark") {
      applyTheme(theme);
      rememberTheme(theme);
    }
  }, [theme]);

  return (
    <Layout>
      <Suspense fallback={<p role="status">Loading…</p>}>
        <Routes>
          <Route
            path="/"
            element={
              <Focused>
                <GalleryScreen />
              </Focused>
            }
          />
          <Route
            path="/s/:token"
            element={
              <Focused>
                <ShareScreen />
              </Focused>
            }
          />
          <Route
            path="/studio"
            element={
              <RequireSignIn
                screen="Studio"
                element={
                  <Focused>
                    <StudioScreen />
                  </Focused>
                }
              />
            }
          />
          <Route
            path="/library"
            element={
              <RequireSignIn
                screen="Library"
                element={
                  <Focused>
                    <LibraryScreen />
                  </Focused>
                }
              />
            }
          />
          <Route
            path="/billing"
            element={
              <RequireSignIn
                screen="Billing"
                element={
                  <Focused>
                    <BillingScreen />
                  </Focused>
                }
              />
            }
          />
          <Route
            path="/settings"
            element={
              <RequireSignIn
                screen="Settings"
                element={
                  <Focused>
                    <SettingsScreen />
                  </Focused>
                }
                consent={false}
              />
            }
          />
          <Route
            path="/settings/email"
            element={
              <RequireSignIn
                screen="Email confirmation"
                element={<EmailConfirmationScreen />}
                consent={false}
              />
            }
          />
          <Route
            path="/workflows"
            element={
              <RequireSignIn
                screen="Workflows"
                element={
                  <Focused>
                    <WorkflowsScreen />
                  </Focused>
                }
              />
            }
          />
          <Route
            path="/workflows/:workflowId"
            element={
              <Focused>
                <WorkflowScreen />
              </Focused>
            }
          />
          <Route
            path="/terms"
            element={
              <Focused>
                <PolicyScreen kind="terms" />
              </Focused>
            }
          />
          <Route
            path="/privacy-policy"
            element={
              <Focused>
                <PolicyScreen kind="privacy" />
              </Focused>
            }
          />
          <Route
            path="/admin/*"
            element={
              <Focused>
                <AdminScreen />
              </Focused>
            }
          />
          <Route
            path="*"
            element={
              <Focused>
                <NotFoundScreen />
              </Focused>
            }
          />
        </Routes>
      </Suspense>
    </Layout>
  );
}

let firstScreen = true;

/**
 * After an in-app navigation, focus moves to the new screen's target (the element the URL's hash
 * names, else its heading), as a page load would put a screen reader there. It runs once the
 * screen, lazy or not, has rendered; the first screen of a page load keeps the browser's focus.
 */
function Focused({ children }: { children: ReactNode }) {
  const location = useLocation();
  useEffect(() => {
    if (firstScreen) {
      firstScreen = false;
      return;
    }
    const named = location.hash ? document.getElementById(decodeURIComponent(location.hash.slice(1))) : null;
    const target = named ?? document.querySelector<HTMLElement>("main h1") ?? document.querySelector("main");
    if (target instanceof HTMLElement) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
      target.scrollIntoView?.({ block: "start" });
    }
  }, [location.pathname, location.hash]);
  return <>{children}</>;
}
