import { useEffect, useRef } from "react";
import type { GalleryItem } from "../../api/client";
import { ReportButton } from "../../components/ReportButton";

/** One public item, large, in a modal dialog; a video starts playing when opened. */
export function ItemViewer({ item, onClose }: { item: GalleryItem; onClose: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal?.();
  }, []);
  const label = `${item.kind === "video" ? "Video" : "Image"} by ${item.owner.name}`;
  return (
    <dialog ref={ref} className="dialog viewer" aria-label={label} onClose={onClose}>
      <div className="viewer-media">
        {item.kind === "video" ? (
          <video
            src={item.download_url}
            poster={item.poster_url ?? undefined}
            controls
            autoPlay
            muted
            playsInline
            aria-label={label}
          />
        ) : (
          <img src={item.download_url} alt={item.prompt ?? label} />
        )}
      </div>
      <div className="viewer-info">
        <h2>{label}</h2>
        {item.prompt && (
          <p>
            <span className="muted">Prompt:</span> {item.prompt}
          </p>
        )}
        <p className="muted">Published {new Date(item.published_at).toLocaleDateString()}</p>
        <div className="actions">
          <ReportButton targetType="asset" targetId={item.id} />
          <button type="button" onClick={() => ref.current?.close()}>
            Close
          </button>
        </div>
      </div>
    </dialog>
  );
}
