// Generates src/api/schema.d.ts from the API's OpenAPI document (the one the API serves).
//   node scripts/schema.mjs          write it
//   node scripts/schema.mjs --check  exit 1 when the committed file is stale
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const documentPath = resolve(web, "../shared/atelier/api/openapi.json");
const target = join(web, "src/api/schema.d.ts");
const cli = join(web, "node_modules/.bin/openapi-typescript");

const scratch = mkdtempSync(join(tmpdir(), "atelier-schema-"));
try {
  const generated = join(scratch, "schema.d.ts");
  execFileSync(cli, [documentPath, "-o", generated], { stdio: ["ignore", "ignore", "inherit"] });
  const fresh = readFileSync(generated, "utf8");
  if (process.argv.includes("--check")) {
    const current = existsSync(target) ? readFileSync(target, "utf8") : "";
    if (current !== fresh) {
      console.error("web/src/api/schema.d.ts is stale: run `make openapi`");
      process.exit(1);
    }
  } else {
    writeFileSync(target, fresh);
    console.log(`wrote ${target}`);
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
