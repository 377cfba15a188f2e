import { expect, type Locator, type Page } from "@playwright/test";

/** The list of the person's workflows (/workflows). */
export class WorkflowsPage {
  constructor(readonly page: Page) {}
  async goto() {
    await this.page.goto("/workflows");
    await expect(this.page.getByRole("heading", { level: 1, name: "Workflows" })).toBeVisible();
  }
  workflow(name: string) {
    return this.page.getByRole("list", { name: "My workflows" }).getByRole("link", { name });
  }
}

/** The dialog a job row's "Save as workflow" opens. */
export class SaveWorkflowDialog {
  readonly dialog: Locator;
  constructor(readonly page: Page) {
    this.dialog = page.getByRole("dialog", { name: "Save as workflow" });
  }
  async save(name: string, note: string, template?: string) {
    await this.dialog.getByRole("textbox", { name: "Name" }).fill(name);
    if (template !== undefined)
      await this.dialog.getByRole("textbox", { name: "Prompt template" }).fill(template);
    await this.dialog.getByRole("textbox", { name: "Note" }).fill(note);
    await this.dialog.getByRole("button", { name: "Save workflow" }).click();
    await expect(this.dialog).toBeHidden();
  }
}

/** One workflow's page: the owner's view, or the read-only view of a public or shared one. */
export class WorkflowPage {
  readonly jobs: Locator;
  readonly versions: Locator;
  constructor(readonly page: Page) {
    this.jobs = page.getByRole("region", { name: "Jobs" });
    this.versions = page.getByRole("region", { name: "Versions" });
  }
  heading(name: string) {
    return this.page.getByRole("heading", { level: 1, name });
  }
  version(number: number) {
    return this.versions.getByRole("article", { name: `Version ${number}` });
  }
  async addVersion(template: string, note: string) {
    const form = this.page.getByRole("form", { name: "Add a version" });
    await form.getByRole("textbox", { name: "Prompt template" }).fill(template);
    await form.getByRole("textbox", { name: "Version note" }).fill(note);
    await form.getByRole("button", { name: "Add version" }).click();
    await expect(form.getByRole("status")).toHaveText(/Version \d+ added/);
  }
  runForm() {
    return this.page.getByRole("form", { name: "Run a version" });
  }
  async run(version: number, variables: Record<string, string>) {
    const form = this.runForm();
    await form.getByRole("combobox", { name: "Version" }).selectOption({ value: String(version) });
    for (const [label, value] of Object.entries(variables)) {
      await form.getByRole("textbox", { name: label, exact: true }).fill(value);
    }
    await form.getByRole("button", { name: "Run" }).click();
  }
  job(prompt: string) {
    return this.jobs.getByRole("listitem").filter({ hasText: prompt });
  }
  async publish() {
    await this.page.getByRole("button", { name: "Publish" }).click();
    await expect(this.page.getByRole("button", { name: "Make private" })).toBeVisible();
    return this.page.getByRole("textbox", { name: "Public link" }).inputValue();
  }
  async createShareLink() {
    await this.page.getByRole("button", { name: "Create share link" }).click();
    const link = this.page.getByRole("textbox", { name: "Share link" });
    await expect(link).toHaveValue(/\/s\//);
    return link.inputValue();
  }
  async compare(left: number, right: number) {
    const region = this.page.getByRole("region", { name: "Compare versions" });
    await region.getByRole("combobox", { name: "Left version" }).selectOption({ value: String(left) });
    await region.getByRole("combobox", { name: "Right version" }).selectOption({ value: String(right) });
    return region;
  }
  /** The comparison's row for one setting, as the cells' texts. */
  async comparedRow(setting: string) {
    const row = this.page
      .getByRole("region", { name: "Compare versions" })
      .getByRole("row")
      .filter({ has: this.page.getByRole("rowheader", { name: setting, exact: true }) });
    return row.getByRole("cell").allTextContents();
  }
}
