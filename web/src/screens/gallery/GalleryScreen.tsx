import { useEffect, useRef, useState } from "react";
import type { GalleryItem } from "../../api/client";
import { useGallery } from "../../api/queries";
import { ErrorBanner } from "../../components/ErrorBanner";
import { ItemViewer } from "./ItemViewer";

type Kind = "all" | "image" | "video";
const FILTERS: { value: Kind; label: string }[] = [
  { value: "all", label: "All" },
  { value: "image", label: "Images" },
  { value: "video", label: "Videos" },
];

export function GalleryScreen() {
  const [kind, setKind] = useState<Kind>("all");
  const [open, setOpen] = useState<GalleryItem | null>(null);
  const gallery = useGallery(kind);
  const sentinel = useRef<HTMLDivElement>(null);
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = gallery;
  // A page can come back empty (a month nobody published in); scrolling on past it is the
  // person's choice (Load more), so an empty gallery does not walk back through every month.
  const lastPageHadItems = (gallery.data?.pages.at(-1)?.items.length ?? 0) > 0;

  useEffect(() => {
    document.title = "Gallery · Atelier";
  }, []);

  // Infinite scroll: the next page loads as the end of the grid comes into view.
  useEffect(() => {
    const node = sentinel.current;
    if (!node || !hasNextPage || !lastPageHadItems || typeof IntersectionObserver === "undefined") return;
    const observer = new IntersectionObserver(
      (entries) => {
        if (entries.some((entry) => entry.isIntersecting) && !isFetchingNextPage) void fetchNextPage();
      },
      { rootMargin: "400px" },
    );
    observer.observe(node);
    return () => observer.disconnect();
  }, [hasNextPage, isFetchingNextPage, fetchNextPage, lastPageHadItems]);

  const items = gallery.data?.pages.flatMap((page) => page.items) ?? [];

  return (
    <section aria-labelledby="gallery-heading">
      <div className="screen-head">
        <h1 id="gallery-heading">Gallery</h1>
        <fieldset className="segmented">
          <legend className="visually-hidden">Show</legend>
          {FILTERS.map((filter) => (
            <label key={filter.value}>
              <input
                type="radio"
                name="gallery-kind"
                value={filter.value}
                checked={kind === filter.value}
                onChange={() => setKind(filter.value)}
              />
              <span>{filter.label}</span>
            </label>
          ))}
        </fieldset>
      </div>
      {gallery.isError && <ErrorBanner error={gallery.error} />}
      {gallery.isPending ? (
        <p role="status">Loading the gallery…</p>
      ) : items.length === 0 ? (
        <p>{hasNextPage ? "Nothing has been published recently." : "Nothing has been published yet."}</p>
      ) : (
        <ul className="media-grid" aria-label="Published works">
          {items.map((item) => (
            <li key={item.id}>
              <button type="button" className="tile" onClick={() => setOpen(item)}>
                <Thumbnail item={item} />
                <span className="tile-caption">
                  <span className="visually-hidden">Open {item.kind} by </span>
                  {item.owner.name}
                </span>
              </button>
            </li>
          ))}
        </ul>
      )}
      <div ref={sentinel} />
      {hasNextPage && (
        <button type="button" onClick={() => void fetchNextPage()} disabled={isFetchingNextPage}>
          {isFetchingNextPage ? "Loading…" : items.length === 0 ? "Look further back" : "Load more"}
        </button>
      )}
      {open && <ItemViewer item={open} onClose={() => setOpen(null)} />}
    </section>
  );
}

function Thumbnail({ item }: { item: GalleryItem }) {
  const still = item.thumbnail_url ?? item.poster_url;
  if (still) return <img src={still} alt="" loading="lazy" decoding="async" width={256} height={256} />;
  if (item.kind === "video") {
    return (
      <video src={item.download_url} preload="metadata" muted playsInline aria-hidden="true" tabIndex={-1} />
    );
  }
  return <img src={item.download_url} alt="" loading="lazy" decoding="async" width={256} height={256} />;
}
