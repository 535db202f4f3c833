// Kubernetes view of the topology: the labels each Node should carry and one `ToR` record per
// top-of-rack switch, so uplinkd (or an operator) can find a node's rack and its BGP neighbours
// from the datastore instead of a per-node file. ToR records use the datastore's key `tors/<name>`;
// as Kubernetes objects they follow k8s/crds/tor.yaml and ipam/datastore/kube-mapping.ts (object
// name = slug + hash of the key, key in annotation uplink.dev/key, JSON value in spec.value).
import { KEY_ANNOTATION, MANAGED_BY, objectName } from '../ipam/datastore/kube-mapping.js';
import { TopologyError, TopologyErrorCode } from './errors.js';
import { sessionsOf } from './peers.js';
import { devicesOf, type Fabric } from './resolve.js';

export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_RACK = 'uplink.dev/rack';
export const LABEL_ASN = 'uplink.dev/asn';
export const TOR_API_VERSION = 'uplink.dev/v1alpha1';

export function nodeLabels(f: Fabric, node: string): Record<string, string> {
  const d = f.devices.get(node);
  if (!d || d.role !== 'node') throw new TopologyError(TopologyErrorCode.UnknownReference, node, 'not a Kubernetes node of the topology');
  return { [LABEL_ZONE]: d.zone!, [LABEL_RACK]: d.rack!, [LABEL_ASN]: String(d.asn) };
}

export interface TorRecord {
  /** Datastore key, `tors/<name>`. */
  key: string;
  value: TorValue;
}

export interface TorValue {
  name: string;
  rack: string;
  zone: string;
  asn: number;
  routerId: string;
  /** The node-facing sessions, seen from the node: whom the node peers with on this ToR. */
  nodes: Array<{ node: string; nodeInterface: string; torAddress?: string; nodeAddress?: string; unnumbered: boolean }>;
}

export interface TorResource {
  apiVersion: typeof TOR_API_VERSION;
  kind: 'ToR';
  metadata: { name: string; annotations: Record<string, string>; labels: Record<string, string> };
  spec: { value: TorValue };
}

/** The ToR records as the Kubernetes objects the kubernetes datastore stores them as. */
export function torResources(f: Fabric): TorResource[] {
  return torRecords(f).map((r) => ({
    apiVersion: TOR_API_VERSION,
    kind: 'ToR' as const,
    metadata: {
      name: objectName(r.key),
      annotations: { [KEY_ANNOTATION]: r.key },
      labels: { ...MANAGED_BY, [LABEL_RACK]: r.value.rack, [LABEL_ZONE]: r.value.zone },
    },
    spec: { value: r.value },
  }));
}

export function torRecords(f: Fabric): TorRecord[] {
  return devicesOf(f, 'tor').map((t) => {
    const nodes: TorValue['nodes'] = [];
    for (const l of f.links) {
      if (l.kind !== 'tor-node' || l.up.device !== t.name) continue;
      const fromNode = sessionsOf(f, l.down.device).filter((s) => s.interface === l.down.iface);
      if (fromNode.length === 0) {
        nodes.push({ node: l.down.device, nodeInterface: l.down.iface, unnumbered: l.unnumbered });
      }
      for (const s of fromNode) {
        nodes.push({
          node: l.down.device,
          nodeInterface: l.down.iface,
          ...(s.peerAddress ? { torAddress: s.peerAddress } : {}),
          ...(s.localAddress ? { nodeAddress: s.localAddress } : {}),
          unnumbered: s.unnumbered,
        });
      }
    }
    return { key: `tors/${t.name}`, value: { name: t.name, rack: t.rack!, zone: t.zone!, asn: t.asn, routerId: t.routerId, nodes } };
  });
}
