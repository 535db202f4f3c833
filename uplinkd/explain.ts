// `uplinkctl explain POD|IP`: walk the path an operator would walk by hand and say, step by step, what
// holds and what does not, with the evidence. Order follows the packet's dependencies: the address must
// be allocated, its block owned by a live node, advertised by that node, accepted by that node's peers
// (their own word: explain-acceptance.ts), propagated by the fabric, chosen in our Loc-RIB, installed in
// our kernel, (for a local pod) delivered to a live veth, and carried by every interface on the path
// (MTU, explain-path.ts). For an address owned by another node, that node's agent is asked for its
// part (peer acceptance, its interfaces) through the datastore (explain-broker.ts), so it works across
// machines; when it does not answer in time the step says so and falls back to inference from this
// node's RIB.
import { Address4, Address6 } from 'ip-address';
import { readSnapshot, type Datastore, type IpamSnapshot, type Block } from '../ipam/index.js';
import { netlink, UPLINK_RT_PROTO, type KernelRoute } from '../routes/index.js';
import type { CniServer } from '../cni/server/index.js';
import { AGENTS_PREFIX, type AgentStatusRecord } from './agent.js';
import type { BgpBridge, NeighborSummary, RouteView } from './bgp-bridge.js';
import { AcceptanceMethod, probeAcceptance, type PeerAcceptance } from './explain-acceptance.js';
import type { ExplainAsker } from './explain-broker.js';
import { egressInterfaces, judgeMtu, linkTable, podInterfaceMtu, routeTo, type MtuHop, type MtuReport } from './explain-path.js';

export interface ExplainStep {
  step: string;
  ok: boolean;
  detail: string;
  evidence?: string;
  /** The BGP peer a `peer accepted` step is about. */
  peer?: string;
  /** How a `peer accepted` step got its answer (AcceptanceMethod, or "inference"). */
  method?: string;
  /** On the `mtu` step: the pod's MTU and every interface this node sees on the path. */
  mtu?: MtuReport;
}

export interface ExplainDeps {
  node: string;
  store: Datastore;
  bgp: BgpBridge | undefined;
  cni: CniServer | undefined;
  /** Seconds after which an agent's status record counts as stale; default 3 refresh periods. */
  staleAfterS?: number;
  /** How long to wait for the owner node's agent (its own probe included); default 12 s. */
  ownerTimeoutMs?: number;
  /**
   * Asks another node's agent for its half through the datastore. Absent on the owner answering such
   * a request, so a question is never passed on a second time.
   */
  asker?: ExplainAsker;
  /** Set: do not send ROUTE-REFRESH to the peers; the text says why ("--no-refresh"). */
  noRefresh?: string;
  /** Reuse a peer's refresh answer this long (explain-acceptance.ts cacheMs); default 30 s. */
  refreshCacheMs?: number;
  /** The node's network namespace when the agent runs outside it (config `netns`). */
  netns?: string;
}

/** The method of a `peer accepted` step whose peer was not asked (refresh switched off). */
export const NOT_VERIFIED = 'not verified';

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

  // 4. Did the owner's peers accept it? On the owner, ask each peer (explain-acceptance.ts); elsewhere,
  // ask the owner's agent, which asks its peers; failing that, infer from this node's Loc-RIB.
  const local = podNode === deps.node;
  let match: RouteView | undefined;
  let best: RouteView['paths'][number][] = [];
  if (!local && deps.bgp) {
    match = deps.bgp.routes()
      .filter((r) => contains(r.prefix, a))
      .sort((x, y) => prefixLen(y.prefix) - prefixLen(x.prefix))[0];
    best = match?.paths.filter((p) => p.best || p.multipath) ?? [];
  }
  let ownerSteps: ExplainStep[] | undefined;
  let ownerWhy: string | undefined;
  if (local) {
    if (deps.bgp) out.push(...(await acceptanceSteps(ownerBlock, deps.bgp, deps)));
  } else if (rec && ageS < staleS && deps.asker) {
    try {
      const got = await deps.asker.ask(podNode, ip, { timeoutMs: deps.ownerTimeoutMs ?? 12_000, noRefresh: deps.noRefresh !== undefined });
      ownerSteps = Array.isArray(got) ? (got as unknown as ExplainStep[]) : [];
    } catch (err) {
      ownerWhy = (err as Error).message;
    }
  } else ownerWhy = rec && ageS < staleS ? `node ${podNode}'s agent was not asked (this explain runs without a datastore broker)` : `node ${podNode}'s agent is not up`;
  const accepted = (ownerSteps ?? []).filter((s) => s.step === 'peer accepted');
  if (!local && rec) {
    const inferred = best.length
      ? `this node learned ${match!.prefix} with AS path ${best[0]!.asPath || '(empty)'}, so it was accepted on the way`
      : `this node has no route for ${ownerBlock}, so a peer did not accept it or a router between filtered it`;
    if (accepted.length) {
      // A peer that never sends our routes back (BIRD, GoBGP, iBGP) cannot be asked: infer from our RIB.
      out.push(...accepted.map((s) => (s.method === AcceptanceMethod.None
        ? { ...s, method: 'inference', ok: best.length > 0, detail: `node ${podNode}: peer ${s.peer} cannot confirm it (it sends none of node ${podNode}'s routes back); inferred: ${inferred}` }
        : s.method === NOT_VERIFIED
          ? { ...s, ok: best.length > 0, detail: `node ${podNode}: ${s.detail}; inferred: ${inferred}` }
          : { ...s, detail: `node ${podNode}: ${s.detail}` })));
    } else if (deps.bgp) {
      out.push({
        step: 'peer accepted',
        method: 'inference',
        ok: best.length > 0,
        detail: `node ${podNode}'s peers not asked; inferred: ${inferred}`,
        evidence: ownerWhy ?? `node ${podNode} reported no peer to ask`,
      });
    }
  }

  // 5. This node: Loc-RIB and kernel.
  let ribPrefix: string | undefined;
  if (!local && deps.bgp) {
    if (best.length) ribPrefix = match!.prefix;
    const refused = accepted.filter((s) => !s.ok);
    const confirmed = accepted.filter((s) => s.ok && s.method !== AcceptanceMethod.None && s.method !== NOT_VERIFIED);
    const why = refused.length
      ? `node ${podNode}'s peer ${refused.map((s) => s.peer).join(', ')} did not accept it (see "peer accepted"), so the fabric never had it`
      : confirmed.length
        ? `node ${podNode}'s peer ${confirmed.map((s) => s.peer).join(', ')} accepted it (re-advertised it), so a router between it and this node filtered it or did not propagate it (its export policy toward us?)`
        : rec ? `node ${podNode} advertises it, so a router on the path filtered it or did not propagate it` : 'nobody advertises it';
    out.push({
      step: 'loc-rib',
      ok: best.length > 0,
      detail: match
        ? `this node (${deps.node}) routes ${ip} by ${match.prefix} via ${best.map((p) => `${p.nextHop} (${p.from})`).join(', ')}`
        : `this node (${deps.node}) has no BGP route covering ${ip}: ${why}`,
      evidence: match ? `why best: ${best[0]?.reason ?? 'only path'}` : `neighbors: ${deps.bgp.neighborsSummary().map((n) => `${n.peer} ${n.state} rcvd ${n.prefixesReceived}`).join('; ')}`,
    });
  }
  const kernel = await kernelLookup(a, deps.netns);
  let ours = false;
  if (local) {
    out.push({
      step: 'kernel',
      ok: kernel !== undefined && kernel.type === 'unicast' && kernel.dst === host,
      detail: kernel ? `kernel routes ${ip} by ${kernel.dst} (${kernel.type}, proto ${kernel.protocol})${kernel.dst !== host ? `: the pod's own ${host} host route is MISSING` : ''}` : `the kernel has no route to ${ip}`,
    });
  } else {
    const bgpPrefix = ribPrefix;
    ours = kernel !== undefined && kernel.protocol === UPLINK_RT_PROTO && kernel.type === 'unicast';
    let detail: string;
    if (!kernel) detail = `the kernel has no route to ${ip}${bgpPrefix ? `: BGP's ${bgpPrefix} is missing from the FIB` : ''}`;
    else if (ours) detail = `kernel routes ${ip} by ${kernel.dst} via ${kernel.nexthops.map((n) => n.gateway ?? n.via ?? `dev ${n.dev}`).join(', ')}`;
    else if (bgpPrefix && kernel.dst !== bgpPrefix) detail = `kernel routes ${ip} by ${kernel.dst} (${kernel.type}, proto ${kernel.protocol}), which is not BGP's ${bgpPrefix}: ${prefixLen(kernel.dst) > prefixLen(bgpPrefix) ? 'a more specific route shadows it' : "BGP's route is missing from the FIB"}`;
    else detail = `kernel routes ${ip} by a ${kernel.type} route ${kernel.dst} (proto ${kernel.protocol}): BGP's route is missing from the FIB`;
    out.push({ step: 'kernel', ok: ours, detail });
  }

  // 6. Local pod: veth; then the MTU of everything on the path.
  const links = await linkTable(deps.netns);
  const hop = (index: number, role: MtuHop['role']): MtuHop[] => {
    const l = links.get(index);
    return l ? [{ node: deps.node, interface: l.name, mtu: l.mtu, role }] : [];
  };
  if (local && deps.cni) {
    const att = deps.cni.attachments().find((x) => x.ipv4 === ip || x.ipv6 === ip);
    if (!att) {
      out.push({ step: 'attachment', ok: false, detail: `this node has no CNI attachment for ${ip} (IPAM says it is allocated here: a leak, fix with uplinkctl ipam check)` });
    } else {
      const link = await netlink(deps.netns).getLink(att.hostIf);
      out.push({
        step: 'veth',
        ok: link !== undefined && link.up,
        detail: link ? `host veth ${att.hostIf} is ${link.up ? 'up' : 'DOWN'}, mtu ${link.mtu}` : `host veth ${att.hostIf} of ${att.namespace ?? ''}/${att.pod ?? att.containerId.slice(0, 12)} is MISSING (deleted?): re-create the pod`,
      });
      // Traffic to this pod arrives over the uplinks toward our BGP peers and leaves by its host veth.
      const hops: MtuHop[] = link ? [{ node: deps.node, interface: att.hostIf, mtu: link.mtu, role: 'host veth' }] : [];
      hops.push(...(await uplinkHops(deps.bgp, hop, deps.netns)));
      const podMtu = (await podInterfaceMtu(att.netns, att.ifname)) ?? att.mtu;
      out.push({ step: 'mtu', ...judgeMtu(podMtu, `pod ${ip}`, hops), mtu: { podMtu, hops } });
    }
  } else if (!local) {
    // Toward a remote pod: our egress interfaces for its route, then the owner's (uplinks, veth, pod).
    const hops: MtuHop[] = [];
    if (kernel && ours) for (const i of await egressInterfaces(kernel, deps.netns)) hops.push(...hop(i, 'uplink'));
    const theirs = ownerSteps?.find((s) => s.step === 'mtu')?.mtu;
    hops.push(...(theirs?.hops ?? []));
    let podMtu = theirs?.podMtu ?? null;
    let label = `pod ${ip}`;
    const mine = deps.cni?.attachments().map((x) => x.mtu) ?? [];
    if (podMtu === null && mine.length) {
      podMtu = Math.max(...mine);
      label = `pods on ${deps.node}`;
    }
    const j = judgeMtu(podMtu, label, hops);
    out.push({ step: 'mtu', ...j, detail: theirs ? j.detail : `${j.detail} (node ${podNode}'s interfaces not seen: ${ownerWhy ?? 'it reported none'})`, mtu: { podMtu, hops } });
  }
  return out;
}

/** One `peer accepted` step per Established peer we advertise `prefix` to, each peer asked at once. */
async function acceptanceSteps(prefix: string, bgp: BgpBridge, deps: ExplainDeps): Promise<ExplainStep[]> {
  const peers = bgp.exportsOf(new Set([prefix])).filter((e) => e.state === 'Established' && e.prefixes.includes(prefix));
  if (deps.noRefresh !== undefined) {
    // Each probe makes the peer resend its whole table: an operator may not want that on a busy ToR.
    return peers.map((p) => ({
      step: 'peer accepted', peer: p.peer, method: NOT_VERIFIED, ok: true,
      detail: `peer ${p.peer}: acceptance of ${prefix} not verified (${deps.noRefresh})`,
      evidence: `we advertise ${prefix} to it (Adj-RIB-Out); no ROUTE-REFRESH was sent`,
    }));
  }
  const probe = { cacheMs: deps.refreshCacheMs ?? 30_000 };
  const results = await Promise.all(peers.map((p) => probeAcceptance(bgp.speaker, p.peer, prefix, probe).catch((err: unknown): PeerAcceptance => ({
    peer: p.peer, prefix, method: AcceptanceMethod.None, accepted: null, evidence: `probe failed: ${(err as Error).message}`,
  }))));
  return results.map((r) => {
    const base = { step: 'peer accepted', peer: r.peer, method: r.method, evidence: r.evidence };
    if (r.accepted === true) return { ...base, ok: true, detail: `peer ${r.peer} accepted ${prefix}: it re-advertised it (AS path ${r.asPath}; ${r.method})` };
    if (r.accepted === false) {
      const asked = r.method === AcceptanceMethod.AdjRibIn ? 'no longer sends it back' : 'did not re-advertise it after route refresh';
      return { ...base, ok: false, detail: `peer ${r.peer} ${asked}: ${prefix} is filtered by its import policy? (it does send our routes back otherwise)` };
    }
    return { ...base, ok: true, detail: `peer ${r.peer}: acceptance of ${prefix} not verified from the peer, which sends none of our routes back; explain this address on another node infers it from that node's RIB` };
  });
}

/** Uplinks toward our Established BGP peers (the way traffic to a local pod comes in). */
async function uplinkHops(bgp: BgpBridge | undefined, hop: (index: number, role: MtuHop['role']) => MtuHop[], netns?: string): Promise<MtuHop[]> {
  const seen = new Set<number>();
  for (const n of bgp?.neighborsSummary() ?? []) {
    if (n.state !== 'Established' || !n.address || /^fe80/i.test(n.address)) continue;
    const r = await routeTo(n.address, netns);
    if (r) for (const i of await egressInterfaces(r, netns)) seen.add(i);
  }
  return [...seen].flatMap((i) => hop(i, 'uplink'));
}

async function kernelLookup(a: Addr, netns?: string): Promise<KernelRoute | undefined> {
  const family = a instanceof Address4 ? 4 : 6;
  const routes = await netlink(netns).dumpRoutes({ family, table: 254 });
  let best: KernelRoute | undefined;
  for (const r of routes) {
    if (r.dst === 'default' || !contains(r.dst, a)) continue;
    if (!best || prefixLen(r.dst) > prefixLen(best.dst)) best = r;
  }
  return best;
}
