// The Rib's dirty list. See KeyList.
import type { PrefixKey } from './prefix.js';

/**
 * Prefixes touched since the last flush, in arrival order. Appending to a typed array is far cheaper than
 * a hash insert per prefix; duplicates are harmless (the second decision finds nothing changed).
 */
export class KeyList {
  private v4 = new Float64Array(1024);
  private n4 = 0;
  private readonly v6: string[] = [];

  push(key: PrefixKey): void {
    if (typeof key === 'string') {
      this.v6.push(key);
      return;
    }
    if (this.n4 === this.v4.length) {
      const bigger = new Float64Array(this.v4.length * 2);
      bigger.set(this.v4);
      this.v4 = bigger;
    }
    this.v4[this.n4++] = key;
  }

  /** IPv4 keys per prefix length (duplicates counted), into `out` (33 entries, zeroed here). */
  countV4ByLength(out: Int32Array): void {
    out.fill(0);
    const v4 = this.v4;
    for (let i = 0; i < this.n4; i++) out[Math.floor(v4[i]! / 4294967296)]!++;
  }

  /** IPv4 keys, then IPv6: index with `at` below `length` (a loop without a callback per key). */
  get length(): number {
    return this.n4 + this.v6.length;
  }

  at(i: number): PrefixKey {
    return i < this.n4 ? this.v4[i]! : this.v6[i - this.n4]!;
  }
}

