// The FIB reconciler: makes the kernel's routes with our protocol number equal to the desired set.
//
// Ownership and concurrency rules:
// - Only routes with `protocol` (UPLINK_RT_PROTO) are ever read as ours, replaced or deleted; a route of
//   another protocol is only overwritten when it sits at a key we want (desired state wins there).
// - Only the leader writes (`elector`); a standby keeps its desired set and does a full sync when
//   elected.
// - One pass runs at a time; requests made meanwhile coalesce into the next one. An incremental pass
//   does not wait for the kernel: its batch is queued on the socket and the next pass (changes that
//   came in meanwhile) is encoded while the kernel works, up to MAX_INFLIGHT batches. The socket runs
//   them in order, so the kernel ends at the last state sent. A full pass first waits for them all.
// - Changes are always NLM_F_REPLACE, never delete+add, so a route that changes next hops (an ECMP leg
//   lost, a restart adopting our own routes) never leaves a window without a route.
// - Graceful restart (RFC 4724 §4.2 spirit, for the FIB): on stop the routes stay in the kernel; on
//   start routes of ours that nobody wants yet are stale and kept until markConverged() (End-of-RIB
//   from all peers) or the stale timer; only then are the still-unwanted ones deleted.
import { EventEmitter } from 'node:events';
import { logger } from '../lib/log.js';
import { UPLINK_RT_PROTO } from './netlink/constants.js';
import { NetlinkHandle } from './netlink/handle.js';
import type { RouteWatcher } from './netlink/watcher.js';
import type { BatchResult, Route, RouteEvent, RouteOp } from './netlink/types.js';
import type { LeaderElector } from './leader.js';
import { applySeconds, driftRepairs, leaderState, netlinkErrors, routesInstalled, routesStale, syncsTotal } from './metrics.js';
import { EntryFlag, FibTable, sameNorm, type Entry, type Ref, type Sent } from './fib-table.js';
import { INGEST_SLICE, IngestQueue, type DeltaBatch } from './ingest-queue.js';
import { PrefixNormalizer, type PrefixBatch, type PrefixDelta } from './prefix-batch.js';
import { formatV4Num } from './prefix-table.js';
import { kernelSatisfies, keyOf, normalize, normalizeKernel, routeKey, satisfies, type NormRoute } from './route.js';

export interface ReconcilerOptions {
  /** netns path; default: this process's namespace. */
  netns?: string;
  /** Our route protocol; default UPLINK_RT_PROTO. */
  protocol?: number;
  /** Periodic full resync; 0 disables. Default 60 s. */
  resyncIntervalMs?: number;
  /** Stale routes are removed after this even without markConverged(). Default 120 s. */
  staleTimeoutMs?: number;
  /** Drift repair debounce: events within this window cause one repair. Default 200 ms. */
  debounceMs?: number;
  /** Retry delay after failed operations. Default 1 s. */
  retryMs?: number;
  /** Single-writer election; without one this instance always writes. */
  elector?: LeaderElector;
  /**
   * No kernel: batches are encoded and acked as if applied (NetlinkHandle dryRun); no dump, watcher or
   * timers. For the agent's JIT warm-up (uplinkd/bgp-bridge.ts fibWarmUp) and nothing else.
   */
  dryRun?: boolean;
}

export const SyncKind = { Full: 'full', Incremental: 'incremental', Repair: 'repair' } as const;
export type SyncKind = (typeof SyncKind)[keyof typeof SyncKind];

export interface SyncResult {
  kind: SyncKind;
  replaced: number;
  deleted: number;
  failed: number;
  stale: number;
  durationMs: number;
}

export interface ReconcilerEvents {
  synced: [SyncResult];
  drift: [RouteEvent];
  error: [Error];
}

interface Waiter {
  since: number;
  resolve: () => void;
}

/** Incremental batches queued on the socket at once (the kernel works on one while JS encodes the next). */
const MAX_INFLIGHT = 2;
/** A batch goes to the socket in chunks of 1024, 2048, ... up to 8192 routes (the handle's slice). */
const FIRST_CHUNK = 1024;
const MAX_CHUNK = 8192;
/**
 * Routes per incremental batch at most; more dirty keys wait for the next batch. With MAX_INFLIGHT
 * batches that is ~0.5 s of kernel work queued (enough to keep it busy), while the encoded requests
 * held until their acks stay a few MB: one batch of a whole 500k table held ~50 MB.
 */
const MAX_BATCH = 4 * MAX_CHUNK;

export class FibReconciler extends EventEmitter<ReconcilerEvents> {
  private readonly log = logger('routes.reconciler');
  private readonly protocol: number;
  private readonly opts: Required<Omit<ReconcilerOptions, 'elector' | 'netns' | 'dryRun'>>;
  private handle: NetlinkHandle | undefined;
  private watcher: RouteWatcher | undefined;
  /** Everything per route key: claims by source, what the kernel has, flags; counters. */
  private readonly table = new FibTable();
  /** Sources fed by setDesired: the keys each claims, so a new whole set finds what it dropped. */
  private readonly wholeSets = new Map<string, Set<string>>();
  /** Sources that were ever given routes (delta sources have no key set). */
  private readonly sourceNames = new Set<string>();
  private links = new Map<string, number>();
  /** applyChanges / applyPrefixes batches, taken into the table a slice per event-loop turn. */
  private readonly ingest = new IngestQueue<DeltaBatch | PrefixBatch>((b, from, to) => ('prefixes' in b ? this.takePrefixSlice(b, from, to) : this.takeSlice(b, from, to)), INGEST_SLICE, FIRST_CHUNK);
  private gen = 0;
  private pending: SyncKind | undefined;
  private running: Promise<void> | undefined;
  private looping = false;
  private waiters: Waiter[] = [];
  /** Incremental batches sent and not yet acked, oldest first. They never reject. */
  private inflight: Array<Promise<void>> = [];
  private repairTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private staleTimer: NodeJS.Timeout | undefined;
  private started = false;
  private retryDelay: number;
  private readonly onElected = (): void => {
    leaderState.set(1);
    this.request(SyncKind.Full);
  };
  private readonly onLost = (): void => {
    leaderState.set(0);
  };

  constructor(private readonly options: ReconcilerOptions = {}) {
    super();
    this.protocol = options.protocol ?? UPLINK_RT_PROTO;
    this.opts = {
      protocol: this.protocol,
      resyncIntervalMs: options.resyncIntervalMs ?? 60_000,
      staleTimeoutMs: options.staleTimeoutMs ?? 120_000,
      debounceMs: options.debounceMs ?? 200,
      retryMs: options.retryMs ?? 1000,
    };
    this.retryDelay = this.opts.retryMs;
  }

  private get canWrite(): boolean {
    return this.started && (this.options.elector?.isLeader ?? true);
  }

  /** Opens the socket and the watcher; adopts existing routes of ours as stale; first full sync. */
  async start(): Promise<void> {
    if (this.started) return;
    if (this.options.dryRun) {
      this.handle = new NetlinkHandle(this.options.netns, { dryRun: true });
      this.started = true;
      return;
    }
    this.handle = new NetlinkHandle(this.options.netns);
    // Watch before the first dump so a change between dump and apply is not missed.
    // Our own changes are known from their acks; only other writers' changes are events.
    this.watcher = this.handle.watchRoutes({ ignoreOwn: true });
    this.watcher.on('route', (ev) => this.onRouteEvent(ev));
    this.watcher.on('overrun', () => this.scheduleRepair());
    this.started = true;
    const el = this.options.elector;
    if (el) {
      el.on('elected', this.onElected);
      el.on('lost', this.onLost);
      leaderState.set(el.isLeader ? 1 : 0);
    } else {
      leaderState.set(1);
    }
    if (this.opts.resyncIntervalMs > 0) {
      this.resyncTimer = setInterval(() => this.request(SyncKind.Full), this.opts.resyncIntervalMs);
      this.resyncTimer.unref();
    }
    this.staleTimer = setTimeout(() => {
      this.log.warn('stale timer fired before convergence: removing stale routes');
      void this.markConverged();
    }, this.opts.staleTimeoutMs);
    this.staleTimer.unref();
    if (this.canWrite) await this.runNow(SyncKind.Full);
  }

  /**
   * Replaces the whole route set of one source ("pods", "blocks", ...). Sources are merged; when two
   * claim the same key the source whose name sorts first wins. Resolves once the kernel acked the
   * change (or at once on a standby). Costs O(this source's set); a source fed by applyChanges so far
   * costs one walk of the table the first time.
   */
  setDesired(source: string, routes: Route[]): Promise<void> {
    this.ingest.flush(); // queued deltas came first
    const next = new Map<string, NormRoute>();
    const raws = new Map<string, Route>();
    for (const r of routes) {
      const n = normalize(r, this.resolveDev);
      if (next.has(n.key)) continue; // the first of a key within one call wins
      next.set(n.key, n);
      if (namesDevice(r)) raws.set(n.key, r);
    }
    const t = this.table;
    const old = this.wholeSets.get(source);
    if (old) {
      for (const k of old) {
        const e = t.find(k);
        if (e !== undefined && !next.has(k)) this.unclaim(e, source);
      }
    } else if (this.sourceNames.has(source)) {
      for (const e of t.refs()) if (!next.has(t.keyOf(e))) this.unclaim(e, source);
    }
    for (const [k, n] of next) t.claim(t.objEntry(k), source, n, raws.get(k));
    this.wholeSets.set(source, new Set(next.keys()));
    this.sourceNames.add(source);
    return this.kick();
  }

  removeSource(source: string): Promise<void> {
    this.ingest.flush();
    const keys = this.wholeSets.get(source);
    if (keys) {
      for (const k of keys) {
        const e = this.table.find(k);
        if (e !== undefined) this.unclaim(e, source);
      }
    } else if (this.sourceNames.has(source)) {
      for (const e of this.table.refs()) this.unclaim(e, source);
    }
    this.wholeSets.delete(source);
    this.sourceNames.delete(source);
    return this.kick();
  }

  /**
   * Incremental form of setDesired for one source: `upserts` add or replace routes by key, `removals`
   * (only their key fields matter: dst, table, metric) leave. Costs O(changes), not O(desired set),
   * so a BGP speaker can hand over each Loc-RIB batch as it comes.
   */
  applyChanges(source: string, upserts: readonly Route[], removals: readonly Route[]): Promise<void> {
    this.sourceNames.add(source);
    // A large batch goes in slices across event-loop turns (ingest-queue.ts): the kernel starts on
    // the first slice while later ones are normalized. Later calls queue behind it, in order.
    return this.ingest.push({ source, upserts, removals });
  }

  /**
   * applyChanges for a columnar delta of plain prefix routes (prefix-batch.ts): what the BGP bridge
   * hands over, without a Route object per prefix.
   */
  applyPrefixes(source: string, delta: PrefixDelta): Promise<void> {
    this.sourceNames.add(source);
    const prefixes = new PrefixNormalizer(delta, this.resolveDev);
    return this.ingest.push({ source, upserts: { length: prefixes.count }, removals: delta.removals, removals4: delta.removals4, prefixes });
  }

  private takePrefixSlice({ source, removals, removals4, prefixes }: PrefixBatch, from: number, to: number): Promise<void> {
    const t = this.table;
    const keys = this.wholeSets.get(source);
    if (from === 0) {
      // A table load: the slot columns grow once to their size instead of doubling through it.
      if (prefixes.count > 4096) t.slots.reserve(prefixes.count);
      if (removals4) {
        for (let i = 0; i < removals4.length; i++) {
          const e = t.find4(removals4[i]!);
          if (e !== undefined) this.unclaim(e, source);
          keys?.delete(formatV4Num(removals4[i]!));
        }
      }
      for (const k of removals) {
        // A canonical main-table destination is its own key (route.ts routeKey).
        const e = t.find(k);
        if (e !== undefined) this.unclaim(e, source);
        keys?.delete(k);
      }
    }
    // Plain routes go to the compact store (prefix-table.ts); ones naming a device stay objects.
    const n4 = prefixes.n4;
    for (let i = from; i < to; i++) {
      if (prefixes.named(i)) {
        const n = prefixes.route(i);
        t.claim(t.objEntry(n.key), source, n, prefixes.raw(i));
      } else if (i < n4) {
        t.claimPrefix4(prefixes.num(i), source, prefixes.template(i, t.templates));
      } else {
        t.claimPrefix(prefixes.dst(i), source, prefixes.template(i, t.templates));
      }
      keys?.add(prefixes.dst(i));
    }
    if (to === prefixes.count) prefixes.release();
    return this.kick();
  }

  private takeSlice({ source, upserts, removals }: DeltaBatch, from: number, to: number): Promise<void> {
    const t = this.table;
    const keys = this.wholeSets.get(source);
    if (from === 0) {
      for (const r of removals) {
        const k = keyOf(r);
        const e = t.find(k);
        if (e !== undefined) this.unclaim(e, source);
        keys?.delete(k);
      }
    }
    for (let i = from; i < to; i++) {
      const r = upserts[i]!;
      const n = normalize(r, this.resolveDev);
      t.claim(t.objEntry(n.key), source, n, namesDevice(r) ? r : undefined);
      keys?.add(n.key);
    }
    return this.kick();
  }

  private unclaim(e: Ref, source: string): void {
    this.table.unclaim(e, source);
    this.table.dropIfEmpty(e);
  }

  private kick(): Promise<void> {
    if (!this.canWrite) return Promise.resolve();
    // A dry run's waiters are not timed: the warm-up must not show in the agent's latency histogram.
    const done = new Promise<void>((resolve) => this.waiters.push({ since: this.options.dryRun ? -1 : performance.now(), resolve }));
    this.request(SyncKind.Incremental);
    return done;
  }

  /** All peers sent End-of-RIB: stale routes that are still unwanted may now go. */
  async markConverged(): Promise<void> {
    if (this.table.converged) return;
    this.table.setConverged();
    if (this.staleTimer) clearTimeout(this.staleTimer);
    if (this.canWrite) await this.runNow(SyncKind.Full);
  }

  /** A full dump-diff-apply pass now. */
  resync(): Promise<void> {
    return this.runNow(SyncKind.Full);
  }

  /** Stops timers and the watcher; routes stay in the kernel (graceful restart). */
  async stop(): Promise<void> {
    if (!this.started) return;
    this.started = false;
    for (const t of [this.repairTimer, this.retryTimer, this.staleTimer]) if (t) clearTimeout(t);
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    const el = this.options.elector;
    el?.off('elected', this.onElected);
    el?.off('lost', this.onLost);
    this.watcher?.close();
    this.watcher = undefined;
    this.ingest.flush(); // callers waiting on queued deltas resolve (nothing is sent once stopped)
    await this.running;
    await this.drain();
    for (const w of this.waiters.splice(0)) w.resolve();
    await this.handle?.close();
    this.handle = undefined;
  }

  status(): { desired: number; installed: number; stale: number; converged: boolean; leader: boolean } {
    const t = this.table;
    return { desired: t.desired, installed: t.installedTotal, stale: t.stale, converged: t.converged, leader: this.canWrite };
  }

  // ---- scheduling ----

  private request(kind: SyncKind): void {
    if (!this.canWrite) return;
    if (this.pending === undefined || rank(kind) > rank(this.pending)) this.pending = kind;
    // `looping` flips back in the same tick as the loop's last check of `pending`, so a request made
    // at any moment is either seen by the running loop or starts a new one.
    if (!this.looping) {
      this.looping = true;
      this.running = this.loop();
    }
  }

  private async runNow(kind: SyncKind): Promise<void> {
    // A full pass deletes what is not desired: queued deltas must be in the table first.
    this.ingest.flush();
    this.request(kind);
    while (this.looping) await this.running;
  }

  /** Waits for every incremental batch sent so far to be acked (and its results applied). */
  private async drain(): Promise<void> {
    while (this.inflight.length) await this.inflight[this.inflight.length - 1];
  }

  private async loop(): Promise<void> {
    try {
      while (this.pending !== undefined && this.canWrite) {
        // Backpressure: with MAX_INFLIGHT batches queued, wait for the oldest; changes meanwhile
        // coalesce into one larger next batch.
        if (this.inflight.length >= MAX_INFLIGHT) {
          await this.inflight[0];
          continue;
        }
        const kind = this.pending;
        this.pending = undefined;
        const waiters = this.waiters.splice(0);
        try {
          if (kind === SyncKind.Incremental) {
            await this.incremental(waiters);
            continue;
          }
          await this.drain();
          await this.full(kind);
        } catch (err) {
          this.failed(err);
        }
        settle(waiters);
      }
    } finally {
      // Same tick as the last `pending` check: no request can fall between the two.
      this.looping = false;
      // Writes stopped (lost leadership, stop()): callers waiting on a change must not hang.
      if (!this.canWrite) for (const w of this.waiters.splice(0)) w.resolve();
    }
  }

  private failed(err: unknown): void {
    netlinkErrors.inc({ op: 'sync' });
    this.log.error({ err }, 'sync failed');
    if (this.listenerCount('error') > 0) this.emit('error', err as Error);
    this.scheduleRetry();
  }

  private scheduleRepair(): void {
    if (this.repairTimer || !this.canWrite) return;
    this.repairTimer = setTimeout(() => {
      this.repairTimer = undefined;
      this.request(SyncKind.Repair);
    }, this.opts.debounceMs);
  }

  /** Retries failed operations with exponential backoff (retryMs doubling up to 30 s). */
  private scheduleRetry(): void {
    if (this.retryTimer || !this.canWrite) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(this.retryDelay * 2, 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.request(SyncKind.Incremental);
    }, delay);
    this.retryTimer.unref();
  }

  // ---- passes ----

  private readonly resolveDev = (d: string | number): number | undefined => (typeof d === 'number' ? d : this.links.get(d));

  /**
   * Reloads name -> ifindex and re-resolves the claims that name a device: a pod's veth recreated
   * under the same name has a new ifindex (and IPv4 routes through the old one vanished with it,
   * without a notification).
   */
  private async refreshLinks(): Promise<void> {
    if (!this.handle) return;
    const links = new Map((await this.handle.listLinks()).map((l) => [l.name, l.index]));
    const same = links.size === this.links.size && [...links].every(([name, i]) => this.links.get(name) === i);
    this.links = links;
    // Claims were resolved against the previous list: only a changed list can change them.
    if (same) return;
    const t = this.table;
    for (const e of t.devEntries) {
      for (const c of e.claims()) {
        if (!c.raw) continue;
        const n = normalize(c.raw, this.resolveDev);
        if (!sameNorm(c.want, n)) t.claim(e, c.source, n, c.raw);
      }
    }
  }

  /**
   * The kernel ops that bring `entries` to their desired state; entries left with nothing are dropped.
   * Columnar: the entry, what is sent (an Entry's route object, a slot's template id), delete or not.
   * The route objects a slot's op needs are built per chunk in send(), so none outlives its encoding.
   */
  private opsFor(entries: Iterable<Ref>, slots?: Int32Array, count = 0): Ops {
    const t = this.table;
    const ops = new Ops(count + (slots?.length ?? 0));
    for (const e of entries) {
      const op = t.opOf(e);
      if (op === 0) t.dropIfEmpty(e);
      else ops.push(e, t.sending(e, op === 2), op === 2);
    }
    if (slots) {
      for (let i = 0; i < slots.length; i++) {
        const s = slots[i]!;
        const op = t.opOf(s);
        if (op === 0) t.dropIfEmpty(s);
        else ops.push(s, t.sending(s, op === 2), op === 2);
      }
    }
    return ops;
  }

  /** Sends the dirty keys' ops without waiting for the kernel; `waiters` resolve on its ack. */
  private async incremental(waiters: Waiter[]): Promise<void> {
    const handle = this.handle;
    if (!handle) return settle(waiters);
    const t0 = performance.now();
    const t = this.table;
    // Device names are resolved against a fresh link list whenever a changed route uses one.
    if (t.dirtyNamesDevice()) await this.refreshLinks();
    const taken = t.takeDirty(MAX_BATCH);
    const ops = this.opsFor(taken.entries, taken.slots, taken.entries.length);
    if (t.dirtyCount) {
      // More than one batch is dirty: the callers waiting resolve with the batch that takes the rest.
      this.waiters.unshift(...waiters);
      waiters = [];
      this.request(SyncKind.Incremental);
    }
    if (!this.options.dryRun) syncsTotal.inc({ kind: SyncKind.Incremental });
    if (!ops.n) {
      this.finish(SyncKind.Incremental, t0, 0, 0, 0);
      return settle(waiters);
    }
    const batch = this.send(handle, SyncKind.Incremental, ops).then(
      ([replaced, deleted, failed]) => this.finish(SyncKind.Incremental, t0, replaced, deleted, failed),
      // The whole batch is in doubt: its keys were marked for a retry (send).
      (err: unknown) => this.failed(err),
    );
    const done = batch.then(() => {
      this.inflight.splice(this.inflight.indexOf(done), 1);
      settle(waiters);
    });
    this.inflight.push(done);
  }

  /** Dump, diff against the whole desired set, apply, and wait for the kernel. */
  private async full(kind: SyncKind): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    const t0 = performance.now();
    syncsTotal.inc({ kind });
    this.ingest.flush(); // periodic/election passes too: no half-taken batch is diffed
    await this.refreshLinks();
    const t = this.table;
    const gen = ++this.gen;
    // Each kernel route is looked at as it is decoded (no array of the whole dump).
    try {
      await handle.forEachRoute({ protocol: this.protocol }, (k) => {
        const e = t.entry(routeKey(k.family, k.table, k.dst, k.metric));
        t.setSeen(e, gen);
        if (typeof e === 'number') return t.haveKernel(e, k);
        const want = e.want;
        // A matching kernel route shares the desired object: no copy per route.
        t.setHave(e, want && kernelSatisfies(want, k) ? want : normalizeKernel(k));
      });
    } catch (err) {
      for (const e of t.refs()) t.takeSeen(e, gen); // a slot's Seen mark must not outlive this pass
      throw err;
    }
    t.takeDirty(); // every key is looked at below
    const all = t.refs();
    for (const e of all) if (!t.takeSeen(e, gen)) t.setHave(e, undefined);
    const ops = this.opsFor(all, undefined, all.length);
    let counts: [number, number, number] = [0, 0, 0];
    if (ops.n) counts = await this.send(handle, kind, ops);
    this.finish(kind, t0, ...counts);
  }

  /**
   * Hands `ops` to the socket in chunks growing from FIRST_CHUNK: the kernel starts on the first
   * routes of a large batch while the rest is still being encoded, instead of after all of it.
   * Resolves with [replaced, deleted, failed] once the kernel acked every chunk. A chunk that fails
   * as a whole marks its keys for a retry and rejects.
   */
  private async send(handle: NetlinkHandle, kind: SyncKind, ops: Ops): Promise<[number, number, number]> {
    const t = this.table;
    const parts: Array<Promise<[number, number, number]>> = [];
    const n = ops.n;
    for (let i = 0, size = FIRST_CHUNK; i < n; i += size, size = Math.min(size * 2, MAX_CHUNK)) {
      const from = i;
      const to = Math.min(n, i + size);
      let res: Promise<BatchResult>;
      try {
        // Encoded straight from the table: a slot's route is its template at its prefix, no object.
        res = handle.applyEncoded(to - from, (w, j, seq) => t.encodeOp(w, ops.refAt(from + j), ops.sentAt(from + j), ops.del[from + j] === 1, seq), { missingOk: true });
      } catch (err) {
        res = Promise.reject(err);
      }
      parts.push(
        res.then(
          (r) => this.applied(kind, ops, from, to, r),
          (err: unknown) => {
            for (let j = from; j < to; j++) {
              t.markDirty(t.acked(ops.refAt(j)));
              t.doneSent(ops.sentAt(j));
            }
            throw err;
          },
        ),
      );
      // Let the chunk's request reach the thread pool (a microtask in the handle) before encoding more.
      await Promise.resolve();
    }
    const out: [number, number, number] = [0, 0, 0];
    const results = await Promise.allSettled(parts);
    for (const r of results) {
      if (r.status === 'rejected') throw r.reason;
      const [a, d, f] = r.value;
      out[0] += a;
      out[1] += d;
      out[2] += f;
    }
    return out;
  }

  /** Records the outcome of ops [from, to) (one chunk) per entry; returns [replaced, deleted, failed]. */
  private applied(kind: SyncKind, ops: Ops, from: number, to: number, res: BatchResult): [number, number, number] {
    const t = this.table;
    for (const f of res.failures.slice(0, 5)) {
      const i = from + f.index;
      this.log.warn({ route: i < to ? t.keyOf(ops.refAt(i)) : undefined, op: ops.del[i] ? 'delete' : 'replace', errno: f.errnoName, reason: f.message }, 'route operation failed');
    }
    let fi = 0; // failures are sorted by index
    let replaced = 0;
    let deleted = 0;
    for (let i = from; i < to; i++) {
      const e = t.acked(ops.refAt(i));
      const sent = ops.sentAt(i);
      const del = ops.del[i] === 1;
      if (res.failures[fi]?.index === i - from) {
        while (res.failures[fi]?.index === i - from) fi++;
        netlinkErrors.inc({ op: del ? 'delete' : 'replace' });
        t.markDirty(e);
      } else {
        if (del) deleted++;
        else replaced++;
        // Changed again while this batch was in flight: the next pass sends the newer state.
        t.settle(e, sent, del);
      }
      t.doneSent(sent);
    }
    const failed = res.failures.length;
    if (kind === SyncKind.Repair) driftRepairs.inc(to - from - failed);
    if (failed) this.scheduleRetry();
    else this.retryDelay = this.opts.retryMs;
    if (t.dirtyCount && !failed) this.request(SyncKind.Incremental);
    return [replaced, deleted, failed];
  }

  private finish(kind: SyncKind, t0: number, replaced: number, deleted: number, failed: number): void {
    // The metrics and the log are the agent's (one kernel FIB): a dry run (the warm-up) stays out of both.
    if (this.options.dryRun) return void this.emit('synced', { kind, replaced, deleted, failed, stale: this.table.stale, durationMs: performance.now() - t0 });
    this.updateGauges();
    const result: SyncResult = { kind, replaced, deleted, failed, stale: this.table.stale, durationMs: performance.now() - t0 };
    if (replaced + deleted + failed > 0 || kind !== SyncKind.Incremental) this.log.info(result, 'fib sync');
    this.emit('synced', result);
  }

  private updateGauges(): void {
    routesInstalled.reset();
    for (const [table, [v4, v6]] of this.table.installed) {
      if (v4) routesInstalled.set({ table: String(table), family: 'ipv4' }, v4);
      if (v6) routesInstalled.set({ table: String(table), family: 'ipv6' }, v6);
    }
    routesStale.set(this.table.stale);
  }

  // ---- drift ----

  private onRouteEvent(ev: RouteEvent): void {
    const n = normalizeKernel(ev.route);
    const t = this.table;
    const ours = ev.route.protocol === this.protocol;
    let e = t.find(n.key);
    const want = e === undefined ? undefined : t.wantOf(e);
    let drift = false;
    if (ev.action === 'del') {
      if (!ours || e === undefined) return;
      const have = t.haveOf(e);
      if (have && (sameNorm(have, n) || (want && satisfies(want, n)))) t.setHave(e, undefined);
      drift = want !== undefined;
      if (!drift) t.dropIfEmpty(e);
    } else if (want && e !== undefined) {
      if (ours && satisfies(want, n)) {
        // A slot's kernel view is the wanted template when it matches (no copy of the route).
        if (typeof e === 'number') t.setHaveT(e, t.slots.want[e]!);
        else t.setHave(e, n);
      } else drift = true;
    } else if (ours) {
      e ??= t.entry(n.key);
      t.setHave(e, n);
      // Someone added a route with our protocol that we do not want: remove it (after convergence).
      drift = t.converged || (t.flagsOf(e) & EntryFlag.Withdrawn) !== 0;
    }
    if (!drift || e === undefined) return;
    t.markDirty(e);
    this.emit('drift', ev);
    this.scheduleRepair();
  }
}

/**
 * A pass's kernel ops, columnar (see opsFor): per op the entry (a slot number, or -1 - k for the k-th
 * Entry), what is sent (a slot's template id; an Entry's route object in objSent[k]), delete or not.
 */
class Ops {
  n = 0;
  readonly ref: Int32Array;
  readonly sent: Int32Array;
  readonly del: Uint8Array;
  private readonly objs: Entry[] = [];
  private readonly objSent: NormRoute[] = [];

  constructor(capacity: number) {
    this.ref = new Int32Array(capacity);
    this.sent = new Int32Array(capacity);
    this.del = new Uint8Array(capacity);
  }

  push(r: Ref, sent: Sent, del: boolean): void {
    const i = this.n++;
    if (typeof r === 'number') {
      this.ref[i] = r;
      this.sent[i] = sent as number;
    } else {
      this.ref[i] = -1 - this.objs.length;
      this.objs.push(r);
      this.objSent.push(sent as NormRoute);
    }
    this.del[i] = del ? 1 : 0;
  }

  refAt(i: number): Ref {
    const r = this.ref[i]!;
    return r >= 0 ? r : this.objs[-1 - r]!;
  }

  sentAt(i: number): Sent {
    const r = this.ref[i]!;
    return r >= 0 ? this.sent[i]! : this.objSent[-1 - r]!;
  }
}

function settle(waiters: Waiter[]): void {
  const now = performance.now();
  for (const w of waiters) {
    if (w.since >= 0) applySeconds.observe((now - w.since) / 1000);
    w.resolve();
  }
}

function namesDevice(r: Route): boolean {
  return r.nexthops?.some((h) => typeof h.dev === 'string') ?? false;
}

function rank(k: SyncKind): number {
  return k === SyncKind.Incremental ? 0 : k === SyncKind.Repair ? 1 : 2;
}
