// Shared helpers for the speaker's namespace tests: build a speaker inside a Netns and wait on it.
import type { Netns } from '../../test/harness/netns.js';
import { waitFor } from '../../test/harness/peers/common.js';
import { parseBgpConfig } from '../config.js';
import { BgpSpeaker } from '../speaker.js';
import type { FibChange } from '../rib/rib.js';
import { pino } from 'pino';
import { logger, type Logger } from '../../lib/log.js';

/** A logger that keeps every record (parsed) in `records`, for tests that assert on what was logged. */
export function capturingLog(level = 'info'): { log: Logger; records: Record<string, unknown>[] } {
  const records: Record<string, unknown>[] = [];
  const log = pino({ level }, { write: (line: string) => void records.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, records };
}

export function startSpeaker(
  ns: Netns,
  yamlLike: Record<string, unknown>,
  opts: { restarting?: boolean; log?: Logger; raIntervalS?: number } = {},
): { speaker: BgpSpeaker; fib: Map<string, FibChange> } {
  const cfg = parseBgpConfig({ connectRetry: 2, ...yamlLike });
  let log = opts.log;
  if (!log) {
    log = logger('bgpd-test');
    log.level = process.env.UPLINK_LOG_LEVEL ?? 'warn';
  }
  const speaker = new BgpSpeaker(cfg, {
    netns: ns.path,
    log,
    ...(opts.restarting ? { restarting: true } : {}),
    ...(opts.raIntervalS ? { raIntervalS: opts.raIntervalS } : {}),
  });
  const fib = new Map<string, FibChange>();
  speaker.onRoutes((changes) => {
    for (const c of changes) {
      if (c.nextHops.length) fib.set(c.prefix, c);
      else fib.delete(c.prefix);
    }
  });
  return { speaker, fib };
}

export async function waitEstablished(speaker: BgpSpeaker, name: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`our session ${name} Established`, () => (speaker.neighbor(name).state === 'Established' ? true : undefined), {
    timeoutMs,
    describe: () => JSON.stringify(speaker.neighbor(name), null, 1),
  });
}

export async function waitUntil(what: string, probe: () => boolean, timeoutMs = 20_000, describe?: () => string): Promise<void> {
  await waitFor(what, () => (probe() ? true : undefined), { timeoutMs, ...(describe ? { describe } : {}) });
}

/** The usable (not tentative) IPv6 link-local address of `dev` in `ns`, once the kernel has one. */
export async function linkLocalOf(ns: Netns, dev: string): Promise<string> {
  let ll: string | undefined;
  await waitUntil(`${ns.name} ${dev} has a link-local`, () => {
    const j = ns.ipJson<{ addr_info: { local: string; scope: string; tentative?: boolean }[] }[]>('-6', 'addr', 'show', 'dev', dev);
    ll = j[0]?.addr_info.find((a) => a.scope === 'link' && !a.tentative)?.local;
    return ll !== undefined;
  }, 10_000);
  return ll!;
}
