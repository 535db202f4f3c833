// bench routes: route install throughput through the native addon (batched sendmsg, acks per chunk)
// against `ip -batch` with the same routes into a fresh netns, in the same run, for 10k and 100k routes;
// the reconciler's time to converge a 100k-route diff (desired change -> kernel ack); full dump time.
// Anchors measured earlier on this machine: ip -batch 28-33k routes/s; BIRD's kernel protocol ~80k/s.
// Target: >= 100k routes/s batched.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootLogger } from '../lib/log.js';
import { Netns } from '../test/harness/netns.js';
import { NetlinkHandle, UPLINK_RT_PROTO, type Route } from '../routes/netlink/index.js';
import { FibReconciler } from '../routes/reconciler.js';

const AREA = 'routes';
const BIRD_ANCHOR = 80_000;

function line(name: string, value: number, unit: string): void {
  console.log(`bench ${AREA} ${name}: ${Number.isFinite(value) ? +value.toFixed(3) : value} ${unit}`);
}

function makeRoutes(n: number, gw: string): Route[] {
  const out: Route[] = [];
  for (let i = 0; i < n; i++) out.push({ dst: `10.${100 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}/32`, nexthops: [{ gateway: gw }] });
  return out;
}

function freshNs(): Netns {
  const ns = Netns.create('ulr');
  ns.ip('link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  ns.ip('addr', 'add', '10.9.0.1/24', 'dev', 'v0');
  ns.ip('link', 'set', 'v0', 'up');
  ns.ip('link', 'set', 'v1', 'up');
  return ns;
}

function countOurs(ns: Netns): number {
  const out = execFileSync('ip', ['-n', ns.name, '-4', 'route', 'show', 'proto', String(UPLINK_RT_PROTO)], { maxBuffer: 256 << 20, encoding: 'utf8' });
  return out.trim() ? out.trim().split('\n').length : 0;
}

async function addon(n: number): Promise<number> {
  const ns = freshNs();
  const h = new NetlinkHandle(ns.path);
  try {
    const routes = makeRoutes(n, '10.9.0.2');
    const t0 = performance.now();
    const r = await h.addRoutes(routes);
    const dt = (performance.now() - t0) / 1000;
    if (r.failures.length || countOurs(ns) !== n) throw new Error(`addon install incomplete: ${r.failures.length} failures`);
    if (n === 100_000) {
      const t1 = performance.now();
      const d = await h.dumpRoutes({ family: 4, protocol: UPLINK_RT_PROTO });
      line('dump-100k', performance.now() - t1, 'ms');
      if (d.length !== n) throw new Error(`dump returned ${d.length}`);
    }
    return n / dt;
  } finally {
    await h.close();
    ns.destroy();
  }
}

function ipBatch(n: number): number {
  const ns = freshNs();
  const dir = mkdtempSync(join(tmpdir(), 'ulr-bench-'));
  try {
    const file = join(dir, 'routes.batch');
    writeFileSync(file, makeRoutes(n, '10.9.0.2').map((r) => `route add ${r.dst} via 10.9.0.2 proto ${UPLINK_RT_PROTO}\n`).join(''));
    const t0 = performance.now();
    execFileSync('ip', ['-n', ns.name, '-batch', file]);
    const dt = (performance.now() - t0) / 1000;
    if (countOurs(ns) !== n) throw new Error('ip -batch install incomplete');
    return n / dt;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    ns.destroy();
  }
}

async function reconcilerConverge(): Promise<void> {
  const ns = freshNs();
  ns.ip('addr', 'add', '10.9.1.1/24', 'dev', 'v1');
  const rec = new FibReconciler({ netns: ns.path, resyncIntervalMs: 0 });
  try {
    await rec.start();
    await rec.markConverged();
    const n = 100_000;
    let t0 = performance.now();
    await rec.setDesired('rib', makeRoutes(n, '10.9.0.2'));
    line('reconciler-converge-100k-add', performance.now() - t0, 'ms');
    if (countOurs(ns) !== n) throw new Error('reconciler add incomplete');
    // Every route moves to the other next hop: 100k replaces.
    t0 = performance.now();
    await rec.setDesired('rib', makeRoutes(n, '10.9.1.2'));
    line('reconciler-converge-100k-replace', performance.now() - t0, 'ms');
    // Full resync with nothing to do (dump + diff), the periodic cost.
    t0 = performance.now();
    await rec.resync();
    line('reconciler-resync-100k-nochange', performance.now() - t0, 'ms');
    t0 = performance.now();
    await rec.setDesired('rib', []);
    line('reconciler-converge-100k-withdraw', performance.now() - t0, 'ms');
    if (countOurs(ns) !== 0) throw new Error('reconciler withdraw incomplete');
  } finally {
    await rec.stop();
    ns.destroy();
  }
}

async function main(): Promise<void> {
  rootLogger.level = 'warn';
  // Wall-clock figures on a shared 2-core machine: the load average says how much to trust them.
  line('loadavg-1m-at-start', loadavg()[0] ?? NaN, 'load');
  // Warm-up (JIT, thread pool, first netns): not measured.
  await addon(2000);
  for (const n of [10_000, 100_000]) {
    const k = n / 1000;
    const ip = ipBatch(n);
    const ours = await addon(n);
    line(`ip-batch-${k}k`, ip, 'routes/s');
    line(`addon-${k}k`, ours, 'routes/s');
    line(`addon-vs-ip-batch-${k}k`, ours / ip, 'x');
    line(`addon-vs-bird-anchor-${k}k`, ours / BIRD_ANCHOR, 'x');
  }
  await reconcilerConverge();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
