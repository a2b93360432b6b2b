/**
 * A small client of Prometheus's HTTP API (`/api/v1/query`, `/api/v1/query_range`) on Node's fetch, for the
 * commands that read what the platform scrapes. Every failure a user can fix — an address nothing answers at, a
 * server that is not Prometheus, a query it refuses — is a {@link PrometheusError}: one line naming the address
 * and the cause.
 * @see https://prometheus.io/docs/prometheus/latest/querying/api/
 */

/** A failure to get an answer from Prometheus that the user can fix; its message is one line. */
export class PrometheusError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PrometheusError";
  }
}

/** One series of a range query: its labels and its `[unix seconds, value]` samples. */
export interface MatrixSeries {
  readonly metric: Readonly<Record<string, string>>;
  readonly values: readonly (readonly [number, number])[];
}

/** One series of an instant query. */
export interface VectorSample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, number];
}

/** Seconds a query may take before the command gives up on it. */
export const QUERY_TIMEOUT_SECONDS = 60;

/**
 * A Prometheus base URL, checked: http(s), no query or fragment. User and password in it (basic auth) are taken
 * out of the URL, which fetch refuses, into a header, and out of every message.
 * @throws Error naming the value and what to give instead.
 */
export function prometheusEndpoint(raw: string): { readonly base: string; readonly authorization?: string } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`"${raw}" is not a URL; give Prometheus's address, e.g. http://127.0.0.1:9090`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`"${raw}" is not an http(s) URL; give Prometheus's address, e.g. http://127.0.0.1:9090`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new Error(`"${raw}" has a query or fragment; give scheme, host, port and path only`);
  }
  const authorization =
    url.username === ""
      ? undefined
      : `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString("base64")}`;
  url.username = "";
  url.password = "";
  return { base: url.toString().replace(/\/+$/, ""), authorization };
}

/** Why fetch failed, in one line: the cause's message (`connect ECONNREFUSED 127.0.0.1:9`), not "fetch failed". */
function causeOf(e: unknown): string {
  if (e instanceof Error && e.name === "TimeoutError") return `no answer within ${QUERY_TIMEOUT_SECONDS} s`;
  const cause = e instanceof Error ? (e.cause as { message?: unknown; code?: unknown } | undefined) : undefined;
  if (cause !== undefined && typeof cause.message === "string" && cause.message !== "") return cause.message;
  if (cause !== undefined && typeof cause.code === "string") return cause.code;
  return e instanceof Error ? e.message : String(e);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Prometheus's sample values are strings (`"1.5"`, `"NaN"`, `"+Inf"`). */
function sampleOf(pair: unknown): [number, number] | undefined {
  if (!Array.isArray(pair) || pair.length !== 2) return undefined;
  const [t, v] = pair as unknown[];
  if (typeof t !== "number" || typeof v !== "string") return undefined;
  return [t, Number(v)];
}

export class PrometheusClient {
  private readonly base: string;
  private readonly authorization?: string;

  /** @param url Prometheus's base URL (checked with {@link prometheusEndpoint}). */
  constructor(url: string) {
    ({ base: this.base, authorization: this.authorization } = prometheusEndpoint(url));
  }

  /** The URL as messages show it: without user or password. */
  get address(): string {
    return this.base;
  }

  /** `/api/v1/query_range`: every series of `query` from `start` to `end` (unix seconds) at `step` seconds. */
  async queryRange(query: string, start: number, end: number, step: number): Promise<MatrixSeries[]> {
    const data = await this.get("query_range", { query, start: String(start), end: String(end), step: String(step) });
    return this.result(data, "matrix", query).map((r) => ({
      metric: isObject(r.metric) ? (r.metric as Record<string, string>) : {},
      values: (Array.isArray(r.values) ? (r.values as unknown[]) : [])
        .map(sampleOf)
        .filter((s): s is [number, number] => s !== undefined),
    }));
  }

  /** `/api/v1/query`: every series of `query` at `time` (unix seconds). */
  async query(query: string, time: number): Promise<VectorSample[]> {
    const data = await this.get("query", { query, time: String(time) });
    return this.result(data, "vector", query).flatMap((r) => {
      const value = sampleOf(r.value);
      return value === undefined
        ? []
        : [{ metric: isObject(r.metric) ? (r.metric as Record<string, string>) : {}, value }];
    });
  }

  private result(data: Record<string, unknown>, type: string, query: string): Record<string, unknown>[] {
    if (data.resultType !== type || !Array.isArray(data.result)) {
      throw new PrometheusError(
        `Prometheus at ${this.base} answered ${JSON.stringify(query)} with a ${String(data.resultType)} result, not a ${type}; is it Prometheus?`,
      );
    }
    return (data.result as unknown[]).filter(isObject);
  }

  private async get(endpoint: string, params: Record<string, string>): Promise<Record<string, unknown>> {
    const url = `${this.base}/api/v1/${endpoint}?${new URLSearchParams(params).toString()}`;
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        headers: this.authorization === undefined ? {} : { authorization: this.authorization },
        signal: AbortSignal.timeout(QUERY_TIMEOUT_SECONDS * 1000),
      });
      text = await response.text();
    } catch (e) {
      throw new PrometheusError(`cannot reach Prometheus at ${this.base}: ${causeOf(e)}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    if (!isObject(body) || (body.status !== "success" && body.status !== "error")) {
      throw new PrometheusError(
        `${this.base}/api/v1/${endpoint} answered HTTP ${response.status} without Prometheus's API JSON; give the address of Prometheus itself (e.g. http://127.0.0.1:9090), not of Grafana or a login page`,
      );
    }
    if (body.status === "error" || !isObject(body.data)) {
      throw new PrometheusError(
        `Prometheus at ${this.base} refused ${JSON.stringify(params.query)} (HTTP ${response.status}): ${String(body.error ?? "no data")}`,
      );
    }
    return body.data;
  }
}
