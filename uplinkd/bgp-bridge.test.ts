// Loc-RIB changes -> FIB deltas (what BgpBridge hands FibReconciler.applyChanges), and that the deltas
// land in a real kernel table: RFC 8950 next hops, unnumbered (link-local) next hops, ECMP, removals.
import { expect, it } from 'vitest';
import fc from 'fast-check';
import { useFibNs } from '../test/harness/fib-ns.js';
import { fibChanges, type FibBatch, type FibChange, type NextHop } from '../bgpd/rib/rib.js';
import { formatKey, parsePrefix, v4Key, v6Key } from '../bgpd/rib/prefix.js';
import { canonicalPrefix } from '../routes/netlink/addr.js';
import { formatV4Num } from '../routes/prefix-table.js';
import { prefixDeltaDsts } from '../routes/prefix-batch.js';
import { ribDelta, ribPrefixDelta } from './bgp-bridge.js';

/** A columnar batch as the RIB's decision pass builds it: IPv4 keys first, then IPv6; -1 = removal. */
function batchOf(changes: readonly [string, readonly NextHop[] | null][]): FibBatch {
  const keyed = changes.map(([p, h]) => [parsePrefix(p), h] as const);
  const v4 = keyed.filter(([k]) => typeof k === 'number');
  const v6 = keyed.filter(([k]) => typeof k === 'string');
  const hopSets: (readonly NextHop[])[] = [];
  const hops = Int32Array.from([...v4, ...v6], ([, h]) => {
    if (!h) return -1;
    if (!hopSets.includes(h)) hopSets.push(h);
    return hopSets.indexOf(h);
  });
  return { size: changes.length, n4: v4.length, v4: Float64Array.from(v4, ([k]) => k as number), v6: v6.map(([k]) => k as string), hops, hopSets };
}

/** A PrefixDelta back as Route objects, to compare with ribDelta's. */
function routesOf(d: ReturnType<typeof ribPrefixDelta>): ReturnType<typeof ribDelta> {
  const removals = [...(d.removals4 ?? [])].map(formatV4Num).concat(d.removals);
  return { upserts: prefixDeltaDsts(d).map((dst, i) => ({ dst, nexthops: d.hopSets[d.hops[i]!]! })), removals: removals.map((dst) => ({ dst })) };
}

it('maps each change to an upsert or a removal, RFC 8950 and link-local next hops included', () => {
  const changes: FibChange[] = [
    { prefix: '10.1.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.2' }, { address: '10.0.0.3' }] },
    { prefix: '10.2.0.0/24', family: 'ipv4', nextHops: [{ address: 'fe80::2', linkLocal: 'eth1' }] },
    { prefix: 'fd00:1::/64', family: 'ipv6', nextHops: [{ address: 'fd00::2' }] },
    { prefix: '10.3.0.0/24', family: 'ipv4', nextHops: [] },
  ];
  expect(ribDelta(changes)).toEqual({
    upserts: [
      { dst: '10.1.0.0/24', nexthops: [{ gateway: '10.0.0.2' }, { gateway: '10.0.0.3' }] },
      // An IPv4 route over an IPv6 next hop goes out with RTA_VIA (RFC 8950), through the interface.
      { dst: '10.2.0.0/24', nexthops: [{ via: 'fe80::2', dev: 'eth1', onlink: true }] },
      { dst: 'fd00:1::/64', nexthops: [{ gateway: 'fd00::2' }] },
    ],
    removals: [{ dst: '10.3.0.0/24' }],
  });
});

it('the columnar delta carries the same routes as ribDelta, next hops mapped once per set and family', () => {
  const two = [{ address: '10.0.0.2' }, { address: '10.0.0.3' }];
  const ll = [{ address: 'fe80::2', linkLocal: 'eth1' }];
  // One set used by an IPv4 and an IPv6 prefix: RTA_VIA for the first (RFC 8950), a gateway for the other.
  const v6hop = [{ address: 'fd00::2' }];
  const b = batchOf([
    ['10.1.0.0/24', two],
    ['10.2.0.0/24', ll],
    ['10.4.0.0/24', v6hop],
    ['fd00:1::/64', v6hop],
    ['10.3.0.0/24', null],
    ['10.5.0.0/24', two],
    ['fd00:2::/64', null],
  ]);
  const d = ribPrefixDelta(b);
  expect(routesOf(d)).toEqual(ribDelta(fibChanges(b)));
  expect(d.hopSets).toHaveLength(4); // two, ll, v6hop as IPv4 (via), v6hop as IPv6 (gateway)
  // IPv4 destinations go as the RIB's numeric keys, IPv6 ones as text.
  expect(prefixDeltaDsts(d)).toEqual(['10.1.0.0/24', '10.2.0.0/24', '10.4.0.0/24', '10.5.0.0/24', 'fd00:1::/64']);
  expect([...(d.removals4 ?? [])].map(formatV4Num)).toEqual(['10.3.0.0/24']);
  expect(d.removals).toEqual(['fd00:2::/64']);
});

it('prefix texts are canonical, as the reconciler takes them for its route keys (PrefixDelta contract)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }), (a, len) => {
      const masked = len === 0 ? 0 : (a >>> (32 - len)) * 2 ** (32 - len);
      const text = formatKey(v4Key(masked, len));
      expect(canonicalPrefix(text)).toBe(text);
      // The reconciler's text of a numeric key (prefix-table.ts) is the same.
      expect(formatV4Num(v4Key(masked, len))).toBe(text);
    }),
    { numRuns: 2000 },
  );
  // Zero runs of every shape (RFC 5952 §4.2.3 compression) come from clearing random octets.
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 }), fc.integer({ min: 0, max: 0xffff }), (bytes, len, zeros) => {
      for (let i = 0; i < 16; i++) if ((zeros >> i) & 1) bytes[i] = 0;
      const text = formatKey(v6Key(bytes, 0, len));
      expect(canonicalPrefix(text)).toBe(text);
    }),
    { numRuns: 2000 },
  );
});

const fib = useFibNs({ prefix: 'ulq', dev: 'eth1', addr: '10.0.0.1/24' });

it('successive batches of deltas leave the kernel at the Loc-RIB', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0 });
  await rec.start();
  const push = (changes: FibChange[]): Promise<void> => {
    const { upserts, removals } = ribDelta(changes);
    return rec.applyChanges('rib', upserts, removals);
  };
  await push([
    { prefix: '10.1.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.2' }] },
    { prefix: '10.2.0.0/24', family: 'ipv4', nextHops: [{ address: 'fe80::2', linkLocal: 'eth1' }] },
    { prefix: '10.3.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.2' }, { address: '10.0.0.3' }] },
  ]);
  // Next batch: a next-hop change, an ECMP leg lost, a withdrawal.
  await push([
    { prefix: '10.1.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.4' }] },
    { prefix: '10.3.0.0/24', family: 'ipv4', nextHops: [{ address: '10.0.0.3' }] },
    { prefix: '10.2.0.0/24', family: 'ipv4', nextHops: [] },
  ]);
  expect(fib.ours()).toEqual(
    new Map([
      ['10.1.0.0/24', '10.0.0.4'],
      ['10.3.0.0/24', '10.0.0.3'],
    ]),
  );
});

it('successive columnar batches (applyPrefixes, as the agent wires it) leave the kernel at the Loc-RIB', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0 });
  await rec.start();
  const push = (changes: [string, readonly NextHop[] | null][]): Promise<void> => rec.applyPrefixes('rib', ribPrefixDelta(batchOf(changes)));
  const a = [{ address: '10.0.0.2' }];
  await push([
    ['10.1.0.0/24', a],
    ['10.2.0.0/24', [{ address: 'fe80::2', linkLocal: 'eth1' }]],
    ['10.3.0.0/24', [{ address: '10.0.0.2' }, { address: '10.0.0.3' }]],
    ['10.4.0.0/24', a],
  ]);
  // RFC 8950 over the unnumbered interface: RTA_VIA, onlink through eth1.
  expect(JSON.stringify(fib.ns.ipJson('-4', 'route', 'show', '10.2.0.0/24'))).toMatch(/"via":\{"family":"inet6","host":"fe80::2"\},"dev":"eth1".*"onlink"/);
  await push([
    ['10.1.0.0/24', [{ address: '10.0.0.4' }]],
    ['10.3.0.0/24', [{ address: '10.0.0.3' }]],
    ['10.2.0.0/24', null],
  ]);
  expect(fib.ours()).toEqual(
    new Map([
      ['10.1.0.0/24', '10.0.0.4'],
      ['10.3.0.0/24', '10.0.0.3'],
      ['10.4.0.0/24', '10.0.0.2'],
    ]),
  );
  // A full pass (dump and diff) finds nothing to change: the columnar routes equal their kernel form.
  let changed = -1;
  rec.once('synced', (r) => (changed = r.replaced + r.deleted));
  await rec.resync();
  expect(changed).toBe(0);
});
