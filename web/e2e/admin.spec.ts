import { type APIRequestContext, type Browser, type Page } from "@playwright/test";
import { expectAccessible } from "./axe";
import { expect, test } from "./fixtures";
import { AdminPage } from "./pages/AdminPage";
import { GalleryPage } from "./pages/GalleryPage";
import { signIn, signUp, uniqueEmail } from "./support";

// The local runtime's admin role is the template's AdminEmails parameter (playwright.config.ts).
const MODERATOR = "moderator@example.com";

/** Unsafe calls from the page's own origin, with the page's session, as the studio makes them. */
function unsafe(request: APIRequestContext, baseURL: string) {
  const headers = { Origin: baseURL, "Content-Type": "application/json" };
  return {
    post: (path: string, data?: unknown) => request.post(path, { headers, data: data ?? {} }),
    patch: (path: string, data: unknown) => request.patch(path, { headers, data }),
  };
}

/**
 * A signed-up person who names themselves `name`, buys credits in the sandbox, generates a small
 * image and makes it public; answers the asset's id. The journey through the screens themselves is
 * proven by journeys.spec.ts: here it is only the way to have something in the gallery.
 */
async function publishAnImage(page: Page, baseURL: string, name: string): Promise<string> {
  await signUp(page, uniqueEmail("maker"));
  const api = unsafe(page.request, baseURL);
  expect((await api.patch("/v1/me", { name })).ok()).toBe(true);
  const checkout = await api.post("/v1/billing/checkout", { item_id: "pack_starter", provider: "stripe" });
  expect(checkout.ok(), await checkout.text()).toBe(true);
  const { url } = (await checkout.json()) as { url: string };
  expect((await page.request.post(`${url}/pay`)).ok()).toBe(true);
  await expect
    .poll(
      async () =>
        ((await (await page.request.get("/v1/billing/balance")).json()) as { credits: number }).credits,
    )
    .toBeGreaterThan(0);
  const submitted = await api.post("/v1/jobs", {
    kind: "image",
    model: "local-image",
    prompt: "a red kite over a dune",
    params: { width: 64, height: 64 },
  });
  expect(submitted.status(), await submitted.text()).toBe(202);
  const { id: jobId } = (await submitted.json()) as { id: string };
  let assetId = "";
  await expect
    .poll(
      async () => {
        const job = (await (await page.request.get(`/v1/jobs/${jobId}`)).json()) as {
          status: string;
          outputs: string[];
        };
        assetId = job.outputs[0] ?? "";
        return job.status;
      },
      { timeout: 60_000 },
    )
    .toBe("succeeded");
  const published = await api.patch(`/v1/assets/${assetId}`, { visibility: "public" });
  expect(published.ok(), await published.text()).toBe(true);
  return assetId;
}

async function newPage(browser: Browser) {
  const context = await browser.newContext();
  return context.newPage();
}

test("a report reaches the console, a moderator removes the item with a note, it is gone from the gallery, and the audit trail shows it", async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(180_000);
  // Given a person's image in the public gallery
  const maker = `Kite maker ${Date.now().toString(36)}`;
  const assetId = await publishAnImage(page, baseURL!, maker);
  const tileName = `Open image by ${maker}`;

  // When someone else reports it from the gallery
  const reporter = await newPage(browser);
  await signUp(reporter, uniqueEmail("reporter"));
  const gallery = new GalleryPage(reporter);
  await gallery.goto();
  await gallery.grid.getByRole("button", { name: tileName }).click();
  const viewer = reporter.getByRole("dialog");
  await viewer.getByRole("button", { name: "Report" }).click();
  const form = viewer.getByRole("form", { name: "Report this" });
  await form.getByRole("radio", { name: "Violence or gore" }).check();
  await form.getByRole("button", { name: "Send report" }).click();
  await expect(viewer.getByRole("status").filter({ hasText: "Report sent." })).toBeVisible();

  // Then it reaches the moderators' queue, filtered by its reason
  const moderatorPage = await newPage(browser);
  await signIn(moderatorPage, MODERATOR);
  const admin = new AdminPage(moderatorPage);
  await admin.gotoQueue({ reason: "Violence" });
  await expect(admin.queueRow(assetId)).toBeVisible();
  await expectAccessible(moderatorPage, "report queue");

  // And its review shows the item (its image), its owner and visibility, and its report history
  await admin.review(assetId);
  await expect(admin.reportedItem().getByRole("img", { name: "The reported image" })).toBeVisible();
  await expect(admin.reportedItem()).toContainText("Public");
  await expect(admin.reportedItem()).toContainText("Live");
  await expect(admin.history().getByRole("row")).toHaveCount(2); // the header and the one report
  await expect(admin.history()).toContainText("Violence");
  await expectAccessible(moderatorPage, "report review");

  // When the moderator resolves it without a note, Then the form asks for one and nothing is sent
  await admin.decision().getByRole("radio", { name: "Remove" }).check();
  await admin.decision().getByRole("button", { name: "Resolve report" }).click();
  await expect(admin.decision().getByText("Write a note before resolving the report.")).toBeVisible();
  await expect(admin.note()).toHaveAttribute("aria-invalid", "true");
  await expect(admin.note()).toBeFocused();

  // When they remove it with a note
  const note = `Graphic violence, removed ${Date.now().toString(36)}`;
  await admin.resolve("Remove", note);
  // Then the decision is recorded and the item shows as removed
  await expect(admin.decision()).toContainText(`Note: ${note}`);
  await expect(admin.reportedItem()).toContainText("Removed");
  await expectAccessible(moderatorPage, "resolved report");

  // And on the gallery's next load the image is gone
  await reporter.reload();
  await expect(reporter.getByRole("heading", { level: 1, name: "Gallery" })).toBeVisible();
  await expect(gallery.grid.or(reporter.getByText(/Nothing has been published/))).toBeVisible();
  await expect(reporter.getByRole("button", { name: tileName })).toHaveCount(0);

  // And the audit trail shows who did what, when, and why
  await admin.gotoAudit();
  const entry = admin.auditRow(note);
  await expect(entry).toContainText("Removed");
  await expect(entry).toContainText(MODERATOR);
  await expect(entry).toContainText(assetId);
  await expectAccessible(moderatorPage, "audit trail");

  await reporter.context().close();
  await moderatorPage.context().close();
});

test("anyone but an admin gets the app's not-found page at /admin, signed in or not", async ({ page }) => {
  // Given a visitor who is not signed in
  await page.goto("/admin");
  // Then /admin is the app's not-found page
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Moderation" })).toHaveCount(0);

  // Given a signed-in person without the admin role
  await signUp(page, uniqueEmail("curious"));
  // When they open the console and one of its inner pages
  for (const path of ["/admin", "/admin/audit", "/admin/policies"]) {
    await page.goto(path);
    // Then each is the app's not-found page, as for any address that leads nowhere
    await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
    await expect(page.getByRole("navigation", { name: "Moderation" })).toHaveCount(0);
  }
});

test("a moderator publishes a policy version from the form, which explains and checks the 14-day rule", async ({
  page,
}) => {
  // Given a moderator on the policy form
  await signIn(page, MODERATOR, "/admin");
  const admin = new AdminPage(page);
  await admin.gotoPolicies();
  await expect(page.getByText(/at least\s+14 days after it is published/)).toBeVisible();
  await expectAccessible(page, "policy form");
  await page.getByRole("combobox", { name: "Theme" }).selectOption("dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expectAccessible(page, "policy form (dark)");
  await page.getByRole("combobox", { name: "Theme" }).selectOption("light");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "light");

  // When they set a material change to take effect in 3 days
  const version = `e2e-${Date.now().toString(36)}`;
  await admin.policyField("Policy").selectOption({ label: "Privacy policy" });
  await admin.policyField("Version").fill(version);
  await admin.policyField("Summary of the changes").fill("Clearer wording about how long exports are kept.");
  await expect(admin.policyField(/Material change/)).toBeChecked();
  const soon = new Date(Date.now() + 3 * 24 * 3600 * 1000 - new Date().getTimezoneOffset() * 60_000);
  await admin.policyField("Takes effect at").fill(soon.toISOString().slice(0, 16));
  await admin.publishButton().click();
  // Then the form explains the notice it needs, and nothing is published
  await expect(
    page.getByText(/A material change takes effect at least 14 days after it is published: choose/),
  ).toBeVisible();
  await expect(admin.policyField("Takes effect at")).toHaveAttribute("aria-invalid", "true");

  // When they make it a non-material change instead
  await admin.policyField(/Material change/).uncheck();
  const published = page.waitForResponse((answer) => answer.url().endsWith("/v1/admin/policies"));
  await admin.publishButton().click();
  // Then it is published, in effect from that date
  expect((await published).status()).toBe(201);
  const confirmation = page.getByRole("status").filter({ hasText: "Published" });
  await expect(confirmation).toContainText(`Published privacy policy version ${version}`);
  await expect(confirmation).toContainText("Every account holder is being emailed");

  // When they try to publish another text under the same version, Then the API's refusal is shown in words
  await page.getByRole("button", { name: "Publish another version" }).click();
  await admin.policyField("Version").fill(version);
  await admin.policyField("Summary of the changes").fill("A different text.");
  await admin.policyField(/Material change/).uncheck();
  await admin.policyField("Takes effect at").fill(soon.toISOString().slice(0, 16));
  await admin.publishButton().click();
  const refusal = page.getByRole("alert").filter({ hasText: "The version was not published." });
  await expect(refusal).toContainText(
    "That version is published already. Give this text a new version name.",
  );
});

test("a moderator suspends an owner through a report, then lifts the suspension with a note, and both are audited", async ({
  page,
  browser,
  baseURL,
}) => {
  test.setTimeout(180_000);
  // Given a public image reported for hate
  const assetId = await publishAnImage(page, baseURL!, `Owner ${Date.now().toString(36)}`);
  const reporter = await newPage(browser);
  await signUp(reporter, uniqueEmail("reporter"));
  const reported = await unsafe(reporter.request, baseURL!).post("/v1/reports", {
    target_type: "asset",
    target_id: assetId,
    reason: "hate",
  });
  expect(reported.status(), await reported.text()).toBe(201);

  // When a moderator resolves it by suspending the owner
  const moderatorPage = await newPage(browser);
  await signIn(moderatorPage, MODERATOR);
  const admin = new AdminPage(moderatorPage);
  await admin.gotoQueue({ reason: "Hate" });
  await admin.review(assetId);
  const suspendNote = `Repeated hate, suspended ${Date.now().toString(36)}`;
  await admin.resolve("Suspend account", suspendNote);
  // Then the owner shows as suspended, with the way to lift it
  await expect(admin.reportedItem()).toContainText("Suspended");
  const liftNote = admin.reportedItem().getByRole("textbox", { name: "Note for lifting the suspension" });
  await expect(liftNote).toBeVisible();
  await expectAccessible(moderatorPage, "suspended owner");

  // When they lift it without a note, Then the form asks for one
  await admin.reportedItem().getByRole("button", { name: "Lift suspension" }).click();
  await expect(admin.reportedItem().getByText("Write a note before lifting the suspension.")).toBeVisible();
  // When they lift it with a note, Then the owner is active again
  const appeal = `Appeal upheld ${Date.now().toString(36)}`;
  await liftNote.fill(appeal);
  await admin.reportedItem().getByRole("button", { name: "Lift suspension" }).click();
  await expect(admin.reportedItem()).toContainText("(Active)");
  await expect(liftNote).toHaveCount(0);

  // And the audit trail has both actions, with their notes
  await admin.gotoAudit();
  await expect(admin.auditRow(suspendNote)).toContainText("Removed, account suspended");
  await expect(admin.auditRow(appeal)).toContainText("Suspension lifted");
  await expect(admin.auditRow(appeal)).toContainText(MODERATOR);

  await reporter.context().close();
  await moderatorPage.context().close();
});

test("at 360 px wide the console's screens fit without sideways scrolling", async ({ page }) => {
  // Given a moderator on a phone-sized window
  await page.setViewportSize({ width: 360, height: 740 });
  const fits = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  await signIn(page, MODERATOR, "/admin");
  const admin = new AdminPage(page);
  // Then the queue (its tables scroll inside themselves), the audit trail and the policy form fit
  await admin.gotoQueue({ status: "resolved" });
  await expect(page.getByRole("table").or(page.getByText("No resolved reports."))).toBeVisible();
  expect(await fits()).toBe(true);
  await admin.gotoAudit();
  await expect(
    page.getByRole("table").or(page.getByText("No moderator actions in this month.")),
  ).toBeVisible();
  expect(await fits()).toBe(true);
  await admin.gotoPolicies();
  expect(await fits()).toBe(true);
});
