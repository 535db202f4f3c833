// Concurrency checks shared by the backends: a fast-check property over several in-process nodes, and
// several node processes on one store (one of them SIGKILLed mid-allocation, then GC repairs).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { expect } from 'vitest';
import { Ipam } from '../ipam.js';
import { putPool } from '../pools.js';
import { readSnapshot } from '../show.js';
import { checkIpam } from '../check.js';
import { allocationsOf } from '../block.js';
import { handleId, IpamError } from '../types.js';
import type { Datastore, DatastoreConfig } from '../datastore/types.js';

export const POOLS = [
  { name: 'cc-v4', cidr: '10.77.0.0/25', blockSize: 29 },
  { name: 'cc-v6', cidr: 'fd00:77::/121', blockSize: 125 },
];

/** The end state agrees with what callers were told: live handles hold exactly their addresses. */
export async function expectConsistent(store: Datastore, live: Map<string, string[]>): Promise<void> {
  const snap = await readSnapshot(store);
  const report = checkIpam(snap, { live: live.keys() });
  expect(report.duplicates).toEqual([]);
  expect(report.leaks).toEqual([]);
  expect(report.orphanedHandles).toEqual([]);
  const inBlocks = new Map<string, string>();
  for (const b of snap.blocks) for (const a of allocationsOf(b)) inBlocks.set(a.address, a.allocation.handle);
  const expected = new Map<string, string>();
  for (const [h, addrs] of live) for (const a of addrs) {
    expect(expected.has(a), `address ${a} handed to two live handles`).toBe(false);
    expected.set(a, h);
  }
  expect(new Map([...inBlocks].sort())).toEqual(new Map([...expected].sort()));
}

type Op = { kind: 'alloc' } | { kind: 'release'; pick: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Op>({ kind: 'alloc' }) },
  { weight: 2, arbitrary: fc.nat().map<Op>((pick) => ({ kind: 'release', pick })) },
);

/** Several Ipam instances (nodes) on one store, each with 3 requests in flight at a time. */
export async function concurrencyProperty(open: () => Promise<{ store: Datastore; cleanup(): Promise<void> }>, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 20, maxLength: 60 }), { minLength: 2, maxLength: 4 }), async (plan) => {
      const { store, cleanup } = await open();
      try {
        for (const p of POOLS) await putPool(store, p);
        const live = new Map<string, string[]>();
        await Promise.all(
          plan.map(async (ops, ni) => {
            const ipam = new Ipam(store, { node: `node-${ni}`, blockHoldMs: 0 });
            await ipam.start();
            const held: string[] = [];
            let next = 0;
            const lane = async (): Promise<void> => {
              for (let i = next++; i < ops.length; i = next++) {
                const op = ops[i]!;
                if (op.kind === 'release' && held.length > 0) {
                  const h = held.splice(op.pick % held.length, 1)[0]!;
                  live.delete(h);
                  await ipam.release(h);
                } else {
                  const cid = `n${ni}-${i}`;
                  try {
                    const a = await ipam.allocate({ containerId: cid, ifname: 'eth0' });
                    held.push(handleId(cid, 'eth0'));
                    live.set(handleId(cid, 'eth0'), a.addresses.map((x) => x.address));
                  } catch (err) {
                    if (!(err instanceof IpamError && err.code === 'exhausted')) throw err;
                  }
                }
              }
            };
            await Promise.all([lane(), lane(), lane()]);
          }),
        );
        await expectConsistent(store, live);
      } finally {
        await cleanup();
      }
    }),
    { numRuns },
  );
}

export interface WorkerRun {
  /** handle -> addresses, for allocations that completed and were not released. */
  readonly held: Map<string, string[]>;
  /** Handles whose allocate or release was in flight when the process was killed. */
  readonly inFlight: Set<string>;
  readonly errors: string[];
  readonly killed: boolean;
}

const WORKER = fileURLToPath(new URL('./node-worker.ts', import.meta.url));
const REGISTER = fileURLToPath(new URL('./register-ts.mjs', import.meta.url));

/** Runs one node process; `killAfter` events into the run, SIGKILLs it while an allocate is in flight. */
export function runWorker(config: DatastoreConfig, node: string, ops: number, parallel: number, seed: number, killAfter?: number): Promise<WorkerRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', REGISTER, WORKER, JSON.stringify(config), node, String(ops), String(parallel), String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, UPLINK_LOG_LEVEL: 'warn' },
    });
    const held = new Map<string, string[]>();
    const inFlight = new Set<string>();
    const errors: string[] = [];
    let events = 0;
    let killed = false;
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const e = JSON.parse(line) as { ev: string; handle?: string; addresses?: string[]; code?: string };
      events++;
      if (e.ev === 'begin' || e.ev === 'rbegin') inFlight.add(e.handle!);
      if (e.ev === 'alloc') {
        inFlight.delete(e.handle!);
        held.set(e.handle!, e.addresses!);
      }
      if (e.ev === 'release') {
        inFlight.delete(e.handle!);
        held.delete(e.handle!);
      }
      if (e.ev === 'error') {
        inFlight.delete(e.handle!);
        errors.push(e.code!);
      }
      if (killAfter !== undefined && !killed && events >= killAfter && e.ev === 'begin') {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (killed && signal === 'SIGKILL') resolve({ held, inFlight, errors, killed });
      else if (code === 0) resolve({ held, inFlight, errors, killed });
      else reject(new Error(`worker ${node} exited ${code ?? signal}: ${stderr.slice(-2000)}`));
    });
  });
}

/** Three node processes, one killed mid-allocation; GC with the survivors' live set repairs the rest. */
export async function processesWithKill(store: Datastore, config: DatastoreConfig, opsPerNode: number): Promise<{ leaksBeforeGc: number; killedInFlight: number }> {
  for (const p of POOLS) await putPool(store, p);
  const runs = await Promise.all([
    runWorker(config, 'proc-a', opsPerNode, 4, 11),
    runWorker(config, 'proc-b', opsPerNode, 4, 22),
    runWorker(config, 'proc-c', opsPerNode, 4, 33, Math.floor(opsPerNode / 2)),
  ]);
  expect(runs[2]!.killed).toBe(true);
  for (const r of runs) expect(r.errors.filter((e) => e !== 'exhausted')).toEqual([]);
  const live = new Map<string, string[]>();
  for (const r of runs) for (const [h, a] of r.held) if (!r.inFlight.has(h)) live.set(h, a);
  const before = checkIpam(await readSnapshot(store), { live: live.keys() });
  // Whatever is wrong before GC comes only from the killed node's in-flight requests.
  for (const l of before.leaks) expect(runs[2]!.inFlight.has(l.handle) || !live.has(l.handle)).toBe(true);
  expect(before.duplicates).toEqual([]);
  const leader = new Ipam(store, { node: 'leader' });
  await leader.gc(live.keys());
  await expectConsistent(store, live);
  return { leaksBeforeGc: before.leaks.length, killedInFlight: runs[2]!.inFlight.size };
}
