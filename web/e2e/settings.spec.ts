import type { APIRequestContext, Browser, Page } from "@playwright/test";
import { expectAccessible } from "./axe";
import { expect, test } from "./fixtures";
import { BillingPage, SandboxCheckoutPage } from "./pages/BillingPage";
import { GalleryPage } from "./pages/GalleryPage";
import { LibraryPage } from "./pages/LibraryPage";
import { EmailConfirmationPage, SettingsPage, type SentEmail } from "./pages/SettingsPage";
import { SharePage } from "./pages/SharePage";
import { StudioPage } from "./pages/StudioPage";
import { signIn, signUp, uniqueEmail } from "./support";

/** The emails the local stand-in sent to exactly this address so far. */
async function outbox(request: APIRequestContext, to: string): Promise<SentEmail[]> {
  const answer = await request.get(`/_local/outbox?to=${encodeURIComponent(to)}`);
  expect(answer.ok()).toBe(true);
  return ((await answer.json()) as SentEmail[]).filter((mail) => mail.to.toLowerCase() === to.toLowerCase());
}

/** Waits for an email with this subject to reach `to`, and answers it. */
async function emailTo(request: APIRequestContext, to: string, subject: string): Promise<SentEmail> {
  let found: SentEmail | undefined;
  await expect
    .poll(async () => {
      found = (await outbox(request, to)).find((mail) => mail.subject === subject);
      return Boolean(found);
    })
    .toBe(true);
  return found as SentEmail;
}

test("an email change takes effect only from the link sent to the new address, and the old address is told", async ({
  page,
  request,
}) => {
  // Given a person on Settings
  const before = uniqueEmail("marie");
  const after = uniqueEmail("marie.new");
  await signIn(page, before, "/settings");
  const settings = new SettingsPage(page);
  await settings.goto();
  await expectAccessible(page, "settings");

  // When they ask for a new address
  await settings.requestEmailChange(after);

  // Then nothing has changed yet: the new address waits for its link, and the old one is told
  await expect(settings.pendingEmail()).toContainText(after);
  await expect(settings.profile).toContainText(`Email: ${before}`);
  await expectAccessible(page, "settings, email change waiting");
  const confirmation = await emailTo(request, after, "Confirm your new Atelier email address");
  await emailTo(request, before, "A new email address was requested for your Atelier account");
  const link = confirmation.text.match(/https?:\/\/\S+\/settings\/email\?token=\S+/)?.[0];
  expect(link, "the confirmation email holds a link to the studio's page").toBeTruthy();

  // When they open the link from the new address's email
  const confirmationPage = new EmailConfirmationPage(page);
  await page.goto(link as string);

  // Then the address is the account's, and the old address is told it changed
  await expect(confirmationPage.confirmed(after)).toBeVisible();
  await expectAccessible(page, "email confirmed");
  await emailTo(request, before, "Your Atelier email address was changed");
  await settings.goto();
  await expect(settings.profile).toContainText(`Email: ${after}`);
  await expect(settings.pendingEmail()).toHaveCount(0);

  // And the link, used once, is refused in plain words with the way out, and changes nothing
  await page.goto(link as string);
  await expect(confirmationPage.refused()).toBeVisible();
  await expect(confirmationPage.refused().getByRole("link", { name: "Change your email" })).toBeVisible();
  await expectAccessible(page, "email confirmation refused");
  // A link without its token says so rather than posting nothing
  await page.goto("/settings/email");
  await expect(page.getByRole("alert")).toContainText("This link is incomplete");
});

test("a profile picture is uploaded, shown, and removed for the initials again", async ({ page }) => {
  // Given a person on Settings, whose picture is their initials
  await signUp(page, uniqueEmail("picture.person"));
  const settings = new SettingsPage(page);
  await settings.goto();
  await settings.rename("Grace Hopper");
  await expect(settings.profile.getByText("GH", { exact: true })).toBeVisible();
  await expect(settings.picture()).toHaveCount(0);

  // When they choose a small PNG (drawn here, on a canvas)
  const dataUrl = await page.evaluate(() => {
    const canvas = document.createElement("canvas");
    canvas.width = 48;
    canvas.height = 32;
    const context = canvas.getContext("2d");
    if (context) {
      context.fillStyle = "#2a7";
      context.fillRect(0, 0, 48, 32);
    }
    return canvas.toDataURL("image/png");
  });
  const png = Buffer.from(dataUrl.split(",")[1] ?? "", "base64");
  await settings.choosePicture({ name: "me.png", mimeType: "image/png", buffer: png });

  // Then it is their picture, loaded from the store, in place of the initials
  await expect(settings.picture()).toBeVisible();
  await expect
    .poll(() =>
      settings.picture().evaluate((image: HTMLImageElement) => image.complete && image.naturalWidth),
    )
    .toBe(256);
  await expect(settings.profile.getByText("GH", { exact: true })).toHaveCount(0);
  await expectAccessible(page, "settings with a picture");

  // When they remove it, Then the initials are back, after a reload too
  await settings.removePicture();
  await expect(settings.picture()).toHaveCount(0);
  await expect(settings.profile.getByText("GH", { exact: true })).toBeVisible();
  await page.reload();
  await expect(settings.profile.getByText("GH", { exact: true })).toBeVisible();
  await expect(settings.picture()).toHaveCount(0);
});

test("an API key is shown once, works as a Bearer key, shows its last use, and is refused once revoked", async ({
  page,
  context,
  request,
}) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  // Given a person on Settings with no keys
  await signIn(page, uniqueEmail("linus"), "/settings");
  const settings = new SettingsPage(page);
  await settings.goto();
  await expect(settings.apiKeys).toContainText("You have no API keys.");

  // When they create a key that may also read billing
  const key = await settings.createKey("nightly script", ["Read the balance and billing history"]);

  // Then it is shown this once, with a copy button that puts it on the clipboard
  await expectAccessible(page, "settings, new API key");
  await settings.newKey().getByRole("button", { name: "Copy key" }).click();
  await expect(settings.newKey().getByRole("status")).toHaveText("Copied to the clipboard.");
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);
  // And it works against the API as a Bearer key, with the scopes chosen
  const bearer = { Authorization: `Bearer ${key}` };
  expect((await request.get("/v1/jobs", { headers: bearer })).status()).toBe(200);
  expect((await request.get("/v1/billing/balance", { headers: bearer })).status()).toBe(200);

  // When they are done with it, Then the key is nowhere on the page, even after a reload
  await settings.newKey().getByRole("button", { name: "Done" }).click();
  await expect(settings.newKey()).toHaveCount(0);
  await page.reload();
  await expect(settings.keyRow("nightly script")).toBeVisible();
  expect(await page.content()).not.toContain(key);
  // And the list shows its scopes and its last use
  await expect(settings.keyRow("nightly script")).toContainText("Read the balance and billing history");
  await expect(settings.keyRow("nightly script")).toContainText(/Used just now|Used \d+ minutes? ago/);

  // When they revoke it
  await settings.revokeKey("nightly script");

  // Then it is gone from the list, and the API refuses it
  await expect(settings.keyList()).toHaveCount(0);
  await expect(settings.apiKeys).toContainText("You have no API keys.");
  expect((await request.get("/v1/jobs", { headers: bearer })).status()).toBe(401);
});

test("a workspace is created, renamed, and refused deletion in plain words while it holds something", async ({
  page,
}) => {
  // Given a person on Settings with credits, and their default workspace only
  await signUp(page, uniqueEmail("ada.ws"));
  const billing = new BillingPage(page);
  await billing.goto();
  await billing.buy("Starter");
  await new SandboxCheckoutPage(page).pay();
  await expect(billing.balance()).toHaveText("100 credits");
  const settings = new SettingsPage(page);
  await settings.goto();
  await expect(settings.workspaceList().getByRole("listitem")).toHaveCount(1);
  await expect(settings.workspaces.getByRole("button", { name: /^Delete / })).toHaveCount(0);

  // When they create a workspace and rename it
  await settings.createWorkspace("Moodboards");
  await settings.renameWorkspace("Moodboards", "Mood boards");

  // Then it carries the new name
  await expect(settings.workspaceList().getByText("Mood boards", { exact: true })).toBeVisible();
  await expect(settings.workspaceList().getByText("Moodboards", { exact: true })).toHaveCount(0);
  await expectAccessible(page, "settings, workspaces");

  // When a job is made in it and they try to delete it
  const submitted = await page.evaluate(async () => {
    const listed = await fetch("/v1/workspaces");
    const items = ((await listed.json()) as { items: { id: string; name: string }[] }).items;
    const workspace = items.find((item) => item.name === "Mood boards")?.id ?? "";
    const answer = await fetch("/v1/jobs", {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Workspace-Id": workspace },
      body: JSON.stringify({ kind: "image", model: "local-image", prompt: "a mood board" }),
    });
    return answer.status;
  });
  expect(submitted).toBe(202);
  await settings.deleteWorkspace("Mood boards");

  // Then the refusal is in plain words, with the way out, and the workspace stays
  const refusal = settings.workspaces.getByRole("alert");
  await expect(refusal).toContainText("This workspace is not empty");
  await expect(refusal.getByRole("link", { name: "Open the library" })).toBeVisible();
  await expectAccessible(page, "settings, workspace not empty");
  await expect(settings.workspaceList().getByText("Mood boards", { exact: true })).toBeVisible();
});

test("an empty workspace is deleted", async ({ page }) => {
  // Given a person with a second, empty workspace
  await signIn(page, uniqueEmail("ada.empty"), "/settings");
  const settings = new SettingsPage(page);
  await settings.goto();
  await settings.createWorkspace("Scratch");

  // When they delete it, Then it is gone, and only the default remains
  await settings.deleteWorkspace("Scratch");
  await expect(settings.workspaceList().getByText("Scratch", { exact: true })).toHaveCount(0);
  await expect(settings.workspaceList().getByRole("listitem")).toHaveCount(1);
});

/** A person who publishes one image under a display name nobody else has; answers that name. */
async function publishAnImage(page: Page): Promise<string> {
  const name = `Maker ${Date.now().toString(36)}`;
  await signUp(page, uniqueEmail("maker"));
  const settings = new SettingsPage(page);
  await settings.goto();
  await settings.rename(name);
  const billing = new BillingPage(page);
  await billing.goto();
  await billing.buy("Starter");
  await new SandboxCheckoutPage(page).pay();
  await expect(billing.balance()).toHaveText("100 credits");
  const studio = new StudioPage(page);
  await studio.goto();
  await studio.chooseModelMatching(/^Local image/);
  await studio.prompt("a copied painting");
  await studio.generate.click();
  await studio.waitForStatus("a copied painting", "Succeeded");
  const library = new LibraryPage(page);
  await library.goto();
  await library.open("Image");
  await library.makePublic();
  return name;
}

async function newPage(browser: Browser): Promise<Page> {
  return (await browser.newContext()).newPage();
}

test("a report from the gallery appears in the person's reports, and a second one of the same item is explained", async ({
  page,
  browser,
}) => {
  test.setTimeout(180_000);
  // Given a public image, and someone else who accepted the terms
  const maker = await newPage(browser);
  const makerName = await publishAnImage(maker);
  await signUp(page, uniqueEmail("reporter"));

  // When they open the image in the gallery and report it, with a reason and a note
  const gallery = new GalleryPage(page);
  await gallery.goto();
  await gallery.grid.getByRole("button", { name: `Open image by ${makerName}` }).click();
  const viewer = page.getByRole("dialog");
  await viewer.getByRole("button", { name: "Report" }).click();
  const form = viewer.getByRole("form", { name: "Report this" });
  await expect(form.getByRole("button", { name: "Send report" })).toBeDisabled();
  for (const reason of [
    "Spam or scam",
    "Sexual content",
    "Endangers a child",
    "Violence or gore",
    "Hate or harassment",
    "Copyright infringement",
    "Something else",
  ]) {
    await expect(form.getByRole("radio", { name: reason })).toBeVisible();
  }
  await form.getByRole("radio", { name: "Copyright infringement" }).check();
  await form.getByRole("textbox", { name: "Note (optional)" }).fill("This is my painting, copied.");
  await expectAccessible(page, "gallery viewer, report form");
  await form.getByRole("button", { name: "Send report" }).click();

  // Then it is confirmed, with where to follow it
  const confirmation = viewer.getByRole("status").filter({ hasText: "Report sent." });
  await expect(confirmation).toBeVisible();
  await expectAccessible(page, "gallery viewer, report sent");

  // And a second report of the same item is explained, not failed
  await viewer.getByRole("button", { name: "Close" }).click();
  await gallery.grid.getByRole("button", { name: `Open image by ${makerName}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Report" }).click();
  await page.getByRole("dialog").getByRole("radio", { name: "Spam or scam" }).check();
  await page.getByRole("dialog").getByRole("button", { name: "Send report" }).click();
  await expect(page.getByRole("dialog").getByRole("alert")).toContainText("Already reported");

  // And the report is in their list on Settings, being reviewed, with their note
  const settings = new SettingsPage(page);
  await settings.goto();
  const listed = settings.reportList().getByRole("listitem");
  await expect(listed).toHaveCount(1);
  await expect(listed).toContainText("Copyright infringement: Being reviewed");
  await expect(listed).toContainText("Your note: This is my painting, copied.");
  await expectAccessible(page, "settings, my reports");
  await maker.context().close();
});

test("a share page offers Report, and asks a signed-out visitor to sign in first", async ({
  page,
  browser,
}) => {
  test.setTimeout(180_000);
  // Given a shared image
  const maker = await newPage(browser);
  await publishAnImage(maker);
  const link = await new LibraryPage(maker).createShareLink();

  // When a signed-out visitor opens the link and chooses Report
  const share = new SharePage(page);
  await share.goto(link);
  await expect(page.getByRole("img", { name: "A shared image" })).toBeVisible();
  await page.getByRole("button", { name: "Report" }).click();

  // Then they are asked to sign in, and come back to the page to report
  const signInLink = page.getByRole("link", { name: "Sign in to report" });
  await expect(signInLink).toHaveAttribute("href", /redirect_to=%2Fs%2F/);
  await expectAccessible(page, "share page, sign in to report");
  await maker.context().close();
});

test("signing out here ends this session only; signing out everywhere ends every session", async ({
  browser,
}) => {
  // Given one person signed in in three browsers
  const email = uniqueEmail("everywhere");
  const [first, second, third] = [await newPage(browser), await newPage(browser), await newPage(browser)];
  for (const page of [first, second, third]) await signIn(page, email, "/settings");

  // When they sign out here in the third
  const inThird = new SettingsPage(third);
  await inThird.goto();
  await inThird.signOutHere();

  // Then the third is signed out and the first still signed in
  await expect(new GalleryPage(third).signInLink()).toBeVisible();
  const inFirst = new SettingsPage(first);
  await inFirst.goto();
  await expectAccessible(first, "settings, sessions");

  // When they sign out everywhere from the first
  await inFirst.signOutEverywhere();

  // Then the first lands signed out, and the second is signed out on its next load
  await expect(new GalleryPage(first).signInLink()).toBeVisible();
  await second.goto("/settings");
  await expect(second.getByRole("link", { name: "Sign in to continue" })).toBeVisible();
  for (const page of [first, second, third]) await page.context().close();
});

test("settings fit a phone's width and pass an axe scan in the dark theme chosen there", async ({ page }) => {
  // Given a phone-sized window on Settings
  await page.setViewportSize({ width: 360, height: 740 });
  await signIn(page, uniqueEmail("phone.settings"), "/settings");
  const settings = new SettingsPage(page);
  await settings.goto();
  await expect(settings.workspaceList()).toBeVisible();

  // Then nothing scrolls sideways
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);

  // When the dark theme is chosen in the profile, Then it applies, is saved, and reads well
  await settings.profile.getByRole("combobox", { name: "Colour theme" }).selectOption("dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expect
    .poll(async () => (await (await page.request.get("/v1/me")).json()).preferences.theme as string)
    .toBe("dark");
  await expectAccessible(page, "settings (dark)");
});
