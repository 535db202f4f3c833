// A Node object's meaning to the agent (pure; no API client): identity annotations and selector labels.
// Kept apart from the informer so the agent can use it without loading @kubernetes/client-node, which
// costs about 70 MiB of RSS and most of a start-up's CPU on nodes that do not talk to an API server.
//
//   annotation uplink.dev/asn        -> the node's AS number (per-node or per-rack ASN designs)
//   annotation uplink.dev/router-id  -> the BGP identifier (RFC 6286 §2.2: non-zero 32-bit; we require
//                                       dotted IPv4 as bgpd/config.ts does)
//   label uplink.dev/rack, topology.kubernetes.io/zone, and every other label -> the labels BGPPeer
//   and IP pool selectors match on.
import { isIP } from 'node:net';
import type { V1Node } from '@kubernetes/client-node';

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
