/**
 * Which published policy versions this browser has seen, so the site-wide notice of an upcoming
 * change shows until the person has read it (or dismissed it), and not after.
 */
import { useSyncExternalStore } from "react";
import type { PolicyKind } from "../../api/privacy";

const CHANGED = "atelier:policy-seen";
const key = (kind: PolicyKind) => `atelier.policy-seen.${kind}`;

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

export function markPolicySeen(kind: PolicyKind, version: string) {
  const store = storage();
  if (!store || store.getItem(key(kind)) === version) return;
  store.setItem(key(kind), version);
  window.dispatchEvent(new Event(CHANGED));
}

function subscribe(onChange: () => void) {
  window.addEventListener(CHANGED, onChange);
  window.addEventListener("storage", onChange);
  return () => {
    window.removeEventListener(CHANGED, onChange);
    window.removeEventListener("storage", onChange);
  };
}

/** The version of the policy last seen in this browser, if any. */
export function usePolicySeen(kind: PolicyKind): string | null {
  return useSyncExternalStore(
    subscribe,
    () => storage()?.getItem(key(kind)) ?? null,
    () => null,
  );
}
