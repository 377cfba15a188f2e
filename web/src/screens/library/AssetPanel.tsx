import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useRef, useState, type FormEvent } from "react";
import { api, unwrap, type Asset } from "../../api/client";
import { keys } from "../../api/queries";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { ErrorBanner } from "../../components/ErrorBanner";
import { Media } from "../../components/Media";

/** One asset: its media and everything its owner can do with it. */
export function AssetPanel({ asset, onDeleted }: { asset: Asset; onDeleted: () => void }) {
  const client = useQueryClient();
  const heading = useRef<HTMLHeadingElement>(null);
  const ids = { labels: useId(), rating: useId(), expiry: useId(), link: useId() };
  const [labels, setLabels] = useState(asset.labels.join(", "));
  const [expiry, setExpiry] = useState("");
  const [created, setCreated] = useState<{ id: string; url: string } | null>(null);
  const [confirming, setConfirming] = useState(false);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    setLabels(asset.labels.join(", "));
    setCreated(null);
    heading.current?.focus();
  }, [asset.id, asset.labels]);

  const refresh = () => client.invalidateQueries({ queryKey: ["assets"] });
  const update = useMutation({
    mutationFn: (body: { labels?: string[]; rating?: number | null; visibility?: "public" | "private" }) =>
      unwrap(api.PATCH("/v1/assets/{asset_id}", { params: { path: { asset_id: asset.id } }, body })),
    onSuccess: () => {
      void refresh();
      void client.invalidateQueries({ queryKey: ["gallery"] });
    },
  });
  const shares = useQuery({
    queryKey: keys.shares,
    queryFn: () => unwrap(api.GET("/v1/shares")),
  });
  const mine = (shares.data?.items ?? []).filter((share) => share.target_id === asset.id);
  const share = useMutation({
    mutationFn: () =>
      unwrap(
        api.POST("/v1/shares", {
          body: {
            target_type: "asset",
            target_id: asset.id,
            expires_at: expiry ? new Date(expiry).toISOString() : null,
          },
        }),
      ),
    onSuccess: (answer) => {
      setCreated({ id: answer.id, url: sharePageUrl(answer.token) });
      void client.invalidateQueries({ queryKey: keys.shares });
    },
  });
  const revoke = useMutation({
    mutationFn: (shareId: string) =>
      unwrap(api.DELETE("/v1/shares/{share_id}", { params: { path: { share_id: shareId } } })),
    onSuccess: (_answer, shareId) => {
      if (created?.id === shareId) setCreated(null);
      void client.invalidateQueries({ queryKey: keys.shares });
    },
  });
  const remove = useMutation({
    mutationFn: () =>
      unwrap(api.DELETE("/v1/assets/{asset_id}", { params: { path: { asset_id: asset.id } } })),
    onSuccess: () => {
      setConfirming(false);
      void refresh();
      onDeleted();
    },
  });

  function saveLabels(event: FormEvent) {
    event.preventDefault();
    const list = labels
      .split(",")
      .map((label) => label.trim())
      .filter(Boolean);
    update.mutate({ labels: list });
  }

  const title = `${asset.kind === "video" ? "Video" : asset.kind === "image" ? "Image" : "Upload"} from ${new Date(
    asset.created_at,
  ).toLocaleString()}`;
  const error = update.error ?? share.error ?? revoke.error ?? remove.error;

  return (
    <section aria-labelledby="asset-heading" className="panel asset-panel">
      <h2 id="asset-heading" ref={heading} tabIndex={-1}>
        {title}
      </h2>
      <Media
        kind={asset.kind}
        contentType={asset.content_type}
        src={asset.download_url}
        poster={asset.poster_url}
        alt={title}
        className="asset-media"
      />
      {error && <ErrorBanner error={error} />}
      <div className="actions">
        {asset.kind !== "upload" && (
          <button
            type="button"
            disabled={update.isPending}
            onClick={() =>
              update.mutate({ visibility: asset.visibility === "public" ? "private" : "public" })
            }
          >
            {asset.visibility === "public" ? "Make private" : "Make public"}
          </button>
        )}
        {asset.download_url && (
          <a className="button" href={asset.download_url} download>
            Download
          </a>
        )}
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Delete
        </button>
      </div>
      <p className="muted" role="status">
        {asset.visibility === "public" ? "Public: shown in the gallery." : "Private: only you can see it."}
      </p>
      <form onSubmit={saveLabels} className="inline-form">
        <label htmlFor={ids.labels}>Labels</label>
        <input
          id={ids.labels}
          value={labels}
          onChange={(e) => setLabels(e.target.value)}
          placeholder="comma, separated"
        />
        <button type="submit" disabled={update.isPending}>
          Save labels
        </button>
      </form>
      <div className="inline-form">
        <label htmlFor={ids.rating}>Rating</label>
        <select
          id={ids.rating}
          value={asset.rating ?? ""}
          onChange={(e) => update.mutate({ rating: e.target.value ? Number(e.target.value) : null })}
        >
          <option value="">Not rated</option>
          {[1, 2, 3, 4, 5].map((stars) => (
            <option key={stars} value={stars}>
              {stars} {stars === 1 ? "star" : "stars"}
            </option>
          ))}
        </select>
      </div>
      {asset.kind !== "upload" && (
        <fieldset className="share">
          <legend>Share</legend>
          <div className="inline-form">
            <label htmlFor={ids.expiry}>Expires (optional)</label>
            <input
              id={ids.expiry}
              type="datetime-local"
              value={expiry}
              onChange={(e) => setExpiry(e.target.value)}
            />
            <button type="button" onClick={() => share.mutate()} disabled={share.isPending}>
              Create share link
            </button>
          </div>
          {created && (
            <div className="inline-form">
              <label htmlFor={ids.link}>Share link</label>
              <input id={ids.link} readOnly value={created.url} onFocus={(e) => e.target.select()} />
              <button
                type="button"
                onClick={() => {
                  void navigator.clipboard?.writeText(created.url).then(() => setCopied(true));
                }}
              >
                Copy
              </button>
              <span role="status">{copied ? "Copied" : ""}</span>
            </div>
          )}
          {mine.length > 0 && (
            <ul className="share-list">
              {mine.map((item) => (
                <li key={item.id}>
                  <span>
                    Link created {new Date(item.created_at).toLocaleString()}
                    {item.expires_at ? `, expires ${new Date(item.expires_at).toLocaleString()}` : ""}
                  </span>
                  <button type="button" onClick={() => revoke.mutate(item.id)} disabled={revoke.isPending}>
                    Revoke link
                  </button>
                </li>
              ))}
            </ul>
          )}
        </fieldset>
      )}
      <ConfirmDialog
        open={confirming}
        title="Delete this asset?"
        confirmLabel="Delete"
        onConfirm={() => remove.mutate()}
        onCancel={() => setConfirming(false)}
      >
        <p>It is removed from your library, the gallery and every share link. This cannot be undone.</p>
      </ConfirmDialog>
    </section>
  );
}

/** The link people open in a browser: the studio's share page, which previews when posted. */
export function sharePageUrl(token: string): string {
  return new URL(`/s/${encodeURIComponent(token)}`, window.location.origin).toString();
}
