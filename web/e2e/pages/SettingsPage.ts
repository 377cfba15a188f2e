import { expect, type Locator, type Page } from "@playwright/test";

/** The settings screen, one locator per section. */
export class SettingsPage {
  readonly profile: Locator;
  readonly apiKeys: Locator;
  readonly workspaces: Locator;
  readonly reports: Locator;
  readonly sessions: Locator;
  constructor(readonly page: Page) {
    this.profile = page.getByRole("region", { name: "Profile" });
    this.apiKeys = page.getByRole("region", { name: "API keys" });
    this.workspaces = page.getByRole("region", { name: "Workspaces" });
    this.reports = page.getByRole("region", { name: "My reports" });
    this.sessions = page.getByRole("region", { name: "Sessions" });
  }
  async goto() {
    await this.page.goto("/settings");
    await expect(this.page.getByRole("heading", { level: 1, name: "Settings" })).toBeVisible();
  }

  // Profile
  async rename(name: string) {
    await this.profile.getByRole("textbox", { name: "Name", exact: true }).fill(name);
    await this.profile.getByRole("button", { name: "Save name" }).click();
    await expect(this.profile.getByRole("status").filter({ hasText: "Name saved." })).toBeVisible();
  }
  async requestEmailChange(email: string) {
    await this.profile.getByRole("textbox", { name: "New email address" }).fill(email);
    await this.profile.getByRole("button", { name: "Change email" }).click();
  }
  async choosePicture(file: { name: string; mimeType: string; buffer: Buffer }) {
    await this.profile.getByLabel("Choose a picture").setInputFiles(file);
  }
  picture() {
    return this.profile.getByRole("img", { name: "Your picture" });
  }
  async removePicture() {
    await this.profile.getByRole("button", { name: "Remove picture" }).click();
  }
  pendingEmail() {
    return this.profile.getByRole("status").filter({ hasText: "Waiting for confirmation" });
  }

  // API keys
  async createKey(name: string, scopes: string[] = []) {
    await this.apiKeys.getByRole("textbox", { name: "Key name" }).fill(name);
    for (const scope of scopes) await this.apiKeys.getByRole("checkbox", { name: scope }).check();
    await this.apiKeys.getByRole("button", { name: "Create key" }).click();
    const shown = this.newKey().getByRole("textbox");
    await expect(shown).toHaveValue(/.{20,}/);
    return shown.inputValue();
  }
  newKey() {
    return this.page.getByRole("region", { name: "New API key" });
  }
  keyList() {
    return this.apiKeys.getByRole("list", { name: "Your API keys" });
  }
  keyRow(name: string) {
    return this.keyList().getByRole("listitem").filter({ hasText: name });
  }
  async revokeKey(name: string) {
    await this.apiKeys.getByRole("button", { name: `Revoke ${name}` }).click();
    await this.page.getByRole("dialog").getByRole("button", { name: "Revoke key" }).click();
  }

  // Workspaces
  workspaceList() {
    return this.workspaces.getByRole("list", { name: "Your workspaces" });
  }
  async createWorkspace(name: string) {
    await this.workspaces.getByRole("textbox", { name: "New workspace name" }).fill(name);
    await this.workspaces.getByRole("button", { name: "Create workspace" }).click();
    await expect(this.workspaceList().getByText(name, { exact: true })).toBeVisible();
  }
  async renameWorkspace(from: string, to: string) {
    await this.workspaces.getByRole("button", { name: `Rename ${from}` }).click();
    await this.workspaces.getByRole("textbox", { name: `New name for ${from}` }).fill(to);
    await this.workspaces.getByRole("button", { name: "Save" }).click();
  }
  async deleteWorkspace(name: string) {
    await this.workspaces.getByRole("button", { name: `Delete ${name}` }).click();
    await this.page.getByRole("dialog").getByRole("button", { name: "Delete workspace" }).click();
  }

  // Reports and sessions
  reportList() {
    return this.reports.getByRole("list", { name: "Your reports" });
  }
  async signOutEverywhere() {
    await this.sessions.getByRole("button", { name: "Sign out everywhere" }).click();
    await this.page.getByRole("dialog").getByRole("button", { name: "Sign out everywhere" }).click();
  }
  async signOutHere() {
    await this.sessions.getByRole("button", { name: "Sign out", exact: true }).click();
  }
}

/** The page the emailed confirmation link opens. */
export class EmailConfirmationPage {
  constructor(readonly page: Page) {}
  heading() {
    return this.page.getByRole("heading", { level: 1, name: "Confirm your email" });
  }
  confirmed(email: string) {
    return this.page.getByRole("status").filter({ hasText: `Your email address is now ${email}` });
  }
  refused() {
    return this.page.getByRole("alert").filter({ hasText: "This link no longer works" });
  }
}

/** The local email stand-in's outbox, as the API serves it under /_local/. */
export interface SentEmail {
  to: string;
  subject: string;
  kind: string;
  text: string;
  sent_at: string;
}
