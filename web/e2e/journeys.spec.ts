import { expect, test } from "./fixtures";
import { BillingPage, SandboxCheckoutPage } from "./pages/BillingPage";
import { GalleryPage } from "./pages/GalleryPage";
import { LibraryPage } from "./pages/LibraryPage";
import { SharePage } from "./pages/SharePage";
import { SignInPage } from "./pages/SignInPage";
import { StudioPage } from "./pages/StudioPage";
import { TermsPage } from "./pages/TermsPage";
import { signIn, signUp, uniqueEmail } from "./support";

test("signing in from the gallery comes back to the gallery, signed in; signing out signs out", async ({
  page,
}) => {
  // Given the gallery, signed out
  const gallery = new GalleryPage(page);
  await gallery.goto();
  await expect(gallery.nav.getByRole("link", { name: "Studio" })).toHaveCount(0);
  // When the person signs in through the identity provider
  await gallery.signInLink().click();
  await new SignInPage(page).signInAs(uniqueEmail("ada"));
  // Then they are back on the gallery, with the signed-in navigation
  await expect(page).toHaveURL(/\/$/);
  for (const name of ["Gallery", "Studio", "Library", "Billing", "Settings"]) {
    await expect(gallery.nav.getByRole("link", { name })).toBeVisible();
  }
  // When they sign out, Then the navigation offers Sign in again
  await gallery.nav.getByRole("button", { name: "Sign out" }).click();
  await expect(gallery.signInLink()).toBeVisible();
});

test("a new person accepts the terms, buys credits in the sandbox, generates an image and a video, publishes and shares", async ({
  page,
  browser,
}) => {
  test.setTimeout(180_000);
  const email = uniqueEmail("grace");
  // Given a new person who signed in and accepted the terms
  await signIn(page, email, "/studio");
  await expect(page.getByRole("checkbox", { name: /at least/i })).toBeVisible();
  await new TermsPage(page).accept();

  // When they buy the Starter pack through the sandbox checkout
  const billing = new BillingPage(page);
  await billing.goto();
  await expect(billing.balance()).toHaveText("0 credits");
  await billing.buy("Starter");
  await new SandboxCheckoutPage(page).pay();
  // Then the provider sends them back to Billing, with the credits
  await expect(page).toHaveURL(/\/billing\?checkout=success/);
  await expect(billing.balance()).toHaveText("100 credits");

  // When they generate an image, Then the price shows first and the output appears as an img
  const studio = new StudioPage(page);
  await studio.goto();
  await studio.chooseModelMatching(/^Local image/);
  await expect(studio.price()).toHaveText("2 credits");
  await studio.prompt("a lighthouse at dusk");
  await studio.generate.click();
  await studio.waitForStatus("a lighthouse at dusk", "Succeeded");
  const image = studio.job("a lighthouse at dusk").getByRole("img");
  await expect(image).toBeVisible();
  await expect.poll(() => image.evaluate((node: HTMLImageElement) => node.naturalWidth)).toBeGreaterThan(0);

  // When they generate a video, Then it plays
  await studio.chooseModelMatching(/^Local video/);
  await studio.prompt("waves rolling in");
  await studio.generate.click();
  await studio.waitForStatus("waves rolling in", "Succeeded");
  const video = studio.job("waves rolling in").locator("video");
  await expect(video).toBeVisible();
  await video.evaluate(async (node: HTMLVideoElement) => {
    node.muted = true;
    await node.play();
  });
  await expect.poll(() => video.evaluate((node: HTMLVideoElement) => node.currentTime)).toBeGreaterThan(0);

  // When they publish the image from the library
  const library = new LibraryPage(page);
  await library.goto();
  await library.open("Image");
  await library.makePublic();
  // Then a signed-out visitor finds it in the gallery
  const visitor = await browser.newContext();
  const visitorPage = await visitor.newPage();
  const gallery = new GalleryPage(visitorPage);
  await gallery.goto();
  await gallery.filter("Images");
  await expect(gallery.grid.getByRole("button").first()).toBeVisible();
  const viewer = await gallery.open(0);
  await expect(viewer.getByRole("img")).toBeVisible();
  await expect(viewer).not.toContainText(email);

  // When they create a share link, Then a fresh signed-out browser opens it
  const link = await library.createShareLink();
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  const share = new SharePage(strangerPage);
  await share.goto(link);
  await expect(strangerPage.getByRole("heading", { name: "A shared image" })).toBeVisible();
  await expect(strangerPage.getByRole("img", { name: "A shared image" })).toBeVisible();

  // When they revoke it, Then the link shows the no-longer-available page
  await library.revokeLink();
  const answer = await share.goto(link);
  await expect(share.unavailable()).toBeVisible();
  // The HTML route of a share page answers 404 for a revoked link where the API serves it.
  if (answer && answer.headers()["content-type"]?.includes("text/html") && answer.status() !== 200) {
    expect(answer.status()).toBe(404);
  }
  await visitor.close();
  await stranger.close();
});

test("a double click on Generate makes one job", async ({ page }) => {
  // Given a person with credits, on the Studio
  await signUp(page, uniqueEmail("hopper"));
  const billing = new BillingPage(page);
  await billing.goto();
  await billing.buy("Starter");
  await new SandboxCheckoutPage(page).pay();
  await expect(billing.balance()).toHaveText("100 credits");
  const studio = new StudioPage(page);
  await studio.goto();
  await studio.chooseModelMatching(/^Local image/);
  await studio.prompt("one job only");
  // When they double-click Generate
  const submitted: string[] = [];
  page.on("response", (response) => {
    if (response.url().endsWith("/v1/jobs") && response.request().method() === "POST")
      submitted.push(response.url());
  });
  await studio.generate.dblclick();
  // Then one job appears, and stays one once it is done
  await studio.waitForStatus("one job only", "Succeeded");
  await expect(studio.job("one job only")).toHaveCount(1);
  const jobs = await page.request.get("/v1/jobs");
  const prompts = ((await jobs.json()) as { items: { prompt: string }[] }).items.map((job) => job.prompt);
  expect(prompts.filter((prompt) => prompt === "one job only")).toHaveLength(1);
  expect(submitted.length).toBeLessThanOrEqual(1);
});

test("without credits, Generate explains and links to buying credits", async ({ page }) => {
  // Given a new person with no credits
  await signUp(page, uniqueEmail("lovelace"));
  const studio = new StudioPage(page);
  await studio.goto();
  // When they generate
  await studio.prompt("a quiet harbour");
  await studio.generate.click();
  // Then a 402 shows the way out: buying credits
  const alert = page.getByRole("alert");
  await expect(alert).toContainText("Not enough credits");
  await alert.getByRole("link", { name: "Buy credits" }).click();
  // And following it lands on Billing with the focus on its heading, as a page load would
  await expect(page.getByRole("heading", { level: 1, name: "Billing" })).toBeFocused();
});

test("an unknown page shows the app's not-found page", async ({ page }) => {
  await page.goto("/no/such/page");
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
});

test("a reference image uploads through the presigned POST, shows a preview, and can be removed", async ({
  page,
}) => {
  // Given a person on the Studio with a model that takes reference images
  await signUp(page, uniqueEmail("noether"));
  const studio = new StudioPage(page);
  await studio.goto();
  await studio.chooseModelMatching(/^Local image/);
  // When they add an image
  const png = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
    "base64",
  );
  await page
    .getByLabel("Add reference images")
    .setInputFiles({ name: "dot.png", mimeType: "image/png", buffer: png });
  // Then its preview shows, and the upload completes
  await expect(page.getByRole("img", { name: "Reference image 1: dot.png" })).toBeVisible();
  await expect(page.getByText("Uploaded", { exact: true })).toBeVisible();
  // When they remove it, Then it is gone
  await page.getByRole("button", { name: "Remove reference image 1" }).click();
  await expect(page.getByRole("img", { name: /Reference image 1/ })).toHaveCount(0);
});
