// The RIB's output to the FIB: one batch per decision pass. Columnar (FibBatch) for the agent's FIB
// path, as FibChange objects for the listeners that want them (tests, `speaker.onRoutes`).
import { formatKey, keyFamily, type AddressFamily, type PrefixKey } from './prefix.js';

export interface NextHop {
  readonly address: string;
  /** Set for IPv6 link-local next hops (unnumbered peers): the interface to reach them through. */
  readonly linkLocal?: string;
}

/** One Loc-RIB change for the FIB reconciler: nextHops empty = remove the route. */
export interface FibChange {
  readonly prefix: string;
  readonly family: AddressFamily;
  readonly nextHops: readonly NextHop[];
}

/**
 * One decision pass's FIB changes, columnar: no object and no string per prefix (a full table is
 * 500k+ changes in one pass; one FibChange object plus its prefix text each was most of the garbage
 * of a table load). Change i is `v4[i]` (i < n4) or `v6[i - n4]`, its next hops
 * `hopSets[hops[i]]`, or a removal when `hops[i]` is -1. `hopSets` is small: one entry per distinct
 * next-hop set in the pass. Valid only during the listener call (the arrays are reused).
 */
export interface FibBatch {
  readonly size: number;
  readonly n4: number;
  /** IPv4 prefix keys (see prefix.ts v4Key); only the first n4 entries are meaningful. */
  readonly v4: Float64Array;
  readonly v6: readonly string[];
  readonly hops: Int32Array;
  readonly hopSets: readonly (readonly NextHop[])[];
}

/** The key of change i of a batch. */
export function fibBatchKey(b: FibBatch, i: number): PrefixKey {
  return i < b.n4 ? b.v4[i]! : b.v6[i - b.n4]!;
}

/** A batch as FibChange objects, for the listeners that want them (tests, the speaker's onRoutes). */
export function fibChanges(b: FibBatch): FibChange[] {
  const out: FibChange[] = [];
  for (let i = 0; i < b.size; i++) {
    const key = fibBatchKey(b, i);
    const h = b.hops[i]!;
    out.push({ prefix: formatKey(key), family: keyFamily(key), nextHops: h < 0 ? NO_HOPS : b.hopSets[h]! });
  }
  return out;
}

/** Collects a pass's FIB changes into a FibBatch; the typed arrays are kept across passes. */
export class FibBatchBuilder {
  private v4 = new Float64Array(1024);
  private hops4 = new Int32Array(1024);
  private n4 = 0;
  private v6: string[] = [];
  private hops6: number[] = [];
  private hopSets: (readonly NextHop[])[] = [];
  private index = new Map<readonly NextHop[], number>();
  private lastSet: readonly NextHop[] | null = null;
  private lastIndex = -1;

  get size(): number {
    return this.n4 + this.v6.length;
  }

  /** `hops` null = removal. */
  push(key: PrefixKey, hops: readonly NextHop[] | null): void {
    let h = -1;
    if (hops) {
      // Consecutive prefixes mostly share their path set (a table arrives grouped by attributes).
      if (hops === this.lastSet) h = this.lastIndex;
      else {
        h = this.index.get(hops) ?? -1;
        if (h < 0) {
          h = this.hopSets.length;
          this.hopSets.push(hops);
          this.index.set(hops, h);
        }
        this.lastSet = hops;
        this.lastIndex = h;
      }
    }
    if (typeof key === 'string') {
      this.v6.push(key);
      this.hops6.push(h);
      return;
    }
    if (this.n4 === this.v4.length) {
      const v4 = new Float64Array(this.n4 * 2);
      v4.set(this.v4);
      this.v4 = v4;
      const hops4 = new Int32Array(this.n4 * 2);
      hops4.set(this.hops4);
      this.hops4 = hops4;
    }
    this.v4[this.n4] = key;
    this.hops4[this.n4++] = h;
  }

  /** The batch, then the builder is empty again (its typed arrays reused by the next pass). */
  take(): FibBatch {
    const n4 = this.n4;
    const size = n4 + this.v6.length;
    let hops = this.hops4.subarray(0, n4);
    if (this.v6.length) {
      hops = new Int32Array(size);
      hops.set(this.hops4.subarray(0, n4));
      hops.set(this.hops6, n4);
    }
    const b: FibBatch = { size, n4, v4: this.v4, v6: this.v6, hops, hopSets: this.hopSets };
    this.n4 = 0;
    this.v6 = [];
    this.hops6 = [];
    this.hopSets = [];
    this.index = new Map();
    this.lastSet = null;
    return b;
  }
}

/** The next hops of a removal (shared: FibChange is read-only). */
export const NO_HOPS: readonly NextHop[] = Object.freeze([]);

/** Adds a listener to `list`; returns its removal. */
export function subscribe<T>(list: T[], cb: T): () => void {
  list.push(cb);
  return () => {
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  };
}
