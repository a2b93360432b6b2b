import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { describe, expect, it, vi } from "vitest";
import { configuredPools } from "../../components/k8s/gpu-operator-values";
import { sharingState } from "../../components/k8s/gpu-operator-sharing-state";
import { MONITORING_RELEASE_NAME } from "../../components/k8s/monitoring-values";
import type { RecordedResource } from "../../scripts/mock-runtime";
import { gpuOperatorSettings } from "../../stacks/args";
import { capacityTable } from "../../stacks/capacity-table";
import { parseStackConfig, type StackConfig } from "../../stacks/config/parse";
import { GpuInferencePlatform } from "../../stacks/platform";
import {
  helmValues,
  isSecretInput,
  minimalConfig,
  ofType,
  one,
  resolve,
  reveal,
  runProgram,
  stackFileConfig,
} from "../helpers";

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

describe("an update after a previous deployment", () => {
  const CONFIG_MAP = "kubernetes:core/v1:ConfigMap";
  const withT4 = (replicas: number): StackConfig =>
    parseStackConfig(
      minimalConfig({
        gpuPools: { t4: { gpu: "T4", nodes: { min: 1, max: 1 }, timeSlicing: { replicas } } },
        servers: { triton: { pool: "t4", replicas: 1, autoscaling: { minReplicas: 1, maxReplicas: replicas } } },
      }),
    );

  it("keeps the previous device-plugin key beside the new one and warns what capacity does", async () => {
    const before = withT4(14);
    const after = withT4(7);
    const warnings: string[] = [];
    const spy = vi.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => {
      warnings.push(message);
    });
    try {
      const resources = await runProgram(
        () =>
          new GpuInferencePlatform("gpushare", {
            config: after,
            previous: {
              sharing: sharingState(configuredPools(gpuOperatorSettings(before))),
              capacity: capacityTable(before),
            },
          }),
      );
      const data = one(resources, CONFIG_MAP, "gpushare-gpu-operator-device-plugin-configs").inputs.data as Record<
        string,
        string
      >;
      // t4-<first 8 hex digits of the SHA-256 of its config>: 14 replicas before, 7 after.
      expect(Object.keys(data).sort()).toEqual(["default", "t4-5c3fa4b5", "t4-5ca2c501"]);
    } finally {
      spy.mockRestore();
    }
    const warning = warnings.find((w) => w.startsWith("GPU sharing changes with this update:"));
    expect(warning?.split("\n")).toEqual([
      "GPU sharing changes with this update:",
      "Advertised capacity at max nodes:",
      "  POOL  RESOURCE        BEFORE  AFTER",
      "  t4    nvidia.com/gpu  14      7 (-7)",
      "Servers at max replicas:",
      "  SERVER  RESOURCE        MAX REPLICAS  FITS BEFORE  FITS AFTER",
      "  triton  nvidia.com/gpu  7             yes          yes",
    ]);
  });

  it("updates the GPU operator's ConfigMaps in place, through a provider with mutable ConfigMaps", async () => {
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config: withT4(7) }));
    const providers = ofType(resources, "pulumi:providers:kubernetes");
    // The GPU operator builds it from the platform's connection; it answers to the URN it had when the platform
    // created it, so existing stacks keep it and their ConfigMaps.
    const mutable = providers.find((p) => p.name === "gpushare-gpu-operator-configmaps");
    const main = providers.find((p) => p.name === "gpushare-k8s");
    expect(mutable?.parent).toMatch(/gpushare:k8s:GpuOperator::gpushare-gpu-operator$/);
    expect(mutable?.aliases).toContain(
      "urn:pulumi:test::gpushare::gpushare:stack:GpuInferencePlatform$pulumi:providers:kubernetes::gpushare-k8s-node-configs",
    );
    expect(mutable?.inputs).toMatchObject({ enableConfigMapMutable: "true", enableServerSideApply: "true" });
    expect(main?.inputs.enableConfigMapMutable).toBeUndefined();
    for (const name of ["gpushare-gpu-operator-device-plugin-configs", "gpushare-gpu-operator-mig-configs"]) {
      expect(one(resources, CONFIG_MAP, name).provider).toMatch(/::gpushare-gpu-operator-configmaps::/);
    }
    // Every other object keeps the main provider (ConfigMaps the charts read are replaced to roll them out).
    const others = ofType(resources, CONFIG_MAP).filter((r) => !r.name.startsWith("gpushare-gpu-operator-"));
    for (const r of others) expect(r.provider ?? "").not.toMatch(/configmaps/);
  });

  it("says nothing and keeps nothing on a first deployment", async () => {
    const warnings: string[] = [];
    const spy = vi.spyOn(pulumi.log, "warn").mockImplementation(async (message: string) => {
      warnings.push(message);
    });
    try {
      const resources = await runProgram(
        () => new GpuInferencePlatform("gpushare", { config: withT4(7), previous: {} }),
      );
      const data = one(resources, CONFIG_MAP, "gpushare-gpu-operator-device-plugin-configs").inputs.data as object;
      expect(Object.keys(data)).toHaveLength(2);
    } finally {
      spy.mockRestore();
    }
    expect(warnings.filter((w) => w.startsWith("GPU sharing"))).toEqual([]);
  });
});

describe("the platform component", () => {
  it("exposes the provider of its cluster for resources of one's own", async () => {
    let platform: GpuInferencePlatform | undefined;
    const resources = await runProgram(() => {
      platform = new GpuInferencePlatform("gpushare", { config: stackFileConfig("staging") });
      new k8s.core.v1.ConfigMap("mine", { data: { a: "b" } }, { provider: platform.provider });
    });
    if (platform === undefined) throw new Error("no platform");
    expect(platform.provider).toBeInstanceOf(k8s.Provider);
    const main = ofType(resources, "pulumi:providers:kubernetes").find((p) => p.name === "gpushare-k8s");
    if (main === undefined) throw new Error("no provider gpushare-k8s");
    expect(await resolve(platform.provider.urn)).toBe(main.urn);
    // A provider reference is `<provider URN>::<provider id>`; the id is unknown in a preview.
    expect(one(resources, "kubernetes:core/v1:ConfigMap", "mine").provider?.split("::").slice(0, -1).join("::")).toBe(
      main.urn,
    );
  });

  it("records the validated stack config and the kubeconfig, kept secret, as its inputs", async () => {
    const config = stackFileConfig("staging");
    const resources = await runProgram(
      () => new GpuInferencePlatform("gpushare", { config, kubeconfig: pulumi.secret("apiVersion: v1\n") }),
    );
    const inputs = one(resources, "gpushare:stack:GpuInferencePlatform").inputs;
    expect(Object.keys(inputs).sort()).toEqual(["config", "kubeconfig"]);
    expect(inputs.config).toEqual(JSON.parse(JSON.stringify(config.raw)));
    expect(isSecretInput(inputs.kubeconfig)).toBe(true);
    expect(reveal(inputs.kubeconfig)).toBe("apiVersion: v1\n");
  });

  it("keeps every component's kubeconfig-free inputs plain, and the providers' kubeconfig secret", async () => {
    const resources = await runProgram(() => new GpuInferencePlatform("gpushare", { config: stackFileConfig("prod") }));
    for (const provider of ofType(resources, "pulumi:providers:kubernetes")) {
      expect({ provider: provider.name, secret: isSecretInput(provider.inputs.kubeconfig) }).toEqual({
        provider: provider.name,
        secret: true,
      });
    }
    const components = resources.filter((r) => !r.custom && r.type.startsWith("gpushare:"));
    expect(components.map((c) => c.type).sort()).toEqual([
      "gpushare:cloud:ModelShare",
      "gpushare:cloud:OpenStackCluster",
      "gpushare:k8s:GpuOperator",
      "gpushare:k8s:MetricsAdapter",
      "gpushare:k8s:ModelStore",
      "gpushare:k8s:Monitoring",
      "gpushare:k8s:TritonServer",
      "gpushare:k8s:TritonServer",
      "gpushare:stack:GpuInferencePlatform",
    ]);
    for (const c of components) expect(Object.keys(c.inputs).length).toBeGreaterThan(0);
  });
});
