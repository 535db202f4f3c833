// Next hops we pass on to an iBGP peer, against real FRRs: an IPv6 link-local next hop means
// something only on the link it was learned on (RFC 2545 §3). An upstream FRR (eBGP, AS 65011, on
// us:eth1) sends us a route with its link-local next hop; a second FRR, our iBGP peer on another link
// (us:eth0, AS 65000), must never be handed that link-local (bgpd/rib/export.ts): a global next hop
// passed on unchanged leaves without the source's link-local, next-hop-self sends our address, and a
// next hop with no usable global address (an unnumbered upstream sends its link-local in both fields)
// is replaced by ours.
//  - numbered upstream (fd01::2 <-> fd01::1): FRR sends global fd01::2 + its link-local (32 octets).
//    The iBGP FRR gets fd01::2 alone (reachable through a static route via us, as an IGP would give),
//    or fd00::1 with next-hop-self.
//  - unnumbered upstream (`neighbor eth0 interface`, only link-locals on that link): the iBGP FRR
//    gets fd00::1; for IPv4 routes (RFC 8950 next hops) over IPv4 iBGP, 10.0.0.1.
//  - IPv4 routes with the numbered upstream's IPv6 next hop (RFC 8950, `capability extended-nexthop`)
//    to an IPv4 iBGP peer that has no extended next hop: 10.0.0.1 (an IPv6 next hop cannot be sent).
// Each case checks first that the upstream really sent its link-local (the raw MP_REACH we received),
// then that on the iBGP FRR the route is valid, best, internal, has exactly the expected next hop (no
// link-local at all), and is installed in its kernel through us.
import { describe, expect, it } from 'vitest';
import { link, isRoot, type Netns } from '../../test/harness/netns.js';
import { startFrr, type FrrPeer } from '../../test/harness/peers/frr.js';
import { linkLocalOf, startSpeaker, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf, netns, type Cleanup } from './frr-session.js';
import { nativeAvailable } from '../../routes/netlink/index.js';
import { nextHopToStrings, type UpdateMessage } from '../wire/index.js';

const US = 65000;
const UPSTREAM = 65011;
type Family = 'ipv4' | 'ipv6';
/** The upstream's route, per family. */
const TRANSIT = { ipv4: '198.51.100.0/24', ipv6: '2001:db8:99::/48' } as const;
/** Our address towards the iBGP FRR, and its own, per family (us:eth0 <-> ib:eth0). */
const OURS = { ipv4: '10.0.0.1', ipv6: 'fd00::1' } as const;
const IB = { ipv4: '10.0.0.2', ipv6: 'fd00::2' } as const;

type FrrRoute = { valid?: boolean; bestpath?: boolean; path?: string; pathFrom?: string; locPrf?: number; nexthops?: { ip: string; scope?: string; afi?: string; used?: boolean }[] };

interface Case {
  readonly name: string;
  readonly family: Family;
  readonly unnumbered: boolean;
  readonly nextHopSelf: boolean;
  /** The next hop the iBGP FRR must see: the upstream's global address, or ours. */
  readonly expect: 'upstream' | 'self';
}

const CASES: Case[] = [
  { name: 'numbered upstream (global + link-local): the global next hop passed on, without the link-local', family: 'ipv6', unnumbered: false, nextHopSelf: false, expect: 'upstream' },
  { name: 'numbered upstream, next-hop-self: our global address', family: 'ipv6', unnumbered: false, nextHopSelf: true, expect: 'self' },
  { name: 'unnumbered upstream (link-local only): our global address, never the link-local', family: 'ipv6', unnumbered: true, nextHopSelf: false, expect: 'self' },
  { name: 'unnumbered upstream, IPv4 routes with a link-local next hop (RFC 8950): our IPv4 address over IPv4 iBGP', family: 'ipv4', unnumbered: true, nextHopSelf: false, expect: 'self' },
  { name: 'numbered upstream, IPv4 routes with an IPv6 next hop (RFC 8950) to an iBGP peer without extended next hop: our IPv4 address', family: 'ipv4', unnumbered: false, nextHopSelf: false, expect: 'self' },
];

describe.skipIf(!isRoot || !nativeAvailable())('next hops to an iBGP peer: no foreign link-local (RFC 2545 §3), IPv4 over IPv6 only with extended next hop (RFC 8950)', () => {
  const cleanup = cleanupAfterEach();

  for (const c of CASES) it(c.name, async () => {
    const fam = c.family;
    const { us, up, ib, upGlobal } = topology(cleanup, c.unnumbered);
    const llUp = await linkLocalOf(up, 'eth0');

    const upstream = await startFrr(up, {
      config: frrConf({
        asn: UPSTREAM,
        routerId: '10.0.1.2',
        hostname: 'frr-up',
        // IPv4 over the numbered IPv6 session: FRR sends IPv6 next hops only with extended next hop.
        neighbors: [c.unnumbered ? { address: 'eth0', asn: US, interface: true } : { address: 'fd01::1', asn: US, ...(fam === 'ipv4' ? { lines: ['capability extended-nexthop'] } : {}) }],
        ...(fam === 'ipv6' ? { networks6: [TRANSIT.ipv6] } : { networks4: [TRANSIT.ipv4] }),
      }),
      // zebra advertises (RAs) on the unnumbered link, every 3 s, so we learn its link-local quickly.
      ...(c.unnumbered ? { zebraConfig: 'interface eth0\n ipv6 nd ra-interval 3\n no ipv6 nd suppress-ra\n' } : {}),
    });
    cleanup.push(() => upstream.stop({ cleanup: true }));
    const ibgp = await startFrr(ib, {
      config: frrConf({ asn: US, routerId: '10.0.0.2', hostname: 'frr-ib', neighbors: [{ address: OURS[fam], asn: US }], ...(fam === 'ipv6' ? { networks6: [] } : {}) }),
    });
    cleanup.push(() => ibgp.stop({ cleanup: true }));

    const { speaker } = startSpeaker(
      us,
      {
        routerId: '10.0.0.1',
        asn: US,
        importPools: ['2001:db8::/32', TRANSIT.ipv4],
        policies: { all: { terms: [], default: 'accept' } },
        peers: [
          c.unnumbered
            ? { name: 'up', interface: 'eth1', asn: UPSTREAM, families: [fam] }
            : { name: 'up', address: 'fd01::2', asn: UPSTREAM, families: [fam] },
          { name: 'ib', address: IB[fam], asn: US, families: [fam], exportPolicy: 'all', nextHopSelf: c.nextHopSelf },
        ],
      },
      { raIntervalS: 2 },
    );
    cleanup.push(() => speaker.stop());
    await speaker.start();
    // The MP_REACH next hops the upstream sends us, as they arrive.
    const received: string[][] = [];
    speaker.onMessageIn('up', (m) => {
      for (const a of (m as UpdateMessage).attributes ?? []) if (a.kind === 'mp-reach' && a.nlri.count) received.push(nextHopToStrings(a.nextHop) ?? []);
    });
    await waitEstablished(speaker, 'up', 40_000);
    await waitEstablished(speaker, 'ib');
    await upstream.waitState(c.unnumbered ? 'eth0' : 'fd01::1', 'Established', 40_000);
    await ibgp.waitState(OURS[fam]);

    // The premise: the upstream did send its link-local (else the test would prove nothing).
    await waitUntil('the upstream route reached us', () => (speaker.routes(TRANSIT[fam])[0]?.paths.length ?? 0) > 0, 20_000, () => upstream.vtysh(`show bgp ${fam} unicast`));
    expect(received.length).toBeGreaterThan(0);
    expect(received.every((nh) => nh.includes(llUp))).toBe(true);
    if (!c.unnumbered) expect(received[0]).toEqual([upGlobal!, llUp]);

    // On the iBGP FRR: the route arrived, internal, with the expected global next hop and no link-local.
    const route = (): FrrRoute | undefined => ibgp.vtyshJson<{ routes?: Record<string, FrrRoute[]> }>(`show bgp ${fam} unicast json`).routes?.[TRANSIT[fam]]?.[0];
    const want = c.expect === 'self' ? OURS[fam] : upGlobal!;
    await waitUntil('the iBGP FRR has the route, valid and best', () => route()?.valid === true && route()?.bestpath === true, 20_000, () => dump(ibgp, fam, speaker.ribOut('ib')));
    const r = route()!;
    expect({ path: r.path, from: r.pathFrom, locPrf: r.locPrf }).toEqual({ path: String(UPSTREAM), from: 'internal', locPrf: 100 });
    const ips = (r.nexthops ?? []).map((h) => h.ip);
    expect(ips).not.toContain(llUp);
    expect(ips.filter((ip) => /^fe[89ab]/i.test(ip))).toEqual([]);
    expect(ips).toEqual([want]);
    // Usable: zebra resolved it and installed it in the iBGP FRR's kernel, through us.
    const v = fam === 'ipv6' ? '-6' : '-4';
    await waitUntil('the iBGP FRR installed the route', () => ib.ip(v, 'route', 'show', TRANSIT[fam]).includes('proto bgp'), 20_000, () => ib.ip(v, 'route'));
    expect(ib.ip(v, 'route', 'show', TRANSIT[fam])).toContain(`via ${OURS[fam]} dev eth0`);
    expect(speaker.neighbor('ib').flaps).toEqual([]);
  }, 90_000);
});

/**
 * us:eth0 fd00::1/64 + 10.0.0.1/24 <-> ib:eth0 fd00::2/64 + 10.0.0.2/24 (iBGP); us:eth1 <-> up:eth0,
 * fd01::1/64 and fd01::2/64 when numbered, only the kernel's link-locals (DAD off, usable at once) when
 * unnumbered. The iBGP side reaches fd01::/64 through us, as its IGP would.
 */
function topology(cleanup: Cleanup, unnumbered: boolean): { us: Netns; up: Netns; ib: Netns; upGlobal: string | undefined } {
  const us = netns(cleanup, 'ull');
  const up = netns(cleanup, 'ull');
  const ib = netns(cleanup, 'ull');
  for (const ns of [us, up, ib]) ns.exec('sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  link(us, 'eth0', ib, 'eth0', [`${OURS.ipv6}/64`, `${OURS.ipv4}/24`], [`${IB.ipv6}/64`, `${IB.ipv4}/24`]);
  if (unnumbered) link(us, 'eth1', up, 'eth0');
  else link(us, 'eth1', up, 'eth0', ['fd01::1/64'], ['fd01::2/64']);
  ib.ip('-6', 'route', 'add', 'fd01::/64', 'via', OURS.ipv6, 'dev', 'eth0');
  return { us, up, ib, upGlobal: unnumbered ? undefined : 'fd01::2' };
}

function dump(frr: FrrPeer, fam: Family, ribOut: unknown): string {
  return `${frr.vtysh(`show bgp ${fam} unicast`)}\n${JSON.stringify(frr.vtyshJson(`show bgp ${fam} unicast json`))}\nour Adj-RIB-Out: ${JSON.stringify(ribOut)}\n${frr.log().slice(-1500)}`;
}
