// An open-addressing hash map from int32 to int32 on typed arrays: ~14 bytes per entry at the usual load
// instead of ~40 for a JS Map, no per-entry heap objects for the GC to trace, and no boxing. The RIB's
// prefix tables are all int -> int (prefix bits -> attribute or path-set id), which is what this serves.
const EMPTY = 0;
const FULL = 1;
const DELETED = 2;

export class IntMap {
  private keys: Int32Array;
  private vals: Int32Array;
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
    this.keys = new Int32Array(cap);
    this.vals = new Int32Array(cap);
    this.state = new Uint8Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
  }

  get size(): number {
    return this.count;
  }

  private slot(k: number): number {
    // Fibonacci hashing (Knuth 6.4): the high bits of k * 2^32/phi depend on every bit of k, so keys
    // that differ only in high bits (sparse prefixes) still spread over the table.
    return Math.imul(k, 0x9e3779b1) >>> this.shift;
  }

  private find(k: number): number {
    let i = this.slot(k);
    for (;;) {
      const s = this.state[i]!;
      if (s === EMPTY) return -1;
      if (s === FULL && this.keys[i] === k) return i;
      i = (i + 1) & this.mask;
    }
  }

  get(k: number): number | undefined {
    const i = this.find(k);
    return i < 0 ? undefined : this.vals[i];
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
      if (s === FULL && this.keys[i] === k) {
        const prev = this.vals[i];
        this.vals[i] = v;
        return prev;
      }
      if (s === DELETED && tomb < 0) tomb = i;
      i = (i + 1) & this.mask;
    }
    if (tomb >= 0) i = tomb;
    else this.used++;
    this.keys[i] = k;
    this.vals[i] = v;
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
    return this.vals[i];
  }

  forEach(cb: (v: number, k: number) => void): void {
    const st = this.state;
    for (let i = 0; i <= this.mask; i++) if (st[i] === FULL) cb(this.vals[i]!, this.keys[i]!);
  }

  clear(): void {
    this.state.fill(EMPTY);
    this.count = 0;
    this.used = 0;
  }

  private rehash(): void {
    const { keys, vals, state } = this;
    // Grow only when live entries need it; otherwise the same size just drops the tombstones.
    // Big tables grow by 4x: a full-table load then rehashes half as often.
    const old = this.mask + 1;
    const cap = this.count * 2 > old ? old * (old >= 4096 ? 4 : 2) : old;
    this.keys = new Int32Array(cap);
    this.vals = new Int32Array(cap);
    this.state = new Uint8Array(cap);
    this.mask = cap - 1;
    this.shift = 32 - Math.log2(cap);
    this.count = 0;
    this.used = 0;
    for (let i = 0; i < state.length; i++) if (state[i] === FULL) this.set(keys[i]!, vals[i]!);
  }
}
