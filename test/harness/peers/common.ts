// Shared plumbing for the real-daemon peer harness: a private run directory per daemon instance,
// readiness polling with a timeout error that carries the daemon's own log, and kill-by-PID.
// Ownership: each peer object owns its run directory and its processes; the Netns also tracks them,
// so ns.destroy() cleans up even when a test throws before stop().
import { chmodSync, mkdtempSync, readFileSync, existsSync, rmSync, chownSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { UplinkError } from '../../../lib/errors.js';

export const PeerErrorCode = {
  NotReady: 'PEER_NOT_READY',
  Exited: 'PEER_EXITED',
  Query: 'PEER_QUERY_FAILED',
} as const;
export type PeerErrorCode = (typeof PeerErrorCode)[keyof typeof PeerErrorCode];

export class PeerError extends UplinkError {
  constructor(code: PeerErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

// Run directories still present when the process exits (a test that never called stop({cleanup}))
// are removed then, unless ULV_KEEP_RUNDIRS is set for a post-mortem.
const liveRunDirs = new Set<string>();
process.once('exit', () => {
  if (process.env.ULV_KEEP_RUNDIRS) return;
  for (const d of liveRunDirs) rmSync(d, { recursive: true, force: true });
});

/** A fresh directory under the OS temp dir, e.g. /tmp/ulv-frr-XXXXXX. */
export function makeRunDir(kind: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ulv-${kind}-`));
  chmodSync(dir, 0o755);
  liveRunDirs.add(dir);
  return dir;
}

/** FRR daemons drop to the `frr` user: their run directory and everything in it must be theirs. */
export function chownTree(dir: string, uid: number, gid: number): void {
  chownSync(dir, uid, gid);
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    chownSync(p, uid, gid);
    if (statSync(p).isDirectory()) chownTree(p, uid, gid);
  }
}

export function readTail(file: string, max = 4000): string {
  if (!existsSync(file)) return `(no log at ${file})`;
  const text = readFileSync(file, 'utf8');
  return text.length > max ? `...${text.slice(-max)}` : text;
}

/** Collects a child's stdout+stderr so a readiness timeout can show it. */
export class OutputBuffer {
  private chunks: string[] = [];
  private size = 0;
  constructor(child: ChildProcess, private readonly max = 64_000) {
    child.stdout?.on('data', (d: Buffer) => this.push(d.toString('utf8')));
    child.stderr?.on('data', (d: Buffer) => this.push(d.toString('utf8')));
  }
  private push(s: string): void {
    this.chunks.push(s);
    this.size += s.length;
    while (this.size > this.max && this.chunks.length > 1) this.size -= this.chunks.shift()!.length;
  }
  text(): string {
    return this.chunks.join('');
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Poll `probe` until it returns a value (not undefined) or the deadline passes. The timeout error
 * includes `describe()` (the daemon's log) because "timed out" alone never says why.
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  opts: { timeoutMs?: number; intervalMs?: number; describe?: () => string; child?: ChildProcess } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    if (opts.child && opts.child.exitCode !== null) {
      throw new PeerError(
        PeerErrorCode.Exited,
        `${what}: process exited with code ${opts.child.exitCode}\n${opts.describe?.() ?? ''}`,
      );
    }
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      const why = lastErr instanceof Error ? ` (last error: ${lastErr.message})` : '';
      throw new PeerError(
        PeerErrorCode.NotReady,
        `${what}: not ready after ${timeoutMs} ms${why}\n--- log ---\n${opts.describe?.() ?? ''}`,
        { cause: lastErr },
      );
    }
    await sleep(opts.intervalMs ?? 200);
  }
}

/** SIGTERM, then SIGKILL if the process is still there after `graceMs`. */
export async function killPid(pid: number | undefined, graceMs = 2000): Promise<void> {
  if (pid === undefined) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone between the check and the kill */
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveRunDirs.delete(dir);
}

/** Every peer has this shape so interop tests can treat them alike. */
export interface Peer {
  readonly kind: 'frr' | 'bird' | 'gobgp' | 'exabgp';
  readonly runDir: string;
  /** Kill the daemon(s) by PID; keeps the run directory unless `cleanup` is true. */
  stop(opts?: { cleanup?: boolean }): Promise<void>;
  /** The daemon's own log, for assertion messages. */
  log(): string;
}

/**
 * A start function's readiness wait: on failure the daemon is killed and its run directory removed
 * before the error (which already carries the log) propagates, so failed starts leave nothing behind.
 */
export async function readyOrCleanup<T>(wait: Promise<T>, cleanup: () => Promise<void>): Promise<T> {
  try {
    return await wait;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
