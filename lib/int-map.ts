// An open-addressing hash map from int32 to int32 on typed arrays: ~14 bytes per entry at the usual load
// instead of ~40 for a JS Map, no per-entry heap objects for the GC to trace, and no boxing. The RIB's
// prefix tables are all int -> int (prefix bits -> attribute or path-set id), which is what this serves.
//
// Layout: key and value side by side in one Int32Array (slot i at 2i, 2i+1), so a hit costs one cache
// line of the big array; the slot states are a separate byte per slot, an eighth of the size, which
// stays mostly in cache. A full table is ~1M slots: every access to it is otherwise a cache miss.
const EMPTY = 0;
const FULL = 1;
const DELETED = 2;

export class IntMap {
  /** key of slot i at 2i, its value at 2i + 1. */
  private kv: Int32Array;
  private state: Uint8Array;
  private mask: number;
  /** 32 - log2(capacity): Fibonacci hashing takes the product's high bits. */
  private shift: number;
  private count = 0;
  /** FULL + DELETED slots: what the probe sequences see. */
  private used = 0;

  constructor(capacity = 16) {
    let cap = 16;
    while (cap < capacity * 2) cap *= 2;
    this.kv = new Int32Array(cap * 2);
    this.state = new Uint8Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.count;
  }

  private slot(k: number): number {
    // Fibonacci hashing (Knuth 6.4) of k / 16: the high bits of the product depend on every bit, so
    // keys that differ only in high bits (sparse prefixes) still spread over the table. The low 4 bits
    // are added back unhashed: 16 neighbouring keys (neighbouring prefixes of one length, which is
    // how tables arrive: in address order) land in neighbouring slots, so a table load touches one
    // cache line per ~8 prefixes instead of one per prefix. Runs stay short: a group is 16 slots.
    return ((Math.imul(k >>> 4, 0x9e3779b1) >>> this.shift) + (k & 15)) & this.mask;
  }

  private find(k: number): number {
    let i = this.slot(k);
    for (;;) {
      const s = this.state[i]!;
      if (s === EMPTY) return -1;
      if (s === FULL && this.kv[i * 2] === k) return i;
      i = (i + 1) & this.mask;
    }
  }

  get(k: number): number | undefined {
    const i = this.find(k);
    return i < 0 ? undefined : this.kv[i * 2 + 1];
  }

  has(k: number): boolean {
    return this.find(k) >= 0;
  }

  /** Returns the previous value. */
  set(k: number, v: number): number | undefined {
    let i = this.slot(k);
    let tomb = -1;
    for (;;) {
      const s = this.state[i]!;
      if (s === EMPTY) break;
      if (s === FULL && this.kv[i * 2] === k) {
        const prev = this.kv[i * 2 + 1];
        this.kv[i * 2 + 1] = v;
        return prev;
      }
      if (s === DELETED && tomb < 0) tomb = i;
      i = (i + 1) & this.mask;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    this.kv[i * 2] = k;
    this.kv[i * 2 + 1] = v;
    this.state[i] = FULL;
    this.count++;
    if (this.used * 4 > (this.mask + 1) * 3) this.rehash();
    return undefined;
  }

  delete(k: number): number | undefined {
    const i = this.find(k);
    if (i < 0) return undefined;
    this.state[i] = DELETED;
    this.count--;
    return this.kv[i * 2 + 1];
  }

  forEach(cb: (v: number, k: number) => void): void {
    const st = this.state;
    const kv = this.kv;
    for (let i = 0; i <= this.mask; i++) if (st[i] === FULL) cb(kv[i * 2 + 1]!, kv[i * 2]!);
  }

  clear(): void {
    this.state.fill(EMPTY);
    this.count = 0;
    this.used = 0;
  }

  /**
   * Room for `n` more keys without a rehash on the way: a caller that knows a batch's size (a decision
   * pass over a table load) rehashes once to the final size instead of ~log4(n) times through it.
   */
  reserve(n: number): void {
    const old = this.mask + 1;
    if ((this.used + n) * 4 <= old * 3) return;
    let cap = old;
    while ((this.count + n) * 4 > cap * 3) cap *= 2;
    this.rehash(cap);
  }

  private rehash(to?: number): void {
    const { kv, state } = this;
    // Grow only when live entries need it; otherwise the same size just drops the tombstones.
    // Big tables grow by 4x: a full-table load then rehashes half as often.
    const old = this.mask + 1;
    const cap = to ?? (this.count * 2 > old ? old * (old >= 4096 ? 4 : 2) : old);
    this.kv = new Int32Array(cap * 2);
    this.state = new Uint8Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    // Re-insert without set(): the new table has no tombstones and no duplicate keys, and it is big
    // enough, so each entry only needs its first empty slot.
    const nkv = this.kv;
    const nst = this.state;
    const mask = this.mask;
    let n = 0;
    for (let i = 0; i < state.length; i++) {
      if (state[i] !== FULL) continue;
      const k = kv[i * 2]!;
      let j = this.slot(k);
      while (nst[j] !== EMPTY) j = (j + 1) & mask;
      nkv[j * 2] = k;
      nkv[j * 2 + 1] = kv[i * 2 + 1]!;
      nst[j] = FULL;
      n++;
    }
    this.count = n;
    this.used = n;
  }
}
