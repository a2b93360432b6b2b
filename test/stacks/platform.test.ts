import { describe, expect, it } from "vitest";
import { MONITORING_RELEASE_NAME } from "../../components/k8s/monitoring-values";
import type { RecordedResource } from "../../scripts/mock-runtime";
import { parseStackConfig, type StackConfig } from "../../stacks/config";
import { GpuInferencePlatform } from "../../stacks/platform";
import { helmValues, minimalConfig, ofType, runProgram, stackFileConfig } from "../helpers";

const POD_MONITOR = "kubernetes:monitoring.coreos.com/v1:PodMonitor";

async function renderPlatform(config: StackConfig, stack = "test"): Promise<RecordedResource[]> {
  return runProgram(() => new GpuInferencePlatform("gpushare", { config }), stack);
}

/** The labels the GPU operator chart puts on the DCGM exporter's ServiceMonitor. */
function dcgmServiceMonitorLabels(resources: readonly RecordedResource[]): unknown {
  const values = helmValues(resources, "gpu-operator") as {
    dcgmExporter: { serviceMonitor: { additionalLabels?: unknown } };
  };
  return values.dcgmExporter.serviceMonitor.additionalLabels;
}

describe("the platform's monitors", () => {
  it("labels the DCGM ServiceMonitor of the prod stack for the Prometheus gpushare installs", async () => {
    const resources = await renderPlatform(stackFileConfig("prod"), "prod");
    expect(dcgmServiceMonitorLabels(resources)).toEqual({ release: MONITORING_RELEASE_NAME });
    const podMonitors = ofType(resources, POD_MONITOR);
    expect(podMonitors.length).toBeGreaterThan(0);
    for (const monitor of podMonitors) {
      expect((monitor.inputs.metadata as { labels: Record<string, string> }).labels).toMatchObject({
        release: MONITORING_RELEASE_NAME,
      });
    }
  });

  it("labels the DCGM ServiceMonitor for an installed Prometheus with its monitorLabels", async () => {
    const config = parseStackConfig(
      minimalConfig({
        monitoring: {
          installed: true,
          prometheusUrl: "http://prometheus-operated.observability.svc:9090",
          monitorLabels: { prometheus: "main" },
        },
      }),
    );
    expect(dcgmServiceMonitorLabels(await renderPlatform(config))).toEqual({ prometheus: "main" });
  });
});
