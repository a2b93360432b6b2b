/**
 * The simulated Triton's control API (on 127.0.0.1 only): the routes, their bodies and what is wrong with a bad
 * one, over whatever implements {@link Control}. `main.ts` serves it for the simulator; tests serve it for a fake.
 * See README.md next to this file.
 */
import * as http from "node:http";
import type { SharingCurve } from "../../gpu/sharing-curve";
import { curveProblems, sharingCurveSchema } from "../../gpu/sharing-curve";
import type { DefaultSharing } from "./contention";
import type { Load } from "./metrics";
import { parseLoad } from "./metrics";

/** What the control API acts on. The `boolean` answers say whether the pod is served (404 otherwise). */
export interface Control {
  pods(): unknown;
  servers(): unknown;
  /** A load for every pod of the server, or none (back to the model); answers the pods it reaches now. */
  setServerLoad(server: string, load: Load | undefined): number;
  setPodLoad(pod: string, load: Load | undefined): boolean;
  reset(pod: string): boolean;
  /** Requests per second offered to the server, or none (idle); answers the server's pods now. */
  setOffered(server: string, requestsPerSecond: number | undefined): number;
  /** The server's sharing curve, or none (the measured default of its sharing). */
  setCurve(server: string, curve: SharingCurve | undefined): void;
  /** Which measured default curve the server runs on without its own, or none (time-slicing). */
  setSharing(server: string, sharing: DefaultSharing | undefined): void;
}

/** An object's own fields; anything else is `{}`, so that each missing field is named. */
function fields(value: unknown): Record<string, unknown> {
  return (typeof value === "object" && value !== null && !Array.isArray(value) ? value : {}) as Record<string, unknown>;
}

function refuseUnknown(o: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(o).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new RangeError(`unknown field ${unknown.join(", ")}; give ${allowed.join(" and ")}`);
}

/** The body of `PUT /servers/<server>/offered`: `{"requestsPerSecond": n}`, n ≥ 0. */
export function parseOffered(value: unknown): number {
  const o = fields(value);
  refuseUnknown(o, ["requestsPerSecond"]);
  const v = o.requestsPerSecond;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
    throw new RangeError(`requestsPerSecond: ${JSON.stringify(v)} is not a number ≥ 0`);
  }
  return v;
}

/** The body of `PUT /servers/<server>/sharing`: `{"sharing": "timeSlicing" | "mps"}`. */
export function parseSharing(value: unknown): DefaultSharing {
  const o = fields(value);
  refuseUnknown(o, ["sharing"]);
  const v = o.sharing;
  if (v !== "timeSlicing" && v !== "mps") {
    throw new RangeError(
      `sharing: ${JSON.stringify(v)} has no measured default curve; use timeSlicing or mps, or PUT a curve`,
    );
  }
  return v;
}

/** The body of `PUT /servers/<server>/curve`: a sharing curve, checked as a stack's are; every problem named. */
export function parseCurve(value: unknown): SharingCurve {
  const parsed = sharingCurveSchema.safeParse(value);
  if (!parsed.success) {
    throw new RangeError(
      parsed.error.issues
        .map((i) => {
          const at = i.path.map((k) => (typeof k === "number" ? `[${k}]` : `.${String(k)}`)).join("");
          return `curve${at}: ${i.message}`;
        })
        .join("; "),
    );
  }
  const problems = curveProblems("curve", parsed.data);
  if (problems.length > 0) throw new RangeError(problems.join("; "));
  return parsed.data;
}

/** The control API's HTTP server (not listening yet). */
export function controlServer(control: Control): http.Server {
  return http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const reply = (status: number, body: unknown): void => {
        res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify(body)}\n`);
      };
      try {
        const url = (req.url ?? "").split("?")[0];
        const json = (): unknown => JSON.parse(Buffer.concat(chunks).toString("utf8") || "null") as unknown;
        const put = req.method === "PUT";
        const notServed = (pod: string): void => reply(404, { error: `no pod ${pod} is served` });
        let m: RegExpExecArray | null;
        if (req.method === "GET" && url === "/pods") return reply(200, control.pods());
        if (req.method === "GET" && url === "/servers") return reply(200, control.servers());
        if (put || req.method === "DELETE") {
          if ((m = /^\/servers\/([^/]+)\/(load|offered|curve|sharing)$/.exec(url)) !== null) {
            const server = decodeURIComponent(m[1]);
            switch (m[2]) {
              case "load":
                return reply(200, { pods: control.setServerLoad(server, put ? parseLoad(json()) : undefined) });
              case "offered":
                return reply(200, { pods: control.setOffered(server, put ? parseOffered(json()) : undefined) });
              case "curve":
                control.setCurve(server, put ? parseCurve(json()) : undefined);
                return reply(200, {});
              default:
                control.setSharing(server, put ? parseSharing(json()) : undefined);
                return reply(200, {});
            }
          }
          if ((m = /^\/pods\/([^/]+)\/load$/.exec(url)) !== null) {
            const pod = decodeURIComponent(m[1]);
            return control.setPodLoad(pod, put ? parseLoad(json()) : undefined) ? reply(200, {}) : notServed(pod);
          }
        }
        if (req.method === "POST" && (m = /^\/pods\/([^/]+)\/reset$/.exec(url)) !== null) {
          const pod = decodeURIComponent(m[1]);
          return control.reset(pod) ? reply(200, {}) : notServed(pod);
        }
        reply(404, { error: `${req.method} ${url}: not a control route` });
      } catch (e) {
        reply(400, { error: (e as Error).message });
      }
    });
  });
}
