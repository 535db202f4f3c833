// The FIB reconciler: makes the kernel's routes with our protocol number equal to the desired set.
//
// Ownership and concurrency rules:
// - Only routes with `protocol` (UPLINK_RT_PROTO) are ever read as ours, replaced or deleted; a route of
//   another protocol is only overwritten when it sits at a key we want (desired state wins there).
// - Only the leader writes (`elector`); a standby keeps its desired set and does a full sync when
//   elected.
// - One sync runs at a time; requests made meanwhile coalesce into the next one.
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
import type { Route, RouteEvent, RouteOp } from './netlink/types.js';
import type { LeaderElector } from './leader.js';
import { applySeconds, driftRepairs, leaderState, netlinkErrors, routesInstalled, routesStale, syncsTotal } from './metrics.js';
import { normalize, normalizeKernel, satisfies, type NormRoute } from './route.js';

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

export class FibReconciler extends EventEmitter<ReconcilerEvents> {
  private readonly log = logger('routes.reconciler');
  private readonly protocol: number;
  private readonly opts: Required<Omit<ReconcilerOptions, 'elector' | 'netns'>>;
  private handle: NetlinkHandle | undefined;
  private watcher: RouteWatcher | undefined;
  /** source -> route key -> the caller's route (first of a key within one setDesired wins). */
  private readonly sources = new Map<string, Map<string, Route>>();
  /** Source names sorted: on a key wanted by several sources the first name wins. */
  private sourceOrder: string[] = [];
  private desired = new Map<string, NormRoute>();
  /** The caller's route per desired key, to re-resolve device names when links change. */
  private desiredRaw = new Map<string, Route>();
  /** Our routes as the kernel has them (last dump, plus our acked ops, plus events). */
  private readonly installed = new Map<string, NormRoute>();
  /** Keys that left the desired set during this run: deletable even before convergence. */
  private readonly withdrawn = new Set<string>();
  private readonly dirty = new Set<string>();
  private links = new Map<string, number>();
  private converged = false;
  private pending: SyncKind | undefined;
  private running: Promise<void> | undefined;
  private looping = false;
  private waiters: Waiter[] = [];
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
   * Replaces the whole route set of one source ("rib", "pods", ...). Sources are merged; when two
   * claim the same key the source whose name sorts first wins. Resolves once the kernel acked the
   * change (or at once on a standby).
   */
  setDesired(source: string, routes: Route[]): Promise<void> {
    const m = new Map<string, Route>();
    for (const r of routes) {
      const k = normalize(r, this.resolveDev).key;
      if (!m.has(k)) m.set(k, r);
    }
    this.setSource(source, m);
    return this.recompute();
  }

  removeSource(source: string): Promise<void> {
    this.sources.delete(source);
    this.sourceOrder = [...this.sources.keys()].sort();
    return this.recompute();
  }

  /**
   * Incremental form of setDesired for one source: `upserts` add or replace routes by key, `removals`
   * (only their key fields matter: dst, table, metric) leave. Costs O(changes), not O(desired set),
   * so a BGP speaker can hand over each Loc-RIB batch as it comes.
   */
  applyChanges(source: string, upserts: readonly Route[], removals: readonly Route[]): Promise<void> {
    let src = this.sources.get(source);
    if (!src) this.setSource(source, (src = new Map()));
    const touched: string[] = [];
    for (const r of removals) {
      const k = normalize(r, this.resolveDev).key;
      if (src.delete(k)) touched.push(k);
    }
    for (const r of upserts) {
      const k = normalize(r, this.resolveDev).key;
      src.set(k, r);
      touched.push(k);
    }
    for (const k of touched) this.resolveKey(k);
    return this.kick();
  }

  private setSource(source: string, routes: Map<string, Route>): void {
    const isNew = !this.sources.has(source);
    this.sources.set(source, routes);
    if (isNew) this.sourceOrder = [...this.sources.keys()].sort();
  }

  /** Re-decide one key across the sources (as recompute does for all). */
  private resolveKey(k: string): void {
    let winner: Route | undefined;
    for (const name of this.sourceOrder) {
      winner = this.sources.get(name)?.get(k);
      if (winner) break;
    }
    const old = this.desired.get(k);
    if (winner) {
      const n = normalize(winner, this.resolveDev);
      if (!old || !sameNorm(old, n)) this.dirty.add(k);
      this.desired.set(k, n);
      this.desiredRaw.set(k, winner);
      this.withdrawn.delete(k);
    } else if (old) {
      this.desired.delete(k);
      this.desiredRaw.delete(k);
      this.dirty.add(k);
      this.withdrawn.add(k);
    }
  }

  private recompute(): Promise<void> {
    const next = new Map<string, NormRoute>();
    const raw = new Map<string, Route>();
    for (const name of this.sourceOrder) {
      for (const r of this.sources.get(name)?.values() ?? []) {
        const n = normalize(r, this.resolveDev);
        if (!next.has(n.key)) {
          next.set(n.key, n);
          raw.set(n.key, r);
        }
      }
    }
    for (const [k, n] of next) {
      const old = this.desired.get(k);
      if (!old || !sameNorm(old, n)) this.dirty.add(k);
      this.withdrawn.delete(k);
    }
    for (const k of this.desired.keys()) {
      if (!next.has(k)) {
        this.dirty.add(k);
        this.withdrawn.add(k);
      }
    }
    this.desired = next;
    this.desiredRaw = raw;
    return this.kick();
  }

  private kick(): Promise<void> {
    if (!this.canWrite) return Promise.resolve();
    const done = new Promise<void>((resolve) => this.waiters.push({ since: performance.now(), resolve }));
    this.request(SyncKind.Incremental);
    return done;
  }

  /** All peers sent End-of-RIB: stale routes that are still unwanted may now go. */
  async markConverged(): Promise<void> {
    if (this.converged) return;
    this.converged = true;
    this.withdrawn.clear();
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
    await this.running;
    for (const w of this.waiters.splice(0)) w.resolve();
    await this.handle?.close();
    this.handle = undefined;
  }

  status(): { desired: number; installed: number; stale: number; converged: boolean; leader: boolean } {
    return {
      desired: this.desired.size,
      installed: this.installed.size,
      stale: this.staleCount(),
      converged: this.converged,
      leader: this.canWrite,
    };
  }

  private staleCount(): number {
    if (this.converged) return 0;
    let n = 0;
    for (const k of this.installed.keys()) if (!this.desired.has(k) && !this.withdrawn.has(k)) n++;
    return n;
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
    this.request(kind);
    while (this.looping) await this.running;
  }

  private async loop(): Promise<void> {
    try {
      while (this.pending !== undefined && this.canWrite) {
        const kind = this.pending;
        this.pending = undefined;
        const waiters = this.waiters.splice(0);
        try {
          await this.sync(kind);
        } catch (err) {
          netlinkErrors.inc({ op: 'sync' });
          this.log.error({ err }, 'sync failed');
          if (this.listenerCount('error') > 0) this.emit('error', err as Error);
          this.scheduleRetry();
        }
        const now = performance.now();
        for (const w of waiters) {
          applySeconds.observe((now - w.since) / 1000);
          w.resolve();
        }
      }
    } finally {
      // Same tick as the last `pending` check: no request can fall between the two.
      this.looping = false;
      // Writes stopped (lost leadership, stop()): callers waiting on a change must not hang.
      if (!this.canWrite) for (const w of this.waiters.splice(0)) w.resolve();
    }
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

  // ---- one pass ----

  private readonly resolveDev = (d: string | number): number | undefined => (typeof d === 'number' ? d : this.links.get(d));

  /**
   * Reloads name -> ifindex and re-resolves desired routes that name a device: a pod's veth recreated
   * under the same name has a new ifindex (and IPv4 routes through the old one vanished with it,
   * without a notification).
   */
  private async refreshLinks(): Promise<void> {
    if (!this.handle) return;
    this.links = new Map((await this.handle.listLinks()).map((l) => [l.name, l.index]));
    for (const [k, r] of this.desiredRaw) {
      if (!namesDevice(r)) continue;
      const n = normalize(r, this.resolveDev);
      const old = this.desired.get(k);
      if (!old || !sameNorm(old, n)) {
        this.desired.set(k, n);
        this.dirty.add(k);
      }
    }
  }

  private async sync(kind: SyncKind): Promise<void> {
    const handle = this.handle;
    if (!handle) return;
    const t0 = performance.now();
    syncsTotal.inc({ kind });
    let keys: Iterable<string>;
    if (kind === SyncKind.Incremental) {
      // Device names are resolved against a fresh link list whenever a changed route uses one.
      if ([...this.dirty].some((k) => namesDevice(this.desiredRaw.get(k)))) await this.refreshLinks();
      keys = [...this.dirty];
    } else {
      await this.refreshLinks();
      const dumped = await handle.dumpRoutes({ protocol: this.protocol });
      this.installed.clear();
      for (const k of dumped) {
        const n = normalizeKernel(k);
        this.installed.set(n.key, n);
      }
      keys = unionKeys(this.desired, this.installed);
    }
    this.dirty.clear();
    const ops: RouteOp[] = [];
    const opKeys: string[] = [];
    for (const k of keys) {
      const want = this.desired.get(k);
      const have = this.installed.get(k);
      if (want) {
        if (!have || !satisfies(want, have)) {
          // A NormRoute is a Route with every field filled in: encoded as is, no copy.
          ops.push({ op: 'replace', route: want });
          opKeys.push(k);
        }
      } else if (have && (this.converged || this.withdrawn.has(k))) {
        ops.push({ op: 'delete', route: have });
        opKeys.push(k);
      }
    }
    let failed = 0;
    let replaced = 0;
    let deleted = 0;
    if (ops.length) {
      const res = await handle.applyRoutes(ops, { missingOk: true });
      const bad = new Set(res.failures.map((f) => f.index));
      for (const f of res.failures.slice(0, 5)) {
        this.log.warn({ route: ops[f.index]?.route.dst, op: ops[f.index]?.op, errno: f.errnoName, reason: f.message }, 'route operation failed');
      }
      ops.forEach((o, i) => {
        const k = opKeys[i] ?? '';
        if (bad.has(i)) {
          failed++;
          netlinkErrors.inc({ op: o.op });
          this.dirty.add(k);
          return;
        }
        if (o.op === 'delete') {
          deleted++;
          this.installed.delete(k);
        } else {
          replaced++;
          const want = this.desired.get(k);
          if (want) this.installed.set(k, want);
        }
      });
      if (kind === SyncKind.Repair) driftRepairs.inc(ops.length - failed);
      if (failed) this.scheduleRetry();
      else this.retryDelay = this.opts.retryMs;
    }
    this.updateGauges();
    const result: SyncResult = { kind, replaced, deleted, failed, stale: this.staleCount(), durationMs: performance.now() - t0 };
    if (ops.length || kind !== SyncKind.Incremental) this.log.info(result, 'fib sync');
    this.emit('synced', result);
  }

  private updateGauges(): void {
    // table -> [ipv4 count, ipv6 count]
    const counts = new Map<number, [number, number]>();
    for (const n of this.installed.values()) {
      let c = counts.get(n.table);
      if (!c) counts.set(n.table, (c = [0, 0]));
      c[n.family === 4 ? 0 : 1]++;
    }
    routesInstalled.reset();
    for (const [table, [v4, v6]] of counts) {
      if (v4) routesInstalled.set({ table: String(table), family: 'ipv4' }, v4);
      if (v6) routesInstalled.set({ table: String(table), family: 'ipv6' }, v6);
    }
    routesStale.set(this.staleCount());
  }

  // ---- drift ----

  private onRouteEvent(ev: RouteEvent): void {
    const n = normalizeKernel(ev.route);
    const want = this.desired.get(n.key);
    const ours = ev.route.protocol === this.protocol;
    let drift = false;
    if (ev.action === 'del') {
      if (!ours) return;
      const have = this.installed.get(n.key);
      if (have && sameNorm(have, n)) this.installed.delete(n.key);
      else if (have && want && satisfies(want, n)) this.installed.delete(n.key);
      drift = want !== undefined;
    } else if (want) {
      if (ours && satisfies(want, n)) this.installed.set(n.key, n);
      else drift = true;
    } else if (ours) {
      this.installed.set(n.key, n);
      // Someone added a route with our protocol that we do not want: remove it (after convergence).
      drift = this.converged || this.withdrawn.has(n.key);
    }
    if (!drift) return;
    this.dirty.add(n.key);
    this.emit('drift', ev);
    this.scheduleRepair();
  }
}

function namesDevice(r: Route | undefined): boolean {
  return r?.nexthops?.some((h) => typeof h.dev === 'string') ?? false;
}

function* unionKeys(a: Map<string, unknown>, b: Map<string, unknown>): Generator<string> {
  yield* a.keys();
  for (const k of b.keys()) if (!a.has(k)) yield k;
}

function rank(k: SyncKind): number {
  return k === SyncKind.Incremental ? 0 : k === SyncKind.Repair ? 1 : 2;
}

function sameNorm(a: NormRoute, b: NormRoute): boolean {
  return satisfies(a, b) && satisfies(b, a);
}
