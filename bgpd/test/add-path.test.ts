// RFC 7911 add-path against a real FRR, both directions, each path checked with its Path Identifier
// on both sides. 192.0.2.0/24 has two paths, from two upstream speakers of ours in AS 65011 and 65012
// (equal otherwise: best + multipath):
//  - send: the upstreams peer with us; FRR (add-path receive) must hold both paths under exactly the
//    identifiers of our Adj-RIB-Out, and lose only the one withdrawn (by id).
//  - receive: the upstreams peer with FRR (addpath-tx-all-paths); our Adj-RIB-In must hold both paths
//    under exactly the identifiers FRR sent them with, and lose only the one FRR withdraws.
import { describe, expect, it } from 'vitest';
import { link, isRoot } from '../../test/harness/netns.js';
import type { Netns } from '../../test/harness/netns.js';
import { startFrr, type FrrPeer } from '../../test/harness/peers/frr.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf, netns, nsPair, type Cleanup } from './frr-session.js';
import type { BgpSpeaker } from '../speaker.js';

const P = '192.0.2.0/24';
type FrrPath = { aspath?: { string?: string }; path?: string; addpathRxId?: number; addpathTxId?: number; nexthops?: { ip: string }[] };
type FrrPrefix = { paths?: FrrPath[] };

/** FRR's paths for P: AS path -> the add-path identifier in `field`. */
function frrIds(frr: FrrPeer, field: 'addpathRxId' | 'addpathTxId'): Record<string, number | undefined> {
  const paths = frr.vtyshJson<FrrPrefix>(`show bgp ipv4 unicast ${P} json`).paths ?? [];
  return Object.fromEntries(paths.map((p) => [p.aspath?.string ?? p.path ?? '?', p[field]]));
}

/** Two upstream namespaces b1, b2 linked to `hub` on eth1/eth2 (hub .1, upstream .2 of 10.0.1.0/30, 10.0.2.0/30). */
function upstreams(cleanup: Cleanup, hub: Netns, peerAs: number): { start(): Promise<void>; b2: BgpSpeaker } {
  const made = [1, 2].map((i) => {
    const ns = netns(cleanup, 'ula');
    link(hub, `eth${i}`, ns, 'eth0', [`10.0.${i}.1/30`], [`10.0.${i}.2/30`]);
    // They wait for the hub (passive): collisions are covered by collision.test.ts.
    const s = startSpeaker(ns, { routerId: `10.0.${i}.2`, asn: 65010 + i, advertise: [P], importPools: ['10.244.0.0/16'], peers: [{ name: 'hub', address: `10.0.${i}.1`, asn: peerAs, families: ['ipv4'], passive: true }] });
    cleanup.push(() => s.speaker.stop());
    return s.speaker;
  });
  return { start: async () => { for (const s of made) await s.start(); }, b2: made[1]! };
}

describe.skipIf(!isRoot)('add-path with FRR', () => {
  const cleanup = cleanupAfterEach();

  it('send: FRR holds both paths under our Path Identifiers, and loses only the one withdrawn', async () => {
    const { us, them } = nsPair(cleanup, 'ula');
    const up = upstreams(cleanup, us, 65000);
    const frr = await startFrr(them, { config: frrConf({ asn: 65001, routerId: '10.0.0.2', neighbors: [{ address: '10.0.0.1', asn: 65000 }] }) });
    cleanup.push(() => frr.stop({ cleanup: true }));
    const { speaker } = startSpeaker(us, {
      routerId: '10.0.0.1',
      asn: 65000,
      importPools: [P],
      maxPaths: 4,
      multipathRelax: true,
      policies: { all: { terms: [], default: 'accept' } },
      peers: [
        { name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4'], addPath: 'send', exportPolicy: 'all' },
        { name: 'b1', address: '10.0.1.2', asn: 65011, families: ['ipv4'] },
        { name: 'b2', address: '10.0.2.2', asn: 65012, families: ['ipv4'] },
      ],
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await up.start();
    await waitEstablished(speaker, 'frr');
    await waitUntil('both upstream paths selected (best + multipath)', () => speaker.routes(P)[0]?.paths.filter((p) => p.best || p.multipath).length === 2, 20_000, () => JSON.stringify([speaker.routes(), speaker.neighbors().map((n) => [n.name, n.state, n.lastError])]));
    expect(speaker.neighbor('frr').capabilities.received.some((c) => /add-path 1\/1:(rx|rx\+tx)/.test(c))).toBe(true);
    // Ours: AS path (as FRR will see it) -> Path Identifier.
    const ourIds = (): Record<string, number> => Object.fromEntries(speaker.ribOut('frr').filter((e) => e.prefix === P).map((e) => [e.asPath, e.pathId]));
    await waitUntil('FRR has both paths', () => Object.keys(frrIds(frr, 'addpathRxId')).length === 2, 15_000, () => frr.vtysh(`show bgp ipv4 unicast ${P}`));
    const ours = ourIds();
    expect(Object.keys(ours).sort()).toEqual(['65000 65011', '65000 65012']);
    expect(new Set(Object.values(ours)).size).toBe(2);
    expect(Object.values(ours).every((id) => id > 0)).toBe(true);
    expect(frrIds(frr, 'addpathRxId')).toEqual(ours);

    // b2 withdraws: FRR keeps b1's path, under the same identifier.
    up.b2.shutdownNeighbor('hub', 'withdraw');
    await waitUntil('FRR down to one path', () => Object.keys(frrIds(frr, 'addpathRxId')).length === 1, 15_000, () => frr.vtysh(`show bgp ipv4 unicast ${P}`));
    expect(frrIds(frr, 'addpathRxId')).toEqual({ '65000 65011': ours['65000 65011'] });
    expect(ourIds()).toEqual({ '65000 65011': ours['65000 65011'] });
    expect(speaker.neighbor('frr').flaps).toHaveLength(0);
  });

  it('receive: our Adj-RIB-In holds both of FRR\'s paths under FRR\'s Path Identifiers, and loses only the one withdrawn', async () => {
    const { us, them } = nsPair(cleanup, 'ula');
    const up = upstreams(cleanup, them, 65001);
    const frr = await startFrr(them, {
      config: frrConf({
        asn: 65001,
        routerId: '10.0.0.2',
        global: ['bgp bestpath as-path multipath-relax'],
        neighbors: [
          { address: '10.0.0.1', asn: 65000, af: ['addpath-tx-all-paths'] },
          { address: '10.0.1.2', asn: 65011 },
          { address: '10.0.2.2', asn: 65012 },
        ],
      }),
    });
    cleanup.push(() => frr.stop({ cleanup: true }));
    await up.start();
    const { speaker } = startSpeaker(us, { routerId: '10.0.0.1', asn: 65000, importPools: [P], maxPaths: 4, multipathRelax: true, peers: [{ name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4'], addPath: 'receive' }] });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await waitEstablished(speaker, 'frr');
    expect(speaker.neighbor('frr').capabilities.received.some((c) => /add-path 1\/1:(tx|rx\+tx)/.test(c))).toBe(true);
    const ourIds = (): Record<string, number> => Object.fromEntries(speaker.ribIn('frr').filter((e) => e.prefix === P).map((e) => [e.asPath, e.pathId]));
    await waitUntil('both paths in our Adj-RIB-In', () => Object.keys(ourIds()).length === 2, 20_000, () => JSON.stringify(speaker.ribIn('frr')) + frr.vtysh(`show bgp ipv4 unicast ${P}`));
    const ours = ourIds();
    expect(Object.keys(ours).sort()).toEqual(['65001 65011', '65001 65012']);
    expect(new Set(Object.values(ours)).size).toBe(2);
    // FRR's identifiers are per path; ours must be the ones it sent (its AS path lacks its own AS).
    const theirs = frrIds(frr, 'addpathTxId');
    expect({ '65001 65011': theirs['65011'], '65001 65012': theirs['65012'] }).toEqual(ours);
    // Both paths reach our Loc-RIB (best + multipath), each under its identifier.
    expect(speaker.routes(P)[0]!.paths.map((p) => [p.asPath, p.pathId]).sort()).toEqual(Object.entries(ours).sort());

    // b2's path goes on FRR: it withdraws that identifier only.
    up.b2.shutdownNeighbor('hub', 'withdraw');
    await waitUntil('one path left in our Adj-RIB-In', () => Object.keys(ourIds()).length === 1, 15_000, () => JSON.stringify(speaker.ribIn('frr')));
    expect(ourIds()).toEqual({ '65001 65011': ours['65001 65011'] });
    expect(speaker.neighbor('frr').flaps).toHaveLength(0);
  });
});
