import type * as pulumi from "@pulumi/pulumi";
import { loadStackConfig } from "./config/load";
import type { ServerEndpoint } from "./platform";
import { GpuInferencePlatform, PLATFORM_NAME } from "./platform";
import { readPreviousDeployment } from "./previous";
import type { PoolCapacityRow } from "./capacity-table";
import type { SharingState } from "../components/k8s/gpu-operator-sharing-state";

export interface ProgramOptions {
  /**
   * An offline render (`scripts/render.ts`): it creates nothing, so it needs no cloud credentials, and it has no
   * deployment behind it to read back.
   * @default false - a run of the engine: credentials are checked and the previous deployment's outputs are read.
   */
  readonly render?: boolean;
}

/** What a stack exports. */
export interface ProgramOutputs {
  /** null, not undefined, where a stack has none (existing cluster): Pulumi warns on undefined. */
  readonly kubeconfig: pulumi.Output<string> | null;
  readonly servers: Record<string, ServerEndpoint>;
  readonly capacity: PoolCapacityRow[];
  /** null where monitoring is installed already. */
  readonly grafanaAdminPassword: pulumi.Output<string> | null;
  /**
   * Read back by the next deployment (components/k8s/gpu-operator-sharing-state.ts, versioned): keep these configs while labels
   * move, compare capacity.
   */
  readonly sharing: SharingState;
}

/**
 * The program of the stack the runtime is set up for: load its config, build the platform, return its outputs.
 * A function rather than module-level code so that one process can run it once per stack (`render` of one stack
 * after another); `index.ts` calls it once and exports what it returns.
 */
export function gpushareProgram(options: ProgramOptions = {}): ProgramOutputs {
  const rendering = options.render ?? false;
  const loaded = loadStackConfig(!rendering);
  const platform = new GpuInferencePlatform(PLATFORM_NAME, {
    config: loaded.config,
    ...(rendering ? {} : { previous: readPreviousDeployment() }),
    ...(loaded.kubeconfig === undefined ? {} : { kubeconfig: loaded.kubeconfig }),
  });
  return {
    kubeconfig: platform.kubeconfig ?? null,
    servers: platform.servers,
    capacity: platform.capacity,
    grafanaAdminPassword: platform.grafanaAdminPassword ?? null,
    sharing: platform.sharing,
  };
}
