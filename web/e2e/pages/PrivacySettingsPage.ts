import { expect, type Locator, type Page } from "@playwright/test";

/** The privacy parts of Settings: the consent switches, "Download my data" and "Delete my account". */
export class PrivacySettingsPage {
  readonly data: Locator;
  readonly deletion: Locator;
  readonly choices: Locator;
  constructor(readonly page: Page) {
    this.data = page.getByRole("region", { name: "Your data" });
    this.deletion = page.getByRole("region", { name: "Delete my account" });
    this.choices = page.getByRole("region", { name: "Your choices" });
  }
  async goto(path = "/settings") {
    await this.page.goto(path);
    await expect(this.page.getByRole("heading", { level: 1, name: "Settings" })).toBeVisible();
  }
  choice(name: "Analytics" | "Product improvement" | "Marketing email") {
    return this.choices.getByRole("switch", { name });
  }
  requestExport() {
    return this.data.getByRole("button", { name: "Download my data" });
  }
  /** The link to the current export's archive, once it is ready. */
  downloadLink() {
    return this.data.getByRole("link", { name: "Download", exact: true });
  }
  earlierExports() {
    return this.data.getByRole("table");
  }
  deleteButton() {
    return this.deletion.getByRole("button", { name: "Delete my account" });
  }
  dialog() {
    return this.page.getByRole("dialog", { name: "Delete your account?" });
  }
  async scheduleDeletion() {
    await this.deleteButton().click();
    const dialog = this.dialog();
    await expect(dialog).toBeVisible();
    await dialog.getByRole("textbox", { name: "Type DELETE to confirm" }).fill("DELETE");
    await dialog.getByRole("button", { name: "Delete my account" }).click();
    await expect(dialog).toBeHidden();
  }
  purgeTime() {
    return this.deletion.locator("time");
  }
  countdown() {
    return this.deletion.getByRole("timer");
  }
  cancelButton() {
    return this.deletion.getByRole("button", { name: "Cancel deletion" });
  }
}
