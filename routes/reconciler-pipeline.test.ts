// The pipelined delta path of FibReconciler against a real kernel table in a throwaway namespace:
// batches sent while earlier ones are still in the kernel, changes to keys that are in flight, a
// resync (full dump + diff) landing in the middle of a stream of deltas and repairing drift made by
// someone else, and a bulk install that must not overrun the route watcher.
import { expect, it } from 'vitest';
import { useFibNs } from '../test/harness/fib-ns.js';
import { UPLINK_RT_PROTO, type Route } from './netlink/index.js';
import type { SyncResult } from './reconciler.js';

const fib = useFibNs({ prefix: 'ulf', dev: 'tor1', addr: '10.8.1.1/24' });
/** dst -> gateway of every route of ours in the namespace (a full `ip` read, not our own view). */
const kernel = (): Map<string, string> => fib.ours();

/** Host routes 10.60.0.0, 10.60.0.1, ... (`ip -j` prints them without the /32). */
const pfx = (i: number): string => `10.${60 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const via = (i: number, gw: string): Route => ({ dst: `${pfx(i)}/32`, nexthops: [{ gateway: gw }] });

it('deltas stream while earlier batches are in flight; a resync mid-stream repairs drift; the kernel ends at the last state', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0, debounceMs: 50 });
  const kinds: SyncResult['kind'][] = [];
  rec.on('synced', (r) => kinds.push(r.kind));
  await rec.start();
  await rec.markConverged();
  const want = new Map<string, string>();
  const pending: Promise<void>[] = [];
  const up = (from: number, to: number, gw: string): void => {
    const rs: Route[] = [];
    for (let i = from; i < to; i++) {
      rs.push(via(i, gw));
      want.set(pfx(i), gw);
    }
    pending.push(rec.applyChanges('rib', rs, []));
  };
  const down = (from: number, to: number): void => {
    const rs: Route[] = [];
    for (let i = from; i < to; i++) {
      rs.push({ dst: `${pfx(i)}/32` });
      want.delete(pfx(i));
    }
    pending.push(rec.applyChanges('rib', [], rs));
  };
  // Several batches handed over in one turn: none waits for the kernel.
  up(0, 3000, '10.8.1.2');
  up(3000, 6000, '10.8.1.2');
  // Keys of the batches above change again and leave while those are (or may be) in flight.
  up(1000, 1500, '10.8.1.3');
  down(2000, 2500);
  await Promise.all(pending.splice(0));
  expect(kernel()).toEqual(want);

  // Drift by someone else: one of ours deleted, one replaced by a foreign route, one extra route added
  // with our protocol (unwanted).
  fib.ns.ip('route', 'del', `${pfx(10)}/32`);
  fib.ns.ip('route', 'replace', `${pfx(11)}/32`, 'via', '10.8.1.9', 'proto', 'static');
  fib.ns.ip('route', 'add', '10.99.0.1/32', 'via', '10.8.1.2', 'proto', String(UPLINK_RT_PROTO));
  // Deltas keep coming; a full resync lands in the middle of them.
  up(6000, 7000, '10.8.1.2');
  const resync = rec.resync();
  up(4000, 4500, '10.8.1.4');
  down(5000, 5100);
  await Promise.all([resync, ...pending.splice(0)]);
  expect(kinds).toContain('full');
  const k = kernel();
  expect(k.get(pfx(10))).toBe('10.8.1.2');
  expect(k.get(pfx(11))).toBe('10.8.1.2');
  expect(k.has('10.99.0.1')).toBe(false);
  expect(k).toEqual(want);
  // The reconciler's own counters agree with the kernel.
  expect(rec.status()).toMatchObject({ desired: want.size, installed: want.size, stale: 0 });
});

it('a bulk install does not overrun the route watcher (our own notifications never queue)', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0, debounceMs: 50 });
  const kinds: SyncResult['kind'][] = [];
  rec.on('synced', (r) => kinds.push(r.kind));
  await rec.start();
  const rs: Route[] = [];
  for (let i = 0; i < 30_000; i++) rs.push(via(i, '10.8.1.2'));
  const done = rec.applyChanges('rib', rs, []);
  // Let the batch reach the socket, then keep the event loop busy while the kernel installs it: any
  // notification queued for the watcher meanwhile stays in its receive buffer.
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    /* busy: the event loop cannot drain the watcher */
  }
  // Rmem of the namespace's route-group sockets (ours is the only one): our own changes' notifications
  // are filtered in the kernel, so nothing is queued. 30k of them would be ~20 MB.
  const rows = fib.ns.exec('cat', ['/proc/net/netlink']).trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/));
  const watchers = rows.filter((r) => r[1] === '0' && r[3] !== '00000000');
  expect(watchers.length).toBe(1);
  expect(Number(watchers[0]?.[4])).toBeLessThan(64 * 1024);
  await done;
  await new Promise((r) => setTimeout(r, 200)); // a repair would be scheduled debounceMs after an overrun
  expect(kinds).not.toContain('repair');
  const count = (): number => Number(fib.ns.exec('sh', ['-c', `ip -4 route show proto ${UPLINK_RT_PROTO} | wc -l`]).trim());
  expect(count()).toBe(30_000);
  // A foreign change is still seen and repaired (by a repair pass: the watcher saw it).
  fib.ns.ip('route', 'del', `${pfx(7)}/32`);
  const t0 = Date.now();
  while (!kinds.includes('repair')) {
    if (Date.now() - t0 > 2000) throw new Error('drift not repaired within 2 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  expect(fib.ns.exec('ip', ['-4', 'route', 'show', `${pfx(7)}/32`, 'proto', String(UPLINK_RT_PROTO)]).trim()).not.toBe('');
});

it('a batch larger than one slice is taken across turns in call order; a resync in the same turn sees all of it', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0, debounceMs: 50 });
  await rec.start();
  await rec.markConverged();
  const rs: Route[] = [];
  for (let i = 0; i < 12_000; i++) rs.push(via(i, '10.8.1.2'));
  const big = rec.applyChanges('rib', rs, []);
  // Only the first slice is in the table after the call; the rest follows on later turns.
  expect(rec.status().desired).toBeLessThan(12_000);
  // Queued behind the big batch: keys of its last slice change and leave; then a full pass, which must
  // not delete what the queued slices still want.
  const later = rec.applyChanges('rib', [via(11_990, '10.8.1.3')], [{ dst: `${pfx(11_999)}/32` }]);
  const resync = rec.resync();
  await Promise.all([big, later, resync]);
  // (`ip -j` of 12k routes overflows execFileSync's buffer: count lines, read single routes.)
  const count = Number(fib.ns.exec('sh', ['-c', `ip -4 route show proto ${UPLINK_RT_PROTO} | wc -l`]).trim());
  expect(count).toBe(11_999);
  const one = (i: number): string => fib.ns.exec('ip', ['-4', 'route', 'show', `${pfx(i)}/32`, 'proto', String(UPLINK_RT_PROTO)]).trim();
  expect(one(11_990)).toContain('via 10.8.1.3');
  expect(one(11_999)).toBe('');
  expect(one(5_432)).toContain('via 10.8.1.2');
  expect(rec.status()).toMatchObject({ desired: 11_999, installed: 11_999, stale: 0 });
});
