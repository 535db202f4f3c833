// Interop with a real FRR bgpd in a network namespace: eBGP over IPv4 and IPv6, and iBGP over IPv6,
// prefixes exchanged both ways and checked on both sides (FRR's JSON `show` output and kernel, our RIB
// / FIB change stream); over iBGP, LOCAL_PREF carried both ways.
import { describe, expect, it } from 'vitest';
import { isRoot } from '../../test/harness/netns.js';
import { startFrr, type FrrPeer } from '../../test/harness/peers/frr.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf, frrSession, nsPair } from './frr-session.js';
import type { BgpSpeaker } from '../speaker.js';

const FRR_CONF = `
frr defaults datacenter
hostname frr-ulb
router bgp 65001
 bgp router-id 10.0.0.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 neighbor 10.0.0.1 remote-as 65000
 neighbor fd00::1 remote-as 65000
 address-family ipv4 unicast
  neighbor 10.0.0.1 activate
  network 192.0.2.0/24
  network 198.51.100.0/24
 exit-address-family
 address-family ipv6 unicast
  neighbor fd00::1 activate
  network 2001:db8:1::/48
 exit-address-family
`;

describe.skipIf(!isRoot)('interop: FRR eBGP', () => {
  const cleanup = cleanupAfterEach();

  it('IPv4 and IPv6 sessions come up and routes flow both ways', async () => {
    const { us, them } = nsPair(cleanup, 'ulb', { ipv6: true });
    const frr: FrrPeer = await startFrr(them, { config: FRR_CONF });
    cleanup.push(() => frr.stop({ cleanup: true }));
    const { speaker, fib } = startSpeaker(us, {
      routerId: '10.0.0.1',
      asn: 65000,
      advertise: ['10.244.1.0/24', 'fd00:244:1::/64'],
      importPools: ['192.0.2.0/24', '2001:db8::/32'],
      peers: [
        { name: 'frr4', address: '10.0.0.2', asn: 65001, families: ['ipv4'] },
        { name: 'frr6', address: 'fd00::2', asn: 65001, families: ['ipv6'] },
      ],
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await waitEstablished(speaker, 'frr4');
    await waitEstablished(speaker, 'frr6');
    await frr.waitState('10.0.0.1');
    await frr.waitState('fd00::1');

    // Ours in FRR.
    await waitUntil('FRR has our IPv4 prefix', () => hasRoute(frr, 'ipv4', '10.244.1.0/24'), 20_000, () => frr.vtysh('show bgp ipv4 unicast'));
    await waitUntil('FRR has our IPv6 prefix', () => hasRoute(frr, 'ipv6', 'fd00:244:1::/64'), 20_000, () => frr.vtysh('show bgp ipv6 unicast'));
    const v4 = frr.vtyshJson<{ routes: Record<string, { nexthops: { ip: string }[]; path: string }[]> }>('show bgp ipv4 unicast json');
    expect(v4.routes['10.244.1.0/24']![0]!.nexthops[0]!.ip).toBe('10.0.0.1');
    expect(v4.routes['10.244.1.0/24']![0]!.path).toBe('65000');

    // Theirs in ours: only the pool member passes the safe default import policy.
    await waitUntil('we have FRR IPv4 prefix', () => fib.has('192.0.2.0/24'));
    await waitUntil('we have FRR IPv6 prefix', () => fib.has('2001:db8:1::/48'));
    expect(fib.get('192.0.2.0/24')!.nextHops).toEqual([{ address: '10.0.0.2' }]);
    expect(fib.get('2001:db8:1::/48')!.nextHops[0]!.address).toBe('fd00::2');
    expect(fib.has('198.51.100.0/24')).toBe(false);
    const n4 = speaker.neighbor('frr4');
    // FRR reflects our own prefix back (AS path 65001 65000): kept pre-policy, dropped as an AS loop.
    expect(n4.prefixes.received.ipv4).toBe(3);
    expect(speaker.ribIn('frr4', 'pre').find((e) => e.prefix === '10.244.1.0/24')?.asPath).toBe('65001 65000');
    expect(n4.prefixes.accepted.ipv4).toBe(1);
    expect(n4.capabilities.received.some((c) => c.startsWith('four-octet-as 65001'))).toBe(true);
    const r = speaker.routes('192.0.2.0/24');
    expect(r[0]!.paths[0]).toMatchObject({ best: true, asPath: '65001', reason: 'only-path' });

    // Withdraw on FRR reaches us; removing our prefix reaches FRR.
    frr.configure(['router bgp 65001', 'address-family ipv4 unicast', 'no network 192.0.2.0/24']);
    await waitUntil('withdrawal reaches us', () => !fib.has('192.0.2.0/24'));
    speaker.setLocalPrefixes([]);
    await speaker.reconfigure({ ...currentCfg(speaker), advertise: ['fd00:244:1::/64'] });
    await waitUntil('FRR drops our IPv4 prefix', () => !hasRoute(frr, 'ipv4', '10.244.1.0/24'), 20_000, () => frr.vtysh('show bgp ipv4 unicast'));
    // The unaffected sessions stayed up through the reload.
    expect(speaker.neighbor('frr4').flaps).toHaveLength(0);
    expect(speaker.neighbor('frr6').flaps).toHaveLength(0);
  });
});

describe.skipIf(!isRoot)('interop: FRR iBGP over IPv6', () => {
  const cleanup = cleanupAfterEach();

  it('one IPv6 session in AS 65000: routes both ways, LOCAL_PREF carried both ways, installed on FRR', async () => {
    const { us, them } = nsPair(cleanup, 'ulb', { ipv6: true });
    // FRR's default LOCAL_PREF (300) goes on what it originates and sends over iBGP.
    const config = frrConf({ asn: 65000, routerId: '10.0.0.2', global: ['bgp default local-preference 300'], neighbors: [{ address: 'fd00::1', asn: 65000 }], networks6: ['2001:db8:1::/48'] });
    const { frr, speaker, fib } = await frrSession(cleanup, {
      us,
      them,
      config,
      peer: 'frr6',
      frrSees: 'fd00::1',
      ours: {
        routerId: '10.0.0.1',
        asn: 65000,
        advertise: ['fd00:244:1::/64', 'fd00:244:2::/64'],
        importPools: ['2001:db8::/32'],
        // Ours leave with LOCAL_PREF 250 for the first, the default (100) for the second.
        policies: { lp: { terms: [{ match: { prefixList: [{ prefix: 'fd00:244:1::/64' }] }, action: 'accept', set: { localPref: 250 } }], default: 'accept' } },
        peers: [{ name: 'frr6', address: 'fd00::2', asn: 65000, families: ['ipv6'], exportPolicy: 'lp' }],
      },
    });
    const n = speaker.neighbor('frr6');
    expect(n.capabilities.received.some((c) => c.startsWith('four-octet-as 65000'))).toBe(true);

    // Ours on FRR: internal, empty AS path, next hop our global address, LOCAL_PREF as we sent it.
    type R = { valid?: boolean; bestpath?: boolean; pathFrom?: string; path: string; locPrf?: number; nexthops: { ip: string; scope?: string }[] };
    const v6 = (): Record<string, R[]> => frr.vtyshJson<{ routes?: Record<string, R[]> }>('show bgp ipv6 unicast json').routes ?? {};
    await waitUntil('FRR has both our IPv6 prefixes', () => Boolean(v6()['fd00:244:1::/64'] && v6()['fd00:244:2::/64']), 20_000, () => frr.vtysh('show bgp ipv6 unicast'));
    for (const [p, lp] of [['fd00:244:1::/64', 250], ['fd00:244:2::/64', 100]] as const) {
      const r = v6()[p]![0]!;
      expect({ p, valid: r.valid, best: r.bestpath, from: r.pathFrom, path: r.path, locPrf: r.locPrf, nh: r.nexthops[0]?.ip }).toEqual({ p, valid: true, best: true, from: 'internal', path: '', locPrf: lp, nh: 'fd00::1' });
    }
    // FRR's own default here is 300: a path without LOCAL_PREF on the wire would show 300, not 100.
    const detail = frr.vtyshJson<{ paths: { locPrf?: number; peer?: { type?: string } }[] }>('show bgp ipv6 unicast fd00:244:2::/64 json');
    expect(detail.paths[0]).toMatchObject({ locPrf: 100, peer: { type: 'internal' } });
    await waitUntil('FRR installed ours in its kernel', () => them.ip('-6', 'route', 'show', 'fd00:244:1::/64').includes('via fd00::1'), 20_000, () => them.ip('-6', 'route'));

    // Theirs in ours: AS path empty (iBGP), LOCAL_PREF 300 from FRR, next hop FRR's global address.
    await waitUntil('we have FRR IPv6 prefix', () => fib.has('2001:db8:1::/48'), 20_000, () => JSON.stringify(speaker.routes()));
    expect(fib.get('2001:db8:1::/48')!.nextHops).toEqual([{ address: 'fd00::2' }]);
    expect(speaker.routes('2001:db8:1::/48')[0]!.paths[0]).toMatchObject({ peer: 'frr6', asPath: '', localPref: 300, nextHop: 'fd00::2', best: true });
    // FRR reflects nothing back over iBGP: only its own prefix arrived.
    expect(speaker.ribIn('frr6', 'pre').map((e) => e.prefix)).toEqual(['2001:db8:1::/48']);

    // Withdrawal both ways.
    frr.configure(['router bgp 65000', 'address-family ipv6 unicast', 'no network 2001:db8:1::/48']);
    await waitUntil('FRR withdrawal reaches us', () => !fib.has('2001:db8:1::/48'));
    await speaker.reconfigure({ ...currentCfg(speaker), advertise: ['fd00:244:1::/64'] });
    await waitUntil('FRR drops our second prefix', () => !v6()['fd00:244:2::/64'], 20_000, () => frr.vtysh('show bgp ipv6 unicast'));
    expect(v6()['fd00:244:1::/64']).toBeDefined();
    expect(speaker.neighbor('frr6').flaps).toEqual([]);
  });
});

function hasRoute(frr: FrrPeer, fam: 'ipv4' | 'ipv6', prefix: string): boolean {
  const j = frr.vtyshJson<{ routes?: Record<string, unknown[]> }>(`show bgp ${fam} unicast json`);
  return Boolean(j.routes?.[prefix]);
}

function currentCfg(s: BgpSpeaker): Parameters<BgpSpeaker['reconfigure']>[0] {
  return (s as unknown as { cfg: Parameters<BgpSpeaker['reconfigure']>[0] }).cfg;
}
