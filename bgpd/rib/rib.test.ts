import { describe, expect, it, vi } from 'vitest';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Rib, type FibChange, type OutboundBatch, type RibPeerInfo } from './rib.js';
import { parsePrefix, v4Key, formatKey, type PrefixKey } from './prefix.js';
import { compilePolicy } from './policy.js';
import { BestReason } from './decision.js';
import type { Attrs } from './attrs.js';

const seq = (...asns: number[]) => [{ type: 2, asns }];
const peerInfo = (over: Partial<RibPeerInfo> = {}): RibPeerInfo => ({
  name: 'p', address: '10.0.0.1', routerId: '1.1.1.1', localAs: 65000, remoteAs: 65001, ebgp: true,
  rrClient: false, igpMetric: 0, allowasIn: 0, localNextHop: { ipv4: '10.0.0.254' }, nextHopSelf: false, ...over,
});
const keys = (...p: string[]) => (visit: (k: PrefixKey, id: number) => void) => p.forEach((x) => visit(parsePrefix(x), 0));

function setup(opts: { maxPaths?: number } = {}) {
  const rib = new Rib({ localAs: 65000, routerId: '10.255.0.1', ...opts });
  const fib: FibChange[] = [];
  const out = new Map<number, OutboundBatch[]>();
  rib.onFib((c) => fib.push(...c));
  rib.onOutbound((id, b) => out.set(id, [...(out.get(id) ?? []), b]));
  return { rib, fib, out };
}

describe('Rib pipeline', () => {
  it('announce -> Loc-RIB -> FIB change; withdraw removes; ECMP across two peers', () => {
    const { rib, fib } = setup({ maxPaths: 4 });
    const a = rib.addPeer(peerInfo({ name: 'a', address: '10.0.0.1' }));
    const b = rib.addPeer(peerInfo({ name: 'b', address: '10.0.1.1', routerId: '2.2.2.2' }));
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys('192.0.2.0/24', '198.51.100.0/24'));
    rib.flush();
    expect(fib).toEqual([
      { prefix: '192.0.2.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.1' }] },
      { prefix: '198.51.100.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.1' }] },
    ]);
    fib.length = 0;
    rib.announce(b, { origin: 0, asPath: seq(65001), nextHop: '10.0.1.1' }, keys('192.0.2.0/24'));
    rib.flush();
    expect(fib).toEqual([{ prefix: '192.0.2.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.1' }, { address: '10.0.1.1' }] }]);
    fib.length = 0;
    rib.withdraw(a, keys('192.0.2.0/24', '198.51.100.0/24'));
    rib.flush();
    expect(fib).toEqual([
      { prefix: '192.0.2.0/24', family: 'ipv4', nextHops: [{ address: '10.0.1.1' }] },
      { prefix: '198.51.100.0/24', family: 'ipv4', nextHops: [] },
    ]);
    expect(rib.locRibSize).toBe(1);
    expect(rib.counts(a).received.ipv4).toBe(0);
  });

  it('the columnar FIB batch: IPv4 then IPv6, one entry per next-hop set, -1 for removals, object listeners only on request', () => {
    const rib = new Rib({ localAs: 65000, routerId: '10.255.0.1' });
    const a = rib.addPeer(peerInfo({ name: 'a', address: '10.0.0.1' }));
    const b = rib.addPeer(peerInfo({ name: 'b', address: '10.0.1.1', routerId: '2.2.2.2' }));
    const seen: { v4: number[]; v6: string[]; hops: number[]; sets: string[] }[] = [];
    const unsubscribe = rib.onFibBatch((batch) => {
      // Copied out: the arrays are the builder's, reused by the next pass.
      seen.push({
        v4: [...batch.v4.subarray(0, batch.n4)],
        v6: [...batch.v6],
        hops: [...batch.hops],
        sets: batch.hopSets.map((h) => h.map((x) => x.address).join(',')),
      });
      expect(batch.size).toBe(batch.n4 + batch.v6.length);
    });
    // Past the builder's first 1024 slots, from two peers (two next-hop sets), plus IPv6.
    const many = Array.from({ length: 3000 }, (_, i) => formatKey(v4Key(((10 << 24) >>> 0) + i * 256, 24)));
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys(...many.slice(0, 2000), '2001:db8:1::/48'));
    rib.announce(b, { origin: 0, asPath: seq(65002), nextHop: '10.0.1.1' }, keys(...many.slice(2000), '2001:db8:2::/48'));
    rib.flush();
    expect(seen).toHaveLength(1);
    const first = seen[0]!;
    expect(first.v4).toEqual(many.map((p) => parsePrefix(p)));
    expect(first.v6).toEqual(['2001:db8:1::/48', '2001:db8:2::/48'].map((p) => parsePrefix(p)));
    expect(first.sets).toEqual(['10.0.0.1', '10.0.1.1']);
    expect(first.hops).toEqual([...Array<number>(2000).fill(0), ...Array<number>(1000).fill(1), 0, 1]);
    // From here an onFib listener also gets each pass, as FibChange objects.
    const objects: FibChange[] = [];
    rib.onFib((c) => objects.push(...c));
    rib.withdraw(a, keys(many[5]!, '2001:db8:1::/48'));
    rib.flush();
    expect(seen[1]).toEqual({ v4: [parsePrefix(many[5]!)], v6: [parsePrefix('2001:db8:1::/48')], hops: [-1, -1], sets: [] });
    expect(objects).toEqual([
      { prefix: many[5], family: 'ipv4', nextHops: [] },
      { prefix: '2001:db8:1::/48', family: 'ipv6', nextHops: [] },
    ]);
    // The batch listener unsubscribed gets no more; the object listener still does.
    unsubscribe();
    rib.withdraw(b, keys(many[2500]!));
    rib.flush();
    expect(seen).toHaveLength(2);
    expect(objects).toHaveLength(3);
  });

  it('import policy filters into the post-policy Adj-RIB-In; soft reconfiguration re-applies it', () => {
    const { rib } = setup();
    const pol = compilePolicy('imp', { terms: [{ match: { prefixList: [{ prefix: '10.244.0.0/16', le: 32 }] }, action: 'accept', set: { localPref: 120 } }] });
    let info = peerInfo({ importPolicy: pol });
    const a = rib.addPeer(info);
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys('10.244.1.0/24', '8.8.8.0/24'));
    rib.flush();
    expect(rib.counts(a)).toMatchObject({ received: { ipv4: 2 }, accepted: { ipv4: 1 } });
    expect(rib.paths(parsePrefix('10.244.1.0/24'))[0]!.attrs.localPref).toBe(120);
    expect(rib.lookup(parsePrefix('8.8.8.0/24'))).toBeUndefined();
    info = peerInfo();
    rib.updatePeer(a, info);
    rib.reimport(a);
    rib.flush();
    expect(rib.lookup(parsePrefix('8.8.8.0/24'))?.nextHops).toEqual([{ address: '10.0.0.1' }]);
  });

  it('post-policy exceptions: rewrite, reject and plain accept move a prefix between them without leaks', () => {
    const { rib } = setup();
    // 10.1/16 rewritten, 10.2/16 accepted unchanged, the rest rejected (the default reject).
    const pol = compilePolicy('imp', { terms: [
      { match: { prefixList: [{ prefix: '10.1.0.0/16', le: 32 }] }, action: 'accept', set: { localPref: 150 } },
      { match: { prefixList: [{ prefix: '10.2.0.0/16', le: 32 }] }, action: 'accept' },
    ] });
    let info = peerInfo({ importPolicy: pol });
    const a = rib.addPeer(info);
    const attrs: Attrs = { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' };
    rib.announce(a, attrs, keys('10.1.0.0/24', '10.2.0.0/24', '10.3.0.0/24'));
    rib.flush();
    expect(rib.counts(a)).toMatchObject({ received: { ipv4: 3 }, accepted: { ipv4: 2 } });
    const post: string[] = [];
    rib.adjRib(a, 'in-post', (k, s) => post.push(`${formatKey(k)} ${s.localPref ?? '-'}`));
    expect(post.sort()).toEqual(['10.1.0.0/24 150', '10.2.0.0/24 -']);
    const pre: string[] = [];
    rib.adjRib(a, 'in-pre', (k, s) => pre.push(`${formatKey(k)} ${s.localPref ?? '-'}`));
    expect(pre.sort()).toEqual(['10.1.0.0/24 -', '10.2.0.0/24 -', '10.3.0.0/24 -']);
    expect(rib.lookup(parsePrefix('10.3.0.0/24'))).toBeUndefined();
    // Policy removed: every route is now accepted unchanged, so the exceptions must all go.
    info = peerInfo();
    rib.updatePeer(a, info);
    rib.reimport(a);
    rib.flush();
    expect(rib.counts(a).accepted.ipv4).toBe(3);
    expect(rib.paths(parsePrefix('10.1.0.0/24'))[0]!.attrs.localPref).toBeUndefined();
    expect(rib.lookup(parsePrefix('10.3.0.0/24'))?.nextHops).toEqual([{ address: '10.0.0.1' }]);
    // The rewritten set is gone once no exception refers to it.
    expect(rib.attrs.size).toBe(1);
    // Back to the policy, then withdraw a rejected and a rewritten prefix: no reference is left behind.
    rib.updatePeer(a, peerInfo({ importPolicy: pol }));
    rib.reimport(a);
    rib.flush();
    expect(rib.attrs.size).toBe(2);
    rib.withdraw(a, keys('10.1.0.0/24', '10.3.0.0/24'));
    rib.flush();
    expect(rib.counts(a)).toMatchObject({ received: { ipv4: 1 }, accepted: { ipv4: 1 } });
    expect(rib.attrs.size).toBe(1);
    // Re-announced: the old exceptions must not come back with them.
    rib.updatePeer(a, peerInfo());
    rib.announce(a, attrs, keys('10.1.0.0/24', '10.3.0.0/24'));
    rib.flush();
    expect(rib.counts(a).accepted.ipv4).toBe(3);
    expect(rib.paths(parsePrefix('10.1.0.0/24'))[0]!.attrs.localPref).toBeUndefined();
    rib.peerDown(a, false);
    rib.flush();
    expect(rib.locRibSize).toBe(0);
    expect(rib.attrs.size).toBe(0);
  });

  it('eBGP AS loops and eBGP LOCAL_PREF are dropped; allowas-in lets our AS through', () => {
    const { rib } = setup();
    const a = rib.addPeer(peerInfo());
    rib.announce(a, { origin: 0, asPath: seq(65001, 65000), nextHop: '10.0.0.1', localPref: 999 }, keys('192.0.2.0/24'));
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1', localPref: 999 }, keys('192.0.3.0/24'));
    rib.flush();
    expect(rib.lookup(parsePrefix('192.0.2.0/24'))).toBeUndefined();
    expect(rib.paths(parsePrefix('192.0.3.0/24'))[0]!.attrs.localPref).toBeUndefined();
    const b = rib.addPeer(peerInfo({ allowasIn: 1, address: '10.0.0.2' }));
    rib.announce(b, { origin: 0, asPath: seq(65001, 65000), nextHop: '10.0.0.2' }, keys('192.0.2.0/24'));
    rib.flush();
    expect(rib.lookup(parsePrefix('192.0.2.0/24'))).toBeDefined();
  });

  it('export: own prefixes with next-hop-self and our AS prepended, End-of-RIB after the initial table; no transit by default policy', () => {
    const { rib, out } = setup();
    const exportOwn = compilePolicy('own', { terms: [{ match: { prefixList: [{ prefix: '10.244.7.0/24' }] }, action: 'accept' }] });
    const a = rib.addPeer(peerInfo({ exportPolicy: exportOwn }));
    const b = rib.addPeer(peerInfo({ address: '10.0.1.1', remoteAs: 65002, localNextHop: { ipv4: '10.0.1.254' } }));
    rib.setLocal(new Map<PrefixKey, Attrs>([[parsePrefix('10.244.7.0/24'), { origin: 0, asPath: [], nextHop: '' }]]));
    rib.announce(b, { origin: 0, asPath: seq(65002), nextHop: '10.0.1.1' }, keys('203.0.113.0/24'));
    rib.flush();
    rib.peerUp(a, ['ipv4']);
    rib.flush();
    const batches = out.get(a)!;
    expect(batches).toHaveLength(1);
    expect(batches[0]!.endOfRib).toEqual(['ipv4']);
    const ann = [...batches[0]!.announce.entries()];
    expect(ann).toHaveLength(1);
    expect(ann[0]![0]).toMatchObject({ nextHop: '10.0.0.254', asPath: [{ type: 2, asns: [65000] }] });
    expect(ann[0]![1].map(formatKey)).toEqual(['10.244.7.0/24']);
    // Removing the local prefix withdraws it.
    rib.setLocal(new Map());
    rib.flush();
    expect(out.get(a)!.at(-1)!.withdraw.map(formatKey)).toEqual(['10.244.7.0/24']);
  });

  it('route reflection: client routes reach non-clients with ORIGINATOR_ID and CLUSTER_LIST; iBGP to iBGP is not reflected otherwise', () => {
    const { rib, out } = setup();
    const all = compilePolicy('all', { terms: [], default: 'accept' });
    const ibgp = { ebgp: false, remoteAs: 65000, exportPolicy: all } as const;
    const client = rib.addPeer(peerInfo({ ...ibgp, name: 'client', rrClient: true, address: '10.0.0.1', routerId: '1.1.1.1' }));
    const non1 = rib.addPeer(peerInfo({ ...ibgp, name: 'n1', address: '10.0.0.2', routerId: '2.2.2.2' }));
    const non2 = rib.addPeer(peerInfo({ ...ibgp, name: 'n2', address: '10.0.0.3', routerId: '3.3.3.3' }));
    for (const p of [client, non1, non2]) rib.peerUp(p, ['ipv4']);
    rib.flush();
    out.clear();
    rib.announce(client, { origin: 0, asPath: [], nextHop: '10.0.0.1', localPref: 100 }, keys('10.1.0.0/16'));
    rib.announce(non1, { origin: 0, asPath: [], nextHop: '10.0.0.2', localPref: 100 }, keys('10.2.0.0/16'));
    rib.flush();
    const sent = (id: number) => (out.get(id) ?? []).flatMap((b) => [...b.announce.entries()].flatMap(([a, ks]) => ks.map((k) => ({ p: formatKey(k), a }))));
    expect(sent(non2).map((x) => x.p)).toEqual(['10.1.0.0/16']);
    expect(sent(non2)[0]!.a).toMatchObject({ originatorId: '1.1.1.1', clusterList: ['10.255.0.1'], nextHop: '10.0.0.1' });
    expect(sent(client).map((x) => x.p)).toEqual(['10.2.0.0/16']);
    // A reflected route coming back with our cluster ID is a loop (RFC 4456 §8).
    rib.announce(non2, { origin: 0, asPath: [], nextHop: '10.0.0.9', localPref: 100, clusterList: ['10.255.0.1'] }, keys('10.3.0.0/16'));
    rib.flush();
    expect(rib.lookup(parsePrefix('10.3.0.0/16'))).toBeUndefined();
  });

  it('graceful restart helper: routes stay (stale) across the restart; End-of-RIB sweeps what was not re-sent', () => {
    const { rib, fib } = setup();
    const a = rib.addPeer(peerInfo());
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys('192.0.2.0/24', '198.51.100.0/24'));
    rib.flush();
    fib.length = 0;
    rib.peerDown(a, true);
    rib.flush();
    expect(fib).toEqual([]);
    expect(rib.staleCount(a)).toBe(2);
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys('192.0.2.0/24'));
    rib.flush();
    expect(fib).toEqual([]);
    expect(rib.sweepStale(a, 'ipv4')).toBe(1);
    rib.flush();
    expect(fib).toEqual([{ prefix: '198.51.100.0/24', family: 'ipv4', nextHops: [] }]);
  });

  it('enhanced route refresh: BoRR marks stale, EoRR removes what was not re-advertised (RFC 7313 §4.2)', () => {
    const { rib, fib } = setup();
    const a = rib.addPeer(peerInfo());
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys('192.0.2.0/24', '198.51.100.0/24'));
    rib.flush();
    fib.length = 0;
    rib.markStale(a, 'ipv4');
    rib.announce(a, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' }, keys('192.0.2.0/24'));
    rib.flush();
    expect(fib).toEqual([]);
    rib.sweepStale(a, 'ipv4');
    rib.flush();
    expect(fib).toEqual([{ prefix: '198.51.100.0/24', family: 'ipv4', nextHops: [] }]);
  });

  it('MRAI holds announcements for the interval but lets withdrawals out at once (RFC 4271 §9.2.1.1)', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    try {
      const { rib, out } = setup();
      const a = rib.addPeer(peerInfo({ mraiMs: 5_000 }));
      const local = (...p: string[]) => new Map<PrefixKey, Attrs>(p.map((x) => [parsePrefix(x), { origin: 0, asPath: [], nextHop: '' }]));
      rib.setLocal(local('10.244.1.0/24'));
      rib.peerUp(a, ['ipv4']);
      rib.flush();
      expect(out.get(a)).toHaveLength(1); // initial table + End-of-RIB go at once
      rib.setLocal(local('10.244.1.0/24', '10.244.2.0/24'));
      rib.flush();
      expect(out.get(a)).toHaveLength(1); // held
      rib.setLocal(local('10.244.2.0/24'));
      rib.flush();
      const afterWithdraw = out.get(a)!;
      expect(afterWithdraw).toHaveLength(2);
      expect(afterWithdraw[1]!.withdraw.map(formatKey)).toEqual(['10.244.1.0/24']);
      expect(afterWithdraw[1]!.announce.size).toBe(0);
      vi.advanceTimersByTime(5_000);
      const last = out.get(a)!.at(-1)!;
      expect([...last.announce.values()].flat().map(formatKey)).toEqual(['10.244.2.0/24']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports why the best path won', () => {
    const { rib } = setup();
    const a = rib.addPeer(peerInfo({ name: 'a' }));
    const b = rib.addPeer(peerInfo({ name: 'b', address: '10.0.0.2' }));
    rib.announce(a, { origin: 0, asPath: seq(65001, 1), nextHop: '10.0.0.1' }, keys('192.0.2.0/24'));
    rib.announce(b, { origin: 0, asPath: seq(65001), nextHop: '10.0.0.2' }, keys('192.0.2.0/24'));
    rib.flush();
    expect(rib.lookup(parsePrefix('192.0.2.0/24'))?.reason).toBe(BestReason.AsPathLength);
    const paths = rib.paths(parsePrefix('192.0.2.0/24'));
    expect(paths.find((p) => p.best)?.peer).toBe('b');
  });

  it('attribute references: replacing and withdrawing release every set (no leak, no early free)', () => {
    const { rib, fib } = setup();
    const pol = compilePolicy('imp', { terms: [
      { match: { prefixList: [{ prefix: '10.1.0.0/16', le: 32 }] }, action: 'accept', set: { localPref: 150 } },
      { match: { prefixList: [{ prefix: '10.0.0.0/8', le: 32 }] }, action: 'accept' },
    ] });
    const a = rib.addPeer(peerInfo({ importPolicy: pol }));
    const many = (base: string, n: number) => (visit: (k: PrefixKey, id: number) => void) => {
      for (let i = 0; i < n; i++) visit(parsePrefix(`${base}.${i}.0/24`), 0);
    };
    // Two UPDATEs with the same attributes, then the same prefixes again with new ones: the first set
    // must survive the replacements inside one UPDATE and be gone after.
    const first: Attrs = { origin: 0, asPath: seq(65001), nextHop: '10.0.0.1' };
    rib.announce(a, first, many('10.1', 200));
    rib.announce(a, first, many('10.2', 200));
    rib.flush();
    expect(rib.locRibSize).toBe(400);
    expect(rib.paths(parsePrefix('10.1.7.0/24'))[0]!.attrs.localPref).toBe(150);
    expect(rib.paths(parsePrefix('10.2.7.0/24'))[0]!.attrs.localPref).toBeUndefined();
    const second: Attrs = { origin: 0, asPath: seq(65001, 7), nextHop: '10.0.0.1' };
    rib.announce(a, second, many('10.1', 200));
    rib.announce(a, second, many('10.2', 200));
    rib.flush();
    expect(rib.paths(parsePrefix('10.1.7.0/24'))[0]!.attrs.asPath).toEqual(seq(65001, 7));
    // pre(second), post(second + localPref 150), post(second) is pre(second): two live sets.
    expect(rib.attrs.size).toBe(2);
    // One reference per stored id: 400 pre + 1 Loc-RIB path set (a route accepted unchanged is not
    // stored again post-policy); 200 post-policy exceptions + 1 path set.
    const plain = rib.paths(parsePrefix('10.2.7.0/24'))[0]!.attrs;
    const rewritten = rib.paths(parsePrefix('10.1.7.0/24'))[0]!.attrs;
    expect(rib.attrs.refCount(plain.id)).toBe(401);
    expect(rib.attrs.refCount(rewritten.id)).toBe(201);
    fib.length = 0;
    rib.withdraw(a, many('10.1', 200));
    rib.withdraw(a, many('10.2', 200));
    rib.flush();
    expect(fib.filter((c) => c.nextHops.length === 0)).toHaveLength(400);
    expect(rib.locRibSize).toBe(0);
    expect(rib.attrs.size).toBe(0);
  });

  it('memory: 500k IPv4 prefixes from one peer cost under 200 bytes each', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // No listeners: this measures what the RIB keeps, not a FIB change log.
    const rib = new Rib({ localAs: 65000, routerId: '10.255.0.1' });
    const a = rib.addPeer(peerInfo());
    gc();
    // Typed-array tables live outside the JS heap: count ArrayBuffer memory too.
    const used = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.arrayBuffers; };
    const before = used();
    const N = 500_000;
    for (let start = 0; start < N; start += 800) {
      const attrs: Attrs = { origin: 0, asPath: seq(65001, 64512 + (start % 1000)), nextHop: '10.0.0.1', med: start };
      rib.announce(a, attrs, (visit) => {
        for (let i = start; i < Math.min(N, start + 800); i++) visit(v4Key(((11 << 24) + i * 256) >>> 0, 24), 0);
      });
    }
    const t0 = performance.now();
    rib.flush();
    const t1 = performance.now();
    gc();
    const perPrefix = (used() - before) / N;
    expect(rib.locRibSize).toBe(N);
    expect(rib.counts(a).accepted.ipv4).toBe(N);
    console.log(`rib memory: ${perPrefix.toFixed(1)} bytes/prefix, decision ${(t1 - t0).toFixed(0)} ms`);
    expect(perPrefix).toBeLessThan(200);
  });
});
