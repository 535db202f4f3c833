// Helpers for the namespace lab tests: unique prefixes, polling, reading kernel state back.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** Namespace prefix for tests: "ull" + random, so labs of parallel runs never collide. */
export const testPrefix = (): string => `ull${randomBytes(3).toString('hex')}`;

export function namespacesWith(prefix: string): string[] {
  const out = execFileSync('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }).trim();
  const list = out ? (JSON.parse(out) as Array<{ name: string }>) : [];
  return list.map((n) => n.name).filter((n) => n.startsWith(`${prefix}-`));
}

export function ipJson<T>(ns: string, ...args: string[]): T {
  const out = execFileSync('ip', ['-j', '-n', ns, ...args], { encoding: 'utf8' }).trim();
  return (out ? JSON.parse(out) : []) as T;
}

export async function eventually<T>(what: string, probe: () => T | undefined, timeoutMs: number, intervalMs = 500): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A process that runs: /proc/PID exists and is not a zombie. When the test process itself started
 * the lab (in-process `up`), killed daemons stay zombies until Node reaps them, which is not
 * "running" — so signal 0 alone is not the test.
 */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}
