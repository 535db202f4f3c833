// TCP MD5 (RFC 2385) and GTSM (RFC 5082) against real peers, positive and negative:
//  - MD5 + GTSM with FRR on a link: Established, prefixes both ways, the kernel sockets carry MD5.
//  - wrong MD5 key: never Established on either side, and the kernels count the segments they dropped.
//  - GTSM with FRR one routed hop away: with the hop allowed (ttlSecurity 2) the session comes up
//    across the router; with ttlSecurity 1 FRR's segments arrive with TTL 254 and our kernel drops them.
//  - MD5 with BIRD 2: Established, prefixes both ways.
//  - MD5 with GoBGP (`auth-password`): Established, prefixes both ways, MD5 on the sockets; with a wrong
//    key on our side never Established on either side, and both kernels count TCPMD5Failure.
import { describe, expect, it } from 'vitest';
import { link, isRoot, type Netns } from '../../test/harness/netns.js';
import { startBird } from '../../test/harness/peers/bird.js';
import { startGobgp, type GobgpPeer } from '../../test/harness/peers/gobgp.js';
import type { FrrPeer } from '../../test/harness/peers/frr.js';
import { sleep } from '../../test/harness/peers/common.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf, frrSession, netns, nsPair, type Cleanup } from './frr-session.js';
import { birdConf, gobgpConf } from './peer-confs.js';
import type { BgpSpeaker } from '../speaker.js';
import type { FibChange } from '../rib/rib.js';

const OURS = { routerId: '10.0.0.1', asn: 65000, advertise: ['10.244.1.0/24'], importPools: ['192.0.2.0/24'] };
const FRR = { asn: 65001, networks4: ['192.0.2.0/24'] };

type Routes = { routes?: Record<string, { nexthops?: { ip: string }[] }[]> };
type FrrNeighbor = { bgpState?: string; connectionsEstablished?: number };

/** The kernel's TCP extension counters in `ns` (/proc/net/netstat is per namespace). */
function tcpExt(ns: Netns): Record<string, number> {
  const lines = ns.exec('cat', ['/proc/net/netstat']).split('\n').filter((l) => l.startsWith('TcpExt:'));
  const [names, values] = lines.map((l) => l.split(/\s+/).slice(1));
  return Object.fromEntries(names!.map((n, i) => [n, Number(values![i])]));
}

/** The peer daemon's view of its session with us: its state now, and how often it was Established. */
interface TheirSide {
  state(): string;
  timesEstablished(): number;
}

const frrSide = (frr: FrrPeer, sees: string): TheirSide => {
  const n = (): FrrNeighbor | undefined => frr.vtyshJson<Record<string, FrrNeighbor>>(`show bgp neighbors ${sees} json`)[sees];
  return { state: () => n()?.bgpState ?? '?', timesEstablished: () => n()?.connectionsEstablished ?? 0 };
};

/** GoBGP counts no establishments; the OPENs it received tell whether a session ever got that far. */
const gobgpSide = (gobgp: GobgpPeer, sees: string): TheirSide => ({
  state: () => gobgp.neighborState(sees) ?? '?',
  timesEstablished: () => gobgp.gobgpJson<{ state?: { messages?: { received?: { open?: number } } } }>('neighbor', sees).state?.messages?.received?.open ?? 0,
});

/**
 * Watch both sides for at least `minMs` and until `until()` holds (at most 30 s): neither may reach
 * Established meanwhile.
 */
async function neverEstablished(speaker: BgpSpeaker, name: string, theirs: TheirSide, minMs: number, until: () => boolean): Promise<void> {
  const seen = { ours: new Set<string>(), theirs: new Set<string>() };
  const start = Date.now();
  while (Date.now() - start < minMs || (!until() && Date.now() - start < 30_000)) {
    seen.ours.add(speaker.neighbor(name).state);
    seen.theirs.add(theirs.state().toLowerCase());
    await sleep(200);
  }
  expect(until()).toBe(true);
  expect([...seen.ours]).not.toContain('Established');
  expect([...seen.theirs]).not.toContain('established');
  expect(speaker.neighbor(name).flaps).toEqual([]);
  expect(theirs.timesEstablished()).toBe(0);
}

/** Our prefix on FRR (next hop `nh`) and FRR's in our FIB (next hop `frrAddr`). */
async function routesBothWays(frr: FrrPeer, fib: Map<string, FibChange>, nh: string, frrAddr: string): Promise<void> {
  const ours = () => frr.vtyshJson<Routes>('show bgp ipv4 unicast json').routes?.['10.244.1.0/24']?.[0];
  await waitUntil('FRR has our route', () => ours() !== undefined, 20_000, () => frr.vtysh('show bgp ipv4 unicast'));
  expect(ours()!.nexthops?.[0]?.ip).toBe(nh);
  await waitUntil('we have FRR route', () => fib.has('192.0.2.0/24'));
  expect(fib.get('192.0.2.0/24')!.nextHops).toEqual([{ address: frrAddr }]);
}

/** `ss` for established BGP sockets in `ns`. */
const bgpSockets = (ns: Netns): string => ns.exec('ss', ['-tni', 'state', 'established', '( sport = :179 or dport = :179 )']);

describe.skipIf(!isRoot)('TCP MD5 and GTSM', () => {
  const cleanup = cleanupAfterEach();

  it('MD5 + GTSM with FRR on a link: up, prefixes both ways, MD5 on the sockets of both kernels', async () => {
    const { us, them } = nsPair(cleanup, 'ulm');
    const config = frrConf({ ...FRR, routerId: '10.0.0.2', neighbors: [{ address: '10.0.0.1', asn: 65000, lines: ['password s3cret-key', 'ttl-security hops 1'] }] });
    const { frr, fib } = await frrSession(cleanup, { us, them, config, frrSees: '10.0.0.1', ours: { ...OURS, peers: [{ name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4'], password: 's3cret-key', ttlSecurity: 1 }] } });
    await routesBothWays(frr, fib, '10.0.0.1', '10.0.0.2');
    expect(bgpSockets(us)).toMatch(/md5/);
    expect(bgpSockets(them)).toMatch(/md5/);
  });

  it('wrong MD5 key: never Established, and both kernels drop the segments (TCPMD5Failure)', async () => {
    const { us, them } = nsPair(cleanup, 'ulm');
    const config = frrConf({ ...FRR, routerId: '10.0.0.2', neighbors: [{ address: '10.0.0.1', asn: 65000, lines: ['password their-key'] }] });
    const { frr, speaker } = await downSession(cleanup, us, them, config, { address: '10.0.0.2', password: 'our-key' });
    const before = { us: tcpExt(us).TCPMD5Failure!, them: tcpExt(them).TCPMD5Failure! };
    // Both kernels drop the other's segments: the MD5 digest does not verify.
    await neverEstablished(speaker, 'frr', frrSide(frr, '10.0.0.1'), 5000, () => tcpExt(us).TCPMD5Failure! > before.us && tcpExt(them).TCPMD5Failure! > before.them);
    expect(speaker.neighbor('frr').counters.messagesIn).toBe(0);
  });

  it('GTSM with FRR one routed hop away: ttlSecurity 1 drops its segments (TTL 254), ttlSecurity 2 comes up', async () => {
    const { us, them: r } = nsPair(cleanup, 'ulm');
    const f = netns(cleanup, 'ulm');
    link(r, 'eth1', f, 'eth0', ['10.0.1.1/30'], ['10.0.1.2/30']);
    r.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    us.ip('route', 'add', '10.0.1.0/30', 'via', '10.0.0.2');
    f.ip('route', 'add', '10.0.0.0/30', 'via', '10.0.1.1');
    // FRR allows the hop (it expects TTL >= 254); only our side is too strict at first.
    const config = frrConf({ ...FRR, routerId: '10.0.1.2', neighbors: [{ address: '10.0.0.1', asn: 65000, lines: ['ttl-security hops 2'] }] });
    const strict = await downSession(cleanup, us, f, config, { address: '10.0.1.2', ttlSecurity: 1 });
    const before = tcpExt(us).TCPMinTTLDrop!;
    await neverEstablished(strict.speaker, 'frr', frrSide(strict.frr, '10.0.0.1'), 5000, () => tcpExt(us).TCPMinTTLDrop! > before);
    await strict.speaker.stop();

    // The same peer with the hop allowed on our side too: up across the router.
    const { speaker, fib } = startSpeaker(us, { ...OURS, peers: [{ name: 'frr', address: '10.0.1.2', asn: 65001, families: ['ipv4'], ttlSecurity: 2 }] });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await waitEstablished(speaker, 'frr');
    await strict.frr.waitState('10.0.0.1');
    await routesBothWays(strict.frr, fib, '10.0.0.1', '10.0.1.2');
  });

  it('MD5 with BIRD 2: up, prefixes both ways, MD5 on the sockets', async () => {
    const { us, them } = nsPair(cleanup, 'ulm');
    const bird = await startBird(them, { config: birdConf({ asn: 65002, peerAs: 65000, password: 'b1rd-key', ipv6: false }) });
    cleanup.push(() => bird.stop({ cleanup: true }));
    const { speaker, fib } = startSpeaker(us, { ...OURS, peers: [{ name: 'bird', address: '10.0.0.2', asn: 65002, families: ['ipv4'], password: 'b1rd-key' }] });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await waitEstablished(speaker, 'bird');
    await bird.waitState('ours4');
    await waitUntil('BIRD has our route', () => /BGP\.next_hop: 10\.0\.0\.1/.test(bird.birdc('show route 10.244.1.0/24 all')), 20_000, () => bird.birdc('show route all'));
    await waitUntil('we have BIRD route', () => fib.has('192.0.2.0/24'));
    expect(bgpSockets(us)).toMatch(/md5/);
    expect(bgpSockets(them)).toMatch(/md5/);
  });

  it('MD5 with GoBGP: up, prefixes both ways, MD5 on the sockets of both kernels', async () => {
    const { us, them } = nsPair(cleanup, 'ulm');
    const { gobgp, speaker, fib } = await gobgpMd5(cleanup, us, them, 'g0bgp-key');
    await waitEstablished(speaker, 'gobgp');
    await gobgp.waitState('10.0.0.1');
    gobgp.gobgp('global', 'rib', 'add', '192.0.2.0/24', '-a', 'ipv4');
    type Rib = Record<string, { attrs: { type: number; nexthop?: string }[] }[]>;
    const ours = () => gobgp.gobgpJson<Rib>('global', 'rib', '-a', 'ipv4')['10.244.1.0/24']?.[0];
    await waitUntil('GoBGP has our route', () => ours() !== undefined, 20_000, () => gobgp.gobgp('global', 'rib', '-a', 'ipv4'));
    expect(ours()!.attrs.find((a) => a.type === 3)?.nexthop).toBe('10.0.0.1');
    await waitUntil('we have GoBGP route', () => fib.has('192.0.2.0/24'), 20_000, () => JSON.stringify(speaker.routes()));
    expect(fib.get('192.0.2.0/24')!.nextHops).toEqual([{ address: '10.0.0.2' }]);
    expect(bgpSockets(us)).toMatch(/md5/);
    expect(bgpSockets(them)).toMatch(/md5/);
  });

  it('wrong MD5 key with GoBGP: never Established, and both kernels drop the segments (TCPMD5Failure)', async () => {
    const { us, them } = nsPair(cleanup, 'ulm');
    const before = { us: tcpExt(us).TCPMD5Failure!, them: tcpExt(them).TCPMD5Failure! };
    const { gobgp, speaker } = await gobgpMd5(cleanup, us, them, 'their-key', 'our-key');
    // GoBGP dials us and we dial it: each kernel drops the other's SYNs, the digest does not verify.
    await neverEstablished(speaker, 'gobgp', gobgpSide(gobgp, '10.0.0.1'), 5000, () => tcpExt(us).TCPMD5Failure! > before.us && tcpExt(them).TCPMD5Failure! > before.them);
    expect(speaker.neighbor('gobgp').counters.messagesIn).toBe(0);
  });
});

/** GoBGP in `them` with MD5 key `theirKey` towards us, and our speaker (key `ourKey`, default the same) started. */
async function gobgpMd5(cleanup: Cleanup, us: Netns, them: Netns, theirKey: string, ourKey = theirKey) {
  const gobgp = await startGobgp(them, { config: gobgpConf({ asn: 65003, routerId: '10.0.0.2', neighbors: [{ address: '10.0.0.1', asn: 65000, family: 'ipv4', password: theirKey }] }) });
  cleanup.push(() => gobgp.stop({ cleanup: true }));
  const { speaker, fib } = startSpeaker(us, { ...OURS, peers: [{ name: 'gobgp', address: '10.0.0.2', asn: 65003, families: ['ipv4'], password: ourKey }] });
  cleanup.push(() => speaker.stop());
  await speaker.start();
  return { gobgp, speaker, fib };
}

/** FRR with `config` in `them` and our speaker peering with it as `frr` (`peer` overrides), not waited for. */
function downSession(cleanup: Cleanup, us: Netns, them: Netns, config: string, peer: Record<string, unknown>) {
  return frrSession(cleanup, { us, them, config, peer: false, ours: { ...OURS, peers: [{ name: 'frr', asn: 65001, families: ['ipv4'], ...peer }] } });
}
