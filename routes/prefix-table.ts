// Compact per-route state for plain prefix routes (a BGP table): columns on typed arrays, keyed by
// prefix integers, the route's attributes as an interned template id.
//
// Why: a table is 500k routes in the main table at the default metric over a handful of next-hop
// sets, all claimed by one source. An Entry object, a NormRoute per route and a string key in a Map
// cost ~500 bytes a route; here a route is one slot (~21 bytes of columns plus its hash slot), what it
// wants and what the kernel has are template ids (a template = every field of a NormRoute but the
// destination, shared by all routes through the same next hops), and the key is the prefix itself
// (IPv4: address and length in an int map per length; IPv6: the canonical text in a Map).
//
// What lives here: routes at a key that is its destination alone (main table, default metric: route.ts
// routeKey), claimed by at most one source through applyPrefixes, or only seen in the kernel. Anything
// else (a second source at the key, a next hop naming a device) is moved to an Entry (fib-table.ts
// promote) and stays there.
import { IntMap } from '../lib/int-map.js';
import { parseV4 } from './netlink/addr.js';
import type { KernelRoute } from './netlink/types.js';
import { normalizeKernel, satisfies, type NormRoute } from './route.js';

export const SlotFlag = {
  /** Queued in the dirty list (as EntryFlag.Dirty). */
  Dirty: 1,
  /** Left the desired set during this run (as EntryFlag.Withdrawn). */
  Withdrawn: 2,
  /** The slot holds a key. */
  Live: 4,
  /** Moved to an Entry while kernel ops for it were in flight: kept until their acks. */
  Zombie: 8,
  V6: 16,
  /** In the dump of the full sync in progress (cleared when it is done). */
  Seen: 32,
} as const;

/**
 * Interned route templates: a NormRoute without key and destination. Ids are small ints; every id
 * stored in a column (or held by an op in flight) holds one reference; at zero the id is reused.
 */
export class Templates {
  private readonly list: (NormRoute | undefined)[] = [];
  private readonly sigs: string[] = [];
  private readonly refs: number[] = [];
  private readonly ids = new Map<string, number>();
  private readonly free: number[] = [];
  /** want * 2^21 + have -> satisfies(want, have); cleared when an id is freed. */
  private sat = new Map<number, boolean>();

  get size(): number {
    return this.ids.size;
  }

  /** The id of `n`'s template (key and destination ignored), no reference taken. */
  intern(n: NormRoute): number {
    const sig = signature(n);
    let id = this.ids.get(sig);
    if (id !== undefined) return id;
    id = this.free.pop() ?? this.list.length;
    const t: NormRoute = { key: '', family: n.family, dst: '', table: n.table, metric: n.metric, protocol: n.protocol, type: n.type, scope: n.scope, nexthops: n.nexthops };
    if (n.src !== undefined) t.src = n.src;
    this.list[id] = t;
    this.sigs[id] = sig;
    this.refs[id] = 0;
    this.ids.set(sig, id);
    return id;
  }

  get(id: number): NormRoute {
    return this.list[id]!;
  }

  ref(id: number): void {
    this.refs[id]!++;
  }

  unref(id: number): void {
    if (--this.refs[id]! > 0) return;
    this.ids.delete(this.sigs[id]!);
    this.list[id] = undefined;
    this.sigs[id] = '';
    this.free.push(id);
    if (this.sat.size) this.sat = new Map();
  }

  /** route.ts `satisfies` of two templates at the same key, cached. */
  satisfies(want: number, have: number): boolean {
    if (want === have) return true;
    const k = want * 2097152 + have;
    let s = this.sat.get(k);
    if (s === undefined) {
      s = satisfies(this.list[want]!, this.list[have]!);
      this.sat.set(k, s);
    }
    return s;
  }

  /** Template `id` at destination `dst` as a NormRoute (a new object: only for the rare paths). */
  route(id: number, dst: string): NormRoute {
    const t = this.list[id]!;
    const n: NormRoute = { key: dst, family: t.family, dst, table: t.table, metric: t.metric, protocol: t.protocol, type: t.type, scope: t.scope, nexthops: t.nexthops };
    if (t.src !== undefined) n.src = t.src;
    return n;
  }

  /** The template of a kernel route (normalized as normalizeKernel does). */
  internKernel(k: KernelRoute): number {
    return this.intern(normalizeKernel(k));
  }
}

function signature(n: NormRoute): string {
  let s = `${n.family}|${n.table}|${n.metric}|${n.protocol}|${n.type}|${n.scope}|${n.src ?? ''}`;
  for (const h of n.nexthops) s += `|${h.gateway ?? ''},${h.via ?? ''},${h.dev ?? ''},${h.weight},${h.onlink ? 1 : 0}`;
  return s;
}

const OCTET_DOT = Array.from({ length: 256 }, (_, i) => `${i}.`);

/** "a.b.c.d/len" of a host-order address. */
export function formatV4(addr: number, len: number): string {
  return OCTET_DOT[addr >>> 24]! + OCTET_DOT[(addr >>> 16) & 255]! + OCTET_DOT[(addr >>> 8) & 255]! + String(addr & 255) + '/' + String(len);
}

const TWO32 = 4294967296;

/** An IPv4 prefix as one number: len * 2^32 + host-order address (bgpd/rib/prefix.ts v4Key). */
export function v4Num(addr: number, len: number): number {
  return len * TWO32 + (addr >>> 0);
}

/** The text of a v4Num. */
export function formatV4Num(k: number): string {
  const len = Math.floor(k / TWO32);
  return formatV4(k - len * TWO32, len);
}

/** The v4Num of a canonical IPv4 prefix text, or -1. */
export function parseV4Num(key: string): number {
  const slash = key.indexOf('/');
  if (slash < 0) return -1;
  const a = parseV4(key, 0, slash);
  if (a < 0) return -1;
  const len = lenOf(key, slash);
  return len >= 0 && len <= 32 ? v4Num(a, len) : -1;
}

/** The slots: one per key, columns indexed by slot. */
export class PrefixSlots {
  /** IPv4: address (as int32) of the slot's key; its length in `len`. */
  addr = new Int32Array(1024);
  len = new Uint8Array(1024);
  /** Claiming source id (0 = none, see sourceId). */
  src = new Uint8Array(1024);
  /** Wanted template id, -1 = none. */
  want = new Int32Array(1024).fill(-1);
  /** Template the kernel has at the key, -1 = none. */
  have = new Int32Array(1024).fill(-1);
  flags = new Uint8Array(1024);
  /** Kernel ops sent for the slot and not yet acked (at most one per batch in flight). */
  inflight = new Uint8Array(1024);
  /** While ops are in flight: the template the last one sent installs (-1: it deletes). */
  pend = new Int32Array(1024);
  private readonly v4 = new Array<IntMap | undefined>(33);
  private readonly v6 = new Map<string, number>();
  /** IPv6 slot -> its key. */
  private readonly v6Keys = new Map<number, string>();
  private readonly freeList: number[] = [];
  private top = 0;
  private live = 0;

  get size(): number {
    return this.live;
  }

  /** The slot of `key` (a main-table default-metric route key, i.e. a canonical prefix), or -1. */
  find(key: string): number {
    if (this.live === 0) return -1;
    const slash = key.indexOf('/');
    if (slash < 0) return -1;
    const a = parseV4(key, 0, slash);
    if (a >= 0) {
      const len = lenOf(key, slash);
      if (len < 0 || len > 32) return -1;
      return this.v4[len]?.get(a | 0) ?? -1;
    }
    return this.v6.get(key) ?? -1;
  }

  /** The slot of an IPv4 prefix given as a v4Num, or -1. */
  find4(k: number): number {
    if (this.live === 0) return -1;
    const len = Math.floor(k / TWO32);
    return this.v4[len]?.get((k - len * TWO32) | 0) ?? -1;
  }

  /** A new slot for the IPv4 prefix `k` (a v4Num, not here). */
  add4(k: number): number {
    const len = Math.floor(k / TWO32);
    const a = (k - len * TWO32) | 0;
    const s = this.freeList.pop() ?? this.grow();
    this.indexV4(s, a, len);
    return this.reset(s, SlotFlag.Live);
  }

  private indexV4(s: number, a: number, len: number): void {
    this.addr[s] = a;
    this.len[s] = len;
    (this.v4[len] ??= new IntMap()).set(a, s);
  }

  /** A new slot's columns: unclaimed, nothing wanted, nothing in the kernel. */
  private reset(s: number, flags: number): number {
    this.flags[s] = flags;
    this.src[s] = 0;
    this.want[s] = -1;
    this.have[s] = -1;
    this.inflight[s] = 0;
    this.live++;
    return s;
  }

  /** Whether `key` can live here: no table/metric suffix, and the text is the canonical one. */
  static fits(key: string): boolean {
    if (key.indexOf('|') >= 0) return false;
    const slash = key.indexOf('/');
    if (slash < 0) return false;
    const a = parseV4(key, 0, slash);
    if (a >= 0) {
      const len = lenOf(key, slash);
      return len >= 0 && len <= 32 && formatV4(a, len) === key;
    }
    return key.indexOf(':') >= 0;
  }

  /** A new slot for `key` (which fits and is not here). */
  add(key: string): number {
    const s = this.freeList.pop() ?? this.grow();
    const slash = key.indexOf('/');
    const a = parseV4(key, 0, slash);
    if (a >= 0) {
      this.indexV4(s, a | 0, lenOf(key, slash));
      return this.reset(s, SlotFlag.Live);
    }
    this.v6.set(key, s);
    this.v6Keys.set(s, key);
    return this.reset(s, SlotFlag.Live | SlotFlag.V6);
  }

  keyOf(s: number): string {
    return this.flags[s]! & SlotFlag.V6 ? this.v6Keys.get(s)! : formatV4(this.addr[s]! >>> 0, this.len[s]!);
  }

  isV6(s: number): boolean {
    return (this.flags[s]! & SlotFlag.V6) !== 0;
  }

  /** Takes the key out of the index; the slot is free once no op is in flight (else a zombie). */
  unlink(s: number): void {
    if (this.flags[s]! & SlotFlag.V6) {
      this.v6.delete(this.v6Keys.get(s)!);
    } else {
      this.v4[this.len[s]!]!.delete(this.addr[s]!);
    }
    this.live--;
    if (this.inflight[s]! > 0) {
      this.flags[s] = (this.flags[s]! & SlotFlag.V6) | SlotFlag.Zombie;
      return;
    }
    this.release(s);
  }

  /** A zombie whose last op was acked. */
  release(s: number): void {
    if (this.flags[s]! & SlotFlag.V6) this.v6Keys.delete(s);
    this.flags[s] = 0;
    this.freeList.push(s);
  }

  /** Calls `cb` with every live slot. */
  forEach(cb: (s: number) => void): void {
    const f = this.flags;
    for (let s = 0; s < this.top; s++) if (f[s]! & SlotFlag.Live) cb(s);
  }

  /**
   * Columns for at least `n` slots in all: a batch of n prefixes into an emptier table (a table load)
   * sizes them once instead of doubling through every power of 2 (keeping old and new copies at each
   * step). A batch of keys already here (a refresh) finds them big enough.
   */
  reserve(n: number): void {
    if (n > this.flags.length) this.resize(n);
  }

  private grow(): number {
    const s = this.top++;
    if (s < this.flags.length) return s;
    this.resize(this.flags.length * 2);
    return s;
  }

  private resize(n: number): void {
    const g = <T extends Int32Array | Uint8Array | Uint16Array>(a: T, fill?: number): T => {
      const b = new (a.constructor as new (n: number) => T)(n);
      b.set(a);
      if (fill !== undefined) b.fill(fill, a.length);
      return b;
    };
    this.addr = g(this.addr);
    this.len = g(this.len);
    this.src = g(this.src);
    this.want = g(this.want, -1);
    this.have = g(this.have, -1);
    this.flags = g(this.flags);
    this.inflight = g(this.inflight);
    this.pend = g(this.pend);
  }
}

function lenOf(key: string, slash: number): number {
  let len = 0;
  if (slash + 1 >= key.length || key.length - slash > 4) return -1;
  for (let i = slash + 1; i < key.length; i++) {
    const c = key.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    len = len * 10 + c;
  }
  return len;
}
