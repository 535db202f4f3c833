// Interop with BIRD 2, GoBGP and ExaBGP in namespaces: session up, prefixes both ways, checked on both
// sides (their CLI/JSON output and our RIB).
import { afterEach, describe, expect, it } from 'vitest';
import { Netns, link, isRoot } from '../../test/harness/netns.js';
import { startBird } from '../../test/harness/peers/bird.js';
import { startGobgp } from '../../test/harness/peers/gobgp.js';
import { startExabgp, EXABGP_API_PROCESS } from '../../test/harness/peers/exabgp.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';

const OURS = {
  routerId: '10.0.0.1',
  asn: 65000,
  advertise: ['10.244.1.0/24', 'fd00:244:1::/64'],
  importPools: ['192.0.2.0/24', '2001:db8::/32'],
};

describe.skipIf(!isRoot)('interop: BIRD, GoBGP, ExaBGP', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanup.reverse()) await c();
    cleanup.length = 0;
  });

  function pair(): { us: Netns; them: Netns } {
    const us = Netns.create('ulb');
    cleanup.push(() => us.destroy());
    const them = Netns.create('ulb');
    cleanup.push(() => them.destroy());
    link(us, 'eth0', them, 'eth0', ['10.0.0.1/30', 'fd00::1/64'], ['10.0.0.2/30', 'fd00::2/64']);
    return { us, them };
  }

  it('BIRD 2: eBGP IPv4 and IPv6', async () => {
    const { us, them } = pair();
    const bird = await startBird(them, {
      config: `
router id 10.0.0.2;
protocol device {}
protocol static s4 { ipv4; route 192.0.2.0/24 blackhole; }
protocol static s6 { ipv6; route 2001:db8:2::/48 blackhole; }
protocol bgp ours4 { local 10.0.0.2 as 65002; neighbor 10.0.0.1 as 65000; ipv4 { import all; export where source = RTS_STATIC; }; }
protocol bgp ours6 { local fd00::2 as 65002; neighbor fd00::1 as 65000; ipv6 { import all; export where source = RTS_STATIC; }; }
`,
    });
    cleanup.push(() => bird.stop({ cleanup: true }));
    const { speaker, fib } = startSpeaker(us, {
      ...OURS,
      peers: [
        { name: 'bird4', address: '10.0.0.2', asn: 65002, families: ['ipv4'] },
        { name: 'bird6', address: 'fd00::2', asn: 65002, families: ['ipv6'] },
      ],
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await waitEstablished(speaker, 'bird4');
    await waitEstablished(speaker, 'bird6');
    await bird.waitState('ours4');
    await waitUntil('BIRD has our routes', () => /10\.244\.1\.0\/24/.test(bird.birdc('show route protocol ours4')) && /fd00:244:1::\/64/.test(bird.birdc('show route protocol ours6')), 20_000, () => bird.birdc('show route all'));
    const r = bird.birdc('show route 10.244.1.0/24 all');
    expect(r).toMatch(/BGP.as_path: 65000/);
    expect(r).toMatch(/BGP.next_hop: 10\.0\.0\.1/);
    await waitUntil('we have BIRD routes', () => fib.has('192.0.2.0/24') && fib.has('2001:db8:2::/48'));
    expect(fib.get('192.0.2.0/24')!.nextHops).toEqual([{ address: '10.0.0.2' }]);
    expect(speaker.routes('2001:db8:2::/48')[0]!.paths[0]!.asPath).toBe('65002');
  });

  it('GoBGP: eBGP IPv4 and IPv6', async () => {
    const { us, them } = pair();
    const gobgp = await startGobgp(them, {
      config: `
[global.config]
  as = 65003
  router-id = "10.0.0.2"
  port = 179
[[neighbors]]
  [neighbors.config]
    neighbor-address = "10.0.0.1"
    peer-as = 65000
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
[[neighbors]]
  [neighbors.config]
    neighbor-address = "fd00::1"
    peer-as = 65000
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
`,
    });
    cleanup.push(() => gobgp.stop({ cleanup: true }));
    gobgp.gobgp('global', 'rib', 'add', '192.0.2.0/24', '-a', 'ipv4');
    gobgp.gobgp('global', 'rib', 'add', '2001:db8:3::/48', '-a', 'ipv6');
    const { speaker, fib } = startSpeaker(us, {
      ...OURS,
      peers: [
        { name: 'gobgp4', address: '10.0.0.2', asn: 65003, families: ['ipv4'] },
        { name: 'gobgp6', address: 'fd00::2', asn: 65003, families: ['ipv6'] },
      ],
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await waitEstablished(speaker, 'gobgp4');
    await waitEstablished(speaker, 'gobgp6');
    await gobgp.waitState('10.0.0.1');
    await waitUntil('GoBGP has our routes', () => {
      const v4 = gobgp.gobgpJson<Record<string, unknown>>('global', 'rib', '-a', 'ipv4');
      const v6 = gobgp.gobgpJson<Record<string, unknown>>('global', 'rib', '-a', 'ipv6');
      return '10.244.1.0/24' in v4 && 'fd00:244:1::/64' in v6;
    }, 20_000, () => gobgp.gobgp('global', 'rib', '-a', 'ipv4'));
    const paths = gobgp.gobgpJson<Record<string, { attrs: { type: number; as_paths?: { asns: number[] }[]; nexthop?: string }[] }[]>>('global', 'rib', '-a', 'ipv4')['10.244.1.0/24']!;
    const attrs = paths[0]!.attrs;
    expect(attrs.find((a) => a.type === 2)?.as_paths?.[0]?.asns).toEqual([65000]);
    expect(attrs.find((a) => a.type === 3)?.nexthop).toBe('10.0.0.1');
    await waitUntil('we have GoBGP routes', () => fib.has('192.0.2.0/24') && fib.has('2001:db8:3::/48'));
    expect(fib.get('192.0.2.0/24')!.nextHops).toEqual([{ address: '10.0.0.2' }]);
  });

  it('ExaBGP: eBGP, announcements and withdrawals both ways', async () => {
    const { us, them } = pair();
    const exa = await startExabgp(them, {
      config: `
neighbor 10.0.0.1 {
  router-id 10.0.0.2;
  local-address 10.0.0.2;
  local-as 65004;
  peer-as 65000;
  family { ipv4 unicast; ipv6 unicast; }
  api { processes [ ${EXABGP_API_PROCESS} ]; neighbor-changes; receive { parsed; update; notification; } }
}
`,
    });
    cleanup.push(() => exa.stop({ cleanup: true }));
    const { speaker, fib } = startSpeaker(us, {
      ...OURS,
      peers: [{ name: 'exa', address: '10.0.0.2', asn: 65004, families: ['ipv4', 'ipv6'], nextHopIpv6: 'fd00::1' }],
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await waitEstablished(speaker, 'exa').catch((e) => { throw new Error(`${(e as Error).message.slice(0, 300)}\n--- exabgp ---\n${exa.log().slice(-3000)}`); });
    await exa.waitUp('10.0.0.1');
    exa.command('announce route 192.0.2.0/24 next-hop 10.0.0.2');
    exa.command('announce route 2001:db8:4::/48 next-hop fd00::2');
    await waitUntil('we have ExaBGP routes', () => fib.has('192.0.2.0/24') && fib.has('2001:db8:4::/48'), 20_000, () => exa.log());
    expect(fib.get('2001:db8:4::/48')!.nextHops[0]!.address).toBe('fd00::2');
    const announced = (): string[] =>
      exa.received().flatMap((m) => {
        const ann = (m.neighbor?.message as { update?: { announce?: Record<string, Record<string, { nlri: string }[]>> } } | undefined)?.update?.announce ?? {};
        return Object.values(ann).flatMap((byNh) => Object.values(byNh).flatMap((l) => l.map((x) => x.nlri)));
      });
    await waitUntil('ExaBGP got our routes', () => announced().includes('10.244.1.0/24') && announced().includes('fd00:244:1::/64'), 20_000, () => JSON.stringify(exa.received().slice(-5)));
    exa.command('withdraw route 192.0.2.0/24 next-hop 10.0.0.2');
    await waitUntil('withdrawal reaches us', () => !fib.has('192.0.2.0/24'));
    expect(speaker.neighbor('exa').state).toBe('Established');
  });
});
