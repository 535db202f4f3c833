// `uplinkctl explain POD|IP`: walk the path an operator would walk by hand and say, step by step, what
// holds and what does not, with the evidence. Order follows the packet's dependencies: the address must
// be allocated, its block owned by a live node, advertised by that node, propagated by the fabric,
// chosen in our Loc-RIB, installed in our kernel, and (for a local pod) delivered to a live veth.
import { Address4, Address6 } from 'ip-address';
import { readSnapshot, type Datastore, type IpamSnapshot, type Block } from '../ipam/index.js';
import { netlink, UPLINK_RT_PROTO, type KernelRoute } from '../routes/index.js';
import type { CniServer } from '../cni/server/index.js';
import { AGENTS_PREFIX, type AgentStatusRecord } from './agent.js';
import type { BgpBridge, NeighborSummary } from './bgp-bridge.js';

export interface ExplainStep {
  step: string;
  ok: boolean;
  detail: string;
  evidence?: string;
}

export interface ExplainDeps {
  node: string;
  store: Datastore;
  bgp: BgpBridge | undefined;
  cni: CniServer | undefined;
  /** Seconds after which an agent's status record counts as stale; default 3 refresh periods. */
  staleAfterS?: number;
}

type Addr = Address4 | Address6;

function parseAddr(s: string): Addr | undefined {
  try {
    return s.includes(':') ? new Address6(s) : new Address4(s);
  } catch {
    return undefined;
  }
}

function contains(cidr: string, a: Addr): boolean {
  const net = parseAddr(cidr);
  if (!net || (net instanceof Address4) !== (a instanceof Address4)) return false;
  return a.isInSubnet(net as never);
}

function prefixLen(cidr: string): number {
  return Number(cidr.split('/')[1] ?? (cidr.includes(':') ? 128 : 32));
}

/** Resolve "ns/pod", "pod" or an IP into the addresses to explain. */
function resolveTarget(target: string, snap: IpamSnapshot): { ips: string[]; label: string } | undefined {
  if (parseAddr(target)) return { ips: [target.split('/')[0]!], label: target };
  const [ns, pod] = target.includes('/') ? target.split('/', 2) as [string, string] : [undefined, target];
  const recs = snap.handles.filter((h) => h.attrs.pod === pod && (ns === undefined || h.attrs.namespace === ns));
  if (!recs.length) return undefined;
  return { ips: recs.flatMap((h) => h.addresses.map((a) => a.address)), label: `${recs[0]!.attrs.namespace ?? ''}/${pod}` };
}

export async function explain(target: string, deps: ExplainDeps): Promise<ExplainStep[]> {
  const steps: ExplainStep[] = [];
  const snap = await readSnapshot(deps.store);
  const resolved = resolveTarget(target, snap);
  if (!resolved) {
    return [{ step: 'address', ok: false, detail: `"${target}" is neither an IP address nor a pod that holds an address in IPAM`, evidence: `${snap.handles.length} handles in the datastore` }];
  }
  const agents = new Map((await deps.store.list<AgentStatusRecord>(AGENTS_PREFIX)).items.map((i) => [i.value.node, i.value]));
  for (const ip of resolved.ips) steps.push(...(await explainIp(ip, snap, agents, deps)));
  return steps;
}

async function explainIp(ip: string, snap: IpamSnapshot, agents: Map<string, AgentStatusRecord>, deps: ExplainDeps): Promise<ExplainStep[]> {
  const out: ExplainStep[] = [];
  const a = parseAddr(ip)!;
  const host = a instanceof Address4 ? `${ip}/32` : `${ip}/128`;

  // 1. Pool.
  const pool = snap.pools.find((p) => contains(p.cidr, a));
  if (!pool) {
    out.push({ step: 'pool', ok: false, detail: `${ip} is in no IP pool: it is not a pod address Uplink manages`, evidence: `pools: ${snap.pools.map((p) => p.cidr).join(', ') || 'none'}` });
    return out;
  }
  out.push({ step: 'pool', ok: !pool.disabled, detail: `${ip} is in pool ${pool.name} (${pool.cidr})${pool.disabled ? ', which is DISABLED' : ''}` });

  // 2. Block and allocation.
  const block: Block | undefined = snap.blocks.find((b) => contains(b.cidr, a));
  if (!block) {
    out.push({ step: 'block', ok: false, detail: `no block of pool ${pool.name} covers ${ip}: the address was never allocated (or its block was released)` });
    return out;
  }
  const net = parseAddr(block.cidr)!;
  const ord = Number(a.bigInt() - net.startAddress().bigInt());
  const alloc = block.allocations[String(ord)];
  out.push({
    step: 'allocation',
    ok: alloc !== undefined,
    detail: alloc ? `${ip} is allocated to ${alloc.attrs.namespace ?? '?'}/${alloc.attrs.pod ?? '?'} (handle ${alloc.handle}) on node ${alloc.attrs.node ?? '?'}` : `${ip} is free in block ${block.cidr}: no pod holds it`,
  });
  const owner = block.affinity;
  out.push({
    step: 'block owner',
    ok: owner !== null,
    detail: owner ? `block ${block.cidr} belongs to node ${owner}` : `block ${block.cidr} has no owner (its node was removed; only borrowed addresses remain)`,
  });
  const podNode = alloc?.attrs.node ?? owner ?? undefined;
  if (!podNode) return out;

  // 3. The owner's agent is alive and advertising.
  const rec = agents.get(podNode);
  const staleS = deps.staleAfterS ?? 3 * (rec?.statusIntervalS ?? 10);
  const ageS = rec ? (Date.now() - Date.parse(rec.updatedAt)) / 1000 : Infinity;
  out.push({
    step: 'owner agent',
    ok: rec !== undefined && ageS < staleS,
    detail: rec === undefined
      ? `node ${podNode}'s agent has no status in the datastore: it is down or the node is dead (reclaim with: uplinkctl node remove ${podNode})`
      : ageS >= staleS ? `node ${podNode}'s agent last reported ${Math.round(ageS)} s ago: it is hung or partitioned` : `node ${podNode}'s agent is up (pid ${rec.pid}, reported ${Math.round(ageS)} s ago)`,
  });
  const ownerBlock = alloc?.attrs.node && owner !== alloc.attrs.node ? host : block.cidr;
  if (rec) {
    const sessions = rec.sessions as NeighborSummary[];
    const up = sessions.filter((s) => s.state === 'Established');
    out.push({
      step: 'owner sessions',
      ok: up.length > 0,
      detail: up.length ? `node ${podNode} has ${up.length}/${sessions.length} BGP sessions Established (${up.map((s) => s.peer).join(', ')})` : `node ${podNode} has no Established BGP session: nothing it owns is advertised`,
      evidence: sessions.filter((s) => s.state !== 'Established').map((s) => `${s.peer} ${s.state}${s.lastError ? ` (${s.lastError})` : ''}`).join('; ') || undefined,
    } as ExplainStep);
    const exported = rec.exports?.filter((e) => e.prefixes.includes(ownerBlock)) ?? [];
    out.push({
      step: 'advertised',
      ok: exported.length > 0,
      detail: exported.length ? `node ${podNode} advertises ${ownerBlock} to ${exported.map((e) => e.peer).join(', ')}` : `node ${podNode} does not advertise ${ownerBlock} to any peer (export policy, or the block is not in its RIB)`,
    });
  }

  // 4. This node: Loc-RIB and kernel.
  const local = podNode === deps.node;
  let ribPrefix: string | undefined;
  if (!local && deps.bgp) {
    const routes = deps.bgp.routes();
    const match = routes
      .filter((r) => contains(r.prefix, a))
      .sort((x, y) => prefixLen(y.prefix) - prefixLen(x.prefix))[0];
    const best = match?.paths.filter((p) => p.best || p.multipath) ?? [];
    if (best.length) ribPrefix = match!.prefix;
    out.push({
      step: 'loc-rib',
      ok: best.length > 0,
      detail: match
        ? `this node (${deps.node}) routes ${ip} by ${match.prefix} via ${best.map((p) => `${p.nextHop} (${p.from})`).join(', ')}`
        : `this node (${deps.node}) has no BGP route covering ${ip}: ${rec ? `node ${podNode} advertises it, so a router on the path filtered it or did not propagate it` : 'nobody advertises it'}`,
      evidence: match ? `why best: ${best[0]?.reason ?? 'only path'}` : `neighbors: ${deps.bgp.neighborsSummary().map((n) => `${n.peer} ${n.state} rcvd ${n.prefixesReceived}`).join('; ')}`,
    });
  }
  const kernel = await kernelLookup(a);
  if (local) {
    out.push({
      step: 'kernel',
      ok: kernel !== undefined && kernel.type === 'unicast' && kernel.dst === host,
      detail: kernel ? `kernel routes ${ip} by ${kernel.dst} (${kernel.type}, proto ${kernel.protocol})${kernel.dst !== host ? `: the pod's own ${host} host route is MISSING` : ''}` : `the kernel has no route to ${ip}`,
    });
  } else {
    const bgpPrefix = ribPrefix;
    const ours = kernel !== undefined && kernel.protocol === UPLINK_RT_PROTO && kernel.type === 'unicast';
    let detail: string;
    if (!kernel) detail = `the kernel has no route to ${ip}${bgpPrefix ? `: BGP's ${bgpPrefix} is missing from the FIB` : ''}`;
    else if (ours) detail = `kernel routes ${ip} by ${kernel.dst} via ${kernel.nexthops.map((n) => n.gateway ?? n.via ?? `dev ${n.dev}`).join(', ')}`;
    else if (bgpPrefix && kernel.dst !== bgpPrefix) detail = `kernel routes ${ip} by ${kernel.dst} (${kernel.type}, proto ${kernel.protocol}), which is not BGP's ${bgpPrefix}: ${prefixLen(kernel.dst) > prefixLen(bgpPrefix) ? 'a more specific route shadows it' : "BGP's route is missing from the FIB"}`;
    else detail = `kernel routes ${ip} by a ${kernel.type} route ${kernel.dst} (proto ${kernel.protocol}): BGP's route is missing from the FIB`;
    out.push({ step: 'kernel', ok: ours, detail });
  }

  // 5. Local pod: veth and MTU.
  if (local && deps.cni) {
    const att = deps.cni.attachments().find((x) => x.ipv4 === ip || x.ipv6 === ip);
    if (!att) {
      out.push({ step: 'attachment', ok: false, detail: `this node has no CNI attachment for ${ip} (IPAM says it is allocated here: a leak, fix with uplinkctl ipam check)` });
    } else {
      const link = await netlink().getLink(att.hostIf);
      out.push({
        step: 'veth',
        ok: link !== undefined && link.up,
        detail: link ? `host veth ${att.hostIf} is ${link.up ? 'up' : 'DOWN'}, mtu ${link.mtu}` : `host veth ${att.hostIf} of ${att.namespace ?? ''}/${att.pod ?? att.containerId.slice(0, 12)} is MISSING (deleted?): re-create the pod`,
      });
      if (link && link.mtu !== att.mtu) out.push({ step: 'mtu', ok: false, detail: `host veth mtu ${link.mtu} differs from the pod's ${att.mtu}` });
    }
  }
  return out;
}

async function kernelLookup(a: Addr): Promise<KernelRoute | undefined> {
  const family = a instanceof Address4 ? 4 : 6;
  const routes = await netlink().dumpRoutes({ family, table: 254 });
  let best: KernelRoute | undefined;
  for (const r of routes) {
    if (r.dst === 'default' || !contains(r.dst, a)) continue;
    if (!best || prefixLen(r.dst) > prefixLen(best.dst)) best = r;
  }
  return best;
}
