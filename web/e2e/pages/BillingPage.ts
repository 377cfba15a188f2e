import { expect, type Page } from "@playwright/test";

export class BillingPage {
  constructor(readonly page: Page) {}
  async goto() {
    await this.page.goto("/billing");
    await expect(this.page.getByRole("heading", { level: 1, name: "Billing" })).toBeVisible();
  }
  balance() {
    return this.page.getByRole("region", { name: "Balance" }).getByText(/^\d[\d,]* credits?$/);
  }
  async buy(itemName: string) {
    const card = this.page.getByRole("article", { name: itemName });
    await card.getByRole("button", { name: "Buy" }).click();
  }
}

/** The local payments sandbox's checkout page (a provider's hosted checkout). */
export class SandboxCheckoutPage {
  constructor(readonly page: Page) {}
  async pay() {
    await this.page.getByRole("button", { name: /^Pay / }).click();
  }
}
