// Network-namespace test hosts. Every test makes its own namespaces with random names and removes them
// (and the processes it started in them, by PID) in `finally`/afterEach, even when it fails.
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export function run(cmd: string, args: string[], opts: { input?: string; allowFail?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', input: opts.input, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 256 * 1024 * 1024 });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** A short random name (interface names are limited to 15 bytes). */
export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

export class Netns {
  readonly path: string;
  private readonly children: ChildProcess[] = [];
  private readonly pids: number[] = [];
  private readonly cleanups: Array<() => void> = [];

  private constructor(readonly name: string) {
    this.path = `/var/run/netns/${name}`;
  }

  static create(prefix = 'ult'): Netns {
    const ns = new Netns(uniqueName(prefix));
    run('ip', ['netns', 'add', ns.name]);
    run('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** Run a command inside the namespace and return its stdout. */
  exec(cmd: string, args: string[] = [], opts: { input?: string; allowFail?: boolean } = {}): string {
    return run('ip', ['netns', 'exec', this.name, cmd, ...args], opts);
  }

  ip(...args: string[]): string {
    return run('ip', ['-n', this.name, ...args]);
  }

  /** `ip -j` output parsed: assertions read kernel state back, not our own bookkeeping. */
  ipJson<T = unknown>(...args: string[]): T {
    const out = run('ip', ['-j', '-n', this.name, ...args]);
    return (out.trim() ? JSON.parse(out) : []) as T;
  }

  /** Start a long-running process in the namespace; it is killed by PID in destroy(). */
  spawn(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...opts });
    this.children.push(child);
    return child;
  }

  /** Remember a PID started by other means (a daemon that forks) so destroy() kills it. */
  track(pid: number): void {
    this.pids.push(pid);
  }

  /** Run `fn` in destroy(), after the processes are gone (e.g. remove a daemon's run directory). */
  onDestroy(fn: () => void): void {
    this.cleanups.push(fn);
  }

  destroy(): void {
    for (const c of this.children) {
      if (c.pid !== undefined && c.exitCode === null) {
        try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
    for (const pid of this.pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
    }
    // Any process still inside the namespace (daemons that double-forked) dies with it.
    const left = run('ip', ['netns', 'pids', this.name], { allowFail: true }).split(/\s+/).filter(Boolean);
    for (const pid of left) {
      try { process.kill(Number(pid), 'SIGKILL'); } catch { /* already gone */ }
    }
    run('ip', ['netns', 'del', this.name], { allowFail: true });
    for (const fn of this.cleanups.splice(0)) {
      try { fn(); } catch { /* best effort: a cleanup must not hide the test's own failure */ }
    }
  }
}

/** A veth pair between two namespaces, with optional addresses ("10.0.0.1/30"). */
export function link(a: Netns, aIf: string, b: Netns, bIf: string, aAddrs: string[] = [], bAddrs: string[] = []): void {
  const tmp = uniqueName('tv');
  run('ip', ['link', 'add', tmp, 'type', 'veth', 'peer', 'name', `${tmp}p`]);
  run('ip', ['link', 'set', tmp, 'netns', a.name]);
  run('ip', ['link', 'set', `${tmp}p`, 'netns', b.name]);
  a.ip('link', 'set', tmp, 'name', aIf);
  b.ip('link', 'set', `${tmp}p`, 'name', bIf);
  for (const addr of aAddrs) a.ip('addr', 'add', addr, 'dev', aIf, ...(addr.includes(':') ? ['nodad'] : []));
  for (const addr of bAddrs) b.ip('addr', 'add', addr, 'dev', bIf, ...(addr.includes(':') ? ['nodad'] : []));
  a.ip('link', 'set', aIf, 'up');
  b.ip('link', 'set', bIf, 'up');
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
