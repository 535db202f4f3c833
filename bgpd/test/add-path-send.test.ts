// RFC 7911 add-path send against a real FRR receiver: we learn 192.0.2.0/24 from two upstream
// speakers (equal paths: best + multipath) and FRR, which offers add-path receive, must see both
// paths with distinct Path Identifiers; when one upstream goes, only that path is withdrawn (by id).
import { describe, expect, it } from 'vitest';
import { link, isRoot } from '../../test/harness/netns.js';
import type { Netns } from '../../test/harness/netns.js';
import { startFrr } from '../../test/harness/peers/frr.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf, netns, nsPair } from './frr-session.js';
import { parseBgpConfig } from '../config.js';

type FrrPaths = { routes?: Record<string, { nexthops?: { ip: string }[]; addrPrefix?: string; pathId?: number; remotePathId?: number; addpathRxId?: number }[]> };

describe.skipIf(!isRoot)('add-path send to FRR', () => {
  const cleanup = cleanupAfterEach();

  it('FRR sees both paths of a prefix learned from two of our peers, and loses only the one withdrawn', async () => {
    const { us, them: r } = nsPair(cleanup, 'ulg');
    const b1 = netns(cleanup, 'ulg');
    const b2 = netns(cleanup, 'ulg');
    link(us, 'eth1', b1, 'eth0', ['10.0.1.1/30'], ['10.0.1.2/30']);
    link(us, 'eth2', b2, 'eth0', ['10.0.2.1/30'], ['10.0.2.2/30']);
    const frr = await startFrr(r, { config: frrConf({ asn: 65001, routerId: '10.0.0.2', neighbors: [{ address: '10.0.0.1', asn: 65000 }] }) });
    cleanup.push(() => frr.stop({ cleanup: true }));
    // Upstreams wait for us (passive): collisions are covered by collision.test.ts.
    const upstream = (ns: Netns, id: string, peer: string) => {
      const s = startSpeaker(ns, { routerId: id, asn: 65011, advertise: ['192.0.2.0/24'], importPools: ['10.244.0.0/16'], peers: [{ name: 'us', address: peer, asn: 65000, families: ['ipv4'], passive: true }] });
      cleanup.push(() => s.speaker.stop());
      return s.speaker;
    };
    const s1 = upstream(b1, '10.0.1.2', '10.0.1.1');
    const s2 = upstream(b2, '10.0.2.2', '10.0.2.1');
    const { speaker } = startSpeaker(us, {
      routerId: '10.0.0.1',
      asn: 65000,
      importPools: ['192.0.2.0/24'],
      policies: { all: { terms: [], default: 'accept' } },
      peers: [
        { name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4'], addPath: 'send', exportPolicy: 'all' },
        { name: 'b1', address: '10.0.1.2', asn: 65011, families: ['ipv4'] },
        { name: 'b2', address: '10.0.2.2', asn: 65011, families: ['ipv4'] },
      ],
    });
    cleanup.push(() => speaker.stop());
    await speaker.start();
    await s1.start();
    await s2.start();
    await waitEstablished(speaker, 'frr');
    await waitUntil('both upstream paths selected (best + multipath)', () => speaker.routes('192.0.2.0/24')[0]?.paths.filter((p) => p.best || p.multipath).length === 2, 20_000, () => JSON.stringify([speaker.routes(), speaker.neighbors().map((n) => [n.name, n.state, n.lastError, n.flaps])]));
    expect(speaker.neighbor('frr').capabilities.received.some((c) => /add-path 1\/1:(rx|rx\+tx)/.test(c))).toBe(true);
    const frrPaths = () => frr.vtyshJson<FrrPaths>('show bgp ipv4 unicast json').routes?.['192.0.2.0/24'] ?? [];
    await waitUntil('FRR has two paths for the prefix', () => frrPaths().length === 2, 15_000, () => frr.vtysh('show bgp ipv4 unicast 192.0.2.0/24'));
    const detail = frr.vtysh('show bgp ipv4 unicast 192.0.2.0/24');
    const rxIds = [...detail.matchAll(/Received[^\n]*?path ?id:? ?(\d+)|Addpath ID: RX (\d+)/gi)].map((m) => m[1] ?? m[2]);
    expect(new Set(rxIds).size).toBe(2);
    // Our Adj-RIB-Out to FRR lists both, by Path Identifier.
    const out = speaker.ribOut('frr').filter((e) => e.prefix === '192.0.2.0/24');
    expect(new Set(out.map((e) => e.pathId)).size).toBe(2);
    expect(out.every((e) => e.pathId > 0)).toBe(true);

    // One upstream withdraws: FRR keeps the other path.
    s2.setLocalPrefixes([]);
    await s2.reconfigure(parseBgpConfig({ connectRetry: 2, routerId: '10.0.2.2', asn: 65011, advertise: [], importPools: ['10.244.0.0/16'], peers: [{ name: 'us', address: '10.0.2.1', asn: 65000, families: ['ipv4'], passive: true }] }));
    await waitUntil('FRR down to one path', () => frrPaths().length === 1, 15_000, () => frr.vtysh('show bgp ipv4 unicast 192.0.2.0/24'));
    expect(speaker.neighbor('frr').flaps).toHaveLength(0);
  }, 90_000);
});
