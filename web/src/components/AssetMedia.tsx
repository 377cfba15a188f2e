import { useAsset } from "../api/queries";
import { Media } from "./Media";

/** An asset (a job's output) as an img or a video, once its link is known. */
export function AssetMedia({ id, alt }: { id: string; alt: string }) {
  const asset = useAsset(id);
  if (asset.isPending) return <span className="muted">Loading output…</span>;
  if (asset.isError) return <span className="muted">Output unavailable</span>;
  return (
    <Media
      kind={asset.data.kind}
      contentType={asset.data.content_type}
      src={asset.data.download_url}
      poster={asset.data.poster_url}
      alt={alt}
      className="output"
    />
  );
}
