import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { inputPropertyErrors, problemFromText } from "../../problems";
import { DEFAULT_INFERENCE_NAMESPACE, DEFAULT_SEED_IMAGE } from "../defaults";
import {
  buildSeedScript,
  contentHash,
  normalizeSubPath,
  type SeedModel,
  seedScriptProblems,
  subPathProblems,
} from "./model-store-seed-script";

export interface ModelStoreArgs {
  /** The NFS server of the export holding the models: a Manila share's export location or an existing server. */
  readonly nfsServer: pulumi.Input<string>;
  /** The exported path on `nfsServer`; `subPath` below it is the model repository. */
  readonly nfsPath: pulumi.Input<string>;
  /**
   * The model repository's directory below `nfsPath`, relative.
   * @default - "": the export's root is the repository.
   */
  readonly subPath?: string;
  /**
   * The inference namespace, created here; every Triton server and its claim live in it. A contract: the adapter's
   * metric queries and users' `kubectl` find the servers there.
   * @default "inference"
   */
  readonly namespace?: string;
  /**
   * Capacity of the PersistentVolumes, a Kubernetes quantity (`100Gi`): informational, NFS enforces none.
   * @default - {@link DEFAULT_NFS_VOLUME_CAPACITY}, for an export whose size is not known.
   */
  readonly capacity?: string;
  /**
   * Models a Job downloads into the repository (new files only, never deleting), and the image it runs.
   * @default - no seeding: the repository is filled some other way.
   */
  readonly seed?: {
    /** Every model directory and its files, with their download URLs. */
    readonly models: readonly SeedModel[];
    /**
     * An image with a POSIX shell and curl.
     * @default - `DEFAULT_SEED_IMAGE` (components/defaults.ts)
     */
    readonly image?: string;
  };
}

/** The claim every Triton server mounts, read-only: a contract of `claimName`. */
export const MODEL_CLAIM_NAME = "models";
/** The seed Job's read-write claim on the export root; it exists only while seeding is enabled. */
export const SEED_CLAIM_NAME = "models-seed";
/** Where the seed Job mounts the export root. */
export const SEED_SHARE_MOUNT_PATH = "/share";
/** The seed Job's user: the Triton image's, so that what it writes is Triton's to read. */
export const SEED_USER_ID = 1000;
/**
 * Capacity of the PersistentVolumes of an NFS export whose size is not known. Informational: NFS enforces no PV
 * capacity; binding only needs the claim's request to fit it.
 */
export const DEFAULT_NFS_VOLUME_CAPACITY = "1Gi";

/**
 * Mount options of both volumes. `hard`: an NFS hiccup blocks I/O and retries instead of handing Triton an EIO in
 * the middle of a model load. No `nfsvers`: the client negotiates the highest version the server speaks (Manila
 * CephFS-NFS shares speak only 4.x, older servers only 3).
 */
export const NFS_MOUNT_OPTIONS = ["hard"];

const LABELS = { "app.kubernetes.io/name": "gpushare-model-store", "app.kubernetes.io/part-of": "gpushare" };

/**
 * The inference namespace and its NFS model repository:
 * - a PersistentVolume + claim of the repository directory (export path + `subPath`) that Triton servers mount
 *   read-only (`ReadOnlyMany`, and `readOnly` on the PV's NFS source, so even a pod asking to write cannot);
 * - with `seed`, a second, read-write PersistentVolume + claim of the export root used by the seed Job
 *   only (it creates the repository directory and stages downloads beside it), and the Job itself.
 * Both volumes are pre-bound both ways (the PV's `claimRef`, the claim's `volumeName`) with no storage class, so
 * no other claim can take them and no provisioner is involved; their reclaim policy is `Retain`. Their names carry
 * a digest of the NFS location, so moving the store replaces volume and claim instead of editing immutable fields.
 */
export class ModelStore extends pulumi.ComponentResource {
  /** The inference namespace (created here), resolved once it exists. */
  public readonly namespace: pulumi.Output<string>;
  /** The claim of the model repository, for read-only mounts. */
  public readonly claimName: pulumi.Output<string>;
  /** The NFS location of the repository, `server:/path/subPath`. */
  public readonly repository: pulumi.Output<string>;
  /** The seed Job's name when seeding is enabled; it changes exactly when the seeded content changes. */
  public readonly seedJobName: pulumi.Output<string> | undefined;

  constructor(name: string, args: ModelStoreArgs, opts?: pulumi.ComponentResourceOptions) {
    const rawSubPath = args.subPath ?? "";
    const seed = args.seed;
    throwOnBadSeed(name, seed, rawSubPath);
    super("gpushare:k8s:ModelStore", name, args, opts);
    const subPath = normalizeSubPath(rawSubPath);

    // Resolved only once the namespace exists, so that users of it wait for it.
    this.namespace = this.ownNamespace(name, args);
    const site: VolumeSite = {
      namespace: this.namespace,
      capacity: args.capacity ?? DEFAULT_NFS_VOLUME_CAPACITY,
      location: pulumi.all([args.nfsServer, args.nfsPath]).apply(([server, exportPath]) => ({
        server,
        exportPath,
        repositoryPath: subPath === "" ? exportPath : path.posix.join(exportPath, subPath),
      })),
    };
    this.repository = site.location.apply((l) => `${l.server}:${l.repositoryPath}`);
    const claim = this.volume(name, site, "models", MODEL_CLAIM_NAME, site.location.repositoryPath, "ReadOnlyMany");
    this.claimName = claim.metadata.name;

    if (seed !== undefined && seed.models.length > 0) {
      const seedClaim = this.volume(name, site, "seed", SEED_CLAIM_NAME, site.location.exportPath, "ReadWriteMany");
      this.seedJobName = this.seedJob(name, this.namespace, seed, subPath, seedClaim).metadata.name;
    }

    this.registerOutputs({
      namespace: this.namespace,
      claimName: this.claimName,
      repository: this.repository,
      seedJobName: this.seedJobName,
    });
  }

  private ownNamespace(name: string, args: ModelStoreArgs): pulumi.Output<string> {
    return new k8s.core.v1.Namespace(
      `${name}-namespace`,
      {
        metadata: {
          // The namespace name is a contract: every server and the adapter's metric queries use it.
          name: args.namespace ?? DEFAULT_INFERENCE_NAMESPACE,
          labels: {
            ...LABELS,
            // Everything here runs non-root with no privileges; keep it that way.
            "pod-security.kubernetes.io/enforce": "restricted",
            "pod-security.kubernetes.io/warn": "restricted",
          },
        },
      },
      { parent: this },
    ).metadata.name;
  }

  /**
   * A PersistentVolume of `nfsPath` and the claim it is pre-bound to, both ways. `ReadOnlyMany` volumes are
   * read-only on the PV's NFS source too.
   */
  private volume(
    name: string,
    { namespace, location, capacity }: VolumeSite,
    suffix: string,
    claimName: string,
    nfsPath: pulumi.Output<string>,
    accessMode: "ReadOnlyMany" | "ReadWriteMany",
  ): k8s.core.v1.PersistentVolumeClaim {
    const pvName = pulumi
      .all([namespace, location, nfsPath])
      .apply(([n, l, p]) => `${n}-${claimName}-${contentHash(l.server, p)}`);
    const pv = new k8s.core.v1.PersistentVolume(
      `${name}-${suffix}-pv`,
      {
        metadata: { name: pvName, labels: LABELS },
        spec: {
          capacity: { storage: capacity },
          accessModes: [accessMode],
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: "",
          mountOptions: NFS_MOUNT_OPTIONS,
          // `readOnly` makes the kubelet mount the export read-only whatever a pod asks for.
          nfs: { server: location.server, path: nfsPath, readOnly: accessMode === "ReadOnlyMany" },
          claimRef: { apiVersion: "v1", kind: "PersistentVolumeClaim", namespace, name: claimName },
        },
      },
      { parent: this },
    );
    return new k8s.core.v1.PersistentVolumeClaim(
      `${name}-${suffix}-pvc`,
      {
        metadata: { name: claimName, namespace, labels: LABELS },
        spec: {
          accessModes: [accessMode],
          storageClassName: "",
          volumeName: pv.metadata.name,
          resources: { requests: { storage: capacity } },
        },
      },
      { parent: this },
    );
  }

  /** The Job that downloads `seed.models` into the repository, through the read-write claim of the export root. */
  private seedJob(
    name: string,
    namespace: pulumi.Output<string>,
    seed: NonNullable<ModelStoreArgs["seed"]>,
    subPath: string,
    seedClaim: k8s.core.v1.PersistentVolumeClaim,
  ): k8s.batch.v1.Job {
    const image = seed.image ?? DEFAULT_SEED_IMAGE;
    const script = buildSeedScript({ shareMountPath: SEED_SHARE_MOUNT_PATH, subPath, models: seed.models });
    // The Job's spec is immutable and a finished Job never runs again: a new name for new content makes
    // Pulumi create the new Job (and delete the old one) exactly when the models, the image or the script change.
    // No ttlSecondsAfterFinished: a Job the cluster deletes by itself would show as drift on every refresh.
    const jobName = `seed-models-${contentHash(script, image)}`;
    const labels = { ...LABELS, "app.kubernetes.io/component": "seed" };
    return new k8s.batch.v1.Job(
      `${name}-seed`,
      {
        metadata: { name: jobName, namespace, labels },
        spec: {
          backoffLimit: 3,
          template: { metadata: { labels }, spec: seedPodSpec(image, script, seedClaim.metadata.name) },
        },
      },
      // Pulumi waits for the Job to complete; large models take a while to download.
      { parent: this, customTimeouts: { create: "60m", update: "60m" } },
    );
  }
}

/** The seed Job's pod: the script, run as Triton's user with nothing else, on the export root and a small /tmp. */
function seedPodSpec(
  image: string,
  script: string,
  seedClaimName: pulumi.Output<string>,
): k8s.types.input.core.v1.PodSpec {
  const runAs = {
    runAsNonRoot: true,
    runAsUser: SEED_USER_ID,
    runAsGroup: SEED_USER_ID,
    seccompProfile: { type: "RuntimeDefault" },
  };
  return {
    restartPolicy: "Never",
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    securityContext: runAs,
    containers: [
      {
        name: "seed",
        image,
        command: ["/bin/sh", "-c", script],
        env: [{ name: "HOME", value: "/tmp" }],
        resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { memory: "256Mi" } },
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
          ...runAs,
        },
        volumeMounts: [
          { name: "share", mountPath: SEED_SHARE_MOUNT_PATH },
          { name: "tmp", mountPath: "/tmp" },
        ],
      },
    ],
    volumes: [
      { name: "share", persistentVolumeClaim: { claimName: seedClaimName } },
      { name: "tmp", emptyDir: { sizeLimit: "64Mi" } },
    ],
  };
}

/** Where the store's volumes live: the namespace of their claims, the NFS location, their capacity. */
interface VolumeSite {
  readonly namespace: pulumi.Output<string>;
  readonly location: pulumi.Output<{ server: string; exportPath: string; repositoryPath: string }>;
  readonly capacity: string;
}

/** Throws on bad seed models or `subPath`, validated before any resource exists, this component included. */
function throwOnBadSeed(name: string, seed: ModelStoreArgs["seed"], rawSubPath: string): void {
  const problems = seedScriptProblems(seed?.models ?? [], rawSubPath, { models: "seed.models", subPath: "subPath" });
  problems.push(...subPathProblems("subPath", rawSubPath, "nfsPath"));
  if (problems.length === 0) return;
  throw new pulumi.InputPropertiesError({
    message: `ModelStore ${name}: ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems
      .map((p) => `  - ${p}`)
      .join("\n")}`,
    errors: inputPropertyErrors(problems.map(problemFromText)),
  });
}
