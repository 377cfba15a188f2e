import { formatCredits } from "../api/pricing";

/** The price before submitting; the server's figure, once known, wins. */
export function PriceTag({ estimate, confirmed }: { estimate: number; confirmed?: number | null }) {
  const credits = confirmed ?? estimate;
  return (
    <output className="price" aria-live="polite">
      {formatCredits(credits)}
    </output>
  );
}
