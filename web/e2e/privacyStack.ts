import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { resolve } from "node:path";
import { expect, test as base } from "./fixtures";

/** The moderator of the privacy journeys' own stack (it publishes policy versions). */
export const ADMIN_EMAIL = "privacy.admin@example.com";
/** The deletion countdown on that stack: long enough to see and cancel, short enough to wait out. */
export const GRACE_SECONDS = 30;

const root = resolve(import.meta.dirname, "..", "..");

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? done(address.port) : fail(new Error("no port")),
      );
    });
  });
}

async function healthy(url: string): Promise<boolean> {
  try {
    return (await fetch(`${url}/v1/health`)).ok;
  } catch {
    return false;
  }
}

/**
 * The privacy journeys run on a local runtime of their own: they shorten the deletion countdown,
 * make a moderator, publish new policy versions and read the analytics stand-in, none of which may
 * reach the journeys of other screens running at the same time on the shared runtime.
 */
export const test = base.extend<object, { privacyStack: string }>({
  privacyStack: [
    // eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures a fixture needs from this pattern
    async ({}, provide) => {
      const port = await freePort();
      const url = `http://127.0.0.1:${port}`;
      const runtime: ChildProcess = spawn(resolve(root, ".venv/bin/python"), ["-m", "local"], {
        cwd: root,
        env: {
          ...process.env,
          PORT: String(port),
          PYTHONPATH: `${root}:${resolve(root, "shared")}`,
          DELETION_GRACE_SECONDS: String(GRACE_SECONDS),
          PARAMETER_OVERRIDES: `AdminEmails=${ADMIN_EMAIL}`,
          // As in playwright.config.ts: many sign-ins from one address in one run.
          SIGN_IN_LIMIT_PER_ADDRESS: "100000",
        },
        stdio: ["ignore", "ignore", process.env.ATELIER_E2E_LOGS ? "inherit" : "ignore"],
      });
      let exited = false;
      runtime.once("exit", () => (exited = true));
      try {
        await expect
          .poll(async () => exited || (await healthy(url)), { timeout: 120_000, intervals: [250, 500, 1000] })
          .toBe(true);
        expect(exited, "the privacy journeys' runtime stopped while starting").toBe(false);
        await provide(url);
      } finally {
        if (!exited) {
          const stopped = new Promise((done) => runtime.once("exit", done));
          runtime.kill("SIGTERM");
          await stopped;
        }
      }
    },
    { scope: "worker", timeout: 150_000 },
  ],
  baseURL: async ({ privacyStack }, provide) => provide(privacyStack),
});

export { expect };
