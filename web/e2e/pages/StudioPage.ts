import { expect, type Locator, type Page } from "@playwright/test";

export class StudioPage {
  readonly jobs: Locator;
  readonly generate: Locator;
  constructor(readonly page: Page) {
    this.jobs = page.getByRole("region", { name: "Jobs" });
    this.generate = page.getByRole("button", { name: "Generate" });
  }
  async goto() {
    await this.page.goto("/studio");
    await expect(this.page.getByRole("combobox", { name: "Model" })).toBeVisible();
  }
  async chooseModel(label: RegExp | string) {
    await this.page.getByRole("combobox", { name: "Model" }).selectOption({ label: String(label) });
  }
  async chooseModelMatching(pattern: RegExp) {
    const select = this.page.getByRole("combobox", { name: "Model" });
    const options = await select.locator("option").allTextContents();
    const label = options.find((text) => pattern.test(text));
    if (!label) throw new Error(`no model matches ${pattern}`);
    await select.selectOption({ label });
  }
  async prompt(text: string) {
    await this.page.getByRole("textbox", { name: "Prompt", exact: true }).fill(text);
  }
  price() {
    return this.page.locator("output.price");
  }
  job(prompt: string) {
    return this.jobs.getByRole("listitem").filter({ hasText: prompt });
  }
  async waitForStatus(prompt: string, status: "Succeeded" | "Failed" | "Canceled") {
    await expect(this.job(prompt).getByText(status, { exact: true })).toBeVisible({ timeout: 60_000 });
  }
}
