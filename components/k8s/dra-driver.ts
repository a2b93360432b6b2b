import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { inputPropertyErrors } from "../../problems";
import { DEFAULT_DRA_DRIVER_CHART, DEFAULT_DRA_DRIVER_CHART_VERSION, DEFAULT_DRA_DRIVER_NAMESPACE } from "../defaults";
import { type DraDriverSettings, draDriverValues, OWNED_DRA_DRIVER_VALUES } from "./dra-driver-values";
import { ownedValuesSet } from "./helm-values";

export const DRA_DRIVER_RELEASE_NAME = "dra-driver-nvidia-gpu";
export const DEFAULT_DRA_DRIVER_TIMEOUT_SECONDS = 600;

export interface DraDriverArgs extends DraDriverSettings {
  /**
   * The driver is already installed: gpushare creates nothing for it. Its kubelet plugin must then select the nodes
   * labelled `gpushare.io/gpu-allocation=dra` and run with the gates and consumable shares the stack's DRA pools
   * need (`npm run render` prints them as this component's values).
   * @default false
   */
  readonly installed?: boolean;
  /** @default "dra-driver-nvidia-gpu" */
  readonly namespace?: string;
  /**
   * The chart: an OCI reference, or a chart name in a Helm repository mirror given as `repository`.
   * @default "oci://registry.k8s.io/dra-driver-nvidia/charts/dra-driver-nvidia-gpu"
   */
  readonly chart?: string;
  /** A Helm repository to take `chart` from; unset for an OCI reference. */
  readonly repository?: string;
  /** @default "0.5.0" */
  readonly chartVersion?: string;
}

/**
 * NVIDIA's DRA driver for GPUs, beside the GPU operator: its Helm release in a namespace of its own, with GPU
 * allocation on, ComputeDomains off and its kubelet plugin kept to the DRA pools' nodes (docs/dra.md, "How the
 * driver and the operator coexist"). A change of its gates or consumable shares changes the plugin's environment,
 * so the DaemonSet restarts its pods, and they publish their devices afresh.
 */
export class DraDriver extends pulumi.ComponentResource {
  /** The driver's namespace; resolves once it exists (when gpushare creates it). */
  public readonly namespace: pulumi.Output<string>;
  /** The values the release is (or, installed, should have been) given. */
  public readonly values: Record<string, unknown>;

  constructor(name: string, args: DraDriverArgs, opts?: pulumi.ComponentResourceOptions) {
    // Before super(): bad arguments register nothing, not even the component.
    const owned = ownedValuesSet(args.values ?? {}, OWNED_DRA_DRIVER_VALUES, "values");
    if (owned.length > 0) {
      throw new pulumi.InputPropertiesError({
        message: `DraDriver ${name}: values sets values the component owns`,
        errors: inputPropertyErrors(owned),
      });
    }
    super("gpushare:k8s:DraDriver", name, {}, opts);
    this.values = draDriverValues(args);
    const namespaceName = args.namespace ?? DEFAULT_DRA_DRIVER_NAMESPACE;
    if (args.installed ?? false) {
      this.namespace = pulumi.output(namespaceName);
    } else {
      this.namespace = this.release(name, args, namespaceName);
    }
    this.registerOutputs({ namespace: this.namespace });
  }

  private release(name: string, args: DraDriverArgs, namespaceName: string): pulumi.Output<string> {
    const ns = new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          name: namespaceName,
          // The kubelet plugin is privileged; the driver's chart asks for this label where Pod Security Admission
          // is enforced.
          labels: { "pod-security.kubernetes.io/enforce": "privileged" },
        },
      },
      { parent: this },
    );
    new k8s.helm.v3.Release(
      `${name}-release`,
      {
        name: DRA_DRIVER_RELEASE_NAME,
        chart: args.chart ?? DEFAULT_DRA_DRIVER_CHART,
        version: args.chartVersion ?? DEFAULT_DRA_DRIVER_CHART_VERSION,
        ...(args.repository === undefined ? {} : { repositoryOpts: { repo: args.repository } }),
        namespace: ns.metadata.name,
        createNamespace: false,
        values: this.values,
        // A failed install must fail `pulumi up`; the servers' claims need the DeviceClasses it creates.
        skipAwait: false,
        timeout: DEFAULT_DRA_DRIVER_TIMEOUT_SECONDS,
      },
      // The release name is fixed: a replacement must remove the old release first.
      { parent: this, deleteBeforeReplace: true },
    );
    return ns.metadata.name;
  }
}
