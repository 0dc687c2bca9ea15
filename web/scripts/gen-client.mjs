// Generates src/client/schema.d.ts (the API's types) from the server's OpenAPI document.
//
// Where the document comes from, in order:
//   1. web/openapi.json, when it is there (the Makefile writes it with `datacollect openapi`);
//   2. `datacollect openapi` from the project's virtual environment, when that command exists;
//   3. otherwise an untyped client is written, with a warning, so the app still builds.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const spec = resolve(web, "openapi.json");
const out = resolve(web, "src/client/schema.d.ts");
const cli = resolve(web, "../.venv/bin/datacollect");

function fromCli() {
  if (!existsSync(cli)) return false;
  try {
    const text = execFileSync(cli, ["openapi"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
    JSON.parse(text);
    writeFileSync(spec, text);
    return true;
  } catch {
    return false;
  }
}

if (existsSync(spec) || fromCli()) {
  const bin = resolve(web, "node_modules/.bin/openapi-typescript");
  execFileSync(bin, [spec, "-o", out], { stdio: "inherit" });
} else {
  console.warn("gen:client: no OpenAPI document (web/openapi.json or `datacollect openapi`); writing an untyped client");
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(
    out,
    "// Untyped: no OpenAPI document was found when this was generated.\n" +
      "// eslint-disable-next-line @typescript-eslint/no-explicit-any\n" +
      "export type paths = Record<string, any>;\n" +
      "export type components = Record<string, never>;\n",
  );
}
