// Feature interop with FRR in namespaces: graceful restart both ways (FRR keeps forwarding to us while
// we restart), route refresh, ECMP, dynamic neighbours, and route reflection with FRR as the reflector.
// Each check reads FRR's own JSON (and kernel) and our RIB. Elsewhere: max-prefix.test.ts,
// md5-gtsm.test.ts, add-path.test.ts, graceful-restart.test.ts.
import { describe, expect, it } from 'vitest';
import { Netns, link, isRoot } from '../../test/harness/netns.js';
import { startFrr, type FrrPeer } from '../../test/harness/peers/frr.js';
import { sleep } from '../../test/harness/peers/common.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf as sharedFrrConf, frrSession, netns, nsPair } from './frr-session.js';

type Routes = { routes?: Record<string, { stale?: boolean; nexthops?: { ip: string }[]; path?: string }[]> };

/** FRR AS 65001 peering with us (10.0.0.1, AS 65000); `neighbor`/`af` lines are for that neighbour. */
function frrConf(extra: { neighbor?: string[]; af?: string[]; networks?: string[]; global?: string[] } = {}): string {
  return sharedFrrConf({
    asn: 65001,
    routerId: '10.0.0.2',
    hostname: 'frr-ulb',
    ...(extra.global ? { global: extra.global } : {}),
    neighbors: [{ address: '10.0.0.1', asn: 65000, ...(extra.neighbor ? { lines: extra.neighbor } : {}) }],
    ...(extra.af ? { af4: extra.af } : {}),
    networks4: extra.networks ?? ['192.0.2.0/24'],
  });
}

const OURS = { routerId: '10.0.0.1', asn: 65000, advertise: ['10.244.1.0/24'], importPools: ['192.0.2.0/23', '198.51.100.0/24'] };

describe.skipIf(!isRoot)('FRR feature interop', () => {
  const cleanup = cleanupAfterEach();
  const pair = (): { us: Netns; them: Netns } => nsPair(cleanup, 'ulb');

  /** FRR with `conf` and our speaker (OURS + `extra`, one peer `frr` + `peer`), Established on both sides. */
  const up = (us: Netns, them: Netns, conf: string, peer: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    frrSession(cleanup, { us, them, config: conf, ours: { ...OURS, ...extra, peers: [{ name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4'], ...peer }] }, frrSees: '10.0.0.1' });

  const frrRoute = (frr: FrrPeer, p: string) => frr.vtyshJson<Routes>('show bgp ipv4 unicast json').routes?.[p]?.[0];

  it('graceful restart: while we restart FRR keeps our routes stale and in its kernel FIB (it still forwards to us); we keep FRR routes until its End-of-RIB', async () => {
    const { us, them } = pair();
    const conf = frrConf({ global: ['bgp graceful-restart', 'bgp graceful-restart restart-time 30'], networks: ['192.0.2.0/24', '193.0.2.0/24'] });
    const pools = { importPools: ['192.0.2.0/24', '193.0.2.0/24'] };
    // 10.244.9.0/24 only before the restart: our End-of-RIB afterwards must sweep it on FRR.
    const { frr, speaker, fib } = await up(us, them, conf, {}, { ...pools, advertise: ['10.244.1.0/24', '10.244.9.0/24'] });
    us.ip('addr', 'add', '10.244.1.1/24', 'dev', 'lo');
    /** FRR's kernel route for `p` (zebra installed it, proto bgp), as `ip -j route` has it. */
    const kernel = (p: string) => them.ipJson<{ dst: string; gateway?: string; protocol?: string }[]>('route', 'show', p)[0];
    await waitUntil('FRR installed our routes in its kernel', () => kernel('10.244.1.0/24') !== undefined && kernel('10.244.9.0/24') !== undefined, 20_000, () => frr.vtysh('show ip route'));
    expect(kernel('10.244.1.0/24')).toMatchObject({ gateway: '10.0.0.1', protocol: 'bgp' });
    await waitUntil('we have FRR routes', () => fib.has('192.0.2.0/24') && fib.has('193.0.2.0/24'));

    // We restart (RFC 4724 §4.1): no NOTIFICATION; FRR marks our routes stale, keeps them in its FIB and
    // keeps forwarding to us (a ping from its namespace reaches our address in 10.244.1.0/24).
    const again = startSpeaker(us, { ...OURS, ...pools, peers: [{ name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4'] }] }, { restarting: true });
    cleanup.push(() => again.speaker.stop());
    let lost = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        if (kernel('10.244.1.0/24') === undefined) lost = true;
        await sleep(100);
      }
    })();
    try {
      await speaker.stop({ graceful: true });
      await waitUntil('FRR marks our routes stale', () => frrRoute(frr, '10.244.1.0/24')?.stale === true && frrRoute(frr, '10.244.9.0/24')?.stale === true, 10_000, () => frr.vtysh('show bgp ipv4 unicast 10.244.1.0/24'));
      expect(kernel('10.244.9.0/24')).toMatchObject({ gateway: '10.0.0.1', protocol: 'bgp' });
      them.exec('ping', ['-c', '1', '-W', '2', '10.244.1.1']);
      await again.speaker.start();
      await waitEstablished(again.speaker, 'frr');
      expect(again.speaker.neighbor('frr').capabilities.sent.some((c) => c.includes('graceful-restart') && c.includes('restarting'))).toBe(true);
      await waitUntil('our End-of-RIB clears the stale flag on FRR', () => frrRoute(frr, '10.244.1.0/24') !== undefined && frrRoute(frr, '10.244.1.0/24')?.stale !== true, 15_000, () => frr.vtysh('show bgp ipv4 unicast 10.244.1.0/24'));
      // ... and sweeps what we no longer advertise, from FRR's RIB and kernel.
      await waitUntil('10.244.9.0/24 gone on FRR', () => frrRoute(frr, '10.244.9.0/24') === undefined && kernel('10.244.9.0/24') === undefined, 15_000, () => frr.vtysh('show bgp ipv4 unicast'));
    } finally {
      sampling = false;
      await sampler;
    }
    expect(lost).toBe(false);
    expect(kernel('10.244.1.0/24')).toMatchObject({ gateway: '10.0.0.1', protocol: 'bgp' });
    them.exec('ping', ['-c', '1', '-W', '2', '10.244.1.1']);
    // FRR restarts: we keep its routes (stale) until its End-of-RIB, then drop what it did not resend.
    await waitUntil('we have FRR routes again', () => again.fib.has('192.0.2.0/24') && again.fib.has('193.0.2.0/24'));
    await frr.stop();
    await waitUntil('our session noticed', () => again.speaker.neighbor('frr').state !== 'Established');
    expect(again.fib.has('192.0.2.0/24')).toBe(true);
    expect(again.fib.has('193.0.2.0/24')).toBe(true);
    const frr2 = await startFrr(them, { config: frrConf({ global: ['bgp graceful-restart', 'bgp graceful-restart preserve-fw-state'], networks: ['192.0.2.0/24'] }) });
    cleanup.push(() => frr2.stop({ cleanup: true }));
    await waitEstablished(again.speaker, 'frr');
    await waitUntil('End-of-RIB sweeps the route FRR no longer has', () => !again.fib.has('193.0.2.0/24'), 20_000);
    expect(again.fib.has('192.0.2.0/24')).toBe(true);
  });

  it('route refresh both ways', async () => {
    const { us, them } = pair();
    const { frr, speaker } = await up(us, them, frrConf());
    await waitUntil('we have the route', () => speaker.ribIn('frr').some((e) => e.prefix === '192.0.2.0/24'), 20_000, () => JSON.stringify(speaker.neighbor('frr')) + frr.vtysh('show bgp neighbors 10.0.0.1'));
    // FRR asks us for a refresh: we answer (enhanced route refresh markers included).
    frr.vtysh('clear bgp ipv4 unicast 10.0.0.1 soft out');
    frr.vtysh('clear bgp ipv4 unicast 10.0.0.1 soft in');
    await waitUntil('route refresh received', () => speaker.neighbor('frr').counters.routeRefreshIn >= 1, 10_000);
    // We ask FRR: its UPDATEs arrive again.
    const before = speaker.neighbor('frr').counters.updatesIn;
    speaker.resetNeighbor('frr', 'soft-in');
    await waitUntil('FRR re-sent its routes', () => speaker.neighbor('frr').counters.updatesIn > before, 10_000);
    expect(speaker.neighbor('frr').state).toBe('Established');
    expect(speaker.neighbor('frr').flaps).toHaveLength(0);
  });

  it('ECMP: the same prefix over two sessions installs both next hops, and loses one when a session goes', async () => {
    const { us, them } = pair();
    link(us, 'eth1', them, 'eth1', ['10.0.1.1/30'], ['10.0.1.2/30']);
    const frr = await startFrr(them, {
      config: sharedFrrConf({ asn: 65001, routerId: '10.0.0.2', neighbors: [{ address: '10.0.0.1', asn: 65000 }, { address: '10.0.1.1', asn: 65000 }], networks4: ['192.0.2.0/24'] }),
    });
    cleanup.push(() => frr.stop({ cleanup: true }));
    const { speaker, fib } = startSpeaker(us, {
      ...OURS,
      maxPaths: 4,
      peers: [
        { name: 'a', address: '10.0.0.2', asn: 65001, families: ['ipv4'] },
        { name: 'b', address: '10.0.1.2', asn: 65001, families: ['ipv4'] },
      ],
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await waitEstablished(speaker, 'a');
    await waitEstablished(speaker, 'b');
    await waitUntil('both next hops', () => fib.get('192.0.2.0/24')?.nextHops.length === 2, 20_000, () => JSON.stringify(speaker.routes('192.0.2.0/24')));
    expect(fib.get('192.0.2.0/24')!.nextHops.map((h) => h.address).sort()).toEqual(['10.0.0.2', '10.0.1.2']);
    const paths = speaker.routes('192.0.2.0/24')[0]!.paths;
    expect(paths.filter((p) => p.multipath)).toHaveLength(2);
    expect(paths.find((p) => p.best)?.reason).toBe('peer-address');
    frr.configure(['router bgp 65001', 'neighbor 10.0.1.1 shutdown message draining b']);
    await waitUntil('one next hop left', () => fib.get('192.0.2.0/24')?.nextHops.length === 1);
    expect(fib.get('192.0.2.0/24')!.nextHops).toEqual([{ address: '10.0.0.2' }]);
    // The peer's RFC 9003 shutdown communication shows up in words.
    await waitUntil('b saw the shutdown', () => speaker.neighbor('b').lastError !== null);
    expect(speaker.neighbor('b').lastError).toMatchObject({ direction: 'received', code: 6, subcode: 2 });
    expect(speaker.neighbor('b').lastError!.text).toMatch(/AdministrativeShutdown: draining b/);
  });

  it('dynamic neighbour from a listen range (source prefix + AS range)', async () => {
    const { us, them } = pair();
    const frr = await startFrr(them, { config: frrConf() });
    cleanup.push(() => frr.stop({ cleanup: true }));
    const { speaker, fib } = startSpeaker(us, { ...OURS, listenRanges: [{ prefix: '10.0.0.0/30', asnRange: [65001, 65010], families: ['ipv4'] }] });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await frr.waitState('10.0.0.1');
    const n = speaker.neighbors();
    expect(n).toHaveLength(1);
    expect(n[0]).toMatchObject({ name: 'dynamic-10.0.0.2', dynamic: true, state: 'Established' });
    await waitUntil('routes from the dynamic neighbour', () => fib.has('192.0.2.0/24'));
    await waitUntil('FRR has our route', () => frrRoute(frr, '10.244.1.0/24') !== undefined);
  });

  it('route-reflector client: FRR reflects one of our clients to another with ORIGINATOR_ID and CLUSTER_LIST', async () => {
    const a = netns(cleanup, 'ulb');
    const b = netns(cleanup, 'ulb');
    const rr = netns(cleanup, 'ulb');
    link(a, 'eth0', rr, 'eth0', ['10.0.1.1/30'], ['10.0.1.2/30']);
    link(b, 'eth0', rr, 'eth1', ['10.0.2.1/30'], ['10.0.2.2/30']);
    const clients = ['10.0.1.1', '10.0.2.1'].map((address) => ({ address, asn: 65000, af: ['route-reflector-client'] }));
    const frr = await startFrr(rr, { config: sharedFrrConf({ asn: 65000, routerId: '10.0.9.9', neighbors: clients }) });
    cleanup.push(() => frr.stop({ cleanup: true }));
    const exportAll = { policies: { all: { terms: [], default: 'accept' } } };
    const sa = startSpeaker(a, { routerId: '10.0.1.1', asn: 65000, advertise: ['10.244.1.0/24'], ...exportAll, peers: [{ name: 'rr', address: '10.0.1.2', asn: 65000, families: ['ipv4'] }] });
    cleanup.push(() => sa.speaker.stop());
    const sb = startSpeaker(b, { routerId: '10.0.2.1', asn: 65000, importPools: ['10.244.0.0/16'], ...exportAll, peers: [{ name: 'rr', address: '10.0.2.2', asn: 65000, families: ['ipv4'] }] });
    cleanup.push(() => sb.speaker.stop());
    await sa.speaker.start();
    await sb.speaker.start();
    await waitEstablished(sa.speaker, 'rr');
    await waitEstablished(sb.speaker, 'rr');
    await waitUntil('B learns A via the reflector', () => sb.fib.has('10.244.1.0/24'), 20_000, () => frr.vtysh('show bgp ipv4 unicast'));
    expect(sb.fib.get('10.244.1.0/24')!.nextHops).toEqual([{ address: '10.0.1.1' }]);
    const path = sb.speaker.rib.paths(parsePrefixLocal('10.244.1.0/24'))[0]!;
    expect(path.attrs.originatorId).toBe('10.0.1.1');
    expect(path.attrs.clusterList).toEqual(['10.0.9.9']);
    expect(path.attrs.localPref).toBe(100);
    const j = frr.vtyshJson<Routes>('show bgp ipv4 unicast json').routes?.['10.244.1.0/24']?.[0];
    expect(j?.nexthops?.[0]?.ip).toBe('10.0.1.1');
  });
});

import { parsePrefix as parsePrefixLocal } from '../rib/prefix.js';
