// Warm-up: push a synthetic table through the receive path once, at start, on a scratch RIB.
//
// Why: V8 runs a function in its interpreter until it has seen enough calls and loop iterations to
// compile it. A speaker that has just started meets its first full table cold, and that first table
// is when convergence time matters most: the speaker restarted (zero-loss restart with graceful
// restart), or its ToR came back. Measured with `npm run bench` (bench/bgpd.ts): a cold speaker spends
// most of a 10k-prefix load in the interpreter. So `start()` runs the same functions a session runs
// (decode, Adj-RIB-In, import policy, decision, columnar FIB batch, Adj-RIB-Out, UPDATE encoding) over
// a few thousand synthetic prefixes and throws the scratch RIB away. Nothing here touches the speaker's
// own RIB, sockets or the kernel.
import { AttrFlag, NlriBuilder, decodeMessage, makeContext, packUpdates, type PathAttribute, type UpdateMessage } from './wire/index.js';
import { Rib, type FibBatch, type RibOptions } from './rib/rib.js';
import type { RibPeerInfo } from './rib/peer-state.js';
import { applyUpdate } from './session/update-in.js';
import { encodeBatch } from './session/convert.js';
import { IpFamily, parseNet } from '../lib/ip.js';

export interface WarmUpOptions {
  readonly rib: RibOptions;
  /**
   * The RIB's view of a synthetic eBGP peer, built by the speaker's own code (session info plus its
   * default policies): objects of another shape would make the optimized code deoptimize ("wrong
   * map") on the first real peer and lose what the warm-up gained.
   */
  readonly peerInfo: (name: string, address: string) => RibPeerInfo;
  /** IPv4 pools routes are imported from: the synthetic prefixes are cut from the first one. */
  readonly importPools: readonly string[];
  /** The FIB listener's warm-up twin (SpeakerDeps.warmUpFib): awaited after each round. */
  readonly fib?: (batch: FibBatch) => Promise<void>;
  /** Prefixes per round (default 8192: enough for V8 to optimize the per-prefix loops). */
  readonly prefixes?: number;
}

const PER_UPDATE = 800;

/** Synthetic IPv4 prefixes inside `pool` (or 11.0.0.0/8): the longest of /24 or pool length + 13. */
function prefixSource(pools: readonly string[], n: number): { base: number; len: number; count: number } {
  const pool = pools.map((p) => parseNet(p)).find((n) => n?.family === IpFamily.V4);
  const plen = pool ? pool.prefix : 8;
  const base = pool ? Number(pool.base) : 11 << 24;
  const len = Math.min(32, Math.max(24, plen + 13));
  return { base, len, count: Math.min(n, 2 ** (len - plen)) };
}

/** The UPDATEs as a session meets them: views into one received Buffer (a Uint8Array of another map). */
function feed(src: { base: number; len: number; count: number }, round: number): Buffer[] {
  const ctx = makeContext({ fourOctetAs: true });
  const out: Uint8Array[] = [];
  const step = 2 ** (32 - src.len);
  for (let start = 0; start < src.count; start += PER_UPDATE) {
    const b = new NlriBuilder(1, 1, false, PER_UPDATE * 5 + 16);
    for (let i = start; i < Math.min(src.count, start + PER_UPDATE); i++) b.addIpv4((src.base + i * step) >>> 0, src.len);
    const attrs: PathAttribute[] = [
      { kind: 'origin', flags: AttrFlag.Transitive, origin: 0 },
      { kind: 'as-path', flags: AttrFlag.Transitive, segments: [{ type: 2, asns: [64600, 64601 + ((start / PER_UPDATE + round) % 64)] }] },
      { kind: 'next-hop', flags: AttrFlag.Transitive, nextHop: '192.0.2.1' },
      { kind: 'med', flags: AttrFlag.Optional, value: round },
    ];
    out.push(...packUpdates(attrs, b.build(), ctx));
  }
  const received = Buffer.concat(out);
  let off = 0;
  return out.map((m) => received.subarray(off, (off += m.length)));
}

/**
 * Returns how long it took (ms), how many prefixes reached the scratch Loc-RIB (a self-check) and
 * the FIB listener's work still running.
 */
export function warmUp(opts: WarmUpOptions): { ms: number; selected: number; fib: Promise<unknown> } {
  const t0 = performance.now();
  const rib = new Rib(opts.rib);
  const ctx = makeContext({ fourOctetAs: true });
  let fibPrefixes = 0;
  const fibWork: Promise<void>[] = [];
  rib.onFibBatch((b) => {
    fibPrefixes += b.size;
    if (opts.fib) fibWork.push(opts.fib(b));
  });
  // A second, established peer so export and UPDATE encoding run too.
  rib.onOutbound((_id, batch) => void encodeBatch(batch, ctx, ['ipv4']));
  const from = rib.addPeer(opts.peerInfo('warm-up-a', '192.0.2.1'));
  const to = rib.addPeer(opts.peerInfo('warm-up-b', '192.0.2.2'));
  rib.peerUp(to, ['ipv4']);
  const src = prefixSource(opts.importPools, opts.prefixes ?? 8192);
  let selected = 0;
  // Round 0 loads the table, round 1 replaces every route's attributes, then the session goes down.
  for (let round = 0; round < 2; round++) {
    for (const bytes of feed(src, round)) {
      const r = decodeMessage(bytes, ctx);
      if (!r.ok) throw new Error(`warm-up: own UPDATE failed to decode: ${r.error.message}`);
      applyUpdate(rib, from, r.message as UpdateMessage, r.action);
    }
    rib.flush();
    selected = Math.max(selected, rib.locRibSize);
  }
  rib.peerDown(from, false);
  rib.flush();
  rib.removePeer(from);
  rib.removePeer(to);
  return { ms: performance.now() - t0, selected: fibPrefixes > 0 ? selected : 0, fib: Promise.all(fibWork) };
}

/** What the process's warm-up did: wall time from its start to the end of the last pause. */
export interface WarmUpResult {
  readonly ms: number;
  /** Prefixes the scratch Loc-RIB held after a round (0: the import pool rejected them, so cold). */
  readonly selected: number;
  /** false: this call found the process already warm (another speaker did it). */
  readonly ran: boolean;
}

let warmed: Promise<WarmUpResult> | null = null;

/**
 * Once per process (the JIT's work is shared by every speaker in it): two rounds, with a pause after
 * each so the optimizing compiler, which runs on a background thread, installs its code before the
 * next round and the first real table. About 0.1-0.2 s of CPU at start.
 */
export async function warmUpOnce(opts: WarmUpOptions): Promise<WarmUpResult> {
  if (warmed) return { ...(await warmed), ran: false };
  warmed = (async () => {
    const t0 = performance.now();
    let selected = 0;
    for (let round = 0; round < 2; round++) {
      const r = warmUp(opts);
      selected = r.selected;
      await r.fib;
      await new Promise((res) => setTimeout(res, 10));
    }
    return { ms: performance.now() - t0, selected, ran: true };
  })();
  return warmed;
}
