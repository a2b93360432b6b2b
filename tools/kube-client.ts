/**
 * The API access the local cluster's simulations share (tools/sim-device-plugin, tools/sim-triton,
 * tools/local-monitoring): the current context of a kubeconfig as cluster-up.sh writes it, refused unless its
 * server is https on loopback, and one JSON request at a time. No client library: these programs read a few
 * objects and patch one status.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { parse } from "yaml";

/** A command-line or kubeconfig mistake: the program prints it with its usage and exits 2. */
export class UsageError extends Error {}

export interface Endpoint {
  readonly server: URL;
  readonly agent: https.Agent;
}

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

/** The current context's server and TLS credentials (file paths or inline `-data`), as cluster-up.sh writes them. */
export function loadKubeconfig(file: string): Endpoint {
  const doc = parse(fs.readFileSync(file, "utf8")) as {
    "current-context"?: string;
    contexts?: { name: string; context?: { cluster?: string; user?: string } }[];
    clusters?: { name: string; cluster?: Record<string, string | undefined> }[];
    users?: { name: string; user?: Record<string, string | undefined> }[];
  };
  const context = doc.contexts?.find((c) => c.name === doc["current-context"])?.context;
  if (context === undefined) throw new UsageError(`${file}: current-context "${doc["current-context"]}" not found`);
  const cluster = doc.clusters?.find((c) => c.name === context.cluster)?.cluster ?? {};
  const user = doc.users?.find((u) => u.name === context.user)?.user ?? {};
  const read = (entry: Record<string, string | undefined>, key: string): Buffer | undefined => {
    const data = entry[`${key}-data`];
    if (data !== undefined) return Buffer.from(data, "base64");
    const p = entry[key];
    // kubectl resolves relative paths against the kubeconfig's directory.
    return p === undefined ? undefined : fs.readFileSync(path.resolve(path.dirname(file), p));
  };
  const server = new URL(cluster.server ?? "");
  if (server.protocol !== "https:" || !LOOPBACK_HOSTS.has(server.hostname)) {
    throw new UsageError(
      `${file}: server ${server.href} is not https on loopback; this simulation talks only to a local cluster`,
    );
  }
  const agent = new https.Agent({
    keepAlive: true,
    ca: read(cluster, "certificate-authority"),
    cert: read(user, "client-certificate"),
    key: read(user, "client-key"),
  });
  return { server, agent };
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export function request(
  endpoint: Endpoint,
  signal: AbortSignal,
  method: string,
  urlPath: string,
  body?: unknown,
): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(urlPath, endpoint.server),
      {
        method,
        agent: endpoint.agent,
        signal,
        timeout: 10_000,
        headers: {
          accept: "application/json",
          ...(payload === undefined
            ? {}
            : { "content-type": "application/merge-patch+json", "content-length": Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve(text === "" ? undefined : JSON.parse(text));
          } else {
            reject(new ApiError(`${method} ${urlPath}: HTTP ${status}: ${text.slice(0, 300)}`, status));
          }
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: no answer within 10 s`)));
    req.on("error", reject);
    req.end(payload);
  });
}
