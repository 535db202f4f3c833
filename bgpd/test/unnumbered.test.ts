// BGP unnumbered against FRR 8.4's `neighbor eth0 interface remote-as external`: two namespaces joined
// by a veth that has no IPv4 address at all, only the kernel's IPv6 link-locals. Each side learns the
// other's link-local from Router Advertisements (ours: bgpd/session/unnumbered.ts over the addon's raw
// ICMPv6 socket; FRR's: zebra), the session runs over fe80::%eth0, IPv4 routes carry IPv6 link-local
// next hops (RFC 8950), and an IPv4 ping crosses the link over the route we install with RTA_VIA.
//
// Also: the RA codec against hand-built packets and the RFC 4861 §6.1.2 checks, and the raw socket
// alone between two namespaces (RS/RA both ways, hop limit 255 seen).
import { afterEach, describe, expect, it } from 'vitest';
import { Netns, link, isRoot } from '../../test/harness/netns.js';
import { startFrr, type FrrPeer } from '../../test/harness/peers/frr.js';
import { linkLocalOf, waitEstablished, waitUntil } from './helpers.js';
import { parseBgpConfig } from '../config.js';
import { BgpSpeaker } from '../speaker.js';
import type { FibChange } from '../rib/rib.js';
import { logger } from '../../lib/log.js';
import { netlink, nativeAvailable, openIcmp6, type Icmp6Packet } from '../../routes/netlink/index.js';
import { LinkLocalDiscovery, NdType, buildRouterAdvertisement, buildRouterSolicitation, isLinkLocal, parseRouterAdvertisement } from '../session/unnumbered.js';

const FRR_BGP = `
frr defaults datacenter
hostname frr-ulu
router bgp 65001
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor eth0 interface remote-as external
 neighbor eth0 timers connect 2
 address-family ipv4 unicast
  network 10.77.0.0/24
 exit-address-family
`;

// zebra sends RAs on the interface (bgpd also asks it to for an interface neighbour); every 3 s here.
const FRR_ZEBRA = `
interface eth0
 ipv6 nd ra-interval 3
 no ipv6 nd suppress-ra
`;

/** Namespaces whose interfaces get usable link-locals at once (RFC 4862 §5.4 DAD off). */
function linkLocalPair(): { us: Netns; them: Netns } {
  const us = Netns.create('ulu');
  const them = Netns.create('ulu');
  for (const ns of [us, them]) {
    ns.exec('sysctl', ['-qw', 'net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0']);
  }
  link(us, 'eth0', them, 'eth0');
  return { us, them };
}

describe('router advertisement codec (RFC 4861 §4.1, §4.2, §6.1.2)', () => {
  it('builds RS and RA headers byte for byte', () => {
    expect(Buffer.from(buildRouterSolicitation()).toString('hex')).toBe('8500000000000000');
    const ra = buildRouterAdvertisement({ curHopLimit: 64, managed: true, routerLifetimeS: 1800, reachableTimeMs: 30000, retransTimerMs: 1000 });
    // type 134, code 0, checksum 0, hop limit 0x40, M flag, lifetime 0x0708, reachable 0x7530, retrans 0x3e8
    expect(Buffer.from(ra).toString('hex')).toBe('86000000' + '40' + '80' + '0708' + '00007530' + '000003e8');
  });

  it('parses what it builds and rejects invalid advertisements', () => {
    const payload = Buffer.from(buildRouterAdvertisement({ curHopLimit: 64, other: true, routerLifetimeS: 0 }));
    const ok = { payload, source: 'fe80::1', hopLimit: 255 };
    expect(parseRouterAdvertisement(ok)).toEqual({ curHopLimit: 64, managed: false, other: true, routerLifetimeS: 0, reachableTimeMs: 0, retransTimerMs: 0 });
    expect(parseRouterAdvertisement({ ...ok, hopLimit: 254 })).toBe('hop-limit');
    expect(parseRouterAdvertisement({ ...ok, source: '2001:db8::1' })).toBe('not-link-local');
    expect(parseRouterAdvertisement({ ...ok, payload: payload.subarray(0, 15) })).toBe('short');
    expect(parseRouterAdvertisement({ ...ok, payload: Buffer.from(buildRouterSolicitation()) })).toBe('not-ra');
    const badCode = Buffer.from(payload);
    badCode[1] = 1;
    expect(parseRouterAdvertisement({ ...ok, payload: badCode })).toBe('bad-code');
    expect(isLinkLocal('FE80::1')).toBe(true);
    expect(isLinkLocal('febf::1')).toBe(true);
    expect(isLinkLocal('fec0::1')).toBe(false);
  });
});

describe('LinkLocalDiscovery state (a FAKE socket in place of the raw ICMPv6 one)', () => {
  it('solicits and advertises at start, reports each new neighbour once, ignores invalid RAs, answers RS', () => {
    const sent: { dst: string; type: number }[] = [];
    let deliver: ((p: Icmp6Packet) => void) | null = null;
    let closed = 0;
    const fakeOpen: typeof openIcmp6 = (spec, onPacket) => {
      deliver = onPacket;
      return { device: spec.device, ifindex: 7, send: (dst, b) => void sent.push({ dst, type: b[0]! }), close: () => void closed++ };
    };
    const seen: string[] = [];
    const log = logger('bgpd-test');
    const d = new LinkLocalDiscovery({ device: 'eth0', log, intervalS: 3600, onNeighbor: (a) => seen.push(a), open: fakeOpen });
    d.start();
    expect(d.ifindex).toBe(7);
    expect(sent).toEqual([{ dst: 'ff02::2', type: NdType.RouterSolicitation }, { dst: 'ff02::1', type: NdType.RouterAdvertisement }]);
    const ra = Buffer.from(buildRouterAdvertisement({ curHopLimit: 64 }));
    const pkt = (source: string, hopLimit = 255, payload = ra): Icmp6Packet => ({ payload, source, ifindex: 7, hopLimit });
    deliver!(pkt('fe80::2', 64)); // forwarded: §6.1.2 drop
    deliver!(pkt('2001:db8::2')); // not link-local: drop
    expect(seen).toEqual([]);
    deliver!(pkt('fe80::2'));
    deliver!(pkt('fe80::2'));
    expect(seen).toEqual(['fe80::2']);
    deliver!(pkt('fe80::3'));
    expect(seen).toEqual(['fe80::2', 'fe80::3']);
    expect(d.neighbor).toBe('fe80::3');
    expect(d.counters).toMatchObject({ raIn: 3, rejected: 2 });
    deliver!(pkt('fe80::3', 255, Buffer.from(buildRouterSolicitation())));
    expect(sent.at(-1)).toEqual({ dst: 'ff02::1', type: NdType.RouterAdvertisement });
    d.stop();
    d.stop();
    expect(closed).toBe(1);
  });
});

describe.skipIf(!isRoot || !nativeAvailable())('BGP unnumbered (namespaces)', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) {
      try {
        await c();
      } catch {
        // keep cleaning up the rest
      }
    }
    cleanup.length = 0;
  });

  it('the raw ICMPv6 socket exchanges RS/RA across a veth with hop limit 255 and the link-local source', async () => {
    const { us, them } = linkLocalPair();
    cleanup.push(() => us.destroy(), () => them.destroy());
    const llUs = await linkLocalOf(us, 'eth0');
    const llThem = await linkLocalOf(them, 'eth0');
    const gotThem: Icmp6Packet[] = [];
    const gotUs: Icmp6Packet[] = [];
    const a = openIcmp6({ device: 'eth0', netns: us.path }, (p) => gotUs.push(p));
    cleanup.push(() => a.close());
    const b = openIcmp6({ device: 'eth0', netns: them.path }, (p) => gotThem.push(p));
    cleanup.push(() => b.close());
    expect(a.ifindex).toBeGreaterThan(0);
    a.send('ff02::2', buildRouterSolicitation());
    b.send('ff02::1', buildRouterAdvertisement({ curHopLimit: 64 }));
    await waitUntil('RS reaches them', () => gotThem.some((p) => p.payload[0] === NdType.RouterSolicitation), 5_000);
    await waitUntil('RA reaches us', () => gotUs.some((p) => p.payload[0] === NdType.RouterAdvertisement), 5_000);
    const rs = gotThem.find((p) => p.payload[0] === NdType.RouterSolicitation)!;
    expect(rs).toMatchObject({ source: llUs, hopLimit: 255, ifindex: b.ifindex });
    const ra = gotUs.find((p) => p.payload[0] === NdType.RouterAdvertisement)!;
    expect(ra).toMatchObject({ source: llThem, hopLimit: 255, ifindex: a.ifindex });
    // The kernel filled in the checksum (nonzero) of what we sent.
    expect(ra.payload.readUInt16BE(2)).not.toBe(0);
    expect(parseRouterAdvertisement(ra)).toMatchObject({ curHopLimit: 64, routerLifetimeS: 0 });
    // Only RS/RA pass the ICMP6_FILTER: an echo request from them does not reach our socket.
    const before = gotUs.length;
    them.exec('ping', ['-6', '-c', '1', '-W', '1', `${llUs}%eth0`], { allowFail: true });
    await new Promise((r) => setTimeout(r, 200));
    expect(gotUs.slice(before).every((p) => p.payload[0] === NdType.RouterAdvertisement || p.payload[0] === NdType.RouterSolicitation)).toBe(true);
  });

  it('peers with FRR over link-locals only: RFC 8950 routes both ways, installed with RTA_VIA, IPv4 ping works', async () => {
    const { us, them } = linkLocalPair();
    cleanup.push(() => us.destroy(), () => them.destroy());
    them.ip('addr', 'add', '10.77.0.1/24', 'dev', 'lo');
    us.ip('addr', 'add', '10.244.1.1/32', 'dev', 'lo');
    const llUs = await linkLocalOf(us, 'eth0');
    const llThem = await linkLocalOf(them, 'eth0');

    const frr: FrrPeer = await startFrr(them, { config: FRR_BGP, zebraConfig: FRR_ZEBRA });
    cleanup.push(() => frr.stop({ cleanup: true }));

    const cfg = parseBgpConfig({
      routerId: '10.0.0.1',
      asn: 65000,
      connectRetry: 2,
      advertise: ['10.244.1.0/24'],
      importPools: ['10.77.0.0/16'],
      peers: [{ interface: 'eth0', asn: 65001, families: ['ipv4'] }],
    });
    const log = logger('bgpd-test');
    log.level = process.env.UPLINK_LOG_LEVEL ?? 'warn';
    const speaker = new BgpSpeaker(cfg, { netns: us.path, log, raIntervalS: 2 });
    const fib = new Map<string, FibChange>();
    speaker.onRoutes((changes) => {
      for (const c of changes) {
        if (c.nextHops.length) fib.set(c.prefix, c);
        else fib.delete(c.prefix);
      }
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();

    await waitEstablished(speaker, 'eth0', 40_000);
    await frr.waitState('eth0', 'Established', 40_000);
    const n = speaker.neighbor('eth0');
    expect(n.address).toBe(llThem);
    expect(n.capabilities.received.some((c) => c.startsWith('extended-next-hop') && c.includes('1/1->2'))).toBe(true);

    // FRR's prefix in our RIB and FIB stream, next hop = FRR's link-local, reached through eth0.
    await waitUntil('we have 10.77.0.0/24', () => fib.has('10.77.0.0/24'), 20_000, () => JSON.stringify(speaker.routes()));
    expect(speaker.routes('10.77.0.0/24')[0]!.paths[0]).toMatchObject({ nextHop: llThem, asPath: '65001', best: true });
    expect(fib.get('10.77.0.0/24')!.nextHops).toEqual([{ address: llThem, linkLocal: 'eth0' }]);
    expect(speaker.desiredRoutes().find((r) => r.prefix === '10.77.0.0/24')?.nextHops).toEqual([{ address: llThem, linkLocal: 'eth0' }]);

    // Ours in FRR, with our link-local as next hop.
    const frrHas = (): boolean => Boolean(frr.vtyshJson<{ routes?: Record<string, unknown> }>('show bgp ipv4 unicast json').routes?.['10.244.1.0/24']);
    await waitUntil('FRR has 10.244.1.0/24', frrHas, 20_000, () => frr.vtysh('show bgp ipv4 unicast'));
    const v4 = frr.vtyshJson<{ routes: Record<string, { nexthops: { ip: string; afi?: string }[]; path: string }[]> }>('show bgp ipv4 unicast json');
    const ours = v4.routes['10.244.1.0/24']![0]!;
    expect(ours.path).toBe('65000');
    expect(ours.nexthops.map((h) => h.ip)).toContain(llUs);

    // Install FRR's route in our kernel as the bridge does (RTA_VIA inet6 + dev + onlink) and ping across.
    const h = netlink(us.path);
    cleanup.push(() => h.close());
    const change = fib.get('10.77.0.0/24')!;
    await h.replaceRoute({
      dst: change.prefix,
      nexthops: change.nextHops.map((nh) => ({ via: nh.address, ...(nh.linkLocal ? { dev: nh.linkLocal, onlink: true } : {}) })),
    });
    const shown = us.ip('route', 'show', '10.77.0.0/24');
    expect(shown).toContain(`via inet6 ${llThem} dev eth0`);
    // FRR's zebra installs ours the same way on its side.
    await waitUntil('FRR installed 10.244.1.0/24 in its kernel', () => them.ip('route', 'show', '10.244.1.0/24').includes('eth0'), 20_000, () => them.ip('route'));
    const ping = us.exec('ping', ['-c', '2', '-W', '2', '-I', '10.244.1.1', '10.77.0.1'], { allowFail: true });
    expect(ping).toMatch(/ 0% packet loss/);

    // A new link-local on FRR's side is a new neighbour: we follow its RAs and come back up there.
    const newLl = 'fe80::77';
    them.ip('-6', 'addr', 'flush', 'dev', 'eth0', 'scope', 'link');
    them.ip('-6', 'addr', 'add', `${newLl}/64`, 'dev', 'eth0', 'nodad');
    await waitUntil('we learn the new link-local', () => speaker.neighbor('eth0').address === newLl, 20_000, () => JSON.stringify(speaker.neighbor('eth0')));
    await waitEstablished(speaker, 'eth0', 40_000);
    await waitUntil('route follows the new next hop', () => fib.get('10.77.0.0/24')?.nextHops[0]?.address === newLl, 20_000, () => JSON.stringify([...fib.values()]));
    expect(fib.get('10.77.0.0/24')!.nextHops).toEqual([{ address: newLl, linkLocal: 'eth0' }]);
  }, 150_000);
});
