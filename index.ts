import { loadStackConfig } from "./stacks/load";
import { GpuInferencePlatform } from "./stacks/platform";

// The offline render (scripts/render.ts) creates nothing and so needs no cloud credentials.
const loaded = loadStackConfig(process.env.GPUSHARE_RENDER !== "1");
const platform = new GpuInferencePlatform("gpushare", {
  config: loaded.config,
  ...(loaded.kubeconfig === undefined ? {} : { kubeconfig: loaded.kubeconfig }),
});

// null, not undefined, where a stack has none (existing cluster, installed monitoring): Pulumi warns on undefined.
export const kubeconfig = platform.kubeconfig ?? null;
export const servers = platform.servers;
export const capacity = platform.capacity;
export const grafanaAdminPassword = platform.grafanaAdminPassword ?? null;
