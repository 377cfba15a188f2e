import { expectAccessible } from "./axe";
import { expect, test } from "./fixtures";
import { BillingPage, SandboxCheckoutPage } from "./pages/BillingPage";
import { SharePage } from "./pages/SharePage";
import { StudioPage } from "./pages/StudioPage";
import { SaveWorkflowDialog, WorkflowPage, WorkflowsPage } from "./pages/WorkflowsPage";
import { signUp, uniqueEmail } from "./support";

test("a job saved as a workflow gets a version, runs from its variables form, is published, forked and compared", async ({
  page,
  browser,
}) => {
  test.setTimeout(240_000);
  // Given a person with credits and a finished image job in the Studio
  await signUp(page, uniqueEmail("ines"));
  const billing = new BillingPage(page);
  await billing.goto();
  await billing.buy("Starter");
  await new SandboxCheckoutPage(page).pay();
  await expect(billing.balance()).toHaveText("100 credits");
  const studio = new StudioPage(page);
  await studio.goto();
  await studio.chooseModelMatching(/^Local image/);
  await studio.prompt("a heron in the reeds");
  await studio.generate.click();
  await studio.waitForStatus("a heron in the reeds", "Succeeded");

  // When they save the job's settings as a workflow, with a name and a note
  await studio.job("a heron in the reeds").getByRole("button", { name: "Save as workflow" }).click();
  const dialog = new SaveWorkflowDialog(page);
  await expect(dialog.dialog).toBeVisible();
  await expectAccessible(page, "save as workflow dialog");
  await dialog.save("Herons", "the first good heron");
  // Then the job row links to it, and it is listed under Workflows
  await studio.job("a heron in the reeds").getByRole("link", { name: "Herons" }).click();
  const workflow = new WorkflowPage(page);
  await expect(workflow.heading("Herons")).toBeVisible();
  await expect(workflow.version(1)).toContainText("Note: the first good heron");
  await expect(workflow.version(1)).toContainText("a heron in the reeds");
  const workflows = new WorkflowsPage(page);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Workflows" }).click();
  await expect(workflows.workflow("Herons")).toBeVisible();
  await expectAccessible(page, "workflows list");
  await workflows.workflow("Herons").click();

  // When they add a version whose template has variables, with a note
  await workflow.addVersion("a {subject} in the reeds at {time}", "subject and time to fill in");
  // Then version 2 is listed with its note, and version 1 is unchanged
  await expect(workflow.version(2)).toContainText("Note: subject and time to fill in");
  await expect(workflow.version(1)).toContainText("a heron in the reeds");

  // When they run version 2 through its variables form, Then the price shows as in the Studio and
  // the job appears with its status, and succeeds with an image
  await expect(workflow.runForm().getByRole("textbox", { name: "Subject", exact: true })).toBeVisible();
  await expect(workflow.runForm().getByText(/^\d+ credits?$/)).toHaveText("2 credits");
  await workflow.run(2, { Subject: "stork", Time: "dawn" });
  await expect(
    workflow.job("a stork in the reeds at dawn").getByText("Succeeded", { exact: true }),
  ).toBeVisible({
    timeout: 60_000,
  });
  await expect(workflow.job("a stork in the reeds at dawn").getByRole("img")).toBeVisible();

  // When they compare the two versions, Then each differing setting says so in words
  const compare = await workflow.compare(1, 2);
  await expect(compare.getByRole("status")).toHaveText("2 settings differ.");
  expect(await workflow.comparedRow("Prompt template")).toEqual([
    "a heron in the reeds",
    "a {subject} in the reeds at {time}",
    "≠ Changed",
  ]);
  expect((await workflow.comparedRow("Model")).at(-1)).toBe("Same");
  expect((await workflow.comparedRow("Note")).at(-1)).toBe("≠ Changed");
  await expectAccessible(page, "workflow page (owner, compared, run)");
  await page.getByRole("combobox", { name: "Theme" }).selectOption("dark");
  await expect(page.locator("html")).toHaveAttribute("data-theme", "dark");
  await expectAccessible(page, "workflow page (dark)");
  await page.getByRole("combobox", { name: "Theme" }).selectOption("light");

  // When they publish it and create a share link
  const publicLink = await workflow.publish();
  const shareLink = await workflow.createShareLink();
  await expectAccessible(page, "workflow page (published, shared)");

  // Then a second person opens the public link and forks it into their own workflows
  const second = await browser.newContext();
  const secondPage = await second.newPage();
  await signUp(secondPage, uniqueEmail("jonas"));
  await secondPage.goto(publicLink);
  const theirs = new WorkflowPage(secondPage);
  await expect(theirs.heading("Herons")).toBeVisible();
  await expect(secondPage.getByText("A public workflow, version 2.")).toBeVisible();
  await expectAccessible(secondPage, "public workflow page");
  await secondPage.getByRole("button", { name: "Fork" }).click();
  await expect(secondPage.getByText("Forked from another workflow.")).toBeVisible();
  await expect(theirs.heading("Herons")).toBeVisible();
  await expect(theirs.version(1)).toContainText("a {subject} in the reeds at {time}");
  await expect(theirs.version(2)).toHaveCount(0);
  await new WorkflowsPage(secondPage).goto();
  await expect(new WorkflowsPage(secondPage).workflow("Herons")).toBeVisible();

  // And the original keeps its two versions
  await page.reload();
  await expect(workflow.version(2)).toBeVisible();
  await expect(workflow.versions.getByRole("article")).toHaveCount(2);

  // And the share link shows it read-only to someone signed out, who is asked to sign in to fork
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await new SharePage(strangerPage).goto(shareLink);
  await expect(strangerPage.getByRole("heading", { level: 1, name: "Herons" })).toBeVisible();
  await expect(strangerPage.getByText("A workflow shared with you, version 2.")).toBeVisible();
  await expect(strangerPage.getByRole("link", { name: "Sign in to fork" })).toBeVisible();
  await expect(strangerPage.getByRole("button", { name: "Add version" })).toHaveCount(0);
  await expectAccessible(strangerPage, "shared workflow page");
  await stranger.close();
  await second.close();
});

test("a private workflow is not found by anyone else, and can be forked from its share link", async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  // Given a person's private workflow, saved through the API the studio uses
  await signUp(page, uniqueEmail("lena"));
  const created = await page.request.post("/v1/workflows", {
    headers: { Origin: new URL(page.url()).origin },
    data: {
      name: "Private recipe",
      note: "mine",
      definition: { kind: "image", model: "local-image", prompt_template: "a {thing}", params: {} },
    },
  });
  expect(created.status()).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const workflow = new WorkflowPage(page);
  await page.goto(`/workflows/${id}`);
  await expect(workflow.heading("Private recipe")).toBeVisible();
  const shareLink = await workflow.createShareLink();

  // When they run it with no credits, Then Run waits for the variable, and the refusal says what to do
  const run = workflow.runForm();
  await expect(run.getByRole("button", { name: "Run" })).toBeDisabled();
  await run.getByRole("textbox", { name: "Thing", exact: true }).fill("lamp");
  await run.getByRole("button", { name: "Run" }).click();
  await expect(run.getByRole("alert")).toContainText("Not enough credits");
  await expect(run.getByRole("link", { name: "Buy credits" })).toBeVisible();
  await expect(workflow.jobs.getByRole("listitem")).toHaveCount(0);

  // When someone else opens its address, Then it is not found (private things are never confirmed)
  const other = await browser.newContext();
  const otherPage = await other.newPage();
  await signUp(otherPage, uniqueEmail("marek"));
  await otherPage.goto(`/workflows/${id}`);
  await expect(otherPage.getByRole("heading", { level: 1, name: "Workflow not found" })).toBeVisible();
  await expectAccessible(otherPage, "workflow not found");

  // When they open the share link and fork, Then the copy is theirs
  await otherPage.goto(shareLink);
  await otherPage.getByRole("button", { name: "Fork" }).click();
  await expect(otherPage.getByText("Forked from another workflow.")).toBeVisible();
  await expect(new WorkflowPage(otherPage).heading("Private recipe")).toBeVisible();

  // And once the owner revokes the link, it shows nothing
  await page.getByRole("button", { name: "Revoke link" }).click();
  await expect(page.getByRole("button", { name: "Revoke link" })).toHaveCount(0);
  await otherPage.goto(shareLink);
  await expect(new SharePage(otherPage).unavailable()).toBeVisible();
  await other.close();
});
