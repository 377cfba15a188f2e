import { expect, type Locator, type Page } from "@playwright/test";

/** The moderation console: the report queue, a report's review, the audit trail, policy versions. */
export class AdminPage {
  readonly subnav: Locator;
  constructor(readonly page: Page) {
    this.subnav = page.getByRole("navigation", { name: "Moderation" });
  }

  async gotoQueue(filters: { status?: "open" | "resolved"; reason?: string } = {}) {
    await this.page.goto("/admin");
    await expect(this.heading("Reports")).toBeVisible();
    if (filters.status === "resolved") await this.page.getByRole("radio", { name: "Resolved" }).check();
    if (filters.reason)
      await this.page.getByRole("combobox", { name: "Reason" }).selectOption({ label: filters.reason });
  }
  heading(name: string | RegExp) {
    return this.page.getByRole("heading", { level: 1, name });
  }
  /** The queue's row for a report on the item with this id. */
  queueRow(targetId: string) {
    return this.page.getByRole("row").filter({ hasText: targetId });
  }
  async review(targetId: string) {
    await this.queueRow(targetId)
      .getByRole("link", { name: /^Review report/ })
      .click();
    await expect(this.heading(/^Report:/)).toBeVisible();
  }
  reportedItem() {
    return this.page.getByRole("region", { name: "Reported item" });
  }
  history() {
    return this.page.getByRole("region", { name: "Report history of this item" }).getByRole("table");
  }
  decision() {
    return this.page.getByRole("region", { name: "Decision" });
  }
  note() {
    return this.decision().getByRole("textbox", { name: "Note" });
  }
  async resolve(action: "Dismiss" | "Remove" | "Quarantine" | "Suspend account", note: string) {
    await this.decision().getByRole("radio", { name: action }).check();
    await this.note().fill(note);
    await this.decision().getByRole("button", { name: "Resolve report" }).click();
  }

  async gotoAudit() {
    await this.subnav.getByRole("link", { name: "Audit trail" }).click();
    await expect(this.heading("Audit trail")).toBeVisible();
  }
  auditRow(text: string) {
    return this.page.getByRole("row").filter({ hasText: text });
  }

  async gotoPolicies() {
    await this.subnav.getByRole("link", { name: "Policies" }).click();
    await expect(this.heading("Publish a policy version")).toBeVisible();
  }
  policyField(name: string | RegExp) {
    return this.page.getByLabel(name, { exact: typeof name === "string" });
  }
  publishButton() {
    return this.page.getByRole("button", { name: "Publish version" });
  }
}
