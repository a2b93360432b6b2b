import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

/**
 * `servers.<s>.sharingCurve` may name a curve file instead of holding the curve: the YAML that
 * `npm run advise --out` writes, kept beside the stack files. Paths are relative to the project directory (where
 * `Pulumi.yaml` is, the program's working directory). The file is read before the config is parsed, so its curve
 * is checked by the same rules as an inline one.
 */

/** A curve file larger than this is not a curve (a thousand points take about 60 KiB). */
const MAX_CURVE_FILE_BYTES = 1 << 20;

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * `servers` with every curve file read in its place, and a problem for each file that cannot be read. A server
 * whose file fails loses the key, so that the schema does not report the same value a second time.
 */
export function resolveCurveFiles(
  servers: unknown,
  projectDir: string,
): { readonly servers: unknown; readonly problems: string[] } {
  if (!isMapping(servers)) return { servers, problems: [] };
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [name, server] of Object.entries(servers)) {
    out[name] = server;
    if (!isMapping(server) || typeof server.sharingCurve !== "string") continue;
    const file = server.sharingCurve;
    const at = `servers.${name}.sharingCurve`;
    const fix =
      "give the path of a curve file relative to the project directory (npm run advise --out writes one), or the curve inline";
    const full = path.resolve(projectDir, file);
    out[name] = Object.fromEntries(Object.entries(server).filter(([key]) => key !== "sharingCurve"));
    let text: string;
    try {
      const stat = fs.statSync(full);
      if (!stat.isFile()) {
        problems.push(`${at}: ${JSON.stringify(file)} is not a file; ${fix}`);
        continue;
      }
      if (stat.size > MAX_CURVE_FILE_BYTES) {
        problems.push(`${at}: ${JSON.stringify(file)} is ${stat.size} bytes, more than a curve file's 1 MiB; ${fix}`);
        continue;
      }
      text = fs.readFileSync(full, "utf8");
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      problems.push(
        `${at}: ${JSON.stringify(file)} cannot be read (${typeof code === "string" ? code : String(e)}); ${fix}`,
      );
      continue;
    }
    let curve: unknown;
    try {
      // yaml refuses a key given twice and caps alias expansion (100) by default.
      curve = parse(text);
    } catch (e) {
      problems.push(
        `${at}: ${JSON.stringify(file)} is not a YAML curve (${(e as Error).message.split("\n")[0]}); ${fix}`,
      );
      continue;
    }
    out[name] = { ...server, sharingCurve: curve };
  }
  return { servers: out, problems };
}
