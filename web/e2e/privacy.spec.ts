import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import type { APIRequestContext, BrowserContext, Page } from "@playwright/test";
import { expectAccessible } from "./axe";
import { CookieBanner } from "./pages/CookieBanner";
import { GalleryPage } from "./pages/GalleryPage";
import { PolicyPage } from "./pages/PolicyPage";
import { PrivacySettingsPage } from "./pages/PrivacySettingsPage";
import { SignInPage } from "./pages/SignInPage";
import { TermsPage } from "./pages/TermsPage";
import { ADMIN_EMAIL, GRACE_SECONDS, expect, test } from "./privacyStack";
import { signIn, signUp, uniqueEmail } from "./support";

// The cookies Atelier may set without asking (P12): session, sign-in state, workspace, theme.
const NECESSARY_COOKIES = ["__Host-session", "__Host-signin", "__Host-workspace", "__Host-theme"];

interface RecordedEvent {
  name: string;
  path: string | null;
  cookies: string[];
}

async function cookieNames(context: BrowserContext): Promise<string[]> {
  return (await context.cookies()).map((cookie) => cookie.name);
}

/** Every request the page makes to the analytics endpoint, from now on. */
function watchAnalytics(page: Page): string[] {
  const sent: string[] = [];
  page.on("request", (request) => {
    if (new URL(request.url()).pathname.startsWith("/_local/analytics")) sent.push(request.url());
  });
  return sent;
}

async function recordedEvents(request: APIRequestContext): Promise<RecordedEvent[]> {
  return (await (await request.get("/_local/analytics")).json()) as RecordedEvent[];
}

test.describe.configure({ mode: "serial" });

test.beforeEach(async ({ request }) => {
  expect((await request.post("/_local/analytics/clear")).status()).toBe(204);
});

test("signed out: the cookie banner, and no cookie or analytics request beyond the necessary before consent", async ({
  page,
  context,
  request,
}) => {
  const analyticsRequests = watchAnalytics(page);
  const banner = new CookieBanner(page);
  // Given a first visit to the gallery
  await new GalleryPage(page).goto();
  // Then the banner asks, and only necessary cookies (if any) are set, and nothing is counted
  await expect(banner.region).toBeVisible();
  await expectAccessible(page, "cookie banner");
  // And it reads in the dark theme, and fits a phone's width
  await page.getByRole("combobox", { name: "Theme" }).selectOption("dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expectAccessible(page, "cookie banner (dark)");
  await page.setViewportSize({ width: 360, height: 740 });
  expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
  await page.setViewportSize({ width: 1280, height: 720 });
  await new PolicyPage(page).goto("privacy");
  await expect(banner.region).toBeVisible();
  for (const name of await cookieNames(context)) expect(NECESSARY_COOKIES).toContain(name);
  expect(analyticsRequests).toEqual([]);

  // When the visitor chooses necessary only
  await banner.necessaryOnly();
  // Then the choice is remembered across pages and loads, and still nothing is counted
  await page.reload();
  await expect(page.getByRole("heading", { level: 1, name: "Privacy policy" })).toBeVisible();
  await new GalleryPage(page).goto();
  await expect(banner.region).toHaveCount(0);
  for (const name of await cookieNames(context)) expect(NECESSARY_COOKIES).toContain(name);
  expect(analyticsRequests).toEqual([]);
  expect(await recordedEvents(request)).toEqual([]);

  // When they change their mind from the footer and accept analytics
  await banner.reopen();
  const counted = page.waitForRequest((sent) => new URL(sent.url()).pathname === "/_local/analytics/events");
  await banner.acceptAnalytics();
  await counted;
  // Then the page view is sent, with no cookie and no query string, and no new cookie is set
  await expect.poll(async () => (await recordedEvents(request)).map((event) => event.path)).toEqual(["/"]);
  expect((await recordedEvents(request))[0]?.cookies).toEqual([]);
  for (const name of await cookieNames(context)) expect(NECESSARY_COOKIES).toContain(name);
  // And later pages are counted too
  await page
    .getByRole("navigation", { name: "Policies" })
    .getByRole("link", { name: "Terms of service" })
    .click();
  await expect
    .poll(async () => (await recordedEvents(request)).map((event) => event.path))
    .toEqual(["/", "/terms"]);
});

test("signed in: the banner's choice is the account's consent record, and can be changed in settings", async ({
  page,
  context,
  request,
}) => {
  const analyticsRequests = watchAnalytics(page);
  const banner = new CookieBanner(page);
  // Given a person who signs in on their first visit
  await signIn(page, uniqueEmail("consent"));
  // Then the banner asks, only necessary cookies are set, and nothing is counted
  await expect(banner.region).toBeVisible();
  expect(await cookieNames(context)).toContain("__Host-session");
  for (const name of await cookieNames(context)) expect(NECESSARY_COOKIES).toContain(name);
  expect(analyticsRequests).toEqual([]);

  // When they accept analytics
  const recorded = page.waitForResponse(
    (answer) => answer.url().endsWith("/v1/me/consent") && answer.request().method() === "PUT",
  );
  await banner.acceptAnalytics();
  expect((await recorded).status()).toBe(200);
  // Then the account's consent record says so, and the page is counted without any cookie
  const me = await (await page.request.get("/v1/me")).json();
  expect(me.consent).toEqual({ analytics: true, product_improvement: false, marketing_emails: false });
  await expect.poll(async () => (await recordedEvents(request)).length).toBeGreaterThan(0);
  for (const event of await recordedEvents(request)) expect(event.cookies).toEqual([]);
  for (const name of await cookieNames(context)) expect(NECESSARY_COOKIES).toContain(name);

  // When they turn analytics off in settings
  const settings = new PrivacySettingsPage(page);
  await settings.goto();
  await expect(settings.choice("Analytics")).toBeChecked();
  await expect(settings.choice("Product improvement")).not.toBeChecked();
  await expect(settings.choice("Marketing email")).not.toBeChecked();
  await expect(settings.choice("Marketing email")).toHaveAccessibleDescription(/news and offers/);
  await expectAccessible(page, "settings with the privacy sections");
  await settings.choice("Analytics").uncheck();
  await expect(settings.choices.getByRole("status")).toHaveText("Your choices are saved.");
  // Then the record says so, and no page is counted from then on
  expect((await (await page.request.get("/v1/me")).json()).consent.analytics).toBe(false);
  const before = analyticsRequests.length;
  await new GalleryPage(page).goto();
  await settings.goto();
  await expect(banner.region).toHaveCount(0);
  expect(analyticsRequests.length).toBe(before);
});

/** What the zip at `path` holds, read by Python's zipfile (which checks every entry's CRC). */
function zipEntries(path: string): { bad: string | null; names: string[] } {
  const python = resolve(import.meta.dirname, "..", "..", ".venv/bin/python");
  const script =
    "import json, sys, zipfile\n" +
    "with zipfile.ZipFile(sys.argv[1]) as z: print(json.dumps({'bad': z.testzip(), 'names': z.namelist()}))";
  return JSON.parse(execFileSync(python, ["-c", script, path]).toString()) as {
    bad: string | null;
    names: string[];
  };
}

test("download my data: requested, ready, downloaded as a zip that opens, and the emailed link lands here", async ({
  page,
  request,
  browser,
}, testInfo) => {
  test.setTimeout(150_000);
  const email = uniqueEmail("export");
  await signIn(page, email, "/settings");
  const settings = new PrivacySettingsPage(page);
  await expect(settings.requestExport()).toBeEnabled();

  // When they ask for their data
  await settings.requestExport().click();
  // Then the status shows it being prepared, then ready with a link, and asking again waits
  await expect(settings.data.getByRole("status")).toContainText(/Queued|Being prepared|Ready/);
  await expect(settings.downloadLink()).toBeVisible({ timeout: 60_000 });
  await expect(settings.data.getByRole("status")).toContainText("Available until");
  await expectAccessible(page, "settings with an export ready");

  // When they download it
  const downloading = page.waitForEvent("download");
  await settings.downloadLink().click();
  const download = await downloading;
  const saved = testInfo.outputPath("export.zip");
  await download.saveAs(saved);
  // Then it is a zip that opens, with the manifest, the account and the README
  const zip = zipEntries(saved);
  expect(zip.bad).toBeNull();
  expect(zip.names).toEqual(expect.arrayContaining(["README.txt", "manifest.json", "account.json"]));
  expect(download.suggestedFilename()).toMatch(/^atelier-export-\d{4}-\d{2}-\d{2}\.zip$/);

  // And the email's link opens this page, on that export
  const mails = (await (await request.get(`/_local/outbox?to=${encodeURIComponent(email)}`)).json()) as {
    subject: string;
    text: string;
  }[];
  const mail = mails.find((sent) => sent.subject.includes("export is ready"));
  const link = mail?.text.match(/https?:\/\/\S+/)?.[0] ?? "";
  expect(new URL(link).pathname).toBe("/settings");
  expect(new URL(link).hash).toBe("#your-data");
  await page.goto(link);
  await expect(settings.downloadLink()).toBeVisible();
  await expect(page.getByRole("heading", { name: "Your data" })).toBeFocused();
  // And opened in a browser that is not signed in, it asks for the sign-in and then shows that export
  const elsewhere = await browser.newContext();
  const other = await elsewhere.newPage();
  await other.goto(link);
  await other.getByRole("link", { name: "Sign in to continue" }).click();
  await new SignInPage(other).signInAs(email);
  const there = new PrivacySettingsPage(other);
  await expect(there.downloadLink()).toBeVisible();
  await expect(other.getByRole("heading", { name: "Your data" })).toBeFocused();
  await elsewhere.close();

  // When a second export is made, Then the first is listed as an earlier one, with its expiry
  await settings.requestExport().click();
  await expect(settings.data.getByRole("status")).toContainText(/Queued|Being prepared|Ready/);
  await expect(settings.downloadLink()).toBeVisible({ timeout: 60_000 });
  await expect(settings.earlierExports().getByRole("row")).toHaveCount(2);
  await expect(settings.earlierExports()).toContainText("Ready");
  await expectAccessible(page, "settings with earlier exports");
});

async function purgeSchedule(request: APIRequestContext): Promise<string> {
  const listed = (await (await request.get("/_local/schedules")).json()) as { items: { name: string }[] };
  const purge = listed.items.find((item) => item.name.endsWith("purge-due-accounts"));
  expect(purge, "the purge schedule").toBeDefined();
  return purge?.name ?? "";
}

test("delete my account: scheduled, countdown shown, cancelled; then, left to run out and purged, gone for good", async ({
  page,
  request,
}) => {
  test.setTimeout(180_000);
  const email = uniqueEmail("leaving");
  await signIn(page, email, "/settings");
  const settings = new PrivacySettingsPage(page);
  const firstId = (await (await page.request.get("/v1/me")).json()).id as string;

  // When they ask to delete the account, Then a dialog asks them to type DELETE first
  await expect(settings.deletion).toContainText("7 years");
  await settings.deleteButton().click();
  const dialog = settings.dialog();
  await expect(dialog).toBeVisible();
  await expectAccessible(page, "delete-account confirmation");
  const confirm = dialog.getByRole("button", { name: "Delete my account" });
  await dialog.getByRole("textbox", { name: "Type DELETE to confirm" }).fill("delete");
  await expect(confirm).toBeDisabled();
  await dialog.getByRole("textbox", { name: "Type DELETE to confirm" }).fill("DELETE");
  await confirm.click();

  // Then the countdown shows the exact purge time the API holds, and what is left
  await expect(settings.cancelButton()).toBeVisible();
  const state = await (await page.request.get("/v1/me/deletion")).json();
  expect(state.scheduled).toBe(true);
  await expect(settings.purgeTime()).toHaveAttribute("datetime", state.purge_at);
  await expect(settings.countdown()).toContainText(/Time left: \d+ seconds?/);
  await expectAccessible(page, "deletion countdown");

  // When they cancel, Then the account stays
  await settings.cancelButton().click();
  await expect(settings.deleteButton()).toBeVisible();
  await expect(settings.deletion.getByRole("status")).toHaveText(/cancelled/);
  expect((await (await page.request.get("/v1/me/deletion")).json()).scheduled).toBe(false);

  // When they schedule it again and sign out, Then signing in from the gallery lands on the countdown
  await settings.scheduleDeletion();
  await expect(settings.cancelButton()).toBeVisible();
  await page.getByRole("navigation", { name: "Main" }).getByRole("button", { name: "Sign out" }).click();
  const gallery = new GalleryPage(page);
  await expect(gallery.signInLink()).toBeVisible();
  await gallery.signInLink().click();
  await new SignInPage(page).signInAs(email);
  await expect(page).toHaveURL(/\/settings#delete-account$/);
  await expect(settings.cancelButton()).toBeVisible();
  await expect(page.getByRole("heading", { name: "Delete my account" })).toBeFocused();

  // When the countdown runs out and the purge runs
  await expect(settings.countdown()).toHaveText(/time is up/, { timeout: (GRACE_SECONDS + 30) * 1000 });
  const ran = await request.post(`/_local/schedules/${await purgeSchedule(request)}/run`);
  expect(ran.ok()).toBe(true);
  // Then the account is gone: the session no longer works and the page says so by signing out
  await page.reload();
  await expect(gallery.nav.getByRole("link", { name: "Sign in" })).toBeVisible();
  expect((await page.request.get("/v1/me")).status()).toBe(401);

  // And signing in with the same address starts a new account from nothing
  await signUp(page, email);
  const fresh = await (await page.request.get("/v1/me")).json();
  expect(fresh.id).not.toBe(firstId);
  expect(fresh.status).toBe("active");
  await settings.goto();
  await expect(settings.deleteButton()).toBeVisible();
  await expect(settings.downloadLink()).toHaveCount(0);
  expect((await (await page.request.get("/v1/me/exports")).json()).items).toEqual([]);
});

test("a new terms version shows its notice until read, then asks for acceptance once in force", async ({
  page,
  browser,
}) => {
  test.setTimeout(150_000);
  // Given a person who accepted the terms in force
  await signUp(page, uniqueEmail("reader"));
  const terms = new PolicyPage(page);
  const before = await (await page.request.get("/v1/policies/terms")).json();

  // When a moderator publishes a new version (a correction, so it may take effect within seconds)
  const moderator = await browser.newContext();
  const admin = await moderator.newPage();
  await signIn(admin, ADMIN_EMAIL);
  const version = `${before.version}-e2e-${Date.now().toString(36)}`;
  const effective = new Date(Date.now() + 20_000).toISOString();
  const published = await admin.request.post("/v1/admin/policies", {
    headers: { Origin: new URL(admin.url()).origin },
    data: {
      kind: "terms",
      version,
      summary: "We clarified how long share links last.",
      material: false,
      effective_at: effective,
    },
  });
  expect(published.status(), await published.text()).toBe(201);
  await moderator.close();

  // Then every page shows a notice of the coming change, with its date
  await new GalleryPage(page).goto();
  await expect(terms.notice).toContainText(`version ${version}`);
  await expectAccessible(page, "policy-change notice");
  // And the terms page shows the version in force, its date, and the coming one with its date
  await terms.notice.getByRole("link", { name: "Read the terms of service" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Terms of service" })).toBeVisible();
  await expect(page.getByRole("article")).toContainText(`Version ${before.version}, in effect since`);
  await expect(terms.upcoming()).toContainText(version);
  await expect(terms.upcoming().locator("time")).toHaveAttribute("datetime", /.+/);
  await expectAccessible(page, "terms page with a coming version");
  // And once read, the notice is gone from every page
  await new GalleryPage(page).goto();
  await expect(terms.notice).toHaveCount(0);

  // When the new version takes effect
  await expect
    .poll(async () => (await (await page.request.get("/v1/policies/terms")).json()).version, {
      timeout: 60_000,
    })
    .toBe(version);
  // Then every page says the terms changed, and the studio asks for acceptance of the new version
  await new GalleryPage(page).goto();
  await expect(terms.notice).toContainText("The terms of service changed");
  await page.goto("/studio");
  await expect(page.getByRole("heading", { level: 1, name: "The terms have changed" })).toBeVisible();
  await expect(page.getByRole("checkbox", { name: /terms/i })).toHaveAccessibleName(new RegExp(version));
  await expectAccessible(page, "terms gate after a change");
  await new TermsPage(page).accept();
  // And once accepted, the notice is gone
  expect((await (await page.request.get("/v1/me")).json()).terms_version).toBe(version);
  await new GalleryPage(page).goto();
  await expect(terms.notice).toHaveCount(0);
});
