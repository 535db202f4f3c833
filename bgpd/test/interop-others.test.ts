// Interop with BIRD 2, GoBGP and ExaBGP in namespaces, eBGP and iBGP, IPv4 and IPv6: session up,
// prefixes both ways, checked on both sides (their CLI/JSON output and our RIB), withdrawals both ways.
// A third namespace holds an eBGP upstream of ours whose routes we pass on (transit), so the
// export rules show on the peer's side: eBGP gets our AS prepended and next hop self (RFC 4271 §5.1.2,
// §5.1.3), iBGP gets the AS_PATH untouched, LOCAL_PREF, and the next hop unchanged unless
// next-hop-self is configured (§5.1.3, §5.1.5); the peer's LOCAL_PREF counts only over iBGP.
import { describe, expect, it } from 'vitest';
import { link, isRoot, type Netns } from '../../test/harness/netns.js';
import { startBird, type BirdPeer } from '../../test/harness/peers/bird.js';
import { startGobgp } from '../../test/harness/peers/gobgp.js';
import { startExabgp, EXABGP_API_PROCESS, type ExabgpMessage } from '../../test/harness/peers/exabgp.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, netns, nsPair, type Cleanup } from './frr-session.js';
import { birdConf, gobgpConf } from './peer-confs.js';
import type { BgpSpeaker } from '../speaker.js';
import type { FibChange } from '../rib/rib.js';

type Mode = 'eBGP' | 'iBGP';
const US = 65000;
const UPSTREAM = 65011;
/** Ours (originated) and the upstream's (transit), per family. */
const OWN = { ipv4: '10.244.1.0/24', ipv6: 'fd00:244:1::/64' } as const;
const TRANSIT = { ipv4: '198.51.100.0/24', ipv6: '2001:db8:99::/48' } as const;
const UPSTREAM_NH = { ipv4: '10.0.1.2', ipv6: 'fd01::2' } as const;
const OUR_NH = { ipv4: '10.0.0.1', ipv6: 'fd00::1' } as const;

const OURS = {
  routerId: '10.0.0.1',
  asn: US,
  advertise: [OWN.ipv4, OWN.ipv6],
  importPools: ['192.0.2.0/24', '198.51.100.0/24', '2001:db8::/32'],
  policies: { all: { terms: [], default: 'accept' } },
};

/** A route as the peer daemon holds it. */
interface TheirRoute {
  readonly asPath: readonly number[];
  /** Global next hop (a link-local one, if any, in `nextHopLocal`). */
  readonly nextHop: string;
  readonly nextHopLocal?: string;
  readonly localPref?: number;
}

/** One peer daemon in `them`, peering with us as AS `asn`. */
interface Daemon {
  /** Our peers for it (exported to with policy `all`). */
  readonly peers: Record<string, unknown>[];
  /** What it originates, per family. */
  readonly theirs: { readonly ipv4: string; readonly ipv6: string };
  /** Wait until its side is up too, then have it announce (if it needs telling). */
  up(): Promise<void>;
  route(prefix: string): TheirRoute | undefined;
  withdrawTheirs(): void;
  dump(): string;
}

describe.skipIf(!isRoot)('interop: BIRD, GoBGP, ExaBGP', () => {
  const cleanup = cleanupAfterEach();

  describe.each(['eBGP', 'iBGP'] as const)('%s', (mode) => {
    const ibgp = mode === 'iBGP';
    const theirAs = (ebgpAs: number): number => (ibgp ? US : ebgpAs);

    it('BIRD 2: IPv4 and IPv6 sessions', async () => {
      await exchange(cleanup, mode, async (them) => {
        const asn = theirAs(65002);
        const bird = await startBird(them, { config: birdConf({ asn, peerAs: US, localPref: 200 }) });
        cleanup.push(() => bird.stop({ cleanup: true }));
        return {
          peers: [
            { name: 'bird4', address: '10.0.0.2', asn, families: ['ipv4'] },
            { name: 'bird6', address: 'fd00::2', asn, families: ['ipv6'] },
          ],
          theirs: { ipv4: '192.0.2.0/24', ipv6: '2001:db8:2::/48' },
          up: async () => {
            await bird.waitState('ours4');
            await bird.waitState('ours6');
          },
          route: (p) => birdRoute(bird, p),
          withdrawTheirs: () => void bird.birdc('disable s4'),
          dump: () => bird.birdc('show route all'),
        };
      });
    });

    it('GoBGP: IPv4 and IPv6 sessions, next-hop-self over iBGP', async () => {
      await exchange(cleanup, mode, async (them) => {
        const asn = theirAs(65003);
        const gobgp = await startGobgp(them, { config: gobgpConf({ asn, routerId: '10.0.0.2', neighbors: [{ address: '10.0.0.1', asn: US, family: 'ipv4' }, { address: 'fd00::1', asn: US, family: 'ipv6' }] }) });
        cleanup.push(() => gobgp.stop({ cleanup: true }));
        gobgp.gobgp('global', 'rib', 'add', '192.0.2.0/24', 'local-pref', '200', '-a', 'ipv4');
        gobgp.gobgp('global', 'rib', 'add', '2001:db8:3::/48', 'local-pref', '200', '-a', 'ipv6');
        return {
          // Next-hop-self as configured: transit leaves with our address over iBGP too.
          peers: [
            { name: 'gobgp4', address: '10.0.0.2', asn, families: ['ipv4'], nextHopSelf: true },
            { name: 'gobgp6', address: 'fd00::2', asn, families: ['ipv6'], nextHopSelf: true },
          ],
          theirs: { ipv4: '192.0.2.0/24', ipv6: '2001:db8:3::/48' },
          up: async () => {
            await gobgp.waitState('10.0.0.1');
            await gobgp.waitState('fd00::1');
          },
          route: (p) => gobgpRoute(gobgp.gobgpJson<GobgpRib>('global', 'rib', '-a', p.includes(':') ? 'ipv6' : 'ipv4')[p]?.[0]),
          withdrawTheirs: () => void gobgp.gobgp('global', 'rib', 'del', '192.0.2.0/24', '-a', 'ipv4'),
          dump: () => gobgp.gobgp('global', 'rib', '-a', 'ipv4') + gobgp.gobgp('global', 'rib', '-a', 'ipv6'),
        };
      });
    });

    it('ExaBGP: IPv4 and IPv6 over one session, announcements and withdrawals', async () => {
      await exchange(cleanup, mode, async (them) => {
        const asn = theirAs(65004);
        const exa = await startExabgp(them, {
          config: `
neighbor 10.0.0.1 {
  router-id 10.0.0.2;
  local-address 10.0.0.2;
  local-as ${asn};
  peer-as ${US};
  family { ipv4 unicast; ipv6 unicast; }
  api { processes [ ${EXABGP_API_PROCESS} ]; neighbor-changes; receive { parsed; update; notification; } }
}
`,
        });
        cleanup.push(() => exa.stop({ cleanup: true }));
        return {
          peers: [{ name: 'exa', address: '10.0.0.2', asn, families: ['ipv4', 'ipv6'], nextHopIpv6: 'fd00::1' }],
          theirs: { ipv4: '192.0.2.0/24', ipv6: '2001:db8:4::/48' },
          up: async () => {
            await exa.waitUp('10.0.0.1');
            exa.command('announce route 192.0.2.0/24 next-hop 10.0.0.2 local-preference 200');
            exa.command('announce route 2001:db8:4::/48 next-hop fd00::2 local-preference 200');
          },
          route: (p) => exabgpRib(exa.received()).get(p),
          withdrawTheirs: () => exa.command('withdraw route 192.0.2.0/24 next-hop 10.0.0.2'),
          dump: () => JSON.stringify(exa.received().slice(-6)),
        };
      });
    });
  });
});

/**
 * The shared body: namespaces (us, them, an upstream of ours), the daemon from `start`, our speaker;
 * then routes both ways checked on both sides, and a withdrawal each way.
 */
async function exchange(cleanup: Cleanup, mode: Mode, start: (them: Netns) => Promise<Daemon>): Promise<void> {
  const ibgp = mode === 'iBGP';
  const { us, them } = nsPair(cleanup, 'ulb', { ipv6: true });
  const upstream = startUpstream(cleanup, us);
  const d = await start(them);
  const { speaker, fib } = startSpeaker(us, {
    ...OURS,
    peers: [
      ...d.peers.map((p) => ({ exportPolicy: 'all', ...p })),
      { name: 'up4', address: UPSTREAM_NH.ipv4, asn: UPSTREAM, families: ['ipv4'] },
      { name: 'up6', address: UPSTREAM_NH.ipv6, asn: UPSTREAM, families: ['ipv6'] },
    ],
  });
  cleanup.push(() => speaker.stop());
  await speaker.start();
  await upstream.start();
  for (const p of d.peers) await waitEstablished(speaker, p.name as string).catch((e: Error) => { throw new Error(`${e.message.slice(0, 400)}\n--- peer ---\n${d.dump()}`); });
  await d.up();

  // Ours and the transit routes, on their side.
  const all = [OWN.ipv4, OWN.ipv6, TRANSIT.ipv4, TRANSIT.ipv6];
  await waitUntil(`${mode} peer has our and the transit routes`, () => all.every((p) => d.route(p) !== undefined), 20_000, d.dump);
  const nhSelf = d.peers.some((p) => p.nextHopSelf === true);
  for (const fam of ['ipv4', 'ipv6'] as const) {
    const own = d.route(OWN[fam])!;
    const transit = d.route(TRANSIT[fam])!;
    expect({ fam, asPath: own.asPath, nextHop: own.nextHop }).toEqual({ fam, asPath: ibgp ? [] : [US], nextHop: OUR_NH[fam] });
    expect({ fam, asPath: transit.asPath, nextHop: transit.nextHop }).toEqual({
      fam,
      asPath: ibgp ? [UPSTREAM] : [US, UPSTREAM],
      nextHop: ibgp && !nhSelf ? UPSTREAM_NH[fam] : OUR_NH[fam],
    });
    if (ibgp) {
      expect({ fam, own: own.localPref, transit: transit.localPref }).toEqual({ fam, own: 100, transit: 100 });
      // RFC 2545 §3: a link-local next hop only to a peer sharing the subnet of the global one.
      if (!nhSelf) expect({ fam, ll: transit.nextHopLocal }).toEqual({ fam, ll: undefined });
    }
  }

  // Theirs on our side.
  await waitUntil('we have their routes', () => fib.has(d.theirs.ipv4) && fib.has(d.theirs.ipv6), 20_000, () => JSON.stringify(speaker.routes()));
  expect(fib.get(d.theirs.ipv4)!.nextHops).toEqual([{ address: '10.0.0.2' }]);
  expect(fib.get(d.theirs.ipv6)!.nextHops[0]!.address).toMatch(/^(fd00::2|fe80:)/);
  for (const p of [d.theirs.ipv4, d.theirs.ipv6]) {
    const path = speaker.routes(p)[0]!.paths[0]!;
    expect({ p, asPath: path.asPath }).toEqual({ p, asPath: ibgp ? '' : String(d.peers[0]!.asn) });
    // Every peer is told LOCAL_PREF 200: it counts over iBGP; over eBGP it is ignored if sent at all
    // (§5.1.5; BIRD and GoBGP leave it out themselves).
    if (ibgp) expect({ p, lp: path.localPref }).toEqual({ p, lp: 200 });
    else expect(path.localPref).not.toBe(200);
  }

  // Withdrawals: theirs reaches us, the upstream going reaches them.
  d.withdrawTheirs();
  await waitUntil('their withdrawal reaches us', () => !fib.has(d.theirs.ipv4), 20_000);
  await upstream.stop();
  await waitUntil('transit withdrawn on their side', () => d.route(TRANSIT.ipv4) === undefined && d.route(TRANSIT.ipv6) === undefined, 20_000, d.dump);
  expect(d.route(OWN.ipv4)).toBeDefined();
  for (const p of d.peers) expect({ p: p.name, flaps: speaker.neighbor(p.name as string).flaps }).toEqual({ p: p.name, flaps: [] });
}

/** An eBGP upstream of ours (AS 65011) on us:eth1, over IPv4 and IPv6, advertising TRANSIT. */
function startUpstream(cleanup: Cleanup, us: Netns): { start(): Promise<void>; stop(): Promise<void> } {
  const up = netns(cleanup, 'ulb');
  link(us, 'eth1', up, 'eth0', ['10.0.1.1/30', 'fd01::1/64'], ['10.0.1.2/30', 'fd01::2/64']);
  let s: { speaker: BgpSpeaker; fib: Map<string, FibChange> } | null = startSpeaker(up, {
    routerId: '10.0.1.2',
    asn: UPSTREAM,
    advertise: [TRANSIT.ipv4, TRANSIT.ipv6],
    peers: [
      { name: 'us4', address: '10.0.1.1', asn: US, families: ['ipv4'], passive: true },
      { name: 'us6', address: 'fd01::1', asn: US, families: ['ipv6'], passive: true },
    ],
  });
  cleanup.push(() => s?.speaker.stop());
  return {
    start: () => s!.speaker.start(),
    stop: async () => {
      await s?.speaker.stop();
      s = null;
    },
  };
}

// --- reading their side ---------------------------------------------------------------------------

/** `birdc show route P all`: BGP.as_path, BGP.next_hop (global [link-local]), BGP.local_pref. */
function birdRoute(bird: BirdPeer, prefix: string): TheirRoute | undefined {
  let out: string;
  try {
    out = bird.birdc(`show route ${prefix} all`);
  } catch (err) {
    if (/Network not found/.test((err as Error).message)) return undefined;
    throw err;
  }
  const nh = /BGP\.next_hop: (\S+)(?: (\S+))?/.exec(out);
  if (!nh) return undefined;
  const asPath = /BGP\.as_path:(.*)/.exec(out)?.[1]?.trim() ?? '';
  const lp = /BGP\.local_pref: (\d+)/.exec(out)?.[1];
  return {
    asPath: asPath ? asPath.split(/\s+/).map(Number) : [],
    nextHop: nh[1]!,
    ...(nh[2] ? { nextHopLocal: nh[2] } : {}),
    ...(lp ? { localPref: Number(lp) } : {}),
  };
}

type GobgpAttr = { type: number; as_paths?: { asns: number[] }[]; nexthop?: string; value?: number; local_nexthop?: string; nexthops?: string[] };
type GobgpRib = Record<string, { attrs: GobgpAttr[] }[]>;

/** GoBGP's JSON path: type 2 AS_PATH, 3 NEXT_HOP, 5 LOCAL_PREF, 14 MP_REACH_NLRI (IPv6 next hops). */
function gobgpRoute(path: { attrs: GobgpAttr[] } | undefined): TheirRoute | undefined {
  if (!path) return undefined;
  const at = (t: number) => path.attrs.find((a) => a.type === t);
  const mp = at(14);
  const nhs = mp?.nexthops ?? (mp?.nexthop ? [mp.nexthop] : []);
  const lp = at(5)?.value;
  return {
    asPath: (at(2)?.as_paths ?? []).flatMap((s) => s.asns),
    nextHop: at(3)?.nexthop ?? nhs[0] ?? '',
    ...(nhs[1] || mp?.local_nexthop ? { nextHopLocal: nhs[1] ?? mp!.local_nexthop! } : {}),
    ...(lp !== undefined ? { localPref: lp } : {}),
  };
}

type ExaUpdate = {
  attribute?: { 'as-path'?: number[]; 'local-preference'?: number };
  announce?: Record<string, Record<string, { nlri: string }[]>>;
  withdraw?: Record<string, { nlri: string }[]>;
};

/** ExaBGP's received UPDATEs replayed in order: the routes it holds now. */
function exabgpRib(msgs: ExabgpMessage[]): Map<string, TheirRoute> {
  const rib = new Map<string, TheirRoute>();
  for (const m of msgs) {
    const u = (m.neighbor?.message as { update?: ExaUpdate } | undefined)?.update;
    if (!u) continue;
    for (const list of Object.values(u.withdraw ?? {})) for (const x of list) rib.delete(x.nlri);
    for (const byNh of Object.values(u.announce ?? {})) {
      for (const [nh, list] of Object.entries(byNh)) {
        // The key is the next hop; with a link-local one too, both (split on a space or comma).
        const [g, ll] = nh.split(/[ ,]/);
        const lp = u.attribute?.['local-preference'];
        for (const x of list) rib.set(x.nlri, { asPath: u.attribute?.['as-path'] ?? [], nextHop: g!, ...(ll ? { nextHopLocal: ll } : {}), ...(lp !== undefined ? { localPref: lp } : {}) });
      }
    }
  }
  return rib;
}
