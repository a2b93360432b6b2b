import type { AdvertisedDevice } from "../gpu/capacity";
import type { Knee, ServedLoad, ServingObjective, SharingCurve } from "../gpu/sharing-curve";
import { curveProblems, kneeOf, replicasForObjective, servedBy } from "../gpu/sharing-curve";
import { alignedRows, round } from "./text";
import type { PoolConfig, ServerConfig, StackConfig } from "./config/parse";

/**
 * What a server serves, in requests, where it declares a sharing curve (`servers.<s>.sharingCurve`): the knee of its
 * device, what its pods serve at max replicas and at the knee, and whether its objective (`servers.<s>.slo`) holds.
 * Capacity, the preview and the HPA's default `maxReplicas` read it; without a curve capacity is counted in slots.
 */

/** Devices a server's pods can spread over: the pool's devices of its resource at max nodes. */
export function serverDevices(pool: PoolConfig, device: AdvertisedDevice): number {
  return device.physicalPerNode * pool.nodes.max;
}

/**
 * What is wrong with a curve for the device a server runs on: a curve measured on another GPU, MIG slice or sharing
 * mode says nothing about this one.
 */
export function curveDeviceProblems(
  at: string,
  curve: SharingCurve,
  pool: PoolConfig,
  device: AdvertisedDevice,
): string[] {
  const problems = curveProblems(at, curve);
  const where = `pool ${pool.name} runs ${pool.gpu.name}${device.migProfile === undefined ? "" : ` MIG ${device.migProfile}`}`;
  const fix = "measure the curve on the device the server runs on (npm run advise), or move the server to such a pool";
  if (curve.gpu !== pool.gpu.name) {
    problems.push(`${at}.gpu: "${curve.gpu}" is not the server's GPU; ${where}; ${fix}`);
  }
  if (curve.migProfile !== device.migProfile) {
    problems.push(
      `${at}.migProfile: ${curve.migProfile === undefined ? "(unset, a whole GPU)" : `"${curve.migProfile}"`} is not the server's device; ${where}; ${fix}`,
    );
  }
  // An unshared device runs one pod, whatever a curve's mode: only its first point is read.
  if (device.replicas > 1 && curve.sharing !== device.sharing) {
    problems.push(
      `${at}.sharing: "${curve.sharing}" is not how the device is shared; ${where} with ${device.sharing}, ${device.replicas} pods per device; ${fix}`,
    );
  }
  return problems;
}

/**
 * The HPA's `maxReplicas` a curve gives: every device filled to the knee, or to its slots when those are fewer.
 * With `stopAtKnee` false, every slot.
 */
export function kneeMaxReplicas(knee: Knee, device: AdvertisedDevice, devices: number, stopAtKnee: boolean): number {
  return devices * (stopAtKnee ? Math.min(knee.pods, device.replicas) : device.replicas);
}

/** A server's capacity in requests. */
export interface ServerServing {
  readonly server: string;
  readonly pool: string;
  readonly resource: string;
  readonly curve: SharingCurve;
  readonly knee: Knee;
  readonly kneeFraction: number;
  readonly devices: number;
  readonly maxReplicas: number;
  /** What `maxReplicas` pods serve, spread over the devices. */
  readonly atMax: ServedLoad;
  /** What the devices serve filled to the knee (or their slots). */
  readonly atKnee: ServedLoad;
  readonly slo?: ServingObjective;
  /**
   * The fewest replicas within `maxReplicas` that meet the objective, on as few of the devices as do (its `devices`);
   * absent when none does.
   */
  readonly sloMetBy?: ServedLoad;
}

/** A server's serving figures, or `undefined` without a curve. */
export function serverServing(s: ServerConfig, kneeFraction: number): ServerServing | undefined {
  const curve = s.raw.sharingCurve;
  if (curve === undefined) return undefined;
  const knee = kneeOf(curve, kneeFraction);
  const devices = serverDevices(s.pool, s.device);
  const slo = s.raw.slo;
  const sloMetBy = slo === undefined ? undefined : replicasForObjective(curve, slo, devices, s.maxReplicas);
  return {
    server: s.name,
    pool: s.pool.name,
    resource: s.resource,
    curve,
    knee,
    kneeFraction,
    devices,
    maxReplicas: s.maxReplicas,
    atMax: servedBy(curve, s.maxReplicas, devices),
    atKnee: servedBy(curve, kneeMaxReplicas(knee, s.device, devices, true), devices),
    ...(slo === undefined ? {} : { slo }),
    ...(sloMetBy === undefined ? {} : { sloMetBy }),
  };
}

function rps(n: number): string {
  return `${Math.round(n)} requests/s`;
}

function ms(n: number): string {
  return `${n.toFixed(1)} ms`;
}

/**
 * What a reviewer must hear about a server's serving, as warnings: pods past the knee (they add latency, not
 * requests), an objective that max replicas cannot meet, and a curve read past its last point.
 */
export function servingWarnings(at: string, v: ServerServing, maxReplicasKey: string): string[] {
  const warnings: string[] = [];
  const last = v.curve.points[v.curve.points.length - 1].pods;
  if (v.atMax.podsPerDevice > v.knee.pods && v.knee.measured) {
    const kneeReplicas = v.devices * v.knee.pods;
    warnings.push(
      `${at}.${maxReplicasKey}: ${v.maxReplicas} puts up to ${v.atMax.podsPerDevice} pods on each of ${v.devices} device${v.devices === 1 ? "" : "s"}, past the knee at ${v.knee.pods} (one more pod adds < ${Math.round(v.kneeFraction * 100)} % of what one serves alone): ${v.maxReplicas} pods serve ${rps(v.atMax.requestsPerSecond)} at p99 ${ms(v.atMax.p99Ms)}, ${kneeReplicas} serve ${rps(v.atKnee.requestsPerSecond)} at p99 ${ms(v.atKnee.p99Ms)}; lower it to ${kneeReplicas}, or share the devices with MPS or more of them`,
    );
  }
  if (v.slo !== undefined && v.sloMetBy === undefined) {
    warnings.push(
      `${at}.slo: ${rps(v.slo.requestsPerSecond)} within p99 ${ms(v.slo.p99Ms)} cannot be met at ${v.maxReplicas} max replicas on ${v.devices} device${v.devices === 1 ? "" : "s"}: they serve ${rps(v.atMax.requestsPerSecond)} at p99 ${ms(v.atMax.p99Ms)}, and at the knee ${rps(v.atKnee.requestsPerSecond)} at p99 ${ms(v.atKnee.p99Ms)}; add devices (gpuPools.${v.pool}.nodes.max), share them with MPS, or lower the objective`,
    );
  }
  if (v.atMax.podsPerDevice > last) {
    warnings.push(
      `${at}.sharingCurve: measured up to ${last} pods per device, and ${v.maxReplicas} max replicas put ${v.atMax.podsPerDevice} on one; past ${last} the curve is read flat (no more requests, latency growing with the pods); measure further to know`,
    );
  }
  return warnings;
}

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
