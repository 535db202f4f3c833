// What an FRR ToR really does with the route we advertise, which explain's acceptance probe builds on
// (uplinkd/explain-acceptance.ts): FRR 8.4 sends an accepted eBGP route back to the peer it came from
// (we see it, with our AS in the path, in our Adj-RIB-In before the loop check), answers ROUTE-REFRESH
// with BoRR .. EoRR (RFC 7313), stops sending back a route its import policy rejects, keeps sending
// back when another neighbour has an outbound filter, and stops sending back altogether with
// `sender-as-path-loop-detection`. Two of our speakers (AS 65101, 65102) peer with one FRR (AS 65000).
// BIRD 2 and GoBGP never send a route back to the peer it came from: there the probe has no evidence.
// GoBGP has route refresh without RFC 7313, so its answer window closes on quiet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Netns, link, isRoot } from '../harness/netns.js';
import { startFrr, type FrrPeer } from '../harness/peers/frr.js';
import { waitFor } from '../harness/peers/common.js';
import { startBird, type BirdPeer } from '../harness/peers/bird.js';
import { startGobgp, type GobgpPeer } from '../harness/peers/gobgp.js';
import { startSpeaker, waitEstablished, waitUntil } from '../../bgpd/test/helpers.js';
import type { BgpSpeaker } from '../../bgpd/speaker.js';
import { AcceptanceMethod, probeAcceptance } from '../../uplinkd/explain-acceptance.js';

const BLOCK = '10.244.1.0/26';
const OTHER = '10.244.1.64/26';

describe.skipIf(!isRoot)('explain acceptance probe against a real FRR ToR', () => {
  const spaces: Netns[] = [];
  let frr: FrrPeer;
  let a: BgpSpeaker, b: BgpSpeaker;

  beforeAll(async () => {
    const [tor, na, nb] = [Netns.create('ule'), Netns.create('ule'), Netns.create('ule')];
    spaces.push(tor, na, nb);
    link(tor, 'to-a', na, 'up0', ['10.0.1.0/31'], ['10.0.1.1/31']);
    link(tor, 'to-b', nb, 'up0', ['10.0.2.0/31'], ['10.0.2.1/31']);
    frr = await startFrr(tor, {
      config: [
        'router bgp 65000',
        ' bgp router-id 10.0.0.1',
        ' no bgp ebgp-requires-policy',
        ' neighbor 10.0.1.1 remote-as 65101',
        ' neighbor 10.0.2.1 remote-as 65102',
        '',
      ].join('\n'),
    });
    const peer = (addr: string) => [{ name: 'tor', address: addr, asn: 65000, families: ['ipv4'] }];
    a = startSpeaker(na, { routerId: '10.0.1.1', asn: 65101, advertise: [BLOCK, OTHER], importPools: ['10.244.0.0/16'], peers: peer('10.0.1.0') }).speaker;
    b = startSpeaker(nb, { routerId: '10.0.2.1', asn: 65102, advertise: ['10.244.2.0/26'], importPools: ['10.244.0.0/16'], peers: peer('10.0.2.0') }).speaker;
    await a.start();
    await b.start();
    await waitEstablished(a, 'tor');
    await waitEstablished(b, 'tor');
    await waitUntil('B learns both of A\'s prefixes', () => b.routes().filter((r) => r.prefix.startsWith('10.244.1.')).length === 2);
  }, 90_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await frr?.stop({ cleanup: true });
    for (const ns of spaces) ns.destroy();
  });

  it('FRR sends our accepted route back with our AS in the path, and the probe reads it inside BoRR .. EoRR', async () => {
    // Passive evidence first: it is there without asking (dropped by our loop check, kept pre-policy).
    await waitUntil('A\'s block back from FRR', () => a.ribIn('tor', 'pre').some((e) => e.prefix === BLOCK));
    expect(a.ribIn('tor', 'pre').find((e) => e.prefix === BLOCK)?.asPath).toBe('65000 65101');
    expect(a.ribIn('tor', 'post').some((e) => e.prefix === BLOCK)).toBe(false);
    const r = await probeAcceptance(a, 'tor', BLOCK);
    expect(r, JSON.stringify(r)).toMatchObject({ accepted: true, method: AcceptanceMethod.EnhancedRouteRefresh, asPath: '65000 65101' });
    expect(r.evidence).toMatch(/BoRR \.\. EoRR/);
  });

  it('with a cache, a burst of probes for both our prefixes costs FRR one ROUTE-REFRESH; an UPDATE from it ends the cached answer', async () => {
    const count = (): number => frr.vtyshJson<Record<string, { messageStats: { routeRefreshRecv: number } }>>('show bgp neighbors 10.0.1.1 json')['10.0.1.1']!.messageStats.routeRefreshRecv;
    const before = count();
    const burst = await Promise.all([BLOCK, OTHER, BLOCK, OTHER].map((p) => probeAcceptance(a, 'tor', p, { cacheMs: 30_000 })));
    expect(burst.map((r) => r.accepted)).toEqual([true, true, true, true]);
    const later = await probeAcceptance(a, 'tor', OTHER, { cacheMs: 30_000 });
    expect(later).toMatchObject({ accepted: true, asPath: '65000 65101' });
    expect(later.evidence).toMatch(/answer reused from \d+\.\d s ago/);
    await waitUntil('FRR counted the refresh', () => count() === before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(count()).toBe(before + 1);
    // Without the cache every probe asks (what the policy tests below rely on).
    await probeAcceptance(a, 'tor', BLOCK);
    await waitUntil('FRR counted the second refresh', () => count() === before + 2);
    // B's session reset makes FRR withdraw B's block from A and announce it again: UPDATEs after the
    // answer, so the next probe asks anew.
    await probeAcceptance(a, 'tor', BLOCK, { cacheMs: 30_000 });
    const c = count();
    frr.vtysh('clear ip bgp 10.0.2.1');
    await waitFor('a fresh answer after an UPDATE from FRR', async () => (/answer reused/.test((await probeAcceptance(a, 'tor', BLOCK, { cacheMs: 30_000 })).evidence) ? undefined : true), { timeoutMs: 10_000 });
    await waitUntil('FRR counted the refresh after the UPDATE', () => count() === c + 1);
    await waitEstablished(b, 'tor');
    await waitUntil('A learns B\'s block again', () => a.routes().some((x) => x.prefix === '10.244.2.0/26'));
  });

  it('another neighbour\'s outbound filter does not stop FRR sending our route back to us', async () => {
    frr.configure(['ip prefix-list no-a seq 5 deny 10.244.1.0/24 le 32', 'ip prefix-list no-a seq 10 permit any',
      'route-map to-b permit 10', ' match ip address prefix-list no-a', 'router bgp 65000', ' address-family ipv4 unicast', '  neighbor 10.0.2.1 route-map to-b out']);
    try {
      await waitUntil('B lost A\'s prefixes', () => !b.routes().some((r) => r.prefix.startsWith('10.244.1.')));
      const r = await probeAcceptance(a, 'tor', BLOCK);
      expect(r, JSON.stringify(r)).toMatchObject({ accepted: true, asPath: '65000 65101' });
    } finally {
      frr.configure(['router bgp 65000', ' address-family ipv4 unicast', '  no neighbor 10.0.2.1 route-map to-b out']);
    }
  });

  it('a route the ToR\'s import policy rejects is withdrawn or missing in the refresh answer: a problem, with the proof that FRR sends back our other prefix', async () => {
    frr.configure([`ip prefix-list from-a seq 5 deny ${BLOCK}`, 'ip prefix-list from-a seq 10 permit any',
      'route-map from-a permit 10', ' match ip address prefix-list from-a', 'router bgp 65000', ' address-family ipv4 unicast', '  neighbor 10.0.1.1 route-map from-a in']);
    try {
      await waitUntil('FRR dropped A\'s block', () => !('10.244.1.0/26' in frr.vtyshJson<{ routes: Record<string, unknown> }>('show ip bgp json').routes));
      const r = await probeAcceptance(a, 'tor', BLOCK);
      expect(r, JSON.stringify(r)).toMatchObject({ accepted: false, method: AcceptanceMethod.EnhancedRouteRefresh });
      expect(r.evidence).toContain(`does send back our ${OTHER}`);
      // And the Adj-RIB-In no longer holds it either: FRR withdrew it when the policy changed.
      expect(a.ribIn('tor', 'pre').some((e) => e.prefix === BLOCK)).toBe(false);
    } finally {
      frr.configure(['router bgp 65000', ' address-family ipv4 unicast', '  no neighbor 10.0.1.1 route-map from-a in']);
    }
    await waitFor('A\'s block accepted again', async () => ((await probeAcceptance(a, 'tor', BLOCK)).accepted === true ? true : undefined), { timeoutMs: 20_000 });
  });

  it('with sender-as-path-loop-detection FRR sends nothing of ours back: silence is no evidence', async () => {
    frr.configure(['router bgp 65000', ' neighbor 10.0.2.1 sender-as-path-loop-detection']);
    // FRR 8.4 applies the setting (an update-group property) to a new session only: reset it.
    frr.vtysh('clear ip bgp 10.0.2.1');
    try {
      // B never had its block probed, so nothing says this peer used to send it back.
      await waitEstablished(b, 'tor');
      await waitUntil('FRR stopped sending B\'s block back', () => !b.ribIn('tor', 'pre').some((e) => e.prefix === '10.244.2.0/26'), 20_000);
      const r = await probeAcceptance(b, 'tor', '10.244.2.0/26');
      expect(r, JSON.stringify(r)).toMatchObject({ accepted: null, method: AcceptanceMethod.None });
      // FRR accepted it all the same: A still learns it.
      await waitUntil('A learns B\'s block', () => a.routes().some((x) => x.prefix === '10.244.2.0/26'));
    } finally {
      frr.configure(['router bgp 65000', ' no neighbor 10.0.2.1 sender-as-path-loop-detection']);
    }
  });
});

describe.skipIf(!isRoot)('explain acceptance probe against BIRD, which never sends a route back to its source', () => {
  it('BIRD accepts our route but stays silent about it: the probe reports no evidence, not a problem', async () => {
    const [tor, us] = [Netns.create('ule'), Netns.create('ule')];
    let bird: BirdPeer | undefined;
    let speaker: BgpSpeaker | undefined;
    try {
      link(tor, 'to-us', us, 'up0', ['10.0.1.0/31'], ['10.0.1.1/31']);
      bird = await startBird(tor, {
        config: 'router id 10.0.0.1;\nprotocol device {}\nprotocol bgp node1 { local 10.0.1.0 as 65000; neighbor 10.0.1.1 as 65101; ipv4 { import all; export all; }; }\n',
      });
      speaker = startSpeaker(us, { routerId: '10.0.1.1', asn: 65101, advertise: [BLOCK], importPools: ['10.244.0.0/16'], peers: [{ name: 'tor', address: '10.0.1.0', asn: 65000, families: ['ipv4'] }] }).speaker;
      await speaker.start();
      await waitEstablished(speaker, 'tor');
      const b = bird;
      await waitUntil('BIRD accepted our block', () => /10\.244\.1\.0\/26/.test(b.birdc('show route protocol node1')), 20_000, () => b.birdc('show route all'));
      const r = await probeAcceptance(speaker, 'tor', BLOCK);
      // BIRD 2 has enhanced route refresh too, so the window is exact and the silence is real.
      expect(r, JSON.stringify(r)).toMatchObject({ accepted: null, method: AcceptanceMethod.None });
      expect(r.evidence).toMatch(/after ROUTE-REFRESH \(BoRR \.\. EoRR.*sends none of our routes back/);
    } finally {
      await speaker?.stop();
      await bird?.stop({ cleanup: true });
      us.destroy();
      tor.destroy();
    }
  });
});

describe.skipIf(!isRoot)('explain acceptance probe against GoBGP (route refresh without RFC 7313)', () => {
  it('GoBGP answers ROUTE-REFRESH without BoRR/EoRR: the window closes on quiet, and it does not send our route back either', async () => {
    const [tor, us] = [Netns.create('ule'), Netns.create('ule')];
    let gobgp: GobgpPeer | undefined;
    let speaker: BgpSpeaker | undefined;
    try {
      link(tor, 'to-us', us, 'up0', ['10.0.1.0/31'], ['10.0.1.1/31']);
      gobgp = await startGobgp(tor, {
        config: '[global.config]\n  as = 65000\n  router-id = "10.0.0.1"\n  port = 179\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "10.0.1.1"\n    peer-as = 65101\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "ipv4-unicast"\n',
      });
      speaker = startSpeaker(us, { routerId: '10.0.1.1', asn: 65101, advertise: [BLOCK], importPools: ['10.244.0.0/16'], peers: [{ name: 'tor', address: '10.0.1.0', asn: 65000, families: ['ipv4'] }] }).speaker;
      await speaker.start();
      await waitEstablished(speaker, 'tor');
      const g = gobgp;
      await waitUntil('GoBGP accepted our block', () => BLOCK in g.gobgpJson<Record<string, unknown>>('global', 'rib', '-a', 'ipv4'), 20_000);
      const caps = speaker.neighbor('tor').capabilities.received;
      expect(caps).toContain('route-refresh');
      expect(caps).not.toContain('enhanced-route-refresh');
      const r = await probeAcceptance(speaker, 'tor', BLOCK, { quietMs: 300, silentMs: 1500 });
      expect(r, JSON.stringify(r)).toMatchObject({ accepted: null, method: AcceptanceMethod.None });
      expect(r.evidence).toMatch(/after ROUTE-REFRESH \(\d+ UPDATEs?, window closed after \d+ ms of quiet\)/);
    } finally {
      await speaker?.stop();
      await gobgp?.stop({ cleanup: true });
      us.destroy();
      tor.destroy();
    }
  });
});
