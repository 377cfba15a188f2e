import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type ChangeEvent, type FormEvent } from "react";
import { useUpdateProfile } from "../../api/account";
import { api, unwrap, type Me } from "../../api/client";
import { keys } from "../../api/queries";
import { ThemePicker } from "../../app/ThemePicker";
import { ErrorBanner } from "../../components/ErrorBanner";
import { UPLOAD_TYPES, uploadReference } from "../studio/uploads";
import { initialsOf, pictureAdvice } from "./wording";

/**
 * Name, email, picture and theme: the right to correct one's account data. A new email address
 * takes effect only from the link sent to it; the current address is told at once.
 */
export function ProfileSection({ me }: { me: Me }) {
  return (
    <section aria-labelledby="profile" className="panel">
      <h2 id="profile">Profile</h2>
      <Picture me={me} />
      <NameForm me={me} />
      <EmailForm me={me} />
      <ThemePicker label="Colour theme" />
    </section>
  );
}

/** Uploads the file as the Studio uploads a reference image, then makes it the profile picture. */
function useSetPicture() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (file: File) => {
      const uploadId = await uploadReference(file);
      return unwrap(api.PUT("/v1/me/picture", { body: { upload_id: uploadId } }));
    },
    onSuccess: (me) => client.setQueryData(keys.me, me),
  });
}

function useRemovePicture() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.DELETE("/v1/me/picture")),
    onSuccess: (me) => client.setQueryData(keys.me, me),
  });
}

function Picture({ me }: { me: Me }) {
  const choose = useSetPicture();
  const remove = useRemovePicture();
  const inputId = useId();
  const busy = choose.isPending || remove.isPending;
  function chosen(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = ""; // choosing the same file again still uploads it
    if (!file) return;
    remove.reset();
    choose.mutate(file);
  }
  const error = choose.error ?? remove.error;
  return (
    <div className="profile-picture">
      {me.avatar_url ? (
        <img className="avatar" src={me.avatar_url} alt="Your picture" width={56} height={56} />
      ) : (
        <span className="avatar" aria-hidden="true">
          {initialsOf(me.name)}
        </span>
      )}
      <div className="profile-picture-actions">
        <p className="muted">
          {me.avatar_url
            ? "Only you see your picture."
            : "Your picture is the initials of your name until you choose one. Only you see it."}
          {me.picture_url
            ? " Your sign-in provider's picture link is kept with your account (it is in your data export) but never loaded, so the provider does not learn when you use Atelier."
            : ""}
        </p>
        <label htmlFor={inputId}>Choose a picture</label>
        <input id={inputId} type="file" accept={UPLOAD_TYPES.join(",")} disabled={busy} onChange={chosen} />
        {me.avatar_url && (
          <button
            type="button"
            disabled={busy}
            onClick={() => {
              choose.reset();
              remove.mutate();
            }}
          >
            Remove picture
          </button>
        )}
        {choose.isPending && <p role="status">Uploading your picture…</p>}
        {error && <ErrorBanner error={error} advice={pictureAdvice(error)} />}
      </div>
    </div>
  );
}

function NameForm({ me }: { me: Me }) {
  const [name, setName] = useState(me.name);
  const update = useUpdateProfile();
  const id = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    update.mutate({ name: name.trim() });
  }
  return (
    <form onSubmit={submit} className="inline-form" aria-label="Name">
      <label htmlFor={id}>Name</label>
      <input
        id={id}
        value={name}
        required
        maxLength={100}
        autoComplete="name"
        onChange={(event) => {
          setName(event.target.value);
          update.reset();
        }}
      />
      <button type="submit" disabled={update.isPending || name.trim() === "" || name.trim() === me.name}>
        Save name
      </button>
      {update.isSuccess && <p role="status">Name saved.</p>}
      {update.isError && <ErrorBanner error={update.error} />}
    </form>
  );
}

function EmailForm({ me }: { me: Me }) {
  const [email, setEmail] = useState("");
  const update = useUpdateProfile();
  const id = useId();
  const hintId = useId();
  function submit(event: FormEvent) {
    event.preventDefault();
    update.mutate({ email: email.trim() }, { onSuccess: () => setEmail("") });
  }
  return (
    <div className="email-settings">
      <p>
        Email: <strong>{me.email}</strong>
      </p>
      {me.pending_email && (
        <p role="status" className="banner">
          Waiting for confirmation: we sent a link to <strong>{me.pending_email}</strong>. Your address
          changes when you open it; until then we keep writing to {me.email}.
        </p>
      )}
      <form onSubmit={submit} className="inline-form" aria-label="Change email">
        <label htmlFor={id}>New email address</label>
        <input
          id={id}
          type="email"
          value={email}
          required
          autoComplete="email"
          aria-describedby={hintId}
          onChange={(event) => setEmail(event.target.value)}
        />
        <button type="submit" disabled={update.isPending || email.trim() === ""}>
          Change email
        </button>
      </form>
      <p id={hintId} className="muted">
        We send a confirmation link to the new address and tell your current address about the request.
      </p>
      {update.isError && <ErrorBanner error={update.error} />}
    </div>
  );
}
