import { loadStackConfig } from "./stacks/load";
import { GpuInferencePlatform, PLATFORM_NAME } from "./stacks/platform";
import { readPreviousDeployment } from "./stacks/previous";

// The offline render (scripts/render.ts) creates nothing and so needs no cloud credentials.
const rendering = process.env.GPUSHARE_RENDER === "1";
const loaded = loadStackConfig(!rendering);
const platform = new GpuInferencePlatform(PLATFORM_NAME, {
  config: loaded.config,
  // A render has no deployment behind it.
  ...(rendering ? {} : { previous: readPreviousDeployment() }),
  ...(loaded.kubeconfig === undefined ? {} : { kubeconfig: loaded.kubeconfig }),
});

// null, not undefined, where a stack has none (existing cluster, installed monitoring): Pulumi warns on undefined.
export const kubeconfig = platform.kubeconfig ?? null;
export const servers = platform.servers;
export const capacity = platform.capacity;
export const grafanaAdminPassword = platform.grafanaAdminPassword ?? null;
// Read back by the next deployment (components/k8s/sharing-state.ts, versioned): keep these configs while labels
// move, compare capacity.
export const sharing = platform.sharing;
