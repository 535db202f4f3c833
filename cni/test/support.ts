// Shared setup for the CNI namespace tests and bench: a "node" is a netns running the test-agent
// fixture (cni/server/test-agent.ts, compiled), pods are netns of their own, and plugins run through
// the spec-following runtime harness (test/harness/cni-runtime.ts) inside the node's netns.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, readdirSync, copyFileSync, chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ChildProcess } from 'node:child_process';
import { Netns } from '../../test/harness/netns.js';
import { CniRuntime, type NetConfList, type PluginConf } from '../../test/harness/cni-runtime.js';

/** Repo root, whether this file runs from source (vitest) or from dist/ (bench). */
export const repoRoot = (() => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();
export const REFERENCE_PLUGINS = '/usr/lib/cni';
export const NS_PREFIX = 'ulc';

function newestMtime(dir: string): number {
  let m = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) m = Math.max(m, newestMtime(p));
    else if (e.name.endsWith('.ts') && !e.name.endsWith('.test.ts')) m = Math.max(m, statSync(p).mtimeMs);
  }
  return m;
}

/**
 * The compiled test-agent, rebuilt once per process when a source under cni/, ipam/, lib/ or routes/ is
 * newer (cni/test/tsconfig.agent.json compiles only the fixture's import graph; tsc emits even when
 * another package has type errors). Serialised by flock: several test files may ask at once.
 */
let agentBuilt: string | undefined;
export function ensureAgentBuilt(): string {
  if (agentBuilt) return agentBuilt;
  const agent = join(repoRoot, 'dist', 'cni', 'server', 'test-agent.js');
  const stale = (): boolean => !existsSync(agent) ||
    statSync(agent).mtimeMs < Math.max(...['cni', 'ipam', 'lib', 'routes'].map((d) => newestMtime(join(repoRoot, d))));
  if (stale()) {
    try {
      execFileSync('flock', ['/tmp/uplink-cni-tsc.lock', 'sh', '-c', 'npx tsc -p cni/test/tsconfig.agent.json >/dev/null 2>&1 || true'],
        { cwd: repoRoot, stdio: 'ignore' });
    } catch { /* checked below */ }
  }
  if (!existsSync(agent)) throw new Error(`${agent} missing after tsc: the CNI test fixture did not compile`);
  agentBuilt = agent;
  return agent;
}

/**
 * A bin dir holding `uplink`: the node-gyp build (build/Release/uplink_cni_shim, made by `npm ci`) when it
 * is current, else the same C source compiled here with cc.
 */
export function shimBinDir(): string {
  const src = join(repoRoot, 'cni', 'shim', 'uplink.c');
  const built = join(repoRoot, 'build', 'Release', 'uplink_cni_shim');
  const dir = join(tmpdir(), `uplink-cni-bin-${statSync(src).mtimeMs.toFixed(0)}`);
  const bin = join(dir, 'uplink');
  if (existsSync(bin)) return dir;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  if (existsSync(built) && statSync(built).mtimeMs >= statSync(src).mtimeMs) {
    copyFileSync(built, tmp);
    chmodSync(tmp, 0o755);
  } else {
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-o', tmp, src]);
  }
  execFileSync('mv', ['-f', tmp, bin]);
  return dir;
}

export interface PoolSpec {
  name: string;
  cidr: string;
  blockSize?: number;
}

export interface NodeOptions {
  node?: string;
  pools: PoolSpec[];
  env?: Record<string, string>;
}

/** A node: its netns and the agent in it. */
export class TestNode {
  /** Every node this process started and has not destroyed: a test that timed out mid-start still gets cleaned. */
  private static readonly live = new Set<TestNode>();
  readonly dir: string;
  readonly socket: string;
  agent: ChildProcess | undefined;
  stderr = '';

  private constructor(readonly ns: Netns, readonly opts: NodeOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'ulc-node-'));
    this.socket = join(this.dir, 'cni.sock');
    TestNode.live.add(this);
  }

  static destroyAll(): void {
    for (const n of [...TestNode.live]) n.destroy();
  }

  static async start(opts: NodeOptions): Promise<TestNode> {
    const n = new TestNode(Netns.create(NS_PREFIX), opts);
    try {
      await n.startAgent(opts.env ?? {});
    } catch (err) {
      n.destroy();
      throw err;
    }
    return n;
  }

  async startAgent(extraEnv: Record<string, string> = {}): Promise<void> {
    const agentJs = ensureAgentBuilt();
    const env = {
      ...process.env,
      UPLINK_LOG_LEVEL: process.env.UPLINK_LOG_LEVEL ?? 'warn',
      UPLINK_TEST_SOCKET: this.socket,
      UPLINK_TEST_STATE_DIR: this.dir,
      UPLINK_TEST_NODE: this.opts.node ?? 'node-a',
      UPLINK_TEST_POOLS: JSON.stringify(this.opts.pools),
      ...extraEnv,
    };
    const child = this.ns.spawn('node', [agentJs], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.agent = child;
    this.stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    await new Promise<void>((resolveReady, reject) => {
      const timer = setTimeout(() => reject(new Error(`test-agent not ready in 30 s: ${this.stderr}`)), 30_000);
      const rl = createInterface({ input: child.stdout! });
      rl.on('line', (l) => { if (l === 'ready') { clearTimeout(timer); resolveReady(); } });
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`test-agent exited ${code}: ${this.stderr}`)); });
    });
  }

  /** Stops the agent (SIGTERM, then SIGKILL) and waits for it. */
  async stopAgent(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const a = this.agent;
    if (!a || a.exitCode !== null || a.signalCode !== null) return;
    // `ip netns exec` execs node directly, so this PID is the agent.
    const exited = new Promise<void>((r) => a.once('exit', () => r()));
    a.kill(signal);
    const t = setTimeout(() => a.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }

  /** Waits for the agent to exit by itself (a crash injected with UPLINK_TEST_CRASH_AFTER). */
  async agentExit(): Promise<void> {
    const a = this.agent;
    if (!a || a.exitCode !== null || a.signalCode !== null) return;
    await new Promise<void>((r) => a.once('exit', () => r()));
  }

  runtime(binDirs: string[] = [shimBinDir(), REFERENCE_PLUGINS]): CniRuntime {
    return new CniRuntime({ binDirs, hostNetns: this.ns.path, timeoutMs: 30_000 });
  }

  uplinkConf(extra: Record<string, unknown> = {}): PluginConf {
    return { type: 'uplink', agentSocket: this.socket, agentTimeoutMs: 20_000, mtu: 1400, ...extra };
  }

  conflist(cniVersion: string, plugins: PluginConf[] = [this.uplinkConf()], name = 'uplink'): NetConfList {
    return { cniVersion, name, plugins };
  }

  destroy(): void {
    TestNode.live.delete(this);
    if (this.agent && this.agent.exitCode === null && this.agent.pid) {
      try { process.kill(this.agent.pid, 'SIGKILL'); } catch { /* gone */ }
    }
    this.ns.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A pod: an empty netns the runtime passes as CNI_NETNS. */
export function newPod(): Netns {
  return Netns.create(NS_PREFIX);
}

export const resolveRepo = (...p: string[]): string => resolve(repoRoot, ...p);

/** IPAM as the datastore holds it (read back independently of the agent): handles and used addresses. */
export async function ipamState(node: TestNode): Promise<{ handles: string[]; addresses: string[] }> {
  const { openDatastore } = await import('../../ipam/index.js');
  const { HANDLES, BLOCKS } = await import('../../ipam/keys.js');
  const { allocationsOf } = await import('../../ipam/block.js');
  const store = await openDatastore({ kind: 'embedded', path: join(node.dir, 'ipam.db') });
  try {
    const handles = (await store.list<{ handle: string }>(HANDLES)).items.map((i) => i.value.handle);
    const addresses: string[] = [];
    for (const b of (await store.list<import('../../ipam/types.js').Block>(BLOCKS)).items) {
      for (const a of allocationsOf(b.value)) addresses.push(a.address);
    }
    return { handles: handles.sort(), addresses: addresses.sort() };
  } finally {
    await store.close();
  }
}
