import { lazy, useEffect, type ReactNode } from "react";
import { NavLink, Route, Routes } from "react-router-dom";
import { useAdminAccess } from "../../api/admin";
import { useMe } from "../../api/queries";
import { ErrorBanner } from "../../components/ErrorBanner";
import { AuditTrail } from "./AuditTrail";
import { PublishPolicy } from "./PublishPolicy";
import { ReportQueue } from "./ReportQueue";
import { ReportReview } from "./ReportReview";

const NotFoundScreen = lazy(() => import("../notfound/NotFoundScreen"));

/**
 * The moderation console. Whether the person may see it is the API's answer alone; anyone else,
 * signed in or not, gets the app's not-found page, as for any address that leads nowhere.
 */
export default function AdminScreen() {
  const me = useMe();
  const access = useAdminAccess(me.data?.id);
  if (me.isPending || (me.data && access.isPending)) return <p role="status">Loading…</p>;
  if (me.isError) return <ErrorBanner error={me.error} />;
  if (access.isError) return <ErrorBanner error={access.error} />;
  if (!me.data || !access.data) return <NotFoundScreen />;
  return (
    <div className="admin">
      <nav aria-label="Moderation" className="subnav">
        <ul>
          <li>
            <NavLink to="/admin" end>
              Reports
            </NavLink>
          </li>
          <li>
            <NavLink to="/admin/audit">Audit trail</NavLink>
          </li>
          <li>
            <NavLink to="/admin/policies">Policies</NavLink>
          </li>
        </ul>
      </nav>
      <Routes>
        <Route index element={<Titled title="Reports" element={<ReportQueue />} />} />
        <Route path="reports/:reportId" element={<Titled title="Report" element={<ReportReview />} />} />
        <Route path="audit" element={<Titled title="Audit trail" element={<AuditTrail />} />} />
        <Route path="policies" element={<Titled title="Policies" element={<PublishPolicy />} />} />
        <Route path="*" element={<NotFoundScreen />} />
      </Routes>
    </div>
  );
}

function Titled({ title, element }: { title: string; element: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · Moderation · Atelier`;
  }, [title]);
  return <>{element}</>;
}
