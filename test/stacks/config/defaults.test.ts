import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_PODS_PER_NODE, DEFAULT_SYSTEM_PODS_PER_NODE } from "../../../gpu/capacity";
import { DEFAULT_KNEE_FRACTION } from "../../../gpu/sharing-curve";
import {
  DEFAULT_CLUSTER_CREATE_TIMEOUT_MINUTES,
  DEFAULT_CUSTOM_METRIC_NAME,
  DEFAULT_DCGM_SERVICE_MONITOR,
  DEFAULT_DRA_DRIVER_CHART_VERSION,
  DEFAULT_DRA_DRIVER_NAMESPACE,
  DEFAULT_GPU_DRIVER_ENABLED,
  DEFAULT_GPU_OPERATOR_CHART_VERSION,
  DEFAULT_GPU_OPERATOR_NAMESPACE,
  DEFAULT_INFERENCE_NAMESPACE,
  DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION,
  DEFAULT_MASTER_COUNT,
  DEFAULT_METRIC_WINDOW,
  DEFAULT_MIN_REPLICAS,
  DEFAULT_MONITORING_NAMESPACE,
  DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION,
  DEFAULT_REBOOT_ON_MIG_CHANGE,
  DEFAULT_SCALE_DOWN_PERIOD_SECONDS,
  DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS,
  DEFAULT_TARGET_QUEUE_TIME_US,
  DEFAULT_TRITON_CPU,
  DEFAULT_TRITON_IMAGE,
  DEFAULT_TRITON_MEMORY,
  DEFAULT_TRITON_REPLICAS,
  DEFAULT_TRITON_SERVICE_TYPE,
  DEFAULT_WORKER_COUNT,
} from "../../../stacks/config/defaults";
import { PROJECT_DIR } from "../../support/config";

/**
 * The README's config reference, as `Key → Default` per table row: the first and last cell of every table row
 * between "## Config reference" and the next section of that level.
 */
function configReferenceDefaults(): Map<string, string> {
  const readme = fs.readFileSync(path.join(PROJECT_DIR, "README.md"), "utf8");
  const start = readme.indexOf("\n## Config reference\n");
  const end = readme.indexOf("\n## ", start + 1);
  const rows = new Map<string, string>();
  for (const line of readme.slice(start, end).split("\n")) {
    if (!line.startsWith("| ") || line.startsWith("| Key ")) continue;
    const cells = line.split(" | ");
    rows.set(cells[0].slice(2), cells[cells.length - 1].replace(/ \|$/, ""));
  }
  return rows;
}

const rows = configReferenceDefaults();

describe("the README's config reference", () => {
  it("has the tables to check", () => {
    expect(rows.size).toBeGreaterThan(30);
  });

  // Each default is a named constant that the schema and the components both apply; the README must say the same.
  it.each([
    ["`maxPodsPerNode` / `systemPodsPerNode`", `${DEFAULT_MAX_PODS_PER_NODE} / ${DEFAULT_SYSTEM_PODS_PER_NODE}`],
    ["`openstack.masterCount` / `workerCount`", `${DEFAULT_MASTER_COUNT} / ${DEFAULT_WORKER_COUNT}`],
    ["`openstack.createTimeoutMinutes`", `${DEFAULT_CLUSTER_CREATE_TIMEOUT_MINUTES}`],
    ["`image`", `\`${DEFAULT_TRITON_IMAGE}\``],
    ["`replicas`", `${DEFAULT_TRITON_REPLICAS}`],
    [
      "`autoscaling.minReplicas` / `maxReplicas` / `targetAverageValue`",
      `${DEFAULT_MIN_REPLICAS} / the knee with a \`sharingCurve\`, required without / ${DEFAULT_TARGET_QUEUE_TIME_US}`,
    ],
    [
      "`autoscaling.scaleDown.stabilizationWindowSeconds` / `periodSeconds`",
      `${DEFAULT_SCALE_DOWN_STABILIZATION_SECONDS} / ${DEFAULT_SCALE_DOWN_PERIOD_SECONDS}`,
    ],
    ["`resources.cpu` / `resources.memory`", `\`${DEFAULT_TRITON_CPU}\` / \`${DEFAULT_TRITON_MEMORY}\``],
    ["`service.type` / `annotations` / `exposeMetrics`", `\`${DEFAULT_TRITON_SERVICE_TYPE}\` / \`{}\` / false`],
    ["`gpushare:inference.namespace`", `\`${DEFAULT_INFERENCE_NAMESPACE}\``],
    [
      "`gpushare:gpuOperator`",
      `not installed, \`${DEFAULT_GPU_OPERATOR_NAMESPACE}\`, \`${DEFAULT_GPU_OPERATOR_CHART_VERSION}\`, NVIDIA's repository, ` +
        `${DEFAULT_GPU_DRIVER_ENABLED}, ${DEFAULT_REBOOT_ON_MIG_CHANGE}, ${DEFAULT_DCGM_SERVICE_MONITOR}, \`{}\``,
    ],
    [
      "`gpushare:draDriver`",
      `not installed, \`${DEFAULT_DRA_DRIVER_NAMESPACE}\`, the driver project's OCI chart, none, \`${DEFAULT_DRA_DRIVER_CHART_VERSION}\`, \`{}\``,
    ],
    [
      "`gpushare:monitoring`",
      `not installed, \`${DEFAULT_MONITORING_NAMESPACE}\`, \`${DEFAULT_KUBE_PROMETHEUS_STACK_CHART_VERSION}\``,
    ],
    [
      "`gpushare:metricsAdapter`",
      `not installed, \`${DEFAULT_MONITORING_NAMESPACE}\`, \`${DEFAULT_PROMETHEUS_ADAPTER_CHART_VERSION}\`, ` +
        `\`${DEFAULT_CUSTOM_METRIC_NAME}\`, \`${DEFAULT_METRIC_WINDOW}\``,
    ],
    ["`gpushare:validation.kneeFraction`", `${DEFAULT_KNEE_FRACTION}`],
  ])("gives %s the default its constant names", (key, expected) => {
    expect(rows.get(key)).toBe(expected);
  });
});
