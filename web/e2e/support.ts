import { expect, type Page } from "@playwright/test";
import { GalleryPage } from "./pages/GalleryPage";
import { SignInPage } from "./pages/SignInPage";
import { TermsPage } from "./pages/TermsPage";

let counter = 0;
/** An address no other test uses, so every journey starts from a new account. */
export function uniqueEmail(name: string): string {
  counter += 1;
  return `${name}.${Date.now().toString(36)}${counter}@example.com`;
}

/** Signs in from the gallery through the local identity provider, and comes back to `path`. */
export async function signIn(page: Page, email: string, path = "/") {
  await page.goto(path);
  const gallery = new GalleryPage(page);
  await gallery.signInLink().click();
  await new SignInPage(page).signInAs(email);
  await expect(gallery.nav.getByRole("button", { name: "Sign out" })).toBeVisible();
}

/** Signs in and accepts the terms on the Studio screen. */
export async function signUp(page: Page, email: string) {
  await signIn(page, email, "/studio");
  await new TermsPage(page).accept();
}
