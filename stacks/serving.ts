import type { ServedLoad } from "../gpu/sharing-curve";
import { alignedRows, round } from "./text";
import type { StackConfig } from "./config/parse";
import type { ServerServing } from "./config/serving-rules";
import { serverServing } from "./config/serving-rules";

/**
 * The serving report of `capacity`: every server's serving figures (stacks/config/serving-rules.ts), as text and
 * as JSON.
 */

/** Every server's serving figures, in the stack's order; servers without a curve are listed by name. */
export interface ServingReport {
  readonly servers: readonly ServerServing[];
  /** Servers without a curve: their capacity is counted in slots. */
  readonly inSlots: readonly string[];
}

export function servingReport(config: StackConfig): ServingReport {
  const fraction = config.raw.validation.kneeFraction;
  const servers: ServerServing[] = [];
  const inSlots: string[] = [];
  for (const s of config.servers) {
    const v = serverServing(s, fraction);
    if (v === undefined) inSlots.push(s.name);
    else servers.push(v);
  }
  return { servers, inSlots };
}

/** A served load as JSON: numbers rounded for people, the flag kept. */
function loadJson(l: ServedLoad) {
  return {
    replicas: l.replicas,
    podsPerDevice: l.podsPerDevice,
    requestsPerSecond: round(l.requestsPerSecond, 1),
    p99Ms: round(l.p99Ms, 2),
    extrapolated: l.extrapolated,
  };
}

/** The report as `capacity --json` prints it. */
export function servingJson(report: ServingReport) {
  return {
    servers: report.servers.map((v) => ({
      server: v.server,
      pool: v.pool,
      resource: v.resource,
      devices: v.devices,
      maxReplicas: v.maxReplicas,
      knee: { podsPerDevice: v.knee.pods, measured: v.knee.measured, fraction: v.kneeFraction },
      atMaxReplicas: loadJson(v.atMax),
      atKnee: loadJson(v.atKnee),
      ...(v.slo === undefined
        ? {}
        : { slo: { ...v.slo, metBy: v.sloMetBy === undefined ? null : loadJson(v.sloMetBy) } }),
    })),
    countedInSlots: report.inSlots,
  };
}

/** The report as `capacity` prints it: one row per server with a curve, then the servers counted in slots. */
export function servingText(report: ServingReport): string[] {
  const lines: string[] = [];
  if (report.servers.length > 0) {
    lines.push(
      ...alignedRows([
        [
          "SERVER",
          "DEVICES",
          "MAX REPLICAS",
          "PODS PER DEVICE",
          "KNEE",
          "REQ/S AT MAX",
          "P99 ms AT MAX",
          "REQ/S AT KNEE",
          "SLO",
        ],
        ...report.servers.map((v) => [
          v.server,
          String(v.devices),
          String(v.maxReplicas),
          String(v.atMax.podsPerDevice),
          `${v.knee.pods}${v.knee.measured ? "" : "+"}`,
          `${Math.round(v.atMax.requestsPerSecond)}${v.atMax.extrapolated ? "*" : ""}`,
          v.atMax.p99Ms.toFixed(1),
          String(Math.round(v.atKnee.requestsPerSecond)),
          sloCell(v),
        ]),
      ]),
    );
    if (report.servers.some((v) => !v.knee.measured)) {
      lines.push("KNEE n+: the curve still rises at its last point, n pods; the knee is there or past it.");
    }
    if (report.servers.some((v) => v.atMax.extrapolated)) {
      lines.push("*: past the curve's last point, read flat.");
    }
  }
  if (report.inSlots.length > 0) {
    lines.push(
      `Counted in slots, not requests (no sharingCurve): ${report.inSlots.join(", ")}; npm run advise learns a curve from the running platform.`,
    );
  }
  return lines;
}

function sloCell(v: ServerServing): string {
  if (v.slo === undefined) return "-";
  const what = `${v.slo.requestsPerSecond}/s ≤ ${v.slo.p99Ms} ms`;
  if (v.sloMetBy === undefined) return `${what}: NOT MET`;
  const fewer = v.sloMetBy.devices < v.devices ? ` on ${v.sloMetBy.devices} of ${v.devices} devices` : "";
  return `${what}: met at ${v.sloMetBy.replicas}${fewer}`;
}
