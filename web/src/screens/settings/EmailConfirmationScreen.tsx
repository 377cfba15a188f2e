import { useEffect, useRef } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { useConfirmEmail } from "../../api/account";
import { ErrorBanner } from "../../components/ErrorBanner";
import { accountAdvice } from "./wording";

/**
 * Where the link emailed to a new address lands: it sends the link's token back to the API, which
 * makes that address the account's, and says how it went.
 */
export default function EmailConfirmationScreen() {
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const confirm = useConfirmEmail();
  const sent = useRef(false);
  const { mutate } = confirm;
  useEffect(() => {
    document.title = "Confirm your email · Atelier";
  }, []);
  useEffect(() => {
    // Once per page, even where effects run twice: a second post would find the token spent.
    if (!token || sent.current) return;
    sent.current = true;
    mutate(token);
  }, [token, mutate]);

  return (
    <section aria-labelledby="email-confirmation-heading" className="panel narrow">
      <h1 id="email-confirmation-heading">Confirm your email</h1>
      {!token ? (
        <ErrorBanner
          error={null}
          advice={{
            title: "This link is incomplete",
            message: "Open the link from the email again, or copy all of it into the address bar.",
            action: { label: "Back to settings", to: "/settings#profile" },
          }}
        />
      ) : confirm.isSuccess ? (
        <>
          <p role="status">
            Your email address is now <strong>{confirm.data.email}</strong>. We told your previous address
            about the change.
          </p>
          <Link to="/settings">Back to settings</Link>
        </>
      ) : confirm.isError ? (
        <ErrorBanner error={confirm.error} advice={accountAdvice(confirm.error)} />
      ) : (
        <p role="status">Confirming your new email address…</p>
      )}
    </section>
  );
}
