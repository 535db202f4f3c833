// A minimal FIB writer process for the leader-failover test (and for poking at the reconciler by
// hand): campaigns on a lock file, and while leader keeps one route set in a netns.
//   node fib-worker.js <netns-path> <lock-file> <identity> <routes-json>
// Prints one JSON line per event on stdout ({"event":"elected"|"lost"|"synced", ...}).
import { FibReconciler } from '../reconciler.js';
import { LockFileElector } from '../leader.js';
import type { Route } from '../netlink/types.js';

async function main(): Promise<void> {
  const [netns, lock, identity, routesJson] = process.argv.slice(2);
  if (!netns || !lock || !identity || !routesJson) {
    process.stderr.write('usage: fib-worker <netns-path> <lock-file> <identity> <routes-json>\n');
    process.exit(2);
  }
  const say = (o: object): void => {
    process.stdout.write(`${JSON.stringify({ identity, t: Date.now(), ...o })}\n`);
  };
  const elector = new LockFileElector(lock, { identity, intervalMs: Number(process.env.ULR_LEASE_MS ?? 500) });
  const rec = new FibReconciler({ netns, elector, resyncIntervalMs: 0, debounceMs: 100 });
  elector.on('elected', () => say({ event: 'elected' }));
  elector.on('lost', (reason) => say({ event: 'lost', reason }));
  rec.on('synced', (r) => say({ event: 'synced', ...r }));
  await rec.start();
  await rec.setDesired('rib', JSON.parse(routesJson) as Route[]);
  elector.start();
  say({ event: 'ready' });
  const shutdown = async (): Promise<void> => {
    await rec.stop();
    await elector.stop();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
}

void main();
