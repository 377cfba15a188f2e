import { useEffect, useState } from "react";
import { Link, useLocation } from "react-router-dom";
import { adviceFor, type ErrorAdvice } from "../api/errors";

/**
 * A failed request in words, with the way out (a link, or a countdown before retrying). A screen
 * that knows better words for its own errors passes them as `advice`.
 */
export function ErrorBanner({
  error,
  onRetryReady,
  advice: specific,
}: {
  error: unknown;
  onRetryReady?: () => void;
  advice?: ErrorAdvice;
}) {
  const location = useLocation();
  const advice = specific ?? adviceFor(error, `${location.pathname}${location.search}`);
  const remaining = useCountdown(advice.retryAfterSeconds ?? 0, onRetryReady);
  const action = advice.action;
  return (
    <div role="alert" className="banner error">
      <p>
        <strong>{advice.title}.</strong>{" "}
        {advice.retryAfterSeconds !== undefined
          ? remaining > 0
            ? `Wait ${remaining} ${remaining === 1 ? "second" : "seconds"} before trying again.`
            : "You can try again now."
          : advice.message}
      </p>
      {action &&
        (action.external ? (
          <a className="button" href={action.to}>
            {action.label}
          </a>
        ) : (
          <Link className="button" to={action.to}>
            {action.label}
          </Link>
        ))}
    </div>
  );
}

function useCountdown(seconds: number, onDone?: () => void): number {
  const [remaining, setRemaining] = useState(seconds);
  useEffect(() => {
    setRemaining(seconds);
    if (seconds <= 0) return;
    const started = Date.now();
    const timer = window.setInterval(() => {
      const left = Math.max(0, seconds - Math.floor((Date.now() - started) / 1000));
      setRemaining(left);
      if (left === 0) {
        window.clearInterval(timer);
        onDone?.();
      }
    }, 1000);
    return () => window.clearInterval(timer);
  }, [seconds, onDone]);
  return remaining;
}
