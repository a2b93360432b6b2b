import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_MIN_REPLICAS, DEFAULT_TARGET_QUEUE_TIME_US, DEFAULT_TRITON_SERVICE_TYPE } from "../defaults";
import {
  initialReplicas,
  SCRAPE_INTERVAL_SECONDS,
  STARTUP_PROBE_FAILURE_THRESHOLD,
  STARTUP_PROBE_PERIOD_SECONDS,
  toQuantity,
  TRITON_PORTS,
  tritonHpaBehavior,
  tritonPodLabels,
  tritonDeviceClaim,
  tritonPodResourceClaim,
  tritonPodSpec,
  tritonRolloutStrategy,
  tritonSelectorLabels,
  tritonEndpoint,
  tritonServicePorts,
  tritonServiceProblems,
  type TritonServerSpec,
} from "./triton-server-spec";

/** The server (`TritonServerSpec`: what it serves, where, how many) and the objects it runs with. */
export interface TritonServerArgs extends TritonServerSpec {
  /** Namespace of every object of the server; the model store's, where its claim lives. */
  readonly namespace: pulumi.Input<string>;
  /** The model repository's PersistentVolumeClaim, mounted read-only at `/models`. */
  readonly claimName: pulumi.Input<string>;
  /**
   * Labels the PodMonitor needs for Prometheus to select it (e.g. kube-prometheus-stack's `release`); they win
   * over the server's own labels on a clash.
   * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.PrometheusSpec
   */
  readonly monitorLabels: Record<string, string>;
  /** The custom metric (served by the metrics adapter) the HPA scales on, averaged per pod. */
  readonly metricName: string;
}

/**
 * One Triton Inference Server: a Deployment of pods that each take exactly one device of the server's resource in
 * its pool, a Service (LoadBalancer by default) for HTTP and gRPC, a PodDisruptionBudget, a PodMonitor for the
 * pool's Prometheus and, with autoscaling, an HPA on the custom metric.
 *
 * Object names are `serverName`: it is the Service's DNS name in `endpoint`, and it is what people type in
 * `kubectl`.
 */
export class TritonServer extends pulumi.ComponentResource {
  /** `http://<load balancer address>:8000` once the load balancer has one; the in-cluster URL otherwise. */
  public readonly endpoint: pulumi.Output<string>;
  /** `http://<service>.<namespace>.svc.cluster.local:8000`. */
  public readonly clusterEndpoint: pulumi.Output<string>;
  public readonly deploymentName: pulumi.Output<string>;
  public readonly serviceName: pulumi.Output<string>;

  constructor(name: string, args: TritonServerArgs, opts?: pulumi.ComponentResourceOptions) {
    throwOnBadService(name, args);
    super("gpushare:k8s:TritonServer", name, args, opts);
    const serviceType = args.service?.type ?? DEFAULT_TRITON_SERVICE_TYPE;
    const selector = tritonSelectorLabels(args);
    const labels = { ...tritonPodLabels(args), "app.kubernetes.io/part-of": "gpushare" };
    const metadata: ServerMetadata = { name: args.serverName, namespace: args.namespace, labels };

    const deployment = this.deployment(name, args, metadata, selector, this.deviceClaim(name, args, metadata));
    const svc = new k8s.core.v1.Service(
      `${name}-service`,
      {
        metadata: { ...metadata, annotations: { ...(args.service?.annotations ?? {}) } },
        spec: { type: serviceType, selector, ports: tritonServicePorts(args.service?.exposeMetrics ?? false) },
      },
      { parent: this },
    );
    this.disruptionBudget(name, metadata, selector);
    this.podMonitor(name, args, metadata, selector);
    if (args.autoscaling !== undefined) this.autoscaler(name, args, args.autoscaling, metadata, deployment);

    this.deploymentName = deployment.metadata.name;
    this.serviceName = svc.metadata.name;
    this.clusterEndpoint = pulumi.interpolate`http://${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local:${TRITON_PORTS.http}`;
    this.endpoint = pulumi
      .all([svc.status, this.clusterEndpoint])
      .apply(([status, inCluster]) => tritonEndpoint(serviceType, status?.loadBalancer?.ingress?.[0], inCluster));

    this.registerOutputs({
      endpoint: this.endpoint,
      clusterEndpoint: this.clusterEndpoint,
      deploymentName: this.deploymentName,
      serviceName: this.serviceName,
    });
  }

  /** On a DRA pool, the claim (or the template of one claim per pod) that brings each pod its device. */
  private deviceClaim(
    name: string,
    args: TritonServerArgs,
    metadata: ServerMetadata,
  ): k8s.types.input.core.v1.PodResourceClaim | undefined {
    const claim = tritonDeviceClaim(args);
    if (claim === undefined) return undefined;
    const resource = new k8s.apiextensions.CustomResource(
      `${name}-claim`,
      { apiVersion: claim.apiVersion, kind: claim.kind, metadata: { ...metadata, name: claim.name }, spec: claim.spec },
      { parent: this },
    );
    return tritonPodResourceClaim(claim.mode, resource.metadata.name);
  }

  private deployment(
    name: string,
    args: TritonServerArgs,
    metadata: ServerMetadata,
    selector: Record<string, string>,
    deviceClaim: k8s.types.input.core.v1.PodResourceClaim | undefined,
  ): k8s.apps.v1.Deployment {
    return new k8s.apps.v1.Deployment(
      `${name}-deployment`,
      {
        metadata,
        spec: {
          replicas: initialReplicas(args),
          selector: { matchLabels: selector },
          strategy: tritonRolloutStrategy(args),
          // Past the startup probe's budget plus a few minutes to schedule and pull the image.
          progressDeadlineSeconds: STARTUP_PROBE_PERIOD_SECONDS * STARTUP_PROBE_FAILURE_THRESHOLD + 300,
          template: {
            metadata: { labels: tritonPodLabels(args) },
            spec: tritonPodSpec(args, args.claimName, deviceClaim),
          },
        },
      },
      {
        parent: this,
        customTimeouts: { create: "20m", update: "20m" },
        // With an HPA the replica count is the HPA's. The Deployment is created at the HPA's floor; afterwards
        // Pulumi keeps its recorded value, and once the HPA has scaled (through the scale subresource, as field
        // manager kube-controller-manager) the provider leaves the field out of its server-side apply, so neither
        // conflicts nor resets it. Leaving `replicas` out altogether would reset it to 1 when a fixed-size server
        // becomes autoscaled: server-side apply defaults a field that no manager owns any more.
        ...(args.autoscaling === undefined ? {} : { ignoreChanges: ["spec.replicas"] }),
      },
    );
  }

  /**
   * One pod at a time, always: `minAvailable` on a 1-replica server would block every node drain, including
   * those the GPU operator needs to change MIG layouts and drivers.
   */
  private disruptionBudget(name: string, metadata: ServerMetadata, selector: Record<string, string>): void {
    new k8s.policy.v1.PodDisruptionBudget(
      `${name}-pdb`,
      {
        metadata,
        spec: {
          maxUnavailable: 1,
          selector: { matchLabels: selector },
          // A pod that is not ready serves nothing; let drains evict it rather than wait for it.
          unhealthyPodEvictionPolicy: "AlwaysAllow",
        },
      },
      { parent: this },
    );
  }

  private podMonitor(
    name: string,
    args: TritonServerArgs,
    metadata: ServerMetadata,
    selector: Record<string, string>,
  ): void {
    new k8s.apiextensions.CustomResource(
      `${name}-podmonitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { ...metadata, labels: { ...metadata.labels, ...args.monitorLabels } },
        spec: {
          selector: { matchLabels: selector },
          podMetricsEndpoints: [{ port: "metrics", path: "/metrics", interval: `${SCRAPE_INTERVAL_SECONDS}s` }],
        },
      },
      { parent: this },
    );
  }

  /** The HPA: the pods' average of the custom metric against its target. */
  private autoscaler(
    name: string,
    args: TritonServerArgs,
    auto: NonNullable<TritonServerArgs["autoscaling"]>,
    metadata: ServerMetadata,
    deployment: k8s.apps.v1.Deployment,
  ): void {
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
      `${name}-hpa`,
      {
        metadata,
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
          minReplicas: auto.minReplicas ?? DEFAULT_MIN_REPLICAS,
          maxReplicas: auto.maxReplicas,
          metrics: [
            {
              type: "Pods",
              pods: {
                metric: { name: args.metricName },
                target: {
                  type: "AverageValue",
                  averageValue: toQuantity(auto.targetAverageValue ?? DEFAULT_TARGET_QUEUE_TIME_US),
                },
              },
            },
          ],
          behavior: tritonHpaBehavior(auto.scaleDown),
        },
      },
      { parent: this },
    );
  }
}

/** The metadata every object of a server carries: its name, namespace and labels. */
interface ServerMetadata {
  readonly name: string;
  readonly namespace: pulumi.Input<string>;
  readonly labels: Record<string, string>;
}

/** Throws on a bad `service` before anything, the component included, is registered. */
function throwOnBadService(name: string, args: TritonServerArgs): void {
  const serviceProblems = tritonServiceProblems(args.service).map((p) => ({
    propertyPath: `service.${p.key}`,
    reason: p.reason,
  }));
  if (serviceProblems.length === 0) return;
  throw new pulumi.InputPropertiesError({
    message: `TritonServer ${name}: ${serviceProblems.map((p) => `${p.propertyPath}: ${p.reason}`).join("; ")}`,
    errors: serviceProblems,
  });
}
