import { afterEach, describe, expect, it } from "vitest";
import { applyTheme, themeFromCookie } from "./theme";

describe("theme", () => {
  afterEach(() => {
    delete document.documentElement.dataset.theme;
  });

  it("reads the theme cookie a signed-out visitor chose", () => {
    expect(themeFromCookie("a=b; __Host-theme=dark; c=d")).toBe("dark");
    expect(themeFromCookie("__Host-theme=light")).toBe("light");
  });

  it("falls back to the system theme without a cookie or with a value it does not know", () => {
    expect(themeFromCookie("")).toBe("system");
    expect(themeFromCookie("__Host-theme=neon")).toBe("system");
  });

  it("marks the document with the theme the stylesheet keys its colours on", () => {
    applyTheme("dark");
    expect(document.documentElement.dataset.theme).toBe("dark");
    applyTheme("system");
    expect(document.documentElement.dataset.theme).toBe("system");
  });
});
