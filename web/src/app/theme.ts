export type Theme = "system" | "light" | "dark";

export const THEME_COOKIE = "__Host-theme";
const THEMES: readonly Theme[] = ["system", "light", "dark"];

export function isTheme(value: unknown): value is Theme {
  return typeof value === "string" && (THEMES as readonly string[]).includes(value);
}

/** The theme the `__Host-theme` cookie holds (what a signed-out visitor chose), else "system". */
export function themeFromCookie(cookie: string): Theme {
  for (const pair of cookie.split(";")) {
    const [name, value] = pair.trim().split("=");
    if (name === THEME_COOKIE && isTheme(value)) return value;
  }
  return "system";
}

/** Applies a theme to the document; "system" leaves the choice to prefers-color-scheme. */
export function applyTheme(theme: Theme, root: HTMLElement = document.documentElement): void {
  root.dataset.theme = theme;
}

export function rememberTheme(theme: Theme): void {
  const secure =
    window.location.protocol === "https:" ||
    window.location.hostname === "127.0.0.1" ||
    window.location.hostname === "localhost";
  // __Host- cookies must be Secure, host-only and Path=/; browsers treat loopback as a secure context.
  if (secure) document.cookie = `${THEME_COOKIE}=${theme}; Path=/; Max-Age=31536000; SameSite=Lax; Secure`;
}
