import { useEffect } from "react";
import { useMe } from "../../api/queries";
import { ConsentSection } from "../privacy/ConsentSection";
import { PrivacySection } from "../privacy/PrivacySection";
import { ApiKeysSection } from "./ApiKeysSection";
import { MyReportsSection } from "./MyReportsSection";
import { ProfileSection } from "./ProfileSection";
import { SessionsSection } from "./SessionsSection";
import { WorkspacesSection } from "./WorkspacesSection";

/** The account's own tools, one section each (the right to correct one's data, P-rights in the policy). */
export default function SettingsScreen() {
  const me = useMe();
  useEffect(() => {
    document.title = "Settings · Atelier";
  }, []);
  if (!me.data) return null;
  return (
    <div className="settings">
      <h1 id="settings-heading">Settings</h1>
      <ProfileSection me={me.data} />
      <ApiKeysSection />
      <WorkspacesSection />
      <MyReportsSection />
      <ConsentSection />
      <PrivacySection />
      <SessionsSection />
    </div>
  );
}
