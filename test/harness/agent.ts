// Run the real uplinkd (compiled, dist/) inside a node namespace, drive it with the real uplinkctl and
// attach pods through the real CNI shim (build/Release/uplink_cni_shim) as a runtime would.
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Netns } from './netns.js';

export const REPO = resolve(import.meta.dirname, '..', '..');
export const UPLINKD = join(REPO, 'dist', 'uplinkd', 'main.js');
export const UPLINKCTL = join(REPO, 'dist', 'uplinkctl', 'main.js');
export const SHIM = join(REPO, 'build', 'Release', 'uplink_cni_shim');

export function requireBuilt(): void {
  for (const f of [UPLINKD, UPLINKCTL, SHIM]) {
    if (!existsSync(f)) throw new Error(`${f} is missing: run npm ci (or npm run build) first`);
  }
}

export class AgentProc {
  child: ChildProcess | undefined;
  private out = '';

  constructor(readonly ns: Netns, readonly name: string, readonly dir: string, readonly configFile: string, readonly control: string, readonly cniSocket: string) {}

  /** `env`: extra environment variables for this run (e.g. a test hook such as UPLINK_TEST_STALL_BEFORE). */
  start(env: Record<string, string> = {}): void {
    this.out = '';
    this.child = this.ns.spawn(process.execPath, [UPLINKD, '--config', this.configFile], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.child.stdout?.on('data', (d: Buffer) => { this.out = (this.out + d.toString()).slice(-20_000); });
    this.child.stderr?.on('data', (d: Buffer) => { this.out = (this.out + d.toString()).slice(-20_000); });
  }

  log(): string {
    return this.out;
  }

  /** SIGTERM (graceful: routes stay) or SIGKILL (crash); resolves when the process is gone. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((r) => c.once('exit', () => r()));
    c.kill(signal);
    await gone;
  }

  /** uplinkctl against this agent, JSON output parsed. */
  ctl<T = unknown>(...args: string[]): T {
    let out: string;
    try {
      out = execFileSync(process.execPath, [UPLINKCTL, '-s', this.control, '-c', this.configFile, '-o', 'json', ...args], { encoding: 'utf8' });
    } catch (err) {
      // Exit code 4 = "a check found a problem" (explain, ipam check): the JSON report is still the answer.
      const e = err as { status?: number; stdout?: string; stderr?: string };
      if (e.status !== 4 || !e.stdout) throw new Error(`uplinkctl ${args.join(' ')} failed (${e.status}): ${e.stderr ?? ''}`);
      out = e.stdout;
    }
    return JSON.parse(out) as T;
  }

  /**
   * uplinkctl without blocking the event loop, run inside the node's namespace: for tests whose fake
   * API server lives in the test process (a synchronous call would stall it while the agent or
   * uplinkctl waits on it), and so uplinkctl reaches what the node reaches (the API server forwarder).
   */
  async ctlAsync<T = unknown>(...args: string[]): Promise<T> {
    const r = await execAsync('ip', ['netns', 'exec', this.ns.name, process.execPath, UPLINKCTL, '-s', this.control, '-c', this.configFile, '-o', 'json', ...args]);
    // Exit code 4 = "a check found a problem": the JSON report is still the answer.
    if (r.code !== 0 && (r.code !== 4 || !r.stdout)) throw new Error(`uplinkctl ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  /** CNI command through the shim like cni(), without blocking the event loop (see ctlAsync). */
  async cniAsync(command: 'ADD' | 'DEL' | 'CHECK', containerId: string, podNetns: string, pod = containerId): Promise<{ code: number; out: string }> {
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'uplink', type: 'uplink', agentSocket: this.cniSocket, mtu: 1400 });
    const r = await execAsync('ip', ['netns', 'exec', this.ns.name, SHIM], {
      input: conf,
      env: {
        ...process.env,
        CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: podNetns, CNI_IFNAME: 'eth0',
        CNI_PATH: '/usr/lib/cni', CNI_ARGS: `K8S_POD_NAME=${pod};K8S_POD_NAMESPACE=default`,
      },
    });
    return { code: r.code, out: r.stdout };
  }

  ctlText(...args: string[]): string {
    return execFileSync(process.execPath, [UPLINKCTL, '-s', this.control, '-c', this.configFile, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  }

  /** CNI ADD through the shim, run inside the node's namespace exactly as a runtime would. */
  cni(command: 'ADD' | 'DEL' | 'CHECK', containerId: string, podNetns: string, pod = containerId): { code: number; out: string } {
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'uplink', type: 'uplink', agentSocket: this.cniSocket, mtu: 1400 });
    try {
      const out = execFileSync('ip', ['netns', 'exec', this.ns.name, SHIM], {
        input: conf,
        encoding: 'utf8',
        env: {
          ...process.env,
          CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: podNetns, CNI_IFNAME: 'eth0',
          CNI_PATH: '/usr/lib/cni', CNI_ARGS: `K8S_POD_NAME=${pod};K8S_POD_NAMESPACE=default`,
        },
      });
      return { code: 0, out };
    } catch (err) {
      const e = err as { status?: number; stdout?: string };
      return { code: e.status ?? 1, out: e.stdout ?? '' };
    }
  }
}

/** Write the agent's config (BGP part given by the caller) and return a handle; call start(). */
export function makeAgent(ns: Netns, name: string, opts: { datastorePath: string; bgp?: Record<string, unknown>; pools?: unknown[]; extra?: Record<string, unknown> }): AgentProc {
  const dir = mkdtempSync(join(tmpdir(), `uplink-${name}-`));
  const control = join(dir, 'control.sock');
  const cniSocket = join(dir, 'cni.sock');
  const cfg = {
    nodeName: name,
    stateDir: join(dir, 'state'),
    datastore: { type: 'embedded', path: opts.datastorePath },
    pools: opts.pools ?? [{ name: 'pods-v4', cidr: '10.244.0.0/16', blockSize: 26 }],
    cni: { socket: cniSocket },
    routes: { lockFile: join(dir, 'fib.lock'), staleTimeoutSeconds: 30 },
    control: { socket: control, statusIntervalSeconds: 1 },
    metrics: { listen: '127.0.0.1:9641' },
    log: { level: 'info' },
    ...(opts.bgp ?? {}),
    ...(opts.extra ?? {}),
  };
  const file = join(dir, 'uplinkd.yaml');
  writeFileSync(file, stringify(cfg));
  return new AgentProc(ns, name, dir, file, control, cniSocket);
}

/**
 * A TCP listener on 127.0.0.1:`port` inside `ns` that forwards every connection to a unix socket. A
 * process in a node namespace cannot reach the test's loopback, but a unix socket is a file, visible
 * from every namespace: this is how agents in namespaces reach the fake API server of the test
 * process. The forwarder is killed with the namespace (ns.destroy()).
 */
export async function forwardTcpToUnix(ns: Netns, port: number, socketPath: string): Promise<ChildProcess> {
  const script = [
    "const net = require('node:net');",
    'const [port, path] = process.argv.slice(1);',
    'net.createServer((c) => { const u = net.connect(path); c.pipe(u); u.pipe(c);',
    "  c.on('error', () => u.destroy()); u.on('error', () => c.destroy()); c.on('close', () => u.destroy()); u.on('close', () => c.destroy()); })",
    "  .listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\\n'));",
  ].join('\n');
  const child = ns.spawn(process.execPath, ['-e', script, String(port), socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout?.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`forwarder in ${ns.name} exited (${code}): ${err}`)));
  });
  return child;
}

/**
 * A kubeconfig file for a plain-HTTP API server without credentials (the fake API server).
 * @kubernetes/client-node refuses http:// unless the cluster skips TLS verification, hence the flag.
 */
export function writeKubeconfig(file: string, server: string): string {
  writeFileSync(file, stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'fake', cluster: { server, 'insecure-skip-tls-verify': server.startsWith('http://') } }],
    users: [{ name: 'uplink', user: {} }],
    contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'uplink' } }],
    'current-context': 'fake',
  }));
  return file;
}

/** execFile as a promise that always resolves, with the exit code (stdin from `input`). */
function execAsync(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = execFile(cmd, args, { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, ...(opts.env ? { env: opts.env } : {}) }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}
