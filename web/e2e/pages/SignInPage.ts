import { expect, type Page } from "@playwright/test";

/** The local OpenID Connect issuer's page: it asks for an email when the app sends no login_hint. */
export class SignInPage {
  constructor(readonly page: Page) {}
  async signInAs(email: string) {
    await expect(this.page.getByRole("heading", { name: "Sign in to Atelier" })).toBeVisible();
    await this.page.getByLabel("Email").fill(email);
    await this.page.getByRole("button", { name: "Continue" }).click();
  }
}
