import { expect, type Page } from "@playwright/test";

export class TermsPage {
  constructor(readonly page: Page) {}
  async accept() {
    await this.page.getByRole("checkbox", { name: /at least/i }).check();
    await this.page.getByRole("checkbox", { name: /terms/i }).check();
    await this.page.getByRole("button", { name: "Accept and continue" }).click();
    await expect(this.page.getByRole("button", { name: "Accept and continue" })).toHaveCount(0);
  }
}
