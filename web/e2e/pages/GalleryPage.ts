import { expect, type Locator, type Page } from "@playwright/test";

export class GalleryPage {
  readonly nav: Locator;
  readonly grid: Locator;
  constructor(readonly page: Page) {
    this.nav = page.getByRole("navigation", { name: "Main" });
    this.grid = page.getByRole("list", { name: "Published works" });
  }
  async goto() {
    await this.page.goto("/");
    await expect(this.page.getByRole("heading", { level: 1, name: "Gallery" })).toBeVisible();
  }
  signInLink() {
    return this.nav.getByRole("link", { name: "Sign in" });
  }
  async filter(kind: "All" | "Images" | "Videos") {
    await this.page.getByRole("radio", { name: kind }).check();
  }
  async open(index = 0) {
    await this.grid.getByRole("button").nth(index).click();
    return this.page.getByRole("dialog");
  }
}
