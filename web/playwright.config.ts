import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { chromium, defineConfig, devices } from "@playwright/test";

// One free port for the whole run: chosen once by the main process, inherited by the workers.
if (!process.env.ATELIER_E2E_PORT) {
  process.env.ATELIER_E2E_PORT = execFileSync(process.execPath, [
    "-e",
    "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})",
  ])
    .toString()
    .trim();
}
const port = process.env.ATELIER_E2E_PORT;
const baseURL = `http://127.0.0.1:${port}`;
const root = resolve(import.meta.dirname, "..");

// Playwright's own Chromium where installed, else the system's.
function executablePath(): string | undefined {
  try {
    if (existsSync(chromium.executablePath())) return undefined;
  } catch {
    // not installed
  }
  return process.env.CHROME_PATH ?? "/usr/bin/chromium";
}

export default defineConfig({
  testDir: "e2e",
  fullyParallel: false,
  workers: 2,
  retries: 0,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  reporter: [["list"]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: executablePath(),
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [{ name: "chromium", use: { ...devices["Desktop Chrome"] } }],
  webServer: {
    command: `${resolve(root, ".venv/bin/python")} -m local`,
    cwd: root,
    env: {
      PORT: port,
      PYTHONPATH: `${root}:${resolve(root, "shared")}`,
      // The moderator the console's journeys sign in as (admin.spec.ts).
      PARAMETER_OVERRIDES: "AdminEmails=moderator@example.com",
      // Every journey signs in from 127.0.0.1: the per-address sign-in limit (30 in 5 minutes) is
      // for the internet, not for one test run that signs in dozens of people in a few minutes.
      SIGN_IN_LIMIT_PER_ADDRESS: "100000",
    },
    url: `${baseURL}/v1/health`,
    timeout: 120_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: process.env.ATELIER_E2E_LOGS ? "pipe" : "ignore",
  },
});
