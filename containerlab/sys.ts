// Thin wrappers over `ip`, `sysctl` and process control. Every failure becomes a LabError carrying
// the command's stderr. Processes are started detached (own process group, so a Ctrl-C at the
// terminal reaches the runner, not the lab's daemons) and are only ever killed by recorded PID.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync } from 'node:fs';
import { LabError, LabErrorCode } from './errors.js';

export function run(cmd: string, args: string[], opts: { allowFail?: boolean; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000 });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new LabError(LabErrorCode.Command, `${cmd} ${args.join(' ')}: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: err });
  }
}

export function netnsExists(name: string): boolean {
  return existsSync(`/run/netns/${name}`);
}

export function netnsAdd(name: string): void {
  run('ip', ['netns', 'add', name]);
  run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
}

export function netnsPids(name: string): number[] {
  return run('ip', ['netns', 'pids', name], { allowFail: true }).split(/\s+/).filter(Boolean).map(Number);
}

export function netnsDelete(name: string): void {
  run('ip', ['netns', 'del', name], { allowFail: true });
}

/** The namespace a PID lives in, as the inode string of /proc/PID/ns/net ("net:[4026532...]"). */
export function pidNetns(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it is not alive for our purposes.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) Z /.test(stat);
  } catch {
    return false;
  }
}

/**
 * Start `cmd args` inside namespace `ns`, detached, output appended to `logFile`. `ip netns exec`
 * execs the command, so the returned PID is the program's own.
 */
export function startInNetns(ns: string, cmd: string, args: string[], logFile: string, env: Record<string, string> = {}): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: { ...process.env, ...env },
    });
    if (child.pid === undefined) throw new LabError(LabErrorCode.Daemon, `could not start ${cmd} in ${ns}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Start `cmd args` in this (the host's) namespace, detached, output appended to `logFile`. */
export function startDetached(cmd: string, args: string[], logFile: string): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd] });
    if (child.pid === undefined) throw new LabError(LabErrorCode.Daemon, `could not start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

const sleepMs = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`. Already-gone is success. */
export async function killPid(pid: number, graceMs = 1500): Promise<void> {
  if (!pidAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) return;
    await sleepMs(50);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

export async function waitUntil(what: string, probe: () => boolean, timeoutMs: number, describe?: () => string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new LabError(LabErrorCode.Interrupted, `interrupted while waiting for ${what}`);
    if (probe()) return;
    if (Date.now() > deadline) {
      throw new LabError(LabErrorCode.Daemon, `timed out after ${timeoutMs} ms waiting for ${what}${describe ? `\n${describe()}` : ''}`);
    }
    await sleepMs(100);
  }
}

export function tail(file: string, max = 2000): string {
  try {
    const t = readFileSync(file, 'utf8');
    return t.length > max ? `...${t.slice(-max)}` : t;
  } catch {
    return `(no ${file})`;
  }
}
