import { useEffect } from "react";
import { useMe } from "../../api/queries";
import { ConsentSection } from "../privacy/ConsentSection";
import { PrivacySection } from "../privacy/PrivacySection";

/** The account's profile and preferences (privacy tools come with the privacy screens). */
export default function SettingsScreen() {
  const me = useMe();
  useEffect(() => {
    document.title = "Settings · Atelier";
  }, []);
  if (!me.data) return null;
  return (
    <section aria-labelledby="settings-heading" className="panel narrow">
      <h1 id="settings-heading">Settings</h1>
      <dl>
        <dt>Name</dt>
        <dd>{me.data.name}</dd>
        <dt>Email</dt>
        <dd>{me.data.email}</dd>
        <dt>Terms accepted</dt>
        <dd>{me.data.terms_version ?? "Not yet"}</dd>
      </dl>
      <p className="muted">
        The theme picker is at the bottom of every page; your choice is saved to your account.
      </p>
      <ConsentSection />
      <PrivacySection />
    </section>
  );
}
