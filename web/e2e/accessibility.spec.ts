import AxeBuilder from "@axe-core/playwright";
import type { Page } from "@playwright/test";
import { expect, test } from "./fixtures";
import { BillingPage, SandboxCheckoutPage } from "./pages/BillingPage";
import { GalleryPage } from "./pages/GalleryPage";
import { LibraryPage } from "./pages/LibraryPage";
import { SharePage } from "./pages/SharePage";
import { StudioPage } from "./pages/StudioPage";
import { TermsPage } from "./pages/TermsPage";
import { signIn, uniqueEmail } from "./support";

/** No serious or critical WCAG 2 A/AA violation on the page as it is now. */
async function expectAccessible(page: Page, screen: string) {
  const results = await new AxeBuilder({ page })
    .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"])
    .analyze();
  const blocking = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map(
      (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`,
    );
  expect(blocking, `${screen} has accessibility violations`).toEqual([]);
}

test("every screen passes an axe scan, in the light and the dark theme", async ({ page, browser }) => {
  test.setTimeout(180_000);
  // The gallery and the not-found page, signed out
  const gallery = new GalleryPage(page);
  await gallery.goto();
  await expectAccessible(page, "gallery");
  await page.getByRole("combobox", { name: "Theme" }).selectOption("dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expectAccessible(page, "gallery (dark)");
  await page.getByRole("combobox", { name: "Theme" }).selectOption("light");
  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { name: "Page not found" })).toBeVisible();
  await expectAccessible(page, "not found");
  await page.goto("/studio");
  await expect(page.getByRole("link", { name: "Sign in to continue" })).toBeVisible();
  await expectAccessible(page, "sign-in gate");

  // The terms gate, then the signed-in screens
  await signIn(page, uniqueEmail("axe"), "/studio");
  await expect(page.getByRole("button", { name: "Accept and continue" })).toBeVisible();
  await expectAccessible(page, "terms gate");
  await new TermsPage(page).accept();
  const studio = new StudioPage(page);
  await studio.goto();
  await expectAccessible(page, "studio");

  const billing = new BillingPage(page);
  await billing.goto();
  await expectAccessible(page, "billing");
  await billing.buy("Starter");
  await new SandboxCheckoutPage(page).pay();
  await expect(billing.balance()).toHaveText("100 credits");
  await expectAccessible(page, "billing after a purchase");

  await studio.goto();
  await studio.chooseModelMatching(/^Local image/);
  await studio.prompt("a field of poppies");
  await studio.generate.click();
  await studio.waitForStatus("a field of poppies", "Succeeded");
  await expect(studio.job("a field of poppies").getByRole("img")).toBeVisible();
  await expectAccessible(page, "studio with a finished job");

  const library = new LibraryPage(page);
  await library.goto();
  await library.open("Image");
  const link = await library.createShareLink();
  await expectAccessible(page, "library asset view");

  await page.goto("/settings");
  await expect(page.getByRole("heading", { level: 1, name: "Settings" })).toBeVisible();
  await expectAccessible(page, "settings");

  // The share page and its no-longer-available page, signed out
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  const share = new SharePage(strangerPage);
  await share.goto(link);
  await expect(strangerPage.getByRole("img", { name: "A shared image" })).toBeVisible();
  await expectAccessible(strangerPage, "share page");
  await library.goto();
  await library.open("Image");
  await library.revokeLink();
  await share.goto(link);
  await expect(share.unavailable()).toBeVisible();
  await expectAccessible(strangerPage, "share page, revoked");
  await stranger.close();
});

test("at 360 px wide the screens fit without sideways scrolling", async ({ page }) => {
  // Given a phone-sized window
  await page.setViewportSize({ width: 360, height: 740 });
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  // Then the gallery, the terms, the studio and billing fit its width
  await new GalleryPage(page).goto();
  expect(await fits()).toBe(true);
  await signIn(page, uniqueEmail("phone"), "/studio");
  await expect(page.getByRole("button", { name: "Accept and continue" })).toBeVisible();
  expect(await fits()).toBe(true);
  await new TermsPage(page).accept();
  await new StudioPage(page).goto();
  expect(await fits()).toBe(true);
  await new BillingPage(page).goto();
  await expect(page.getByRole("button", { name: "Buy" }).first()).toBeVisible();
  expect(await fits()).toBe(true);
});
