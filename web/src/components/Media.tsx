/** An image or a video, by content type; videos show their poster and play on demand. */
export function Media({
  kind,
  contentType,
  src,
  poster,
  alt,
  controls = true,
  className,
}: {
  kind: string;
  contentType: string;
  src: string | null | undefined;
  poster?: string | null;
  alt: string;
  controls?: boolean;
  className?: string;
}) {
  if (!src) return <div className={`media-missing ${className ?? ""}`}>Not available</div>;
  const isVideo = kind === "video" || contentType.startsWith("video/");
  if (isVideo) {
    return (
      <video
        className={className}
        src={src}
        poster={poster ?? undefined}
        controls={controls}
        preload="metadata"
        playsInline
        aria-label={alt}
      />
    );
  }
  return <img className={className} src={src} alt={alt} loading="lazy" decoding="async" />;
}
