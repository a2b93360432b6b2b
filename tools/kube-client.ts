/**
 * The API access and daemon life the local cluster's programs share (tools/sim-device-plugin, tools/sim-dra-plugin,
 * tools/sim-triton, tools/local-monitoring): the current context of a kubeconfig as cluster-up.sh writes it, refused
 * unless its server is https on loopback, and one JSON request at a time. No client library: these programs read a
 * few objects, patch a status and write a few small objects.
 */
import * as fs from "node:fs";
import * as https from "node:https";
import * as path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
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
            : {
                // A PATCH body is a JSON merge patch; POST and PUT send the whole object.
                "content-type": method === "PATCH" ? "application/merge-patch+json" : "application/json",
                "content-length": Buffer.byteLength(payload),
              }),
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

/** The `--kubeconfig` flag, or `$KUBECONFIG`; one of them is required. */
export function kubeconfigFlag(value: string | undefined): string {
  const kubeconfig = value ?? process.env.KUBECONFIG ?? "";
  if (kubeconfig === "") throw new UsageError("--kubeconfig (or KUBECONFIG) is required");
  return kubeconfig;
}

/** The `--interval` flag: a positive number of seconds, returned in milliseconds. */
export function intervalFlag(value: string): number {
  const interval = Number(value);
  if (!Number.isFinite(interval) || interval <= 0) {
    throw new UsageError(`--interval: "${value}" is not a positive number of seconds`);
  }
  return interval * 1000;
}

/** One timestamped line on stdout: what every daemon here logs. */
export function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/** What a polling daemon does: one `tick` per interval until stopped; `close` when it ends. */
export interface Daemon {
  /** The first line it logs. */
  readonly banner: string;
  readonly intervalMs: number;
  tick(): Promise<void>;
  close?(): Promise<void> | void;
}

/**
 * The life of the daemons of the local cluster: parse the command line (usage errors exit 2, `--help` prints the
 * usage), load the kubeconfig, start (a start that fails exits 1), then tick every interval - an error is logged
 * and the next tick tries again - until SIGTERM or SIGINT, which end it with exit code 0.
 */
export async function runDaemon<O extends { readonly kubeconfig: string }>(
  program: string,
  usage: string,
  parseOptions: (argv: string[]) => O | undefined,
  start: (options: O, endpoint: Endpoint, signal: AbortSignal) => Promise<Daemon> | Daemon,
): Promise<number> {
  let options: O | undefined;
  let endpoint: Endpoint;
  try {
    options = parseOptions(process.argv.slice(2));
    if (options === undefined) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    endpoint = loadKubeconfig(options.kubeconfig);
  } catch (e) {
    process.stderr.write(`${program}: ${(e as Error).message}\n${usage}\n`);
    return 2;
  }
  const stop = new AbortController();
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      log(`${signal}: stopping`);
      stop.abort();
    });
  }
  let daemon: Daemon;
  try {
    daemon = await start(options, endpoint, stop.signal);
  } catch (e) {
    process.stderr.write(`${program}: ${(e as Error).message}\n`);
    endpoint.agent.destroy();
    return 1;
  }
  log(daemon.banner);
  while (!stop.signal.aborted) {
    try {
      await daemon.tick();
    } catch (e) {
      if (!stop.signal.aborted) log(`error: ${(e as Error).message}`);
    }
    await sleep(daemon.intervalMs, undefined, { signal: stop.signal }).catch(() => undefined);
  }
  await daemon.close?.();
  endpoint.agent.destroy();
  log("stopped");
  return 0;
}
