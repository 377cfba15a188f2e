/**
 * The cookie-banner choice of this browser, kept in localStorage: storing the choice itself is
 * strictly necessary (without it the banner would ask on every page), and it is never sent anywhere.
 * For a signed-in person the account's consent record (PUT /v1/me/consent) is what counts.
 */
import { useSyncExternalStore } from "react";

export type CookieChoice = "necessary" | "analytics";

export const CHOICE_KEY = "atelier.cookie-choice";
const CHANGED = "atelier:cookie-choice";

export function readChoice(
  storage: Pick<Storage, "getItem"> | undefined = safeStorage(),
): CookieChoice | null {
  const value = storage?.getItem(CHOICE_KEY);
  return value === "necessary" || value === "analytics" ? value : null;
}

export function rememberChoice(
  choice: CookieChoice,
  storage: Pick<Storage, "setItem"> | undefined = safeStorage(),
) {
  storage?.setItem(CHOICE_KEY, choice);
  globalThis.dispatchEvent?.(new Event(CHANGED));
}

/** Forgets the choice, so the banner asks again (the "Cookie settings" link in the footer). */
export function forgetChoice() {
  safeStorage()?.removeItem(CHOICE_KEY);
  globalThis.dispatchEvent?.(new Event(CHANGED));
}

function subscribe(onChange: () => void) {
  window.addEventListener(CHANGED, onChange);
  window.addEventListener("storage", onChange); // a choice made in another tab
  return () => {
    window.removeEventListener(CHANGED, onChange);
    window.removeEventListener("storage", onChange);
  };
}

/** This browser's choice, kept up to date when it changes here or in another tab. */
export function useCookieChoice(): CookieChoice | null {
  return useSyncExternalStore(
    subscribe,
    () => readChoice(),
    () => null,
  );
}

function safeStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined; // storage blocked: the banner asks again, and analytics stays off
  }
}
