/**
 * Upper bounds of the counts a stack config sets, each from the limit upstream documents. Without them a typo
 * (`nodes.max: 1e9`) passes validation and prints a capacity no cluster can have.
 */

/**
 * Kubernetes is tested for clusters of at most 5,000 nodes, 110 pods per node and 150,000 pods in all.
 * @see https://kubernetes.io/docs/setup/best-practices/cluster-large/
 */
export const MAX_CLUSTER_NODES = 5000;
const MAX_PODS_PER_NODE = 110;
export const MAX_CLUSTER_PODS = 150_000;

/**
 * NVIDIA's device plugin sets no maximum on time-slicing replicas, but every replica is a pod on the GPU's node,
 * and a node runs at most {@link MAX_PODS_PER_NODE} pods (the kubelet's default `maxPods`): more replicas of one
 * device than that can never all be used.
 * @see https://github.com/NVIDIA/k8s-device-plugin#shared-access-to-gpus
 */
export const MAX_TIME_SLICING_REPLICAS = MAX_PODS_PER_NODE;
