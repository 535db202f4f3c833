// A delta of plain prefix routes (a BGP Loc-RIB batch) in columnar form, and its normalization.
//
// Why: a table load is 500k routes in one batch, all in the main table at the default metric over a
// handful of next-hop sets. As Route objects each costs a caller's object, a canonicalizing parse of
// its destination and a normalization; here the destinations come canonical, the next-hop sets come
// once per batch, and a route's normalized form is the per-set template plus its destination: one
// object per route, the one the table keeps.
import type { Route } from './netlink/types.js';
import { formatV4Num, type Templates } from './prefix-table.js';
import { normalize, type NormRoute } from './route.js';

type Hops = NonNullable<Route['nexthops']>;

/**
 * Routes to add or replace and destinations to remove, all in the main table at the family's default
 * metric with our protocol. Upsert i is over `hopSets[hops[i]]`; its destination is `v4[i]` for
 * i < v4.length (an IPv4 prefix as a number, len * 2^32 + host-order address: what the RIB keys by,
 * so no text is made per prefix), else `upserts[i - v4.length]`. Removals likewise: `removals4`, then
 * `removals`. Text destinations must be canonical prefixes, as `canonicalPrefix` (netlink/addr.ts)
 * writes them: they are used as the route key as is.
 */
export interface PrefixDelta {
  readonly v4?: Float64Array;
  readonly upserts: readonly string[];
  readonly hops: Int32Array;
  readonly hopSets: readonly Hops[];
  readonly removals4?: Float64Array;
  readonly removals: readonly string[];
}

/** Every upsert destination of a delta as text, in order (tests, logs). */
export function prefixDeltaDsts(d: PrefixDelta): string[] {
  return [...(d.v4 ?? [])].map(formatV4Num).concat(d.upserts);
}

/** Normalizes a PrefixDelta's routes: one template per (next-hop set, family), built on first use. */
export class PrefixNormalizer {
  /** Index 2 * hop set + (IPv6 ? 1 : 0). */
  private readonly templates: (NormRoute | undefined)[];
  private readonly named_: Int8Array;
  /** Template ids by 2 * hop set + (IPv6 ? 1 : 0), -1 = not interned yet. */
  private readonly ids: Int32Array;
  private held: Templates | undefined;
  /** Upserts given as numbers (they come first). */
  readonly n4: number;
  readonly count: number;

  constructor(
    private readonly delta: PrefixDelta,
    private readonly dev: (name: string | number) => number | undefined,
  ) {
    this.n4 = delta.v4?.length ?? 0;
    this.count = this.n4 + delta.upserts.length;
    this.templates = new Array<NormRoute | undefined>(delta.hopSets.length * 2);
    this.ids = new Int32Array(delta.hopSets.length * 2).fill(-1);
    this.named_ = new Int8Array(delta.hopSets.length);
    for (let h = 0; h < delta.hopSets.length; h++) this.named_[h] = delta.hopSets[h]!.some((x) => typeof x.dev === 'string') ? 1 : 0;
  }

  /** Upsert i's destination as text. */
  dst(i: number): string {
    return i < this.n4 ? formatV4Num(this.delta.v4![i]!) : this.delta.upserts[i - this.n4]!;
  }

  /** Upsert i's destination as a v4Num (i < n4 only). */
  num(i: number): number {
    return this.delta.v4![i]!;
  }

  private isV6(i: number): 0 | 1 {
    return i < this.n4 ? 0 : this.delta.upserts[i - this.n4]!.indexOf(':') >= 0 ? 1 : 0;
  }

  private template0(h: number, v6: 0 | 1): NormRoute {
    return (this.templates[h * 2 + v6] ??= normalize({ dst: v6 ? '::/0' : '0.0.0.0/0', nexthops: this.delta.hopSets[h]! }, this.dev));
  }

  /** Upsert i normalized (the same fields, in the same order, as `normalize` gives). */
  route(i: number): NormRoute {
    const dst = this.dst(i);
    const t = this.template0(this.delta.hops[i]!, this.isV6(i));
    // The key of a main-table route at the default metric is its destination (route.ts routeKey).
    return { key: dst, family: t.family, dst, table: t.table, metric: t.metric, protocol: t.protocol, type: t.type, scope: t.scope, nexthops: t.nexthops };
  }

  /** Whether upsert i's next hops name a device (such routes are kept as Entry objects). */
  named(i: number): boolean {
    return this.named_[this.delta.hops[i]!] === 1;
  }

  /**
   * The template id (prefix-table.ts) of upsert i. The batch holds a reference on each template it
   * handed out, so an id stays valid across its slices; `release` drops them when the batch is taken.
   */
  template(i: number, templates: Templates): number {
    const h = this.delta.hops[i]!;
    const v6 = this.isV6(i);
    let id = this.ids[h * 2 + v6]!;
    if (id < 0) {
      id = this.ids[h * 2 + v6] = templates.intern(this.template0(h, v6));
      templates.ref(id);
      this.held = templates;
    }
    return id;
  }

  /** Drops the references `template` took. */
  release(): void {
    const t = this.held;
    if (!t) return;
    this.held = undefined;
    for (let k = 0; k < this.ids.length; k++) {
      const id = this.ids[k]!;
      if (id >= 0) t.unref(id);
      this.ids[k] = -1;
    }
  }

  /** The caller's form of upsert i when its next hops name a device (re-resolved on link changes). */
  raw(i: number): Route | undefined {
    const h = this.delta.hops[i]!;
    return this.named_[h] ? { dst: this.dst(i), nexthops: this.delta.hopSets[h]! } : undefined;
  }
}

/** An applyPrefixes call in the reconciler's ingest queue (`upserts.length`: how many, for slicing). */
export interface PrefixBatch {
  readonly source: string;
  readonly upserts: { readonly length: number };
  readonly removals: readonly string[];
  readonly removals4: Float64Array | undefined;
  readonly prefixes: PrefixNormalizer;
}
