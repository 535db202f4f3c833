// The columnar path of FibReconciler (applyPrefixes, what the BGP bridge uses) against a real kernel
// table: its routes live in the compact prefix table (prefix-table.ts), so the behaviours of the
// object path are checked again here: in-flight changes, drift repair, resync, restart adoption,
// another source at the same key (the slot moves to an Entry), IPv6, counters.
import { expect, it } from 'vitest';
import { useFibNs } from '../test/harness/fib-ns.js';
import { UPLINK_RT_PROTO, type Route } from './netlink/index.js';
import type { PrefixDelta } from './prefix-batch.js';
import { parseV4Num } from './prefix-table.js';
import type { SyncResult } from './reconciler.js';

const fib = useFibNs({ prefix: 'ulp', dev: 'tor1', addr: '10.8.1.1/24' });
const kernel = (): Map<string, string> => fib.ours();
const pfx = (i: number): string => `10.${60 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

/** A PrefixDelta: upserts as [dst, gateway] (one hop set per distinct gateway), removals as dsts. */
function delta(upserts: [string, string][], removals: string[] = []): PrefixDelta {
  const sets = new Map<string, number>();
  const hopSets: NonNullable<Route['nexthops']>[] = [];
  const hops = new Int32Array(upserts.length);
  upserts.forEach(([, gw], i) => {
    let h = sets.get(gw);
    if (h === undefined) {
      sets.set(gw, (h = hopSets.length));
      hopSets.push([{ gateway: gw }]);
    }
    hops[i] = h;
  });
  return { upserts: upserts.map(([d]) => d), hops, hopSets, removals };
}

/** The same with IPv4 destinations as numbers (as the BGP bridge sends them); all must be IPv4. */
function delta4(upserts: [string, string][], removals: string[] = []): PrefixDelta {
  const d = delta(upserts, removals);
  return { ...d, v4: Float64Array.from(d.upserts, parseV4Num), upserts: [], removals4: Float64Array.from(removals, parseV4Num), removals: [] };
}

it('streams columnar batches with changes in flight, repairs drift, resync finds nothing left to do', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0, debounceMs: 50 });
  const kinds: SyncResult['kind'][] = [];
  rec.on('synced', (r) => kinds.push(r.kind));
  await rec.start();
  await rec.markConverged();
  const want = new Map<string, string>();
  const pending: Promise<void>[] = [];
  const up = (from: number, to: number, gw: string): void => {
    const u: [string, string][] = [];
    for (let i = from; i < to; i++) {
      u.push([`${pfx(i)}/32`, gw]);
      want.set(pfx(i), gw);
    }
    pending.push(rec.applyPrefixes('rib', delta4(u)));
  };
  const down = (from: number, to: number): void => {
    const r: string[] = [];
    for (let i = from; i < to; i++) {
      r.push(`${pfx(i)}/32`);
      want.delete(pfx(i));
    }
    pending.push(rec.applyPrefixes('rib', delta4([], r)));
  };
  up(0, 12_000, '10.8.1.2'); // more than one ingest slice
  up(1000, 1500, '10.8.1.3');
  down(2000, 2500);
  up(2400, 2450, '10.8.1.4'); // back again, while the removal may still be in flight
  await Promise.all(pending.splice(0));
  const count = (): number => Number(fib.ns.exec('sh', ['-c', `ip -4 route show proto ${UPLINK_RT_PROTO} | wc -l`]).trim());
  const one = (i: number): string => fib.ns.exec('ip', ['-4', 'route', 'show', `${pfx(i)}/32`, 'proto', String(UPLINK_RT_PROTO)]).trim();
  expect(count()).toBe(want.size);
  expect(one(1200)).toContain('via 10.8.1.3');
  expect(one(2100)).toBe('');
  expect(one(2420)).toContain('via 10.8.1.4');
  expect(rec.status()).toMatchObject({ desired: want.size, installed: want.size, stale: 0 });

  fib.ns.ip('route', 'del', `${pfx(10)}/32`);
  fib.ns.ip('route', 'replace', `${pfx(11)}/32`, 'via', '10.8.1.9', 'proto', 'static');
  fib.ns.ip('route', 'add', '10.99.0.1/32', 'via', '10.8.1.2', 'proto', String(UPLINK_RT_PROTO));
  const t0 = Date.now();
  while (!(kinds.includes('repair') && one(10) && one(11) && !fib.ns.exec('ip', ['-4', 'route', 'show', '10.99.0.1/32']).trim())) {
    if (Date.now() - t0 > 2000) throw new Error('drift not repaired within 2 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(one(11)).toContain('via 10.8.1.2');
  let changed = -1;
  rec.once('synced', (r) => (changed = r.replaced + r.deleted));
  await rec.resync();
  expect(changed).toBe(0);
  expect(count()).toBe(want.size);
  expect(rec.status()).toMatchObject({ desired: want.size, installed: want.size, stale: 0 });
});

it('a whole-set source at a prefix key wins by name and uncovers the prefix route when it leaves', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0 });
  await rec.start();
  await rec.applyPrefixes('rib', delta([['10.60.0.0/24', '10.8.1.2'], ['10.60.1.0/24', '10.8.1.2']]));
  await rec.setDesired('a-static', [{ dst: '10.60.0.0/24', nexthops: [{ gateway: '10.8.1.9' }] }]);
  expect(kernel()).toEqual(new Map([['10.60.0.0/24', '10.8.1.9'], ['10.60.1.0/24', '10.8.1.2']]));
  // A later prefix batch changes the covered key: the winner stays.
  await rec.applyPrefixes('rib', delta4([['10.60.0.0/24', '10.8.1.3']]));
  expect(kernel().get('10.60.0.0/24')).toBe('10.8.1.9');
  await rec.removeSource('a-static');
  expect(kernel()).toEqual(new Map([['10.60.0.0/24', '10.8.1.3'], ['10.60.1.0/24', '10.8.1.2']]));
  await rec.applyPrefixes('rib', delta4([], ['10.60.0.0/24', '10.60.1.0/24']));
  expect(kernel().size).toBe(0);
  expect(rec.status()).toMatchObject({ desired: 0, installed: 0 });
});

it('restart: prefix routes of the previous run are adopted as stale, re-claimed without a write, the rest go on convergence', async () => {
  fib.ns.ip('-6', 'addr', 'add', 'fd00:8::1/64', 'dev', 'tor1', 'nodad');
  const first = fib.reconciler({ resyncIntervalMs: 0 });
  await first.start();
  await first.applyPrefixes('rib', delta([['10.70.0.0/24', '10.8.1.2'], ['10.70.1.0/24', '10.8.1.2'], ['fd00:70::/64', 'fd00:8::2']]));
  expect(fib.ours('-6').get('fd00:70::/64')).toBe('fd00:8::2');
  await first.stop();
  const { FibReconciler } = await import('./reconciler.js');
  const second = new FibReconciler({ netns: fib.ns.path, resyncIntervalMs: 0, staleTimeoutMs: 60_000 });
  try {
    await second.start();
    expect(second.status()).toMatchObject({ desired: 0, installed: 3, stale: 3 });
    const results: SyncResult[] = [];
    second.on('synced', (r) => results.push(r));
    await second.applyPrefixes('rib', delta([['10.70.0.0/24', '10.8.1.2']]));
    // Already in the kernel as wanted: nothing written.
    expect(results.reduce((n, r) => n + r.replaced + r.deleted, 0)).toBe(0);
    expect(second.status()).toMatchObject({ desired: 1, installed: 3, stale: 2 });
    await second.markConverged();
    expect(kernel()).toEqual(new Map([['10.70.0.0/24', '10.8.1.2']]));
    expect(fib.ours('-6').size).toBe(0);
    expect(second.status()).toMatchObject({ desired: 1, installed: 1, stale: 0 });
  } finally {
    await second.stop();
  }
});

it('dry run (the agent warm-up): every batch is encoded and acked, the kernel table and the agent metrics are never touched', async () => {
  const rec = fib.reconciler({ dryRun: true, resyncIntervalMs: 0 });
  const { register } = await import('prom-client');
  const metrics = async (): Promise<string> =>
    (await register.metrics()).split('\n').filter((l) => l.startsWith('uplink_routes_')).join('\n');
  const before = await metrics();
  await rec.start();
  try {
    const u: [string, string][] = [];
    for (let i = 0; i < 5000; i++) u.push([`${pfx(i)}/32`, '10.8.1.2']);
    await rec.applyPrefixes('rib', delta4(u));
    await rec.applyPrefixes('rib', delta([['fd00:71::/64', 'fd00:8::2']]));
    expect(rec.status()).toMatchObject({ desired: 5001, installed: 5001 });
    await rec.applyPrefixes('rib', delta4([], u.map(([d]) => d)));
    expect(rec.status()).toMatchObject({ desired: 1, installed: 1 });
    expect(kernel().size).toBe(0);
    expect(fib.ours('-6').size).toBe(0);
    expect(await metrics()).toBe(before);
  } finally {
    await rec.stop();
  }
});
