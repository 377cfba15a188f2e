import type { Page } from "@playwright/test";

export class SharePage {
  constructor(readonly page: Page) {}
  async goto(url: string) {
    return this.page.goto(url);
  }
  unavailable() {
    return this.page.getByRole("heading", { name: /no longer available/i });
  }
}
