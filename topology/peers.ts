// BGP sessions derived from the links: one per address family on a numbered link (each family's
// session carries that family only), one on the interface for an unnumbered link carrying both
// families (IPv4 NLRI with IPv6 next hops, RFC 8950, over the link-local address).
import { TopologyError, TopologyErrorCode } from './errors.js';
import type { Device, Fabric, FabricLink, LinkEnd } from './resolve.js';

export const AddressFamily = { Ipv4Unicast: 'ipv4-unicast', Ipv6Unicast: 'ipv6-unicast' } as const;
export type AddressFamily = (typeof AddressFamily)[keyof typeof AddressFamily];

export interface BgpSession {
  peerName: string;
  /** Absent for unnumbered sessions (the peer is found on `interface`). */
  peerAddress?: string;
  localAddress?: string;
  interface: string;
  localAsn: number;
  peerAsn: number;
  type: 'ebgp' | 'ibgp';
  families: AddressFamily[];
  unnumbered: boolean;
  /** The link tier, for policy: towards the spines, the ToRs or the nodes. */
  peerRole: Device['role'];
}

const addrOnly = (a: string): string => a.split('/')[0]!;
const isV6 = (a: string): boolean => a.includes(':');

export function poolFamilies(f: Fabric): AddressFamily[] {
  const fams = new Set(f.spec.pools.map((p) => (p.cidr.family === 4 ? AddressFamily.Ipv4Unicast : AddressFamily.Ipv6Unicast)));
  return [AddressFamily.Ipv4Unicast, AddressFamily.Ipv6Unicast].filter((x) => fams.has(x));
}

function sessionsOnLink(f: Fabric, link: FabricLink, me: LinkEnd, peer: LinkEnd): BgpSession[] {
  const local = f.devices.get(me.device)!;
  const remote = f.devices.get(peer.device)!;
  const base = {
    peerName: remote.name,
    interface: me.iface,
    localAsn: local.asn,
    peerAsn: remote.asn,
    type: local.asn === remote.asn ? ('ibgp' as const) : ('ebgp' as const),
    peerRole: remote.role,
  };
  if (link.unnumbered) {
    const families = poolFamilies(f);
    return [{ ...base, families: families.length ? families : [AddressFamily.Ipv4Unicast], unnumbered: true }];
  }
  const out: BgpSession[] = [];
  for (const fam of [AddressFamily.Ipv4Unicast, AddressFamily.Ipv6Unicast]) {
    const want6 = fam === AddressFamily.Ipv6Unicast;
    const mine = me.addresses.find((a) => isV6(a) === want6);
    const theirs = peer.addresses.find((a) => isV6(a) === want6);
    if (!mine || !theirs) continue;
    out.push({ ...base, peerAddress: addrOnly(theirs), localAddress: addrOnly(mine), families: [fam], unnumbered: false });
  }
  return out;
}

/** Every BGP session of `device`, in link order. */
export function sessionsOf(f: Fabric, device: string): BgpSession[] {
  if (!f.devices.has(device)) throw new TopologyError(TopologyErrorCode.UnknownReference, device, 'no such device');
  const out: BgpSession[] = [];
  for (const l of f.links) {
    if (l.up.device === device) out.push(...sessionsOnLink(f, l, l.up, l.down));
    if (l.down.device === device) out.push(...sessionsOnLink(f, l, l.down, l.up));
  }
  return out;
}

/** What uplinkd needs to speak BGP on one Kubernetes node. */
export interface NodeBgpConfig {
  node: string;
  rack: string;
  zone: string;
  asn: number;
  routerId: string;
  peers: BgpSession[];
  /** Interface addresses the node must carry for numbered uplinks. */
  interfaces: Array<{ name: string; addresses: string[] }>;
  pools: Array<{ name: string; cidr: string; blockSize: number }>;
}

export function nodeBgpConfig(f: Fabric, node: string): NodeBgpConfig {
  const d = f.devices.get(node);
  if (!d || d.role !== 'node') throw new TopologyError(TopologyErrorCode.UnknownReference, node, 'not a Kubernetes node of the topology');
  return {
    node,
    rack: d.rack!,
    zone: d.zone!,
    asn: d.asn,
    routerId: d.routerId,
    peers: sessionsOf(f, node),
    interfaces: [...d.ifaces].map(([name, addresses]) => ({ name, addresses })),
    pools: f.spec.pools.map((p) => ({ name: p.name, cidr: p.cidrText, blockSize: p.blockSize })),
  };
}
