// A delta of plain prefix routes (a BGP Loc-RIB batch) in columnar form, and its normalization.
//
// Why: a table load is 500k routes in one batch, all in the main table at the default metric over a
// handful of next-hop sets. As Route objects each costs a caller's object, a canonicalizing parse of
// its destination and a normalization; here the destinations come canonical, the next-hop sets come
// once per batch, and a route's normalized form is the per-set template plus its destination: one
// object per route, the one the table keeps.
import type { Route } from './netlink/types.js';
import { normalize, type NormRoute } from './route.js';

type Hops = NonNullable<Route['nexthops']>;

/**
 * Routes to add or replace (`upserts[i]` over `hopSets[hops[i]]`) and destinations to remove, all in
 * the main table at the family's default metric with our protocol. Destinations must be canonical
 * prefixes, as `canonicalPrefix` (netlink/addr.ts) writes them: they are used as the route key as is.
 */
export interface PrefixDelta {
  readonly upserts: readonly string[];
  readonly hops: Int32Array;
  readonly hopSets: readonly Hops[];
  readonly removals: readonly string[];
}

/** Normalizes a PrefixDelta's routes: one template per (next-hop set, family), built on first use. */
export class PrefixNormalizer {
  /** Index 2 * hop set + (IPv6 ? 1 : 0). */
  private readonly templates: (NormRoute | undefined)[];
  private readonly named: Int8Array;

  constructor(
    private readonly delta: PrefixDelta,
    private readonly dev: (name: string | number) => number | undefined,
  ) {
    this.templates = new Array<NormRoute | undefined>(delta.hopSets.length * 2);
    this.named = new Int8Array(delta.hopSets.length);
    for (let h = 0; h < delta.hopSets.length; h++) this.named[h] = delta.hopSets[h]!.some((x) => typeof x.dev === 'string') ? 1 : 0;
  }

  /** Upsert i normalized (the same fields, in the same order, as `normalize` gives). */
  route(i: number): NormRoute {
    const dst = this.delta.upserts[i]!;
    const h = this.delta.hops[i]!;
    const v6 = dst.indexOf(':') >= 0 ? 1 : 0;
    const t = (this.templates[h * 2 + v6] ??= normalize({ dst: v6 ? '::/0' : '0.0.0.0/0', nexthops: this.delta.hopSets[h]! }, this.dev));
    // The key of a main-table route at the default metric is its destination (route.ts routeKey).
    return { key: dst, family: t.family, dst, table: t.table, metric: t.metric, protocol: t.protocol, type: t.type, scope: t.scope, nexthops: t.nexthops };
  }

  /** The caller's form of upsert i when its next hops name a device (re-resolved on link changes). */
  raw(i: number): Route | undefined {
    const h = this.delta.hops[i]!;
    return this.named[h] ? { dst: this.delta.upserts[i]!, nexthops: this.delta.hopSets[h]! } : undefined;
  }
}

/** An applyPrefixes call in the reconciler's ingest queue. */
export interface PrefixBatch {
  readonly source: string;
  readonly upserts: readonly string[];
  readonly removals: readonly string[];
  readonly prefixes: PrefixNormalizer;
}
