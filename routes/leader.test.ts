// Single-writer election between two real reconciler processes on one host: the leader is killed by
// PID (SIGKILL, no cleanup) and the standby must take over within the lease interval.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Netns } from '../test/harness/netns.js';
import { LockFileElector } from './leader.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const LEASE_MS = 500;

/** Transpiles routes/ and lib/ into build/ so child processes can run the real code with plain node. */
function transpile(): string {
  mkdirSync(join(root, 'build'), { recursive: true });
  const out = mkdtempSync(join(root, 'build', 'ulr-test-'));
  const walk = (dir: string): void => {
    for (const f of readdirSync(dir)) {
      const p = join(dir, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.ts') && !f.endsWith('.test.ts')) {
        const js = ts.transpileModule(readFileSync(p, 'utf8'), {
          compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
        }).outputText;
        const dest = join(out, relative(root, p)).replace(/\.ts$/, '.js');
        mkdirSync(dirname(dest), { recursive: true });
        writeFileSync(dest, js);
      }
    }
  };
  walk(join(root, 'routes'));
  walk(join(root, 'lib'));
  return out;
}

interface WorkerEvent {
  identity: string;
  t: number;
  event: string;
}

class Worker {
  readonly events: WorkerEvent[] = [];
  readonly proc: ChildProcess;
  constructor(script: string, args: string[]) {
    this.proc = spawn(process.execPath, [script, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ULR_LEASE_MS: String(LEASE_MS), UPLINK_LOG_LEVEL: 'warn' },
    });
    let buf = '';
    this.proc.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          this.events.push(JSON.parse(line) as WorkerEvent);
        } catch {
          /* a log line */
        }
      }
    });
  }
  has(ev: string): boolean {
    return this.events.some((e) => e.event === ev);
  }
  at(ev: string): number | undefined {
    return this.events.find((e) => e.event === ev)?.t;
  }
  kill(): void {
    if (this.proc.pid === undefined || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    try {
      process.kill(this.proc.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

async function waitFor(pred: () => boolean, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

let ns: Netns;
let dir: string;
let out: string;
const workers: Worker[] = [];

beforeEach(() => {
  ns = Netns.create('ulr');
  ns.ip('link', 'add', 'up1', 'type', 'veth', 'peer', 'name', 'up2');
  ns.ip('addr', 'add', '10.8.0.1/24', 'dev', 'up1');
  ns.ip('link', 'set', 'up1', 'up');
  ns.ip('link', 'set', 'up2', 'up');
  dir = mkdtempSync(join(tmpdir(), 'ulr-lock-'));
  out = '';
});

afterEach(() => {
  try {
    for (const w of workers.splice(0)) w.kill();
  } finally {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
    if (out) rmSync(out, { recursive: true, force: true });
  }
});

function gatewayOf(dst: string): string | undefined {
  return ns.ipJson<Array<{ gateway?: string }>>('route', 'show', dst)[0]?.gateway;
}

describe('leader election', () => {
  it('two reconciler processes: only the leader writes; SIGKILL of the leader -> standby takes over within the lease', async () => {
    out = transpile();
    const script = join(out, 'routes', 'testing', 'fib-worker.js');
    const lock = join(dir, 'fib.lock');
    const routeA = JSON.stringify([{ dst: '10.90.0.0/24', nexthops: [{ gateway: '10.8.0.2' }] }]);
    const routeB = JSON.stringify([{ dst: '10.90.0.0/24', nexthops: [{ gateway: '10.8.0.3' }] }]);
    const a = new Worker(script, [ns.path, lock, 'A', routeA]);
    workers.push(a);
    await waitFor(() => a.has('elected') && gatewayOf('10.90.0.0/24') === '10.8.0.2', 10_000);
    const b = new Worker(script, [ns.path, lock, 'B', routeB]);
    workers.push(b);
    await waitFor(() => b.has('ready'), 10_000);
    // The standby campaigns for several lease intervals and writes nothing.
    await new Promise((r) => setTimeout(r, 3 * LEASE_MS));
    expect(b.has('elected')).toBe(false);
    expect(gatewayOf('10.90.0.0/24')).toBe('10.8.0.2');
    expect(JSON.parse(readFileSync(lock, 'utf8')) as { identity: string }).toMatchObject({ identity: 'A' });

    const killedAt = Date.now();
    a.kill();
    await waitFor(() => gatewayOf('10.90.0.0/24') === '10.8.0.3', 5000).catch((err: Error) => {
      throw new Error(`${err.message}; standby events: ${JSON.stringify(b.events)}`);
    });
    const routeAt = Date.now();
    // B prints "elected" before it writes, but the route check (a synchronous `ip`) can see the route
    // before this process has read B's stdout: wait for the line; its own timestamp is what is checked.
    await waitFor(() => b.has('elected'), 2000).catch(() => undefined);
    const electedAt = b.at('elected') ?? Infinity;
    // flock is released by the kernel when A dies; B polls every LEASE_MS.
    // Plus scheduling slack: the standby's timer can fire late on a loaded machine.
    expect(electedAt - killedAt).toBeLessThanOrEqual(LEASE_MS + 300);
    expect(routeAt - killedAt).toBeLessThan(LEASE_MS + 1500);
    expect(JSON.parse(readFileSync(lock, 'utf8')) as { identity: string }).toMatchObject({ identity: 'B' });
  }, 60_000);

  it('lock-file elector in one process: exclusive, released on stop, lost when the lock file is replaced', async () => {
    const lock = join(dir, 'x.lock');
    const e1 = new LockFileElector(lock, { identity: 'one' });
    const e2 = new LockFileElector(lock, { identity: 'two' });
    expect(await e1.acquire()).toBe(true);
    // flock locks belong to the open file description: a second open in the same process conflicts too.
    expect(await e2.acquire()).toBe(false);
    expect(await e1.renew()).toBe(true);
    await e1.release();
    expect(e1.isLeader).toBe(false);
    expect(await e2.acquire()).toBe(true);
    const lost = new Promise<string>((r) => e2.once('lost', r));
    rmSync(lock);
    expect(await e2.renew()).toBe(false);
    expect(await lost).toBe('renew failed');
    await e2.stop();
  });
});
