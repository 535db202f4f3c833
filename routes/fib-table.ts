// The reconciler's per-route state: one map keyed by route key, one small object per key.
//
// A BGP table of 500k routes is the normal load, so the state per route is kept compact: one Entry per
// key (what each source wants, what the kernel has, a few flag bits) instead of one map per concern.
// The installed and stale counts the gauges need are kept as counters, updated on every change, so
// no pass ever walks the table to count.
//
// Two stores behind one interface: Entry objects (keyed by route key), and for the plain prefix
// routes of applyPrefixes (a BGP table) compact slots (prefix-table.ts): a route there is a slot
// number, its wanted and installed routes template ids. A `Ref` names either; the reconciler works
// on refs. A slot moves to an Entry (promote) as soon as it needs what only an Entry has.
import { RT_TABLE } from './netlink/constants.js';
import { encodeRoute, encodeRouteTo } from './netlink/route-codec.js';
import type { NlWriter } from './netlink/wire.js';
import type { KernelRoute, Route } from './netlink/types.js';
import { kernelSatisfies, satisfies, type NormRoute } from './route.js';
import { formatV4Num, parseV4Num, PrefixSlots, SlotFlag, Templates } from './prefix-table.js';

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

/** Normalized routes carry ifindexes only (an unknown name is -1, which the kernel rejects). */
const numericDev = (d: string | number): number => (typeof d === 'number' ? d : -1);

/** An entry of either store: an Entry object, or a compact slot number (prefix-table.ts). */
export type Ref = Entry | number;

/** What an op sent: the route object (Entry), or the template id (slot, one reference held). */
export type Sent = NormRoute | number;

/** The entries plus the counters derived from them. Every mutation goes through here. */
export class FibTable {
  readonly entries = new Map<string, Entry>();
  readonly slots = new PrefixSlots();
  readonly templates = new Templates();
  /** Slots moved to an Entry while ops for them were in flight: their acks go to the Entry. */
  private readonly forward = new Map<number, Entry>();
  /** Source name <-> id of the slots' `src` column (0 = none). */
  private readonly sourceIds = new Map<string, number>();
  private readonly sourceNames: string[] = [''];
  /** Entries queued for the next incremental pass (flag Dirty set). */
  private dirtyEntries: Entry[] = [];
  /** Slots queued likewise, a FIFO on a typed array: a table load queues 500k of them. */
  private dirtySlots = new Int32Array(1024);
  private dirtyHead = 0;
  private dirtyTail = 0;

  /** How many entries and slots are queued (a slot moved to an Entry may count twice). */
  get dirtyCount(): number {
    return this.dirtyEntries.length + this.dirtyTail - this.dirtyHead;
  }

  /** Whether a queued Entry names a device. */
  dirtyNamesDevice(): boolean {
    return this.devEntries.size > 0 && this.dirtyEntries.some((e) => this.devEntries.has(e));
  }
  /** Keys with at least one claim. */
  desired = 0;
  /** Installed routes per table: [IPv4, IPv6]. */
  readonly installed = new Map<number, [number, number]>();
  installedTotal = 0;
  /** Installed, unclaimed, not withdrawn, before convergence: kept for graceful restart. */
  stale = 0;
  /** Entries whose winning claim names a device. */
  readonly devEntries = new Set<Entry>();
  converged = false;

  /** v4Num keys of the Entries whose key is a plain IPv4 prefix (claimPrefix4 must not shadow them). */
  private readonly entryV4 = new Set<number>();

  get size(): number {
    return this.entries.size + this.slots.size;
  }

  private addEntry(key: string): Entry {
    const e = new Entry(key);
    this.entries.set(key, e);
    if (key.indexOf('|') < 0) {
      const k = parseV4Num(key);
      if (k >= 0) this.entryV4.add(k);
    }
    return e;
  }

  private removeEntry(e: Entry): void {
    this.entries.delete(e.key);
    if (this.entryV4.size && e.key.indexOf('|') < 0) this.entryV4.delete(parseV4Num(e.key));
  }

  sourceId(name: string): number {
    let id = this.sourceIds.get(name);
    if (id === undefined) {
      id = this.sourceNames.length;
      if (id > 0xff) throw new Error('too many route sources');
      this.sourceNames.push(name);
      this.sourceIds.set(name, id);
    }
    return id;
  }

  /** The entry or slot at `key`, if any. */
  find(key: string): Ref | undefined {
    const e = this.entries.get(key);
    if (e) return e;
    const s = this.slots.find(key);
    return s >= 0 ? s : undefined;
  }

  /** The entry or slot at `key`, created when missing (a slot when the key fits one). */
  entry(key: string): Ref {
    const r = this.find(key);
    if (r !== undefined) return r;
    if (PrefixSlots.fits(key)) return this.slots.add(key);
    return this.addEntry(key);
  }

  /** The Entry at `key` (a slot there is promoted), created when missing. */
  objEntry(key: string): Entry {
    let e = this.entries.get(key);
    if (e) return e;
    const s = this.slots.find(key);
    if (s >= 0) return this.promote(s);
    return this.addEntry(key);
  }

  keyOf(r: Ref): string {
    return typeof r === 'number' ? this.slots.keyOf(r) : r.key;
  }

  /** The wanted route (for a slot a new object: rare paths only). */
  wantOf(r: Ref): NormRoute | undefined {
    if (typeof r !== 'number') return r.want;
    const t = this.slots.want[r]!;
    return t < 0 ? undefined : this.templates.route(t, this.slots.keyOf(r));
  }

  haveOf(r: Ref): NormRoute | undefined {
    if (typeof r !== 'number') return r.have;
    const t = this.slots.have[r]!;
    return t < 0 ? undefined : this.templates.route(t, this.slots.keyOf(r));
  }

  flagsOf(r: Ref): number {
    return typeof r === 'number' ? this.slots.flags[r]! & (SlotFlag.Dirty | SlotFlag.Withdrawn) : r.flags;
  }

  /** `r` is in the dump of full sync `gen`. */
  setSeen(r: Ref, gen: number): void {
    if (typeof r === 'number') this.slots.flags[r]! |= SlotFlag.Seen;
    else r.seen = gen;
  }

  /** Whether `r` was in the dump of full sync `gen` (for a slot the mark is cleared: ask once per sync). */
  takeSeen(r: Ref, gen: number): boolean {
    if (typeof r !== 'number') return r.seen === gen;
    const f = this.slots.flags;
    const seen = (f[r]! & SlotFlag.Seen) !== 0;
    f[r]! &= ~SlotFlag.Seen;
    return seen;
  }

  /** Every entry and live slot (a copy: the caller may drop or promote while walking). */
  refs(): Ref[] {
    const out: Ref[] = [...this.entries.values()];
    this.slots.forEach((s) => out.push(s));
    return out;
  }

  isStale(r: Ref): boolean {
    if (typeof r === 'number') {
      const sl = this.slots;
      return !this.converged && sl.have[r]! >= 0 && sl.want[r]! < 0 && (sl.flags[r]! & SlotFlag.Withdrawn) === 0;
    }
    return !this.converged && r.have !== undefined && r.want === undefined && (r.flags & EntryFlag.Withdrawn) === 0;
  }

  markDirty(r: Ref): void {
    if (typeof r === 'number') {
      const f = this.slots.flags;
      if (f[r]! & SlotFlag.Dirty || !(f[r]! & SlotFlag.Live)) return;
      f[r]! |= SlotFlag.Dirty;
      if (this.dirtyTail === this.dirtySlots.length) {
        const live = this.dirtyTail - this.dirtyHead;
        const next = live * 2 > this.dirtySlots.length ? new Int32Array(this.dirtySlots.length * 2) : this.dirtySlots;
        next.copyWithin(0, this.dirtyHead, this.dirtyTail);
        if (next !== this.dirtySlots) next.set(this.dirtySlots.subarray(this.dirtyHead, this.dirtyTail));
        this.dirtySlots = next;
        this.dirtyHead = 0;
        this.dirtyTail = live;
      }
      this.dirtySlots[this.dirtyTail++] = r;
      return;
    }
    if (r.flags & EntryFlag.Dirty) return;
    r.flags |= EntryFlag.Dirty;
    this.dirtyEntries.push(r);
  }

  /**
   * Takes the queued entries and slots, at most `max` in all (flags cleared); the rest stay queued.
   * Slots come back in a typed array: a table load takes 500k of them, 32k per pass.
   */
  takeDirty(max = Infinity): { entries: Entry[]; slots: Int32Array } {
    let entries = this.dirtyEntries;
    if (entries.length > max) {
      this.dirtyEntries = entries.slice(max);
      entries = entries.slice(0, max);
    } else {
      this.dirtyEntries = [];
    }
    for (const e of entries) e.flags &= ~EntryFlag.Dirty;
    const f = this.slots.flags;
    const q = this.dirtySlots;
    const room = Math.min(max - entries.length, this.dirtyTail - this.dirtyHead);
    const slots = new Int32Array(room);
    let n = 0;
    while (this.dirtyHead < this.dirtyTail && n < room) {
      const r = q[this.dirtyHead++]!;
      // A slot promoted (or freed) since it was queued: its Entry is queued itself.
      if (!(f[r]! & SlotFlag.Dirty)) continue;
      f[r]! &= ~SlotFlag.Dirty;
      slots[n++] = r;
    }
    if (this.dirtyHead === this.dirtyTail) {
      this.dirtyHead = this.dirtyTail = 0;
      if (q.length > 65536) this.dirtySlots = new Int32Array(1024);
    }
    return { entries, slots: n < room ? slots.subarray(0, n) : slots };
  }

  setHave(r: Ref, n: NormRoute | undefined): void {
    if (typeof r === 'number') return this.setHaveT(r, n ? this.templates.intern(n) : -1);
    const old = r.have;
    if (old === n) return;
    const wasStale = this.isStale(r);
    if (old) this.count(old.table, old.family, -1);
    if (n) this.count(n.table, n.family, 1);
    r.have = n;
    this.stale += Number(this.isStale(r)) - Number(wasStale);
  }

  /** A slot's installed template (-1: none). */
  setHaveT(s: number, t: number): void {
    const sl = this.slots;
    const old = sl.have[s]!;
    if (old === t) return;
    const wasStale = this.isStale(s);
    const fam = sl.isV6(s) ? 6 : 4;
    if (t >= 0) {
      this.templates.ref(t);
      this.count(RT_TABLE.MAIN, fam, 1);
    }
    sl.have[s] = t;
    if (old >= 0) {
      this.count(RT_TABLE.MAIN, fam, -1);
      this.templates.unref(old);
    }
    this.stale += Number(this.isStale(s)) - Number(wasStale);
  }

  /** What a dumped kernel route at slot `s` says is installed: the wanted template when it satisfies it. */
  haveKernel(s: number, k: KernelRoute): void {
    const w = this.slots.want[s]!;
    this.setHaveT(s, w >= 0 && kernelSatisfies(this.templates.get(w), k) ? w : this.templates.internKernel(k));
  }

  private count(table: number, family: number, d: number): void {
    let c = this.installed.get(table);
    if (!c) this.installed.set(table, (c = [0, 0]));
    c[family === 4 ? 0 : 1] += d;
    this.installedTotal += d;
  }

  /**
   * `source`'s claim on the plain prefix route `key` with template `t` (applyPrefixes): a slot unless
   * the key already has an Entry or another source's claim.
   */
  claimPrefix(key: string, source: string, t: number): void {
    let e = this.entries.get(key);
    if (!e) {
      const sl = this.slots;
      let s = sl.find(key);
      if (s < 0 && PrefixSlots.fits(key)) s = sl.add(key);
      if (s >= 0) {
        const sid = this.sourceId(source);
        const cur = sl.src[s]!;
        if (cur === 0 || cur === sid) return this.setWant(s, sid, t);
        e = this.promote(s);
      } else {
        e = this.addEntry(key);
      }
    }
    this.claim(e, source, this.templates.route(t, key), undefined);
  }

  /** claimPrefix for an IPv4 destination given as a v4Num: no text unless an Entry has the key. */
  claimPrefix4(k: number, source: string, t: number): void {
    const sl = this.slots;
    if (this.entryV4.size && this.entryV4.has(k)) return this.claimPrefix(formatV4Num(k), source, t);
    let s = sl.find4(k);
    if (s < 0) s = sl.add4(k);
    const sid = this.sourceId(source);
    const cur = sl.src[s]!;
    if (cur !== 0 && cur !== sid) return this.claimPrefix(formatV4Num(k), source, t);
    this.setWant(s, sid, t);
  }

  /** Slot `s`, free or already `sid`'s, is claimed by `sid` with template `t`. */
  private setWant(s: number, sid: number, t: number): void {
    const sl = this.slots;
    // Once converged nothing is stale (isStale): no need to ask per prefix.
    const wasStale = this.converged ? false : this.isStale(s);
    const before = sl.want[s]!;
    if (sl.src[s] === 0) {
      this.desired++;
      sl.src[s] = sid;
    }
    if (before !== t) {
      this.templates.ref(t);
      sl.want[s] = t;
      if (before >= 0) this.templates.unref(before);
      this.markDirty(s);
    }
    sl.flags[s]! &= ~SlotFlag.Withdrawn;
    if (!this.converged) this.stale += Number(this.isStale(s)) - Number(wasStale);
  }

  /** The entry or slot of an IPv4 destination given as a v4Num, if any. */
  find4(k: number): Ref | undefined {
    if (this.entryV4.size && this.entryV4.has(k)) return this.entries.get(formatV4Num(k));
    const s = this.slots.find4(k);
    return s >= 0 ? s : undefined;
  }

  /** Moves slot `s` to an Entry with the same state (counters unchanged). */
  private promote(s: number): Entry {
    const sl = this.slots;
    const key = sl.keyOf(s);
    const e = new Entry(key);
    const w = sl.want[s]!;
    const h = sl.have[s]!;
    if (w >= 0) {
      e.source = this.sourceNames[sl.src[s]!];
      e.want = this.templates.route(w, key);
      this.templates.unref(w);
    }
    if (h >= 0) {
      e.have = h === w ? e.want : this.templates.route(h, key);
      this.templates.unref(h);
    }
    const f = sl.flags[s]!;
    e.flags = f & SlotFlag.Withdrawn ? EntryFlag.Withdrawn : 0;
    // (The Seen mark only lives within a full sync's synchronous dump-and-diff: it is clear here.)
    sl.want[s] = -1;
    sl.have[s] = -1;
    sl.src[s] = 0;
    this.entries.set(key, e);
    if (!sl.isV6(s)) this.entryV4.add(parseV4Num(key));
    const inflight = sl.inflight[s]! > 0;
    sl.unlink(s);
    if (inflight) this.forward.set(s, e);
    if (f & SlotFlag.Dirty) this.markDirty(e);
    return e;
  }

  /**
   * An op for `r` goes to the kernel: a slot is kept (not freed) until its ack, and the op's template
   * holds a reference. Returns what to record as sent.
   */
  sending(r: Ref, del: boolean): Sent {
    if (typeof r !== 'number') return (del ? r.have : r.want) as NormRoute;
    const sl = this.slots;
    // A delete names the route the kernel will have when the ops before it are done.
    const t = del ? (sl.inflight[r]! > 0 ? sl.pend[r]! : sl.have[r]!) : sl.want[r]!;
    sl.inflight[r]!++;
    sl.pend[r] = del ? -1 : t;
    this.templates.ref(t);
    return t;
  }

  /** Appends the request of an op (see sending) to `w`; returns `del`. */
  encodeOp(w: NlWriter, r: Ref, sent: Sent, del: boolean, seq: number): boolean {
    const op = del ? 'delete' : 'replace';
    if (typeof sent !== 'number') {
      encodeRoute(w, op, sent, seq, numericDev);
      return del;
    }
    const s = r as number;
    const sl = this.slots;
    const t = this.templates.get(sent);
    if (sl.isV6(s)) encodeRoute(w, op, this.templates.route(sent, sl.keyOf(s)), seq, numericDev);
    else encodeRouteTo(w, op, t, 4, sl.addr[s]! >>> 0, undefined, sl.len[s]!, seq, numericDev);
    return del;
  }

  /**
   * The ack (or failure) of an op for `r` is in: returns where its outcome goes (a promoted slot's
   * Entry) and, for a slot, the template id the op sent (its reference is the caller's to drop with
   * `doneSent`).
   */
  acked(r: Ref): Ref {
    if (typeof r !== 'number') return r;
    const sl = this.slots;
    sl.inflight[r]!--;
    if (!(sl.flags[r]! & SlotFlag.Zombie)) return r;
    const e = this.forward.get(r)!;
    if (sl.inflight[r] === 0) {
      this.forward.delete(r);
      sl.release(r);
    }
    return e;
  }

  doneSent(sent: Sent): void {
    if (typeof sent === 'number') this.templates.unref(sent);
  }

  /**
   * Records an acked op: the kernel has what was sent (undefined: deleted). Marks the entry dirty when
   * it changed again meanwhile, else drops it when empty.
   */
  settle(r: Ref, sent: Sent, del: boolean): void {
    if (typeof r === 'number') {
      const t = del ? -1 : (sent as number);
      this.setHaveT(r, t);
      if (this.slots.want[r] !== t) this.markDirty(r);
      else this.dropIfEmpty(r);
      return;
    }
    const n = del ? undefined : typeof sent === 'number' ? this.templates.route(sent, r.key) : sent;
    this.setHave(r, n);
    // A promoted slot's op: its route object is new, so compare by value.
    if (typeof sent === 'number' ? !(n && r.want ? sameNorm(r.want, n) : n === r.want) : r.want !== n) this.markDirty(r);
    else this.dropIfEmpty(r);
  }

  /** The op that takes `r` from what the kernel has to what is wanted: 1 replace, 2 delete, 0 none. */
  opOf(r: Ref): 0 | 1 | 2 {
    if (typeof r === 'number') {
      const sl = this.slots;
      const w = sl.want[r]!;
      // Diffed against what the kernel will have once the ops in flight are done: a change made
      // while its key is in flight goes out now (the socket keeps the order), so the caller's
      // promise resolves when the kernel has it, not one batch early.
      const h = sl.inflight[r]! > 0 ? sl.pend[r]! : sl.have[r]!;
      if (w >= 0) return h < 0 || !this.templates.satisfies(w, h) ? 1 : 0;
      if (h >= 0 && (this.converged || sl.flags[r]! & SlotFlag.Withdrawn)) return 2;
      return 0;
    }
    const want = r.want;
    const have = r.have;
    if (want) return !have || !satisfies(want, have) ? 1 : 0;
    if (have && (this.converged || r.flags & EntryFlag.Withdrawn)) return 2;
    return 0;
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

  /** Drops `source`'s claim on `r`, if any. */
  unclaim(r: Ref, source: string): void {
    if (typeof r === 'number') {
      const sl = this.slots;
      if (sl.src[r] === 0 || this.sourceIds.get(source) !== sl.src[r]) return;
      const wasStale = this.isStale(r);
      const w = sl.want[r]!;
      sl.src[r] = 0;
      sl.want[r] = -1;
      this.templates.unref(w);
      this.desired--;
      sl.flags[r]! |= SlotFlag.Withdrawn;
      this.markDirty(r);
      this.stale += Number(this.isStale(r)) - Number(wasStale);
      return;
    }
    const e = r;
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
  dropIfEmpty(r: Ref): void {
    if (typeof r === 'number') {
      const sl = this.slots;
      if (sl.want[r]! < 0 && sl.have[r]! < 0 && (sl.flags[r]! & (SlotFlag.Dirty | SlotFlag.Live)) === SlotFlag.Live && sl.inflight[r] === 0) sl.unlink(r);
      return;
    }
    if (r.want === undefined && r.have === undefined && (r.flags & EntryFlag.Dirty) === 0) {
      // Only the current entry of its key (an Entry may outlive its place: acks of a dropped one).
      if (this.entries.get(r.key) === r) this.removeEntry(r);
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
