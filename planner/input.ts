import { z } from "zod";
import type { GpuModel } from "../gpu/catalog";
import { findGpuModel, gpuModelNames } from "../gpu/catalog";
import type { MigStrategy, NodePodLimit } from "../gpu/capacity";
import { DEFAULT_MAX_PODS_PER_NODE, DEFAULT_SYSTEM_PODS_PER_NODE, nodePodLimitProblems } from "../gpu/capacity";
import { gib, overheadProblem, replicaOverheadGiB } from "../gpu/memory";
import { type Problem, problemFromText, UserError } from "../problems";
import type { ServingObjective, SharingCurve } from "../gpu/sharing-curve";
import { curveProblems, servingObjectiveSchema, sharingCurveSchema } from "../gpu/sharing-curve";

/**
 * What isolation a server's replicas need from each other and from their neighbours:
 * - `shared`: time-slicing is acceptable (replicas share a GPU's or slice's memory, one OOM hits all);
 * - `memory`: enforced memory limits, so a MIG slice or an MPS client of its own;
 * - `full`: a MIG slice or a whole GPU of its own (no time-slicing, no MPS).
 */
export const ISOLATIONS = ["shared", "memory", "full"] as const;
export type Isolation = (typeof ISOLATIONS)[number];

/** A GPU model on offer: node shape, price and how many nodes may be bought. */
export interface GpuOffer {
  readonly gpu: GpuModel;
  /** Physical GPUs per node. */
  readonly gpusPerNode: number;
  /** Price of one node, in any unit, the same for every offer (e.g. currency per hour). */
  readonly costPerNode: number;
  /** At most this many nodes of this model. */
  readonly maxNodes: number;
}

/** A server to host: one Triton deployment and its autoscaling bounds. */
export interface WorkloadServer {
  readonly name: string;
  /** GPU memory one model instance (one replica) needs, GiB. */
  readonly modelMemoryGiB: number;
  /** GPU memory each replica process takes besides its model, GiB; absent: the GPU architecture's default. */
  readonly overheadGiB?: number;
  readonly minReplicas: number;
  /** Peak replicas: what the plan must fit; absent for a server planned on requests ({@link serving}). */
  readonly maxReplicas?: number;
  readonly isolation: Isolation;
  /**
   * The requests the server must serve at its peak, within a p99, and the sharing curves it was measured with: the
   * plan sizes its replicas from them (devices × pods per device) instead of from `maxReplicas`.
   */
  readonly serving?: ServerServingDemand;
}

/** A server planned on requests: its objective at peak and a curve per device and sharing it was measured on. */
export interface ServerServingDemand {
  readonly slo: ServingObjective;
  readonly curves: readonly SharingCurve[];
}

export interface Workloads {
  /** The cluster's MIG strategy when it is fixed; the planner picks the cheaper one otherwise. */
  readonly migStrategy?: MigStrategy;
  readonly offers: readonly GpuOffer[];
  readonly servers: readonly WorkloadServer[];
  /** Pods a node may run, and how many of them are system pods. */
  readonly nodePods: NodePodLimit;
  /**
   * Where the pools will run, as the stack's `cluster.kind`: node groups gpushare creates in OpenStack, or an existing
   * cluster's, which must carry a label per pool when two pools run one GPU model.
   */
  readonly clusterKind: "openstack" | "existing";
}

/** What one replica of `server` needs on `gpu`, GiB: its model and its process's overhead. */
export function replicaNeedGiB(server: WorkloadServer, gpu: GpuModel): number {
  return server.modelMemoryGiB + replicaOverheadGiB(gpu, server.overheadGiB);
}

/** Every problem of a workloads file, found before planning. */
export class PlanInputError extends UserError {
  constructor(problems: readonly Problem[]) {
    super("gpushare workloads file", problems);
    this.name = "PlanInputError";
  }
}

const offerSchema = z.strictObject({
  gpusPerNode: z.number().default(1),
  costPerNode: z.number(),
  maxNodes: z.number(),
});

const serverSchema = z.strictObject({
  modelMemoryGiB: z.number().positive(),
  overheadGiB: z.number().optional(),
  maxReplicas: z.number().optional(),
  minReplicas: z.number().optional(),
  isolation: z.enum(ISOLATIONS),
  slo: servingObjectiveSchema.optional(),
  curves: z.array(sharingCurveSchema).max(100).optional(),
});

/** The shape of a workloads file (`npm run plan -- --workloads FILE`). */
export const workloadsSchema = z.strictObject({
  migStrategy: z.enum(["single", "mixed"]).optional(),
  cluster: z.enum(["openstack", "existing"]).default("existing"),
  maxPodsPerNode: z.number().default(DEFAULT_MAX_PODS_PER_NODE),
  systemPodsPerNode: z.number().default(DEFAULT_SYSTEM_PODS_PER_NODE),
  gpus: z.record(z.string(), offerSchema),
  servers: z.record(z.string(), serverSchema),
});

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

function show(value: unknown): string {
  return typeof value === "string" ? `"${value}"` : JSON.stringify(value);
}

function pathOf(segments: readonly PropertyKey[]): string {
  return segments.map((s, i) => (typeof s === "number" ? `[${s}]` : i === 0 ? String(s) : `.${String(s)}`)).join("");
}

function valueAt(root: unknown, segments: readonly PropertyKey[]): unknown {
  let node = root;
  for (const s of segments) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<PropertyKey, unknown>)[s];
  }
  return node;
}

function structuralProblems(raw: unknown, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = pathOf(issue.path);
    if (issue.code === "unrecognized_keys") {
      const keys = issue.keys.map((k) => `"${k}"`).join(", ");
      const many = issue.keys.length > 1;
      return `${path === "" ? "workloads" : path}: unknown key${many ? "s" : ""} ${keys}; remove ${many ? "them" : "it"} or check the spelling against the README's "Planning layouts"`;
    }
    if (path === "") {
      return `workloads: ${show(raw)} is not a mapping; a workloads file has gpus: and servers: (and optionally migStrategy:)`;
    }
    const value = valueAt(raw, issue.path);
    if (value === undefined) return `${path}: missing (${issue.message}); set it in the workloads file`;
    return `${path}: ${show(value)} is not allowed (${issue.message}); set ${path} in the workloads file to a valid value`;
  });
}

/**
 * Parses and validates a workloads file's content. Throws a `PlanInputError` with every problem found. Pure.
 */
export function parseWorkloads(input: unknown): Workloads {
  const parsed = workloadsSchema.safeParse(input);
  if (!parsed.success) throw new PlanInputError(structuralProblems(input, parsed.error).map(problemFromText));
  const raw = parsed.data;
  const problems: string[] = [];

  const offers: GpuOffer[] = [];
  if (Object.keys(raw.gpus).length === 0) {
    problems.push(`gpus: no GPU models on offer; list at least one, e.g. gpus: {T4: {costPerNode: 0.35, maxNodes: 4}}`);
  }
  for (const [name, offer] of Object.entries(raw.gpus)) {
    const at = `gpus.${name}`;
    const gpu = findGpuModel(name);
    if (gpu === undefined) {
      problems.push(`${at}: "${name}" is not a GPU model gpushare knows; use one of ${gpuModelNames().join(", ")}`);
    }
    const { gpusPerNode, costPerNode, maxNodes } = offer;
    if (!Number.isInteger(gpusPerNode) || gpusPerNode < 1 || gpusPerNode > 16) {
      problems.push(`${at}.gpusPerNode: ${show(gpusPerNode)} is not allowed; use a whole number from 1 to 16`);
    }
    if (!(costPerNode > 0) || !Number.isFinite(costPerNode)) {
      problems.push(
        `${at}.costPerNode: ${show(costPerNode)} is not allowed; use a number > 0, the price of one node in the same unit for every GPU (e.g. per hour)`,
      );
    }
    if (!Number.isInteger(maxNodes) || maxNodes < 1) {
      problems.push(`${at}.maxNodes: ${show(maxNodes)} is not allowed; use a whole number ≥ 1`);
    }
    if (gpu !== undefined) offers.push({ gpu, gpusPerNode, costPerNode, maxNodes });
  }

  const servers: WorkloadServer[] = [];
  if (Object.keys(raw.servers).length === 0) {
    problems.push(`servers: nothing to plan; list at least one server with modelMemoryGiB, maxReplicas and isolation`);
  }
  for (const [name, server] of Object.entries(raw.servers)) {
    const at = `servers.${name}`;
    if (!DNS_LABEL.test(name) || name.length > 63) {
      problems.push(
        `servers: "${name}" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters`,
      );
    }
    const { maxReplicas, slo, curves } = server;
    const minReplicas = server.minReplicas ?? 1;
    if (slo !== undefined) {
      // Requests are the demand: the plan sizes the replicas, so a replica count would contradict it.
      if (maxReplicas !== undefined) {
        problems.push(
          `${at}.maxReplicas: ${show(maxReplicas)} is set with slo; a server planned on requests gets its max replicas from the plan (devices × pods per device), so remove maxReplicas, or remove slo and curves to plan in replicas`,
        );
      }
      if (curves === undefined || curves.length === 0) {
        problems.push(
          `${at}.curves: missing; a server with slo needs the sharing curve of each GPU (and MIG profile, and sharing mode) it may run on, e.g. curves: [{gpu: H200-141GB, sharing: mps, points: [{pods: 1, requestsPerSecond: 259, p99Ms: 5.56}]}] (npm run advise learns one), or remove slo and set maxReplicas`,
        );
      }
      (curves ?? []).forEach((c, i) => {
        problems.push(...curveProblems(`${at}.curves[${i}]`, c));
        if (findGpuModel(c.gpu) === undefined) {
          problems.push(
            `${at}.curves[${i}].gpu: "${c.gpu}" is not a GPU model gpushare knows; use one of ${gpuModelNames().join(", ")}`,
          );
        }
      });
    } else {
      if (curves !== undefined) {
        problems.push(
          `${at}.curves: given without slo; the plan reads curves only to meet an objective, so add slo: {requestsPerSecond, p99Ms}, or remove curves`,
        );
      }
      if (maxReplicas === undefined) {
        problems.push(
          `${at}.maxReplicas: missing; set the peak replicas, or slo: {requestsPerSecond, p99Ms} with curves to plan on requests`,
        );
      } else if (!Number.isInteger(maxReplicas) || maxReplicas < 1) {
        problems.push(`${at}.maxReplicas: ${show(maxReplicas)} is not allowed; use a whole number ≥ 1`);
      }
    }
    if (!Number.isInteger(minReplicas) || minReplicas < 1) {
      problems.push(`${at}.minReplicas: ${show(minReplicas)} is not allowed; use a whole number ≥ 1`);
    } else if (
      maxReplicas !== undefined &&
      Number.isInteger(maxReplicas) &&
      maxReplicas >= 1 &&
      minReplicas > maxReplicas
    ) {
      problems.push(
        `${at}: minReplicas ${minReplicas} is greater than maxReplicas ${maxReplicas}; raise maxReplicas or lower minReplicas`,
      );
    }
    const overhead = server.overheadGiB;
    const overheadWrong = overheadProblem(
      `${at}.overheadGiB`,
      overhead,
      `its GPU's default (${gib(replicaOverheadGiB({ architecture: "turing" }))} on a T4, ${gib(replicaOverheadGiB({ architecture: "hopper" }))} on an H100)`,
    );
    if (overheadWrong !== undefined) problems.push(overheadWrong);
    servers.push({
      name,
      modelMemoryGiB: server.modelMemoryGiB,
      ...(overhead === undefined ? {} : { overheadGiB: overhead }),
      minReplicas,
      ...(slo === undefined ? { maxReplicas } : { serving: { slo, curves: curves ?? [] } }),
      isolation: server.isolation,
    });
  }

  const { maxPodsPerNode, systemPodsPerNode } = raw;
  problems.push(...nodePodLimitProblems("", { maxPodsPerNode, systemPodsPerNode }));

  if (problems.length > 0) throw new PlanInputError(problems.map(problemFromText));
  return {
    ...(raw.migStrategy === undefined ? {} : { migStrategy: raw.migStrategy }),
    offers,
    servers,
    nodePods: { maxPodsPerNode, systemPodsPerNode },
    clusterKind: raw.cluster,
  };
}
