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
import { isIP } from 'node:net';
import { CoreV1Api, type KubeConfig, type V1Node } from '@kubernetes/client-node';
import { logger } from '../../lib/log.js';
import { ResilientInformer, type InformerOptions } from './informer.js';

const log = logger('kube.nodes');

export const NodeKeys = {
  Asn: 'uplink.dev/asn',
  RouterId: 'uplink.dev/router-id',
  Rack: 'uplink.dev/rack',
  Zone: 'topology.kubernetes.io/zone',
} as const;

export interface NodeIdentity {
  readonly name: string;
  readonly asn?: number;
  readonly routerId?: string;
  readonly rack?: string;
  readonly zone?: string;
  /** All the Node's labels (the rack and zone labels included). */
  readonly labels: Readonly<Record<string, string>>;
  /** Annotations that were present but unusable, each naming node and annotation. */
  readonly problems: readonly string[];
}

const ASN_MAX = 4294967295;

/** Pure: a Node object (as the API returns it) -> the agent's view of it. */
export function nodeIdentity(node: Pick<V1Node, 'metadata'>): NodeIdentity {
  const name = node.metadata?.name ?? '';
  const labels = { ...(node.metadata?.labels ?? {}) };
  const ann = node.metadata?.annotations ?? {};
  const problems: string[] = [];
  let asn: number | undefined;
  const asnText = ann[NodeKeys.Asn];
  if (asnText !== undefined) {
    const n = /^\d+$/.test(asnText.trim()) ? Number(asnText.trim()) : NaN;
    // AS 0 is reserved (RFC 7607); 4-octet ASNs up to 2^32-1 (RFC 6793).
    if (Number.isInteger(n) && n >= 1 && n <= ASN_MAX) asn = n;
    else problems.push(`node ${name}: annotation ${NodeKeys.Asn}: '${asnText}' is not an AS number in [1, ${ASN_MAX}]`);
  }
  let routerId: string | undefined;
  const ridText = ann[NodeKeys.RouterId];
  if (ridText !== undefined) {
    const r = ridText.trim();
    if (isIP(r) === 4 && r !== '0.0.0.0') routerId = r;
    else problems.push(`node ${name}: annotation ${NodeKeys.RouterId}: '${ridText}' is not a non-zero IPv4 address (RFC 6286 §2.2)`);
  }
  return {
    name,
    labels,
    problems,
    ...(asn !== undefined ? { asn } : {}),
    ...(routerId !== undefined ? { routerId } : {}),
    ...(labels[NodeKeys.Rack] !== undefined ? { rack: labels[NodeKeys.Rack] } : {}),
    ...(labels[NodeKeys.Zone] !== undefined ? { zone: labels[NodeKeys.Zone] } : {}),
  };
}

/**
 * The agent's BGP identity and selector labels with the Node's applied. The annotations win over the
 * config file: in a cluster one DaemonSet config serves every node, so the per-node values can only
 * come from the Node. Labels: the file's, overlaid by the Node's.
 */
export function applyNodeIdentity(
  rawBgp: Readonly<Record<string, unknown>> | undefined,
  nodeLabels: Readonly<Record<string, string>>,
  id: NodeIdentity | undefined,
): { bgp: Record<string, unknown> | undefined; nodeLabels: Record<string, string> } {
  if (!id) return { bgp: rawBgp ? { ...rawBgp } : undefined, nodeLabels: { ...nodeLabels } };
  const bgp = rawBgp === undefined ? undefined : { ...rawBgp, ...(id.asn !== undefined ? { asn: id.asn } : {}), ...(id.routerId !== undefined ? { routerId: id.routerId } : {}) };
  return { bgp, nodeLabels: { ...nodeLabels, ...id.labels } };
}

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
