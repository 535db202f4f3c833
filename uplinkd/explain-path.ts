// The physical side of `explain`: which interfaces a packet to the pod crosses and their MTUs. The
// destination node's own hops come from its agent, asked through the datastore (explain-broker.ts).
//
// MTU: a pod whose interface MTU exceeds the smallest MTU on the path sends packets the path cannot
// carry; with DF set (TCP does, RFC 1191 path MTU discovery) they are dropped and the sender relies on
// ICMP "fragmentation needed" coming back, which a pod-to-pod path through routers that filter ICMP
// never delivers. So the check is simple and strict: pod MTU <= min(MTU of every hop we can see).
import { execFile } from 'node:child_process';
import { Address4, Address6 } from 'ip-address';
import { netlink, type KernelRoute } from '../routes/index.js';

/** One interface on the path, as reported by the node that owns it. */
export interface MtuHop {
  node: string;
  interface: string;
  mtu: number;
  role: 'pod' | 'host veth' | 'uplink';
}

/** Carried on the `mtu` step so another node's explain can fold this node's hops into its own. */
export interface MtuReport {
  /** The MTU of the pod's own interface (read in its netns), or what CNI configured. */
  podMtu: number | null;
  hops: MtuHop[];
}

function prefixLen(cidr: string): number {
  return Number(cidr.split('/')[1] ?? (cidr.includes(':') ? 128 : 32));
}

function covers(dst: string, addr: string): boolean {
  if (dst === 'default') return true;
  if (dst.includes(':') !== addr.includes(':')) return false;
  try {
    return addr.includes(':') ? new Address6(addr).isInSubnet(new Address6(dst)) : new Address4(addr).isInSubnet(new Address4(dst));
  } catch {
    return false;
  }
}

/**
 * The main-table route the kernel would use for `addr` (longest prefix, default included). `netns`:
 * the node's namespace when the agent runs outside it (config `netns`); absent = our own.
 */
export async function routeTo(addr: string, netns?: string): Promise<KernelRoute | undefined> {
  const routes = await netlink(netns).dumpRoutes({ family: addr.includes(':') ? 6 : 4, table: 254 });
  let best: KernelRoute | undefined;
  for (const r of routes) {
    if (!covers(r.dst, addr)) continue;
    const len = r.dst === 'default' ? 0 : prefixLen(r.dst);
    if (!best || len > (best.dst === 'default' ? 0 : prefixLen(best.dst))) best = r;
  }
  return best;
}

/** Interfaces a route leaves by: its next hops' devices, or the device of the route to each gateway. */
export async function egressInterfaces(route: KernelRoute, netns?: string): Promise<number[]> {
  const out = new Set<number>();
  for (const nh of route.nexthops) {
    if (nh.dev !== undefined) {
      out.add(nh.dev);
      continue;
    }
    const gw = nh.gateway ?? nh.via;
    if (!gw) continue;
    const r = await routeTo(gw, netns);
    for (const h of r?.nexthops ?? []) if (h.dev !== undefined) out.add(h.dev);
  }
  return [...out];
}

/** ifindex -> {name, mtu} of this node's links. */
export async function linkTable(netns?: string): Promise<Map<number, { name: string; mtu: number }>> {
  return new Map((await netlink(netns).listLinks()).map((l) => [l.index, { name: l.name, mtu: l.mtu }]));
}

/** The MTU of a pod's interface, read inside its netns (null when the netns or link is gone). */
export function podInterfaceMtu(netnsPath: string, ifname: string): Promise<number | null> {
  return new Promise((resolve) => {
    execFile('nsenter', [`--net=${netnsPath}`, 'ip', '-j', 'link', 'show', 'dev', ifname], { timeout: 2000 }, (err, stdout) => {
      if (err) return resolve(null);
      try {
        const [l] = JSON.parse(stdout) as Array<{ mtu?: number }>;
        resolve(l?.mtu ?? null);
      } catch {
        resolve(null);
      }
    });
  });
}

/** Smallest hop and the verdict text; `podLabel` says whose MTU is compared. */
export function judgeMtu(podMtu: number | null, podLabel: string, hops: readonly MtuHop[]): { ok: boolean; detail: string; evidence: string } {
  const evidence = hops.map((h) => `${h.node} ${h.role} ${h.interface} mtu ${h.mtu}`).join('; ') || 'no interface on the path could be read';
  if (!hops.length) return { ok: true, detail: `path MTU unknown${podMtu ? ` (${podLabel} MTU ${podMtu})` : ''}`, evidence };
  const min = hops.reduce((a, h) => (h.mtu < a.mtu ? h : a));
  if (podMtu === null) return { ok: true, detail: `smallest MTU on the path is ${min.mtu} (${min.node} ${min.role} ${min.interface}); ${podLabel} MTU unknown`, evidence };
  if (podMtu > min.mtu) {
    const low = hops.filter((h) => h.mtu < podMtu).map((h) => `${h.node} ${h.role} ${h.interface} mtu ${h.mtu}`);
    return {
      ok: false,
      detail: `${podLabel} MTU ${podMtu} is larger than the path's ${min.mtu}: ${low.join(', ')}. Packets over ${min.mtu} bytes with DF set are dropped (raise the interface MTU or lower the CNI mtu)`,
      evidence,
    };
  }
  return { ok: true, detail: `${podLabel} MTU ${podMtu} fits the path (smallest ${min.mtu}, ${min.node} ${min.role} ${min.interface})`, evidence };
}
