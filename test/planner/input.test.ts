import { describe, expect, it } from "vitest";
import { parseWorkloads, PlanInputError } from "../../planner/input";
import { problemText } from "../../problems";
import { H200_RESNET50_BATCH1 } from "../../gpu/measured-curves";

/** The problems `parseWorkloads` reports for `input`; fails the test if it accepts it. */
function problemsOf(input: unknown): readonly string[] {
  try {
    parseWorkloads(input);
  } catch (e) {
    if (e instanceof PlanInputError) return e.problems.map(problemText);
    throw e;
  }
  throw new Error("parseWorkloads accepted the input");
}

const T4 = { costPerNode: 0.55, maxNodes: 4 };
const SERVER = { modelMemoryGiB: 0.5, maxReplicas: 4, isolation: "shared" };

/** A valid workloads file with one section replaced. */
function withGpus(gpus: unknown): unknown {
  return { gpus, servers: { densenet: SERVER } };
}

function withServer(server: Record<string, unknown>, name = "densenet"): unknown {
  return { gpus: { T4 }, servers: { [name]: server } };
}

describe("parseWorkloads", () => {
  it("reads offers and servers, with their defaults", () => {
    const w = parseWorkloads({
      migStrategy: "mixed",
      gpus: { T4, "A100-SXM4-40GB": { gpusPerNode: 8, costPerNode: 25, maxNodes: 2 } },
      servers: { densenet: SERVER, llm: { modelMemoryGiB: 15, minReplicas: 2, maxReplicas: 3, isolation: "full" } },
    });
    expect(w.migStrategy).toBe("mixed");
    expect(w.offers.map((o) => [o.gpu.name, o.gpusPerNode, o.costPerNode, o.maxNodes])).toEqual([
      ["T4", 1, 0.55, 4],
      ["A100-SXM4-40GB", 8, 25, 2],
    ]);
    expect(w.servers).toEqual([
      { name: "densenet", modelMemoryGiB: 0.5, minReplicas: 1, maxReplicas: 4, isolation: "shared" },
      { name: "llm", modelMemoryGiB: 15, minReplicas: 2, maxReplicas: 3, isolation: "full" },
    ]);
  });

  it.each<[string, unknown, string]>([
    [
      "the file is not a mapping",
      "servers",
      `workloads: "servers" is not a mapping; a workloads file has gpus: and servers: (and optionally migStrategy:)`,
    ],
    [
      "a key is unknown",
      { gpus: { T4 }, servers: { densenet: SERVER }, pools: {} },
      `workloads: unknown key "pools"; remove it or check the spelling against the README's "Planning layouts"`,
    ],
    [
      "an offer has an unknown key",
      withGpus({ T4: { ...T4, price: 1 } }),
      `gpus.T4: unknown key "price"; remove it or check the spelling against the README's "Planning layouts"`,
    ],
    [
      "the MIG strategy is neither single nor mixed",
      { migStrategy: "both", gpus: { T4 }, servers: { densenet: SERVER } },
      `migStrategy: "both" is not allowed (Invalid option: expected one of "single"|"mixed"); set migStrategy in the workloads file to a valid value`,
    ],
    [
      "gpus is missing",
      { servers: { densenet: SERVER } },
      `gpus: missing (Invalid input: expected record, received undefined); set it in the workloads file`,
    ],
    [
      "no GPU is on offer",
      withGpus({}),
      `gpus: no GPU models on offer; list at least one, e.g. gpus: {T4: {costPerNode: 0.35, maxNodes: 4}}`,
    ],
    [
      "a GPU model is unknown",
      withGpus({ T5: T4 }),
      `gpus.T5: "T5" is not a GPU model gpushare knows; use one of A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB, T4, L4, A10, A40, L40S, V100-16GB, V100-32GB`,
    ],
    [
      "gpusPerNode is out of range",
      withGpus({ T4: { ...T4, gpusPerNode: 17 } }),
      `gpus.T4.gpusPerNode: 17 is not allowed; use a whole number from 1 to 16`,
    ],
    [
      "costPerNode is not positive",
      withGpus({ T4: { ...T4, costPerNode: 0 } }),
      `gpus.T4.costPerNode: 0 is not allowed; use a number > 0, the price of one node in the same unit for every GPU (e.g. per hour)`,
    ],
    [
      "costPerNode is not a number",
      withGpus({ T4: { ...T4, costPerNode: "0.55" } }),
      `gpus.T4.costPerNode: "0.55" is not allowed (Invalid input: expected number, received string); set gpus.T4.costPerNode in the workloads file to a valid value`,
    ],
    [
      "maxNodes is not a whole number",
      withGpus({ T4: { ...T4, maxNodes: 1.5 } }),
      `gpus.T4.maxNodes: 1.5 is not allowed; use a whole number ≥ 1`,
    ],
    [
      "maxNodes is missing",
      withGpus({ T4: { costPerNode: 1 } }),
      `gpus.T4.maxNodes: missing (Invalid input: expected number, received undefined); set it in the workloads file`,
    ],
    [
      "no server is listed",
      { gpus: { T4 }, servers: {} },
      `servers: nothing to plan; list at least one server with modelMemoryGiB, maxReplicas and isolation`,
    ],
    [
      "a server name is not a DNS label",
      withServer(SERVER, "Dense_Net"),
      `servers: "Dense_Net" is not a DNS-1123 label; use lowercase letters, digits and "-", at most 63 characters`,
    ],
    [
      "the model memory is not positive",
      withServer({ ...SERVER, modelMemoryGiB: 0 }),
      `servers.densenet.modelMemoryGiB: 0 is not allowed (Too small: expected number to be >0); set servers.densenet.modelMemoryGiB in the workloads file to a valid value`,
    ],
    [
      "the isolation is unknown",
      withServer({ ...SERVER, isolation: "none" }),
      `servers.densenet.isolation: "none" is not allowed (Invalid option: expected one of "shared"|"memory"|"full"); set servers.densenet.isolation in the workloads file to a valid value`,
    ],
    [
      "the isolation is missing",
      withServer({ modelMemoryGiB: 1, maxReplicas: 1 }),
      `servers.densenet.isolation: missing (Invalid option: expected one of "shared"|"memory"|"full"); set it in the workloads file`,
    ],
    [
      "maxReplicas is zero",
      withServer({ ...SERVER, maxReplicas: 0 }),
      `servers.densenet.maxReplicas: 0 is not allowed; use a whole number ≥ 1`,
    ],
    [
      "minReplicas is zero",
      withServer({ ...SERVER, minReplicas: 0 }),
      `servers.densenet.minReplicas: 0 is not allowed; use a whole number ≥ 1`,
    ],
    [
      "minReplicas exceeds maxReplicas",
      withServer({ ...SERVER, minReplicas: 5, maxReplicas: 4 }),
      `servers.densenet: minReplicas 5 is greater than maxReplicas 4; raise maxReplicas or lower minReplicas`,
    ],
    // The stack validation's rules, in the workloads file's paths.
    [
      "an overhead is negative",
      withServer({ ...SERVER, overheadGiB: -1 }),
      "servers.densenet.overheadGiB: -1 is not allowed; use a number from 0 to 64 (GiB each replica process takes besides its model), or remove it for its GPU's default (0.49 GiB on a T4, 0.84 GiB on an H100)",
    ],
    [
      "the pod limit is not a count",
      { ...(withServer(SERVER) as object), maxPodsPerNode: 1001 },
      "maxPodsPerNode: 1001 is not allowed; use a whole number from 1 to 1000 (the kubelet's --max-pods on the GPU nodes; its default is 110)",
    ],
    [
      "the system pods take every pod",
      { ...(withServer(SERVER) as object), maxPodsPerNode: 20, systemPodsPerNode: 20 },
      "systemPodsPerNode: 20 is not allowed; use a whole number from 0 to 19 (pods each GPU node runs besides the servers', fewer than maxPodsPerNode)",
    ],
  ])("fails when %s", (_, input, message) => {
    expect(problemsOf(input)).toEqual([message]);
  });

  it("fails with every problem at once, naming the file's paths", () => {
    const problems = problemsOf({
      gpus: { T5: { costPerNode: -1, maxNodes: 0 } },
      servers: { a: { modelMemoryGiB: 1, maxReplicas: 2, minReplicas: 3, isolation: "full" } },
    });
    expect(problems).toEqual([
      `gpus.T5: "T5" is not a GPU model gpushare knows; use one of A100-SXM4-40GB, A100-80GB, H100-80GB, H200-141GB, A30-24GB, T4, L4, A10, A40, L40S, V100-16GB, V100-32GB`,
      `gpus.T5.costPerNode: -1 is not allowed; use a number > 0, the price of one node in the same unit for every GPU (e.g. per hour)`,
      `gpus.T5.maxNodes: 0 is not allowed; use a whole number ≥ 1`,
      `servers.a: minReplicas 3 is greater than maxReplicas 2; raise maxReplicas or lower minReplicas`,
    ]);
    expect(() => parseWorkloads({ gpus: { T5: T4 }, servers: { a: SERVER } })).toThrow(
      /^gpushare workloads file has 1 problem:\n {2}- gpus\.T5: "T5" is not a GPU model/,
    );
  });
});

describe("servers planned on requests", () => {
  const gpus = { "H200-141GB": { costPerNode: 10, maxNodes: 4 } };
  it("fails when a server with slo has no curves", () => {
    expect(() =>
      parseWorkloads({
        gpus,
        servers: { resnet: { modelMemoryGiB: 0.2, isolation: "shared", slo: { requestsPerSecond: 100, p99Ms: 10 } } },
      }),
    ).toThrow(
      "servers.resnet.curves: missing; a server with slo needs the sharing curve of each GPU (and MIG profile, and sharing mode) it may run on",
    );
  });

  it("fails when a server sets both slo and maxReplicas", () => {
    expect(() =>
      parseWorkloads({
        gpus,
        servers: {
          resnet: {
            modelMemoryGiB: 0.2,
            isolation: "shared",
            maxReplicas: 4,
            slo: { requestsPerSecond: 100, p99Ms: 10 },
            curves: [H200_RESNET50_BATCH1.mps],
          },
        },
      }),
    ).toThrow(
      "servers.resnet.maxReplicas: 4 is set with slo; a server planned on requests gets its max replicas from the plan",
    );
  });

  it("keeps the objective and the curves of a server planned on requests", () => {
    const w = parseWorkloads({
      gpus,
      servers: {
        resnet: {
          modelMemoryGiB: 0.2,
          isolation: "shared",
          slo: { requestsPerSecond: 100, p99Ms: 10 },
          curves: [H200_RESNET50_BATCH1.mps],
        },
      },
    });
    expect(w.servers[0].maxReplicas).toBeUndefined();
    expect(w.servers[0].serving?.slo).toEqual({ requestsPerSecond: 100, p99Ms: 10 });
  });
});
