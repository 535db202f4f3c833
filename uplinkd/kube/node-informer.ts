// Node informer: this node's BGP identity from its Node object, and the cluster's node names.
//
// Identity (read by every agent for its own node):
//   annotation uplink.dev/asn        -> the node's AS number (per-node or per-rack ASN designs)
//   annotation uplink.dev/router-id  -> the BGP identifier (RFC 6286 §2.2: non-zero 32-bit; we require
//                                       dotted IPv4 as bgpd/config.ts does)
//   label uplink.dev/rack, topology.kubernetes.io/zone, and every other label -> the labels BGPPeer
//   and IP pool selectors match on.
// A bad annotation is reported in `problems` and left out (the agent keeps its configured value);
// it never throws out of the informer.
//
// Membership (for the cluster GC leader): `nodeNames()` and `nodeDeleted(name)`, fired when the API
// server deletes a Node — from a watch DELETED event, or from a relist (after 410 Gone or a restart)
// that no longer lists a node we had. Only nodes we saw are ever reported deleted, so an agent that
// starts before its Node object exists is not mistaken for a removed node.
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { logger } from '../../lib/log.js';
import { ResilientInformer, type InformerOptions } from './informer.js';
import { nodeIdentity, type NodeIdentity } from './node-identity.js';

const log = logger('kube.nodes');

export { NodeKeys, nodeIdentity, applyNodeIdentity, type NodeIdentity } from './node-identity.js';

export interface NodeInformerEvents {
  /** This node's identity, at first sight and whenever its labels or uplink annotations change. */
  self?: (id: NodeIdentity) => void;
  nodeAdded?: (name: string) => void;
  /** A Node object was deleted from the API server. */
  nodeDeleted?: (name: string) => void;
}

export class NodeInformer {
  private readonly inf: ResilientInformer<V1Node>;
  private last: string | undefined;
  private current: NodeIdentity | undefined;

  constructor(
    kc: KubeConfig,
    private readonly nodeName: string,
    private readonly events: NodeInformerEvents = {},
    opts: InformerOptions = {},
  ) {
    const core = kc.makeApiClient(CoreV1Api);
    this.inf = new ResilientInformer<V1Node>(kc, '/api/v1/nodes', () => core.listNode(), log, opts);
    this.inf.on('add', (n) => {
      this.events.nodeAdded?.(n.metadata?.name ?? '');
      this.seen(n);
    });
    this.inf.on('update', (n) => this.seen(n));
    this.inf.on('delete', (n) => {
      const name = n.metadata?.name ?? '';
      log.info({ node: name }, 'Node deleted from the API server');
      if (name === this.nodeName) this.current = undefined;
      this.events.nodeDeleted?.(name);
    });
  }

  /** Resolves after the first list (this node's identity, if its Node exists, has been reported). */
  start(timeoutMs?: number): Promise<void> {
    return this.inf.start(timeoutMs);
  }

  stop(): Promise<void> {
    return this.inf.stop();
  }

  get healthy(): boolean {
    return this.inf.healthy;
  }

  get lists(): number {
    return this.inf.lists;
  }

  /** This node's identity, undefined while its Node object is not (or no longer) known. */
  self(): NodeIdentity | undefined {
    return this.current;
  }

  nodeNames(): Set<string> {
    return new Set(this.inf.list().map((n) => n.metadata?.name ?? ''));
  }

  private seen(n: V1Node): void {
    if (n.metadata?.name !== this.nodeName) return;
    const id = nodeIdentity(n);
    // Only changes that matter to the agent: a status heartbeat also bumps the resourceVersion.
    const text = JSON.stringify([id.asn, id.routerId, id.labels, id.problems]);
    this.current = id;
    if (text === this.last) return;
    this.last = text;
    for (const p of id.problems) log.error({ node: id.name }, p);
    this.events.self?.(id);
  }
}
