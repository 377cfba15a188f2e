import { expect, test as base } from "@playwright/test";

/** Playwright's test, failing any test whose pages broke the Content Security Policy. */
export const test = base.extend<{ cspGuard: void }>({
  cspGuard: [
    async ({ context }, use) => {
      const violations: string[] = [];
      const watch = (page: import("@playwright/test").Page) =>
        page.on("console", (message) => {
          if (message.type() === "error" && /Content Security Policy/i.test(message.text())) {
            violations.push(message.text());
          }
        });
      context.pages().forEach(watch);
      context.on("page", watch);
      await use();
      expect(violations, "CSP violations").toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
