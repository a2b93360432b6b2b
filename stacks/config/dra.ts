import {
  draGateProblems,
  gateEnabled,
  MIN_CONSUMABLE_CAPACITY_KUBERNETES,
  MIN_DRA_KUBERNETES,
  parseKubernetesVersion,
  showVersion,
  versionAtLeast,
} from "../../gpu/dra";
import { OWNED_DRA_DRIVER_VALUES } from "../../components/k8s/dra-driver-values";
import { ownedValueProblems } from "../../components/k8s/helm-values";
import type { RawPool, RawStackConfig } from "./schema";

/**
 * The rules of DRA pools (`allocation: dra`) that need nothing but the raw config: the cluster's Kubernetes version,
 * the DRA driver's feature gates, and what of a pool's sharing the driver can do. Each refusal is one the driver or
 * the API server would make later, on a live cluster, in words that do not name the stack's keys (docs/dra.md).
 */

const GATES = "draDriver.featureGates";

/** The DRA pools of a stack, by name. */
export function draPools(raw: RawStackConfig): [string, RawPool][] {
  return Object.entries(raw.gpuPools).filter(([, p]) => p.allocation === "dra");
}

/** The time-sliced DRA pools with their replica count (a number: a mapping is refused by {@link draProblems}). */
function timeSliced(raw: RawStackConfig): [string, number][] {
  return draPools(raw).flatMap(([name, p]): [string, number][] =>
    typeof p.timeSlicing?.replicas === "number" && p.mps === undefined ? [[name, p.timeSlicing.replicas]] : [],
  );
}

/**
 * The driver's `--consumable-shares` (its chart's `consumableShares`): the replicas of the time-sliced DRA pools,
 * which must agree, or `undefined` when no DRA pool is time-sliced (the driver's default, `disabled`).
 */
export function draConsumableShares(raw: RawStackConfig): number | undefined {
  return timeSliced(raw)[0]?.[1];
}

/** Where the stack says which Kubernetes the cluster runs: the key and its value, if any. */
function kubernetesVersionOf(raw: RawStackConfig): { path: string; value: string } | undefined {
  if (raw.cluster.kubernetesVersion !== undefined) {
    return { path: "cluster.kubernetesVersion", value: raw.cluster.kubernetesVersion };
  }
  const tag = raw.cluster.kind === "openstack" ? raw.cluster.openstack?.template?.labels.kube_tag : undefined;
  return tag === undefined ? undefined : { path: "cluster.openstack.template.labels.kube_tag", value: tag };
}

/** A value as a message quotes it: JSON, cut at 80 characters. */
function shown(value: unknown): string {
  const json = JSON.stringify(value);
  return json.length > 80 ? `${json.slice(0, 77)}…` : json;
}

function poolList(names: readonly string[]): string {
  return names.map((n) => `gpuPools.${n}`).join(", ");
}

/** Every problem of the stack's DRA pools and driver settings; warnings for settings nothing uses. */
export function draProblems(raw: RawStackConfig, warnings: string[]): string[] {
  const pools = draPools(raw);
  const gates = raw.draDriver.featureGates;
  if (pools.length === 0) {
    if (Object.keys(gates).length > 0) {
      warnings.push(`${GATES}: ignored, since no pool has allocation "dra"`);
    }
    if (Object.keys(raw.draDriver.values).length > 0) {
      warnings.push(`draDriver.values: ignored, since no pool has allocation "dra"`);
    }
    return [];
  }
  const problems: string[] = [];
  const names = pools.map(([n]) => n);
  const known = kubernetesVersionOf(raw);
  const version = known === undefined ? undefined : parseKubernetesVersion(known.value);
  if (known === undefined) {
    problems.push(
      `cluster.kubernetesVersion: missing; ${poolList(names)} allocate through DRA, whose resource.k8s.io/v1 API needs Kubernetes ${showVersion(MIN_DRA_KUBERNETES)} or later; set cluster.kubernetesVersion to the cluster's version (e.g. "1.36")`,
    );
  } else if (version === undefined) {
    problems.push(
      `${known.path}: "${known.value}" is not allowed; it is not a Kubernetes version; give major.minor as the API server reports it (e.g. "1.36" or "v1.36.1")`,
    );
  } else if (!versionAtLeast(version, MIN_DRA_KUBERNETES)) {
    problems.push(
      `${known.path}: "${known.value}" is not allowed with allocation "dra" (${poolList(names)}); resource.k8s.io/v1, which the claims use, is GA from Kubernetes ${showVersion(MIN_DRA_KUBERNETES)}; upgrade the cluster to ${showVersion(MIN_DRA_KUBERNETES)} or later, or set their allocation to "devicePlugin"`,
    );
  }
  problems.push(...draGateProblems(GATES, gates));
  problems.push(...ownedValueProblems(raw.draDriver.values, OWNED_DRA_DRIVER_VALUES, "draDriver.values"));

  for (const [name, pool] of pools) {
    const at = `gpuPools.${name}`;
    const toPlugin = `or set ${at}.allocation to "devicePlugin"`;
    const ts = pool.timeSlicing;
    if (ts !== undefined && pool.mps === undefined) {
      if (!gateEnabled(gates, "TimeSlicingSettings")) {
        problems.push(
          `${at}.timeSlicing: ${shown({ replicas: ts.replicas })} is not allowed on a DRA pool while ${GATES}.TimeSlicingSettings is off; the driver refuses the "TimeSlicing" strategy without that (alpha) gate; set ${GATES}.TimeSlicingSettings: true, ${toPlugin}`,
        );
      }
      if (typeof ts.replicas !== "number") {
        problems.push(
          `${at}.timeSlicing.replicas: ${shown(ts.replicas)} is not allowed on a DRA pool; the driver gives every device of its nodes the same number of consumable shares, so give one number (e.g. replicas: 4), ${toPlugin}`,
        );
      } else if (!gateEnabled(gates, "ConsumableShares")) {
        problems.push(
          `${at}.timeSlicing.replicas: ${ts.replicas} is not allowed on a DRA pool while ${GATES}.ConsumableShares is off; DRA has no replicas: the pods of a Deployment share a GPU only as its consumable shares (the driver's alpha ConsumableShares gate, --consumable-shares=${ts.replicas}); set ${GATES}.ConsumableShares: true, ${toPlugin}`,
        );
      } else if (version !== undefined && !versionAtLeast(version, MIN_CONSUMABLE_CAPACITY_KUBERNETES)) {
        problems.push(
          `${known?.path ?? "cluster.kubernetesVersion"}: "${known?.value ?? ""}" is not allowed with the time-sliced DRA pool ${at}; consumable capacity (DRAConsumableCapacity), through which claims share a device, is beta and on by default from Kubernetes ${showVersion(MIN_CONSUMABLE_CAPACITY_KUBERNETES)}; upgrade the cluster, ${toPlugin}`,
        );
      }
      for (const key of ["renameByDefault", "failRequestsGreaterThanOne"] as const) {
        if (ts[key]) {
          problems.push(
            `${at}.timeSlicing.${key}: true is not allowed on a DRA pool; it shapes the device plugin's extended resources, which claims do not use; remove it`,
          );
        }
      }
    }
    if (pool.mps !== undefined) {
      if (!gateEnabled(gates, "MPSSupport")) {
        problems.push(
          `${at}.mps: ${shown({ replicas: pool.mps.replicas })} is not allowed on a DRA pool while ${GATES}.MPSSupport is off; the driver refuses the "MPS" strategy without that (alpha) gate; set ${GATES}.MPSSupport: true, ${toPlugin}`,
        );
      }
      const sliced = timeSliced(raw).map(([n]) => n);
      if (sliced.length > 0) {
        problems.push(
          `${at}.mps: ${shown({ replicas: pool.mps.replicas })} is not allowed while the time-sliced DRA pools ${poolList(sliced)} turn the driver's consumable shares on; the driver refuses MPS sharing when consumable shares is enabled; time-slice ${at} too, or move ${poolList(sliced)} or ${at} to allocation "devicePlugin"`,
        );
      }
      if (pool.mps.renameByDefault) {
        problems.push(
          `${at}.mps.renameByDefault: true is not allowed on a DRA pool; it shapes the device plugin's extended resources, which claims do not use; remove it`,
        );
      }
    }
  }

  const counts = [...new Set(timeSliced(raw).map(([, r]) => r))];
  if (counts.length > 1) {
    problems.push(
      `gpuPools: time-slicing replicas ${timeSliced(raw)
        .map(([n, r]) => `${r} (gpuPools.${n})`)
        .join(
          ", ",
        )} are not allowed together on DRA pools; the driver's kubelet plugin takes one --consumable-shares for every node it runs on; use the same replicas on every time-sliced DRA pool, or move some to allocation "devicePlugin"`,
    );
  }
  return problems;
}

/**
 * The problem of a server on an MPS pool under DRA whose pods may outnumber one device's clients: they all reference
 * the server's one ResourceClaim, which holds one device.
 */
export function draMpsServerProblem(
  at: string,
  key: string,
  maxReplicas: number,
  pool: { readonly name: string; readonly allocation: string; readonly raw: RawPool },
): string | undefined {
  const mps = pool.raw.mps;
  if (pool.allocation !== "dra" || mps === undefined || maxReplicas <= mps.replicas) return undefined;
  return `${at}.${key}: ${maxReplicas} is not allowed on gpuPools.${pool.name} (DRA, MPS ${mps.replicas}); the driver starts MPS per claim, so every pod of the server references one ResourceClaim and shares its one device: at most ${mps.replicas} pods; lower ${key} to ${mps.replicas}, or time-slice the pool`;
}
