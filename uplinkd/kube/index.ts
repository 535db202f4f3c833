// Kubernetes informers of the node agent: Node identity + membership, Pods on this node, pod-based
// IPAM GC. Only loaded when the agent talks to an API server.
export { kubeConfigFrom, type KubeClientOptions } from './client.js';
export { KubeError, KubeErrorCode } from './errors.js';
export { ResilientInformer, type InformerOptions } from './informer.js';
export { NodeInformer, NodeKeys, nodeIdentity, applyNodeIdentity, type NodeIdentity, type NodeInformerEvents } from './node-informer.js';
export { PodInformer, podKey, type LivePods } from './pod-informer.js';
export { PodGc, podGcDecision, type PodGcDecision, type PodGcOptions, type PodGcResult } from './pod-gc.js';
export { removeNodeRecord } from './node-records.js';
export { cniDel, type DetachTarget } from './cni-detach.js';
