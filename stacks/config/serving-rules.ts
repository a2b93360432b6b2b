import type { AdvertisedDevice } from "../../gpu/capacity";
import type { Knee, ServedLoad, ServingObjective, SharingCurve } from "../../gpu/sharing-curve";
import { curveProblems, kneeMaxReplicas, kneeOf, replicasForObjective, servedBy } from "../../gpu/sharing-curve";
import type { PoolConfig, ServerConfig } from "./parse";

/**
 * What a server serves, in requests, where it declares a sharing curve (`servers.<s>.sharingCurve`): the knee of its
 * device, what its pods serve at max replicas and at the knee, and whether its objective (`servers.<s>.slo`) holds.
 * The config's rules read it to check the curve against the device, to take the HPA's default `maxReplicas` and to
 * warn; capacity and the preview (stacks/serving.ts, stacks/capacity-change.ts) print it. Without a curve capacity
 * is counted in slots.
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
