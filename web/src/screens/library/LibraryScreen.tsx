import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useId, useState } from "react";
import { activeWorkspace, setActiveWorkspace, type Asset } from "../../api/client";
import { useAssets, useWorkspaces } from "../../api/queries";
import { ErrorBanner } from "../../components/ErrorBanner";
import { AssetPanel } from "./AssetPanel";

export default function LibraryScreen() {
  const client = useQueryClient();
  const workspaces = useWorkspaces();
  const [kind, setKind] = useState("all");
  const [workspace, setWorkspace] = useState(() => activeWorkspace() ?? "");
  const [selected, setSelected] = useState<string | null>(null);
  const assets = useAssets(kind, workspace);
  const ids = { kind: useId(), workspace: useId() };
  useEffect(() => {
    document.title = "Library · Atelier";
  }, []);

  const items: Asset[] = assets.data?.pages.flatMap((page) => page.items) ?? [];
  const current = items.find((item) => item.id === selected) ?? null;

  return (
    <div className="library">
      <section aria-labelledby="library-heading">
        <div className="screen-head">
          <h1 id="library-heading">Library</h1>
          <div className="filters">
            <div className="field">
              <label htmlFor={ids.workspace}>Workspace</label>
              <select
                id={ids.workspace}
                value={workspace}
                onChange={(e) => {
                  setWorkspace(e.target.value);
                  setActiveWorkspace(e.target.value || null);
                  setSelected(null);
                  void client.invalidateQueries({ queryKey: ["jobs"] });
                }}
              >
                <option value="">Default workspace</option>
                {workspaces.data?.items
                  .filter((item) => !item.is_default)
                  .map((item) => (
                    <option key={item.id} value={item.id}>
                      {item.name}
                    </option>
                  ))}
              </select>
            </div>
            <div className="field">
              <label htmlFor={ids.kind}>Kind</label>
              <select id={ids.kind} value={kind} onChange={(e) => setKind(e.target.value)}>
                <option value="all">All</option>
                <option value="image">Images</option>
                <option value="video">Videos</option>
                <option value="upload">Uploads</option>
              </select>
            </div>
          </div>
        </div>
        {assets.isError && <ErrorBanner error={assets.error} />}
        {assets.isPending ? (
          <p role="status">Loading your library…</p>
        ) : items.length === 0 ? (
          <p>Nothing here yet. What you generate in the Studio appears here.</p>
        ) : (
          <ul className="media-grid" aria-label="Assets">
            {items.map((item, index) => (
              <li key={item.id}>
                <button
                  type="button"
                  className="tile"
                  aria-pressed={item.id === selected}
                  onClick={() => setSelected(item.id)}
                >
                  <AssetThumbnail asset={item} />
                  <span className="tile-caption">
                    {item.kind === "video" ? "Video" : item.kind === "image" ? "Image" : "Upload"} {index + 1}
                    {item.visibility === "public" ? " · public" : ""}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        )}
        {assets.hasNextPage && (
          <button
            type="button"
            onClick={() => void assets.fetchNextPage()}
            disabled={assets.isFetchingNextPage}
          >
            Load more
          </button>
        )}
      </section>
      {current && <AssetPanel asset={current} onDeleted={() => setSelected(null)} />}
    </div>
  );
}

function AssetThumbnail({ asset }: { asset: Asset }) {
  const still = asset.thumbnail_url ?? asset.poster_url;
  if (still) return <img src={still} alt="" loading="lazy" width={256} height={256} />;
  if (!asset.download_url) return <span className="media-missing">Unavailable</span>;
  if (asset.kind === "video")
    return <video src={asset.download_url} preload="metadata" muted aria-hidden="true" tabIndex={-1} />;
  return <img src={asset.download_url} alt="" loading="lazy" width={256} height={256} />;
}
