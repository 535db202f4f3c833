// The reconciler's per-route state: one map keyed by route key, one small object per key.
//
// A BGP table of 500k routes is the normal load, so the state per route is kept compact: one Entry per
// key (what each source wants, what the kernel has, a few flag bits) instead of one map per concern.
// The installed and stale counts the gauges need are kept as counters, updated on every change, so
// no pass ever walks the table to count.
import type { Route } from './netlink/types.js';
import { satisfies, type NormRoute } from './route.js';

/** One source's route at a key. */
export interface Claim {
  source: string;
  want: NormRoute;
  /** The caller's route, kept only when it names a device (re-resolved when links change). */
  raw: Route | undefined;
  next: Claim | undefined;
}

export const EntryFlag = {
  /** Queued in the dirty list for the next incremental pass. */
  Dirty: 1,
  /** Left the desired set during this run: deletable even before convergence. */
  Withdrawn: 2,
} as const;

/**
 * The claims on a key are a list sorted by source name whose head wins the key. The head lives in the
 * entry itself (source, want, raw): nearly every key has a single claim (the RIB's), so no extra object
 * per route; further claims hang off `next`.
 */
export class Entry {
  source: string | undefined = undefined;
  want: NormRoute | undefined = undefined;
  raw: Route | undefined = undefined;
  next: Claim | undefined = undefined;
  /** Our route as the kernel has it (last dump, plus our acked ops, plus events). */
  have: NormRoute | undefined = undefined;
  flags = 0;
  /** Generation of the last full sync that saw this key in the kernel dump. */
  seen = 0;
  constructor(readonly key: string) {}

  /** Every claim, head first (a copy: for the rare walks that may re-claim). */
  claims(): Claim[] {
    const out: Claim[] = [];
    if (this.source !== undefined && this.want) out.push({ source: this.source, want: this.want, raw: this.raw, next: undefined });
    for (let c = this.next; c; c = c.next) out.push(c);
    return out;
  }
}

/** The entries plus the counters derived from them. Every mutation goes through here. */
export class FibTable {
  readonly entries = new Map<string, Entry>();
  /** Entries queued for the next incremental pass (flag Dirty set). */
  dirty: Entry[] = [];
  /** Entries with at least one claim. */
  desired = 0;
  /** Installed routes per table: [IPv4, IPv6]. */
  readonly installed = new Map<number, [number, number]>();
  installedTotal = 0;
  /** Installed, unclaimed, not withdrawn, before convergence: kept for graceful restart. */
  stale = 0;
  /** Entries whose winning claim names a device. */
  readonly devEntries = new Set<Entry>();
  converged = false;

  entry(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = new Entry(key)));
    return e;
  }

  isStale(e: Entry): boolean {
    return !this.converged && e.have !== undefined && e.want === undefined && (e.flags & EntryFlag.Withdrawn) === 0;
  }

  markDirty(e: Entry): void {
    if (e.flags & EntryFlag.Dirty) return;
    e.flags |= EntryFlag.Dirty;
    this.dirty.push(e);
  }

  /** Takes the dirty list (flags cleared). */
  takeDirty(): Entry[] {
    const d = this.dirty;
    this.dirty = [];
    for (const e of d) e.flags &= ~EntryFlag.Dirty;
    return d;
  }

  setHave(e: Entry, n: NormRoute | undefined): void {
    const old = e.have;
    if (old === n) return;
    const wasStale = this.isStale(e);
    if (old) this.count(old, -1);
    if (n) this.count(n, 1);
    e.have = n;
    this.stale += Number(this.isStale(e)) - Number(wasStale);
  }

  private count(n: NormRoute, d: number): void {
    let c = this.installed.get(n.table);
    if (!c) this.installed.set(n.table, (c = [0, 0]));
    c[n.family === 4 ? 0 : 1] += d;
    this.installedTotal += d;
  }

  /**
   * Sets (or replaces) `source`'s claim on `e`. Marks the entry dirty when the winning route changed.
   */
  claim(e: Entry, source: string, want: NormRoute, raw: Route | undefined): void {
    const wasStale = this.isStale(e);
    const before = e.want;
    if (e.source === undefined) {
      this.desired++;
      e.source = source;
      e.want = want;
      e.raw = raw;
    } else if (e.source === source) {
      // An unchanged route keeps its object: what the kernel has may be that very object.
      if (!e.want || !sameNorm(e.want, want)) e.want = want;
      e.raw = raw;
    } else if (source < e.source) {
      // The new claim wins: the old head moves into the list.
      e.next = { source: e.source, want: e.want as NormRoute, raw: e.raw, next: e.next };
      e.source = source;
      e.want = want;
      e.raw = raw;
    } else {
      let prev: Claim | undefined;
      let c = e.next;
      while (c && c.source < source) {
        prev = c;
        c = c.next;
      }
      if (c && c.source === source) {
        if (!sameNorm(c.want, want)) c.want = want;
        c.raw = raw;
      } else {
        const n: Claim = { source, want, raw, next: c };
        if (prev) prev.next = n;
        else e.next = n;
      }
    }
    e.flags &= ~EntryFlag.Withdrawn;
    this.afterClaims(e, before, wasStale);
  }

  /** Drops `source`'s claim on `e`, if any. */
  unclaim(e: Entry, source: string): void {
    if (e.source === undefined) return;
    const wasStale = this.isStale(e);
    const before = e.want;
    if (e.source === source) {
      const n = e.next;
      e.source = n?.source;
      e.want = n?.want;
      e.raw = n?.raw;
      e.next = n?.next;
      if (!n) {
        this.desired--;
        e.flags |= EntryFlag.Withdrawn;
      }
    } else {
      let prev: Claim | undefined;
      let c = e.next;
      while (c && c.source !== source) {
        prev = c;
        c = c.next;
      }
      if (!c) return;
      if (prev) prev.next = c.next;
      else e.next = c.next;
    }
    this.afterClaims(e, before, wasStale);
  }

  private afterClaims(e: Entry, before: NormRoute | undefined, wasStale: boolean): void {
    const after = e.want;
    if (after !== before && (!after || !before || !sameNorm(after, before))) this.markDirty(e);
    let dev = e.raw !== undefined;
    for (let c = e.next; c && !dev; c = c.next) dev = c.raw !== undefined;
    if (dev) this.devEntries.add(e);
    else if (this.devEntries.size) this.devEntries.delete(e);
    this.stale += Number(this.isStale(e)) - Number(wasStale);
  }

  /** Forgets an entry that holds nothing any more (no claim, nothing installed, not queued). */
  dropIfEmpty(e: Entry): void {
    if (e.want === undefined && e.have === undefined && (e.flags & EntryFlag.Dirty) === 0) {
      this.entries.delete(e.key);
    }
  }

  setConverged(): void {
    this.converged = true;
    this.stale = 0;
  }
}

export function sameNorm(a: NormRoute, b: NormRoute): boolean {
  return satisfies(a, b) && satisfies(b, a);
}
