// FibReconciler.applyChanges (the incremental path for the BGP speaker) against a real kernel table in a
// throwaway namespace: upserts/removals by key, source precedence kept, and mixing with setDesired.
import { expect, it } from 'vitest';
import { useFibNs } from '../test/harness/fib-ns.js';
import type { Route } from './netlink/index.js';

const fib = useFibNs({ prefix: 'ulf', dev: 'tor1', addr: '10.8.1.1/24' });
const ours = (): Map<string, string> => fib.ours();

const via = (dst: string, gw: string): Route => ({ dst, nexthops: [{ gateway: gw }] });

it('applies upserts and removals by key without the whole set', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0 });
  await rec.start();
  await rec.applyChanges('rib', [via('10.50.0.0/24', '10.8.1.2'), via('10.50.1.0/24', '10.8.1.2'), via('10.50.2.0/24', '10.8.1.2')], []);
  expect(ours()).toEqual(new Map([['10.50.0.0/24', '10.8.1.2'], ['10.50.1.0/24', '10.8.1.2'], ['10.50.2.0/24', '10.8.1.2']]));
  // Replace one, remove one (a removal needs only the key fields), leave the third alone.
  await rec.applyChanges('rib', [via('10.50.0.0/24', '10.8.1.3')], [{ dst: '10.50.1.0/24' }]);
  expect(ours()).toEqual(new Map([['10.50.0.0/24', '10.8.1.3'], ['10.50.2.0/24', '10.8.1.2']]));
  // Removing a key the source never had is a no-op.
  await rec.applyChanges('rib', [], [{ dst: '10.99.0.0/24' }]);
  expect(ours().size).toBe(2);
});

it('keeps source precedence with setDesired sources (first name wins a shared key)', async () => {
  const rec = fib.reconciler({ resyncIntervalMs: 0 });
  await rec.start();
  await rec.setDesired('a-static', [via('10.60.0.0/24', '10.8.1.9')]);
  await rec.applyChanges('rib', [via('10.60.0.0/24', '10.8.1.2'), via('10.60.1.0/24', '10.8.1.2')], []);
  expect(ours()).toEqual(new Map([['10.60.0.0/24', '10.8.1.9'], ['10.60.1.0/24', '10.8.1.2']]));
  // The higher-precedence source leaving uncovers the incremental source's route for that key.
  await rec.removeSource('a-static');
  expect(ours()).toEqual(new Map([['10.60.0.0/24', '10.8.1.2'], ['10.60.1.0/24', '10.8.1.2']]));
  // And a removal from the incremental source deletes it from the kernel.
  await rec.applyChanges('rib', [], [{ dst: '10.60.0.0/24' }, { dst: '10.60.1.0/24' }]);
  expect(ours().size).toBe(0);
  // setDesired on the same source still replaces its whole set.
  await rec.setDesired('rib', [via('10.60.2.0/24', '10.8.1.2')]);
  expect([...ours().keys()]).toEqual(['10.60.2.0/24']);
});
