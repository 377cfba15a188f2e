import { expect, type Locator, type Page } from "@playwright/test";

/** The cookie banner every page shows until a choice is made (and again from "Cookie settings"). */
export class CookieBanner {
  readonly region: Locator;
  constructor(readonly page: Page) {
    this.region = page.getByRole("region", { name: "Cookies" });
  }
  async necessaryOnly() {
    await this.region.getByRole("button", { name: "Necessary only" }).click();
    await expect(this.region).toHaveCount(0);
  }
  async acceptAnalytics() {
    await this.region.getByRole("button", { name: "Accept analytics" }).click();
    await expect(this.region).toHaveCount(0);
  }
  async reopen() {
    await this.page
      .getByRole("navigation", { name: "Policies" })
      .getByRole("button", { name: "Cookie settings" })
      .click();
    await expect(this.region).toBeVisible();
  }
}
