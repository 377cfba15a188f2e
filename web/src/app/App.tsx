import { lazy, Suspense, useEffect, useRef } from "react";
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
const NotFoundScreen = lazy(() => import("../screens/notfound/NotFoundScreen"));

export function App() {
  const me = useMe();
  const theme = me.data?.preferences.theme;
  useEffect(() => {
    if (theme === "system" || theme === "light" || theme === "dark") {
      applyTheme(theme);
      rememberTheme(theme);
    }
  }, [theme]);
  useFocusOnNavigation();

  return (
    <Layout>
      <Suspense fallback={<p role="status">Loading…</p>}>
        <Routes>
          <Route path="/" element={<GalleryScreen />} />
          <Route path="/s/:token" element={<ShareScreen />} />
          <Route path="/studio" element={<RequireSignIn screen="Studio" element={<StudioScreen />} />} />
          <Route path="/library" element={<RequireSignIn screen="Library" element={<LibraryScreen />} />} />
          <Route path="/billing" element={<RequireSignIn screen="Billing" element={<BillingScreen />} />} />
          <Route
            path="/settings"
            element={<RequireSignIn screen="Settings" element={<SettingsScreen />} consent={false} />}
          />
          <Route path="*" element={<NotFoundScreen />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}

/** After an in-app navigation, focus moves to the new page's heading, as a page load would. */
function useFocusOnNavigation() {
  const location = useLocation();
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      return;
    }
    const heading = document.querySelector<HTMLElement>("main h1");
    const target = heading ?? document.querySelector<HTMLElement>("main");
    if (target) {
      if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
      target.focus();
    }
  }, [location.pathname]);
}
