import { expect, type Locator, type Page } from "@playwright/test";

export class LibraryPage {
  readonly asset: Locator;
  constructor(readonly page: Page) {
    this.asset = page.getByRole("region", { name: /^(Image|Video|Upload) from/ });
  }
  async goto() {
    await this.page.goto("/library");
    await expect(this.page.getByRole("heading", { level: 1, name: "Library" })).toBeVisible();
  }
  async open(kind: "Image" | "Video", index = 0) {
    await this.page
      .getByRole("list", { name: "Assets" })
      .getByRole("button", { name: new RegExp(`^${kind} `) })
      .nth(index)
      .click();
    await expect(this.asset).toBeVisible();
  }
  async makePublic() {
    await this.asset.getByRole("button", { name: "Make public" }).click();
    await expect(this.asset.getByRole("button", { name: "Make private" })).toBeVisible();
  }
  async createShareLink(): Promise<string> {
    await this.asset.getByRole("button", { name: "Create share link" }).click();
    const link = this.asset.getByRole("textbox", { name: "Share link" });
    await expect(link).toHaveValue(/\/s\//);
    return link.inputValue();
  }
  async revokeLink() {
    const revoke = this.asset.getByRole("button", { name: "Revoke link" });
    await expect(revoke.first()).toBeVisible();
    const before = await revoke.count();
    await revoke.first().click();
    await expect(revoke).toHaveCount(before - 1);
  }
}
