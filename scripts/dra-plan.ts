import { draResourceName } from "../gpu/dra";
import { problemText } from "../problems";
import { parseStackConfig, StackConfigError } from "../stacks/config/parse";

/**
 * A planned stack config (`stackConfigOf` of scripts/plan-output, keys `gpushare:...`) rewritten for DRA: every pool
 * `allocation: dra`, each server's resource named as the DRA device it gets, the cluster's Kubernetes version instead
 * of a MIG strategy, and the driver gates its sharing needs. The planner sizes pools in devices and slots, which
 * DRA offers alike; what DRA cannot express of the plan (per-profile or differing time-slicing replicas, an MPS
 * server larger than one GPU's clients, MPS beside time-slicing) is refused by the stack validation, and thrown as
 * a `StackConfigError` whose problems say so.
 * @see docs/dra.md
 */
export function draPlannedConfig(
  config: Readonly<Record<string, unknown>>,
  kubernetesVersion: string,
): Record<string, unknown> {
  const plain = (c: Readonly<Record<string, unknown>>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(c).map(([k, v]) => [k.slice("gpushare:".length), v]));
  // The plan as the device plugin would run it: each server's device, MIG profile included.
  const planned = parseStackConfig(plain(config));
  const pools = config["gpushare:gpuPools"] as Record<string, Record<string, unknown>>;
  const servers = config["gpushare:servers"] as Record<string, Record<string, unknown>>;
  const cluster = { ...(config["gpushare:cluster"] as Record<string, unknown>) };
  delete cluster.migStrategy;
  const sharing = Object.values(pools);
  const gates = {
    ...(sharing.some((p) => p.timeSlicing !== undefined) ? { TimeSlicingSettings: true, ConsumableShares: true } : {}),
    ...(sharing.some((p) => p.mps !== undefined) ? { MPSSupport: true } : {}),
  };
  const dra: Record<string, unknown> = {
    ...config,
    "gpushare:cluster": { ...cluster, kubernetesVersion },
    "gpushare:gpuPools": Object.fromEntries(Object.entries(pools).map(([n, p]) => [n, { ...p, allocation: "dra" }])),
    ...(Object.keys(gates).length === 0 ? {} : { "gpushare:draDriver": { featureGates: gates } }),
    "gpushare:servers": Object.fromEntries(
      planned.servers.map((s) => [s.name, { ...servers[s.name], resource: draResourceName(s.device.migProfile) }]),
    ),
  };
  try {
    parseStackConfig(plain(dra));
  } catch (e) {
    if (!(e instanceof StackConfigError)) throw e;
    throw new StackConfigError(
      e.problems.map((p) => ({
        path: "--allocation dra",
        reason: `the plan cannot run on DRA pools: ${problemText(p)} (plan without --allocation dra for device-plugin pools)`,
      })),
    );
  }
  return dra;
}
