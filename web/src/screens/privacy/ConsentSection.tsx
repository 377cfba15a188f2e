import { useId, useState } from "react";
import { useUpdateConsent, type Consent } from "../../api/privacy";
import { useMe } from "../../api/queries";
import { rememberChoice } from "../../analytics";
import { ErrorBanner } from "../../components/ErrorBanner";

const CHOICES: { field: keyof Consent; label: string; meaning: string }[] = [
  {
    field: "analytics",
    label: "Analytics",
    meaning:
      "Counts the pages you visit, without your name or email, so we learn what to improve; off, nothing is counted and no analytics request leaves your browser.",
  },
  {
    field: "product_improvement",
    label: "Product improvement",
    meaning:
      "Lets your prompts and outputs be used to improve Atelier's models and features; off, your content never trains anything.",
  },
  {
    field: "marketing_emails",
    label: "Marketing email",
    meaning:
      "Sends you news and offers by email; off, you get only the email your account needs (sign-in, billing, security, privacy requests and policy changes).",
  },
];

/** The account's optional processing, each off until turned on (P12, P13, P16). */
export function ConsentSection() {
  const me = useMe();
  const update = useUpdateConsent();
  const headingId = useId();
  const ids = useId();
  // The switch shows the person's choice in the same render as the click (a controlled input would
  // otherwise flip back until the mutation reports itself pending); the saved record replaces it.
  const [choosing, setChoosing] = useState<Partial<Consent>>({});
  if (!me.data) return null;
  const consent = { ...me.data.consent, ...choosing };

  function change(field: keyof Consent, value: boolean) {
    setChoosing({ [field]: value });
    update.mutate(
      { [field]: value },
      {
        // The cookie banner's choice in this browser follows the account's analytics consent.
        onSuccess: () => field === "analytics" && rememberChoice(value ? "analytics" : "necessary"),
        onSettled: () => setChoosing({}),
      },
    );
  }

  return (
    <section aria-labelledby={headingId} className="settings-section" id="consent">
      <h2 id={headingId}>Your choices</h2>
      <p className="muted">Everything here is off unless you turn it on. Changes are saved at once.</p>
      <ul className="choice-list">
        {CHOICES.map(({ field, label, meaning }) => (
          <li key={field} className="check">
            <input
              id={`${ids}-${field}`}
              type="checkbox"
              role="switch"
              checked={consent[field]}
              aria-describedby={`${ids}-${field}-meaning`}
              disabled={update.isPending}
              onChange={(event) => change(field, event.target.checked)}
            />
            <div>
              <label htmlFor={`${ids}-${field}`}>{label}</label>
              <p id={`${ids}-${field}-meaning`} className="muted">
                {meaning}
              </p>
            </div>
          </li>
        ))}
      </ul>
      <p role="status" className="muted">
        {update.isSuccess ? "Your choices are saved." : ""}
      </p>
      {update.isError && <ErrorBanner error={update.error} />}
    </section>
  );
}
