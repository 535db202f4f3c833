// IPAM allocation throughput and latency through the agent path: `Ipam.allocate` as uplinkd calls it
// (handle check, per-block batched CAS write from the node's cached blocks, handle record), on the
// embedded sqlite store and on a real etcd (fsync on, as in production), with 1 and 50 requests in
// flight. Prints `bench ipam <name>: <value> <unit>` and the embedded/etcd ratios from the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEtcd } from '../test/harness/etcd.js';
import { openDatastore, Ipam, putPool, type Datastore } from '../ipam/index.js';
import { blockWrites } from '../ipam/metrics.js';

interface Figures {
  /** Client-process CPU per allocation: steadier than wall-clock figures on a loaded machine. */
  cpuUs: number;
  rate: number;
  p50: number;
  p95: number;
  perWrite: number;
}

async function measure(store: Datastore, label: string, concurrency: number, total: number): Promise<Figures> {
  await putPool(store, { name: 'bench', cidr: '10.128.0.0/14', blockSize: 26 });
  const ipam = new Ipam(store, { node: `bench-${label}-${concurrency}` });
  await ipam.start();
  // Warm-up: claims the first block and fills the pool cache, as a running agent would have done.
  for (let i = 0; i < 20; i++) await ipam.allocate({ containerId: `warm-${label}-${concurrency}-${i}`, ifname: 'eth0' });
  const lat: number[] = [];
  const writes0 = (await blockWrites.get()).values[0]?.value ?? 0;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = next++; i < total; i = next++) {
        const s = performance.now();
        await ipam.allocate({ containerId: `c-${label}-${concurrency}-${i}`, ifname: 'eth0', pod: `p${i}`, namespace: 'bench' });
        lat.push(performance.now() - s);
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const writes = ((await blockWrites.get()).values[0]?.value ?? 0) - writes0;
  lat.sort((a, b) => a - b);
  return { cpuUs: (cpu.user + cpu.system) / total, rate: total / elapsed, p50: lat[Math.floor(lat.length * 0.5)]!, p95: lat[Math.floor(lat.length * 0.95)]!, perWrite: total / Math.max(1, writes) };
}

function print(name: string, f: Figures): void {
  console.log(`bench ipam ${name} allocations: ${f.rate.toFixed(0)} allocs/s`);
  console.log(`bench ipam ${name} p50: ${f.p50.toFixed(2)} ms`);
  console.log(`bench ipam ${name} p95: ${f.p95.toFixed(2)} ms`);
  console.log(`bench ipam ${name} cpu-per-allocation: ${f.cpuUs.toFixed(0)} us`);
  console.log(`bench ipam ${name} allocations-per-block-write: ${f.perWrite.toFixed(2)} allocs`);
}

process.env.UPLINK_LOG_LEVEL ??= 'warn';
const results = new Map<string, Figures>();
const dir = mkdtempSync(join(tmpdir(), 'uplink-bench-ipam-'));
const etcd = await startEtcd({ fsync: true });
try {
  for (const concurrency of [1, 50]) {
    const total = concurrency === 1 ? 1500 : 4000;
    const emb = await openDatastore({ kind: 'embedded', path: join(dir, `c${concurrency}.db`) });
    results.set(`embedded-c${concurrency}`, await measure(emb, 'embedded', concurrency, total));
    await emb.close();
    const et = await openDatastore({ kind: 'etcd', endpoints: [etcd.endpoint], prefix: `/bench-c${concurrency}/` });
    results.set(`etcd-c${concurrency}`, await measure(et, 'etcd', concurrency, concurrency === 1 ? 500 : 2000));
    await et.close();
  }
} finally {
  await etcd.stop();
  rmSync(dir, { recursive: true, force: true });
}
for (const [name, f] of results) print(name, f);
for (const c of [1, 50]) {
  const e = results.get(`embedded-c${c}`)!;
  const t = results.get(`etcd-c${c}`)!;
  console.log(`bench ipam ratio embedded/etcd c${c} allocations: ${(e.rate / t.rate).toFixed(2)} x`);
  console.log(`bench ipam ratio embedded/etcd c${c} p95: ${(e.p95 / t.p95).toFixed(2)} x`);
}
for (const kind of ['embedded', 'etcd']) {
  const one = results.get(`${kind}-c1`)!;
  const fifty = results.get(`${kind}-c50`)!;
  console.log(`bench ipam ratio ${kind} c50/c1 allocations: ${(fifty.rate / one.rate).toFixed(2)} x`);
}
