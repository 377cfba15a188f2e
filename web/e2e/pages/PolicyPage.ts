import { expect, type Locator, type Page } from "@playwright/test";

/** The terms of service or the privacy policy, and the site-wide notice of a change to either. */
export class PolicyPage {
  readonly notice: Locator;
  constructor(readonly page: Page) {
    this.notice = page.getByRole("region", { name: "Policy changes" });
  }
  async goto(kind: "terms" | "privacy") {
    await this.page.goto(kind === "terms" ? "/terms" : "/privacy-policy");
    const title = kind === "terms" ? "Terms of service" : "Privacy policy";
    await expect(this.page.getByRole("heading", { level: 1, name: title })).toBeVisible();
  }
  upcoming() {
    return this.page.getByRole("region", { name: /^Coming: version/ });
  }
}
