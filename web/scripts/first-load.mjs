// Opens a page of the studio in Chromium and reports what its first load fetched, as JSON:
// the API calls and their bytes, and the JavaScript and CSS (bytes on the wire and decoded).
//   node scripts/first-load.mjs <url> [ready-selector]
import { chromium } from "@playwright/test";
import { existsSync } from "node:fs";

const [url, ready = "main h1"] = process.argv.slice(2);
let executablePath;
try {
  if (!existsSync(chromium.executablePath())) executablePath = process.env.CHROME_PATH ?? "/usr/bin/chromium";
} catch {
  executablePath = process.env.CHROME_PATH ?? "/usr/bin/chromium";
}
const browser = await chromium.launch({
  executablePath,
  args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"],
});
const page = await browser.newPage();
const finished = [];
page.on("requestfinished", (request) => finished.push(request));
await page.goto(url, { waitUntil: "networkidle" });
await page.waitForSelector(ready);
await page.waitForLoadState("networkidle");

const totals = { api_calls: 0, api_bytes: 0, js_bytes: 0, css_bytes: 0, requests: 0, api_paths: [] };
for (const request of finished) {
  const sizes = await request.sizes();
  const bytes = sizes.responseBodySize + sizes.responseHeadersSize;
  const path = new URL(request.url()).pathname;
  totals.requests += 1;
  if (path.startsWith("/v1/")) {
    totals.api_calls += 1;
    totals.api_bytes += bytes;
    totals.api_paths.push(path);
  } else if (path.endsWith(".js")) totals.js_bytes += sizes.responseBodySize;
  else if (path.endsWith(".css")) totals.css_bytes += sizes.responseBodySize;
}
console.log(JSON.stringify(totals));
await browser.close();
