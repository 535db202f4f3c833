// Route identity and comparison for the reconciler.
//
// Identity (the key) is what the kernel itself uses to tell two routes apart in a table: family,
// table, destination and metric (IPv4 fib_table_insert also keys on TOS, IPv6 on source prefix; we set
// neither). Two routes with the same key are "the same route" and one replaces the other in place.
import { canonicalAddr, canonicalPrefix } from './netlink/addr.js';
import { RT_TABLE, UPLINK_RT_PROTO } from './netlink/constants.js';
import { defaultMetric, defaultScope } from './netlink/route-codec.js';
import type { Family, KernelRoute, Route, RouteScope, RouteType } from './netlink/types.js';

export interface NormNextHop {
  gateway?: string;
  via?: string;
  dev?: number;
  weight: number;
  onlink: boolean;
}

/** A route with every default filled in, addresses canonical, devices as ifindex, next hops sorted. */
export interface NormRoute {
  key: string;
  family: Family;
  dst: string;
  table: number;
  metric: number;
  protocol: number;
  type: RouteType;
  scope: RouteScope;
  src?: string;
  nexthops: NormNextHop[];
}

/**
 * The key as a string. A route in the main table at the family's default metric (every BGP route) is
 * keyed by its canonical prefix alone, which is the very string the caller handed in (no new string
 * to build or hash per route); other tables/metrics append them ("|" never occurs in a prefix).
 * The family is in the prefix itself.
 */
export function routeKey(family: Family, table: number, dst: string, metric: number): string {
  return table === RT_TABLE.MAIN && metric === defaultMetric(family) ? dst : `${dst}|${table}|${metric}`;
}

/**
 * Normalized single next hops shared between routes: a BGP table is 100k+ routes over a handful of
 * next hops, so one frozen array per next hop instead of two objects per route. Frozen: nothing may
 * mutate a NormRoute's next hops.
 */
const sharedHops = new Map<string, NormNextHop[]>();

function sharedHop(kind: 'gateway' | 'via', addr: string): NormNextHop[] {
  const k = kind === 'gateway' ? addr : `via ${addr}`;
  let a = sharedHops.get(k);
  if (!a) {
    const o: NormNextHop = { weight: 1, onlink: false };
    o[kind] = canonicalAddr(addr);
    a = Object.freeze([Object.freeze(o)]) as NormNextHop[];
    if (sharedHops.size > 4096) sharedHops.clear();
    sharedHops.set(k, a);
  }
  return a;
}

function nhOrder(a: NormNextHop, b: NormNextHop): number {
  const ka = `${a.gateway ?? ''}|${a.via ?? ''}|${a.dev ?? ''}`;
  const kb = `${b.gateway ?? ''}|${b.via ?? ''}|${b.dev ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The key of a route from its key fields alone (a removal needs nothing else): no next-hop work. */
export function keyOf(r: Pick<Route, 'dst' | 'table' | 'metric'>): string {
  const dst = canonicalPrefix(r.dst);
  const family: Family = dst.includes(':') ? 6 : 4;
  return routeKey(family, r.table ?? RT_TABLE.MAIN, dst, r.metric ?? defaultMetric(family));
}

/** Normalizes a desired route. `dev` resolves interface names (undefined = unknown device). */
export function normalize(r: Route, dev: (name: string | number) => number | undefined): NormRoute {
  const dst = canonicalPrefix(r.dst);
  const family: Family = dst.includes(':') ? 6 : 4;
  const table = r.table ?? RT_TABLE.MAIN;
  const metric = r.metric ?? defaultMetric(family);
  const type = r.type ?? 'unicast';
  const nhs = type === 'unicast' ? (r.nexthops ?? []) : [];
  const n: NormRoute = {
    key: routeKey(family, table, dst, metric),
    family,
    dst,
    table,
    metric,
    protocol: r.protocol ?? UPLINK_RT_PROTO,
    type,
    scope: r.scope ?? defaultScope(r),
    nexthops: normHops(nhs, dev),
  };
  if (r.src) n.src = canonicalAddr(r.src);
  return n;
}

function normHops(nhs: NonNullable<Route['nexthops']>, dev: (name: string | number) => number | undefined): NormNextHop[] {
  const h0 = nhs[0];
  if (nhs.length === 1 && h0 && h0.dev === undefined && !h0.onlink) {
    if (h0.gateway && !h0.via) return sharedHop('gateway', h0.gateway);
    if (h0.via && !h0.gateway) return sharedHop('via', h0.via);
  }
  const out = nhs
    .map((h) => {
      const o: NormNextHop = { weight: nhs.length > 1 ? (h.weight ?? 1) : 1, onlink: h.onlink ?? false };
      if (h.gateway) o.gateway = canonicalAddr(h.gateway);
      if (h.via) o.via = canonicalAddr(h.via);
      if (h.dev !== undefined) {
        const i = dev(h.dev);
        // An unknown device name stays unresolved (-1) so it can never match a kernel route.
        o.dev = i ?? -1;
      }
      return o;
    });
  if (out.length > 1) out.sort(nhOrder);
  return out;
}

/** A kernel route in the same normalized form. */
export function normalizeKernel(k: KernelRoute): NormRoute {
  const n: NormRoute = {
    key: routeKey(k.family, k.table, k.dst, k.metric),
    family: k.family,
    dst: k.dst,
    table: k.table,
    metric: k.metric,
    protocol: k.protocol,
    type: k.type,
    scope: k.scope,
    nexthops: k.nexthops
      .map((h) => {
        const o: NormNextHop = { weight: k.nexthops.length > 1 ? h.weight : 1, onlink: h.onlink ?? false };
        if (h.gateway) o.gateway = h.gateway;
        if (h.via) o.via = h.via;
        if (h.dev !== undefined) o.dev = h.dev;
        return o;
      })
      .sort(nhOrder),
  };
  if (k.src) n.src = k.src;
  return n;
}

/**
 * Does the kernel route satisfy the desired one? A desired next hop without a device matches any
 * device (the kernel fills in the one it resolved the gateway through).
 */
export function satisfies(want: NormRoute, have: NormRoute): boolean {
  if (
    want.key !== have.key ||
    want.protocol !== have.protocol ||
    want.type !== have.type ||
    want.scope !== have.scope ||
    (want.src ?? '') !== (have.src ?? '') ||
    want.nexthops.length !== have.nexthops.length
  ) {
    return false;
  }
  const rest = [...have.nexthops];
  for (const w of want.nexthops) {
    const i = rest.findIndex(
      (h) =>
        (w.gateway ?? '') === (h.gateway ?? '') &&
        (w.via ?? '') === (h.via ?? '') &&
        w.weight === h.weight &&
        w.onlink === h.onlink &&
        (w.dev === undefined || w.dev === h.dev),
    );
    if (i < 0) return false;
    rest.splice(i, 1);
  }
  return true;
}

/**
 * `satisfies(want, normalizeKernel(k))` without building the normalized copy when `k` has at most one
 * next hop (every BGP route without ECMP): a full sync of 500k routes then allocates nothing per
 * route that already matches. The caller has matched the key.
 */
export function kernelSatisfies(want: NormRoute, k: KernelRoute): boolean {
  if (k.nexthops.length > 1) return satisfies(want, normalizeKernel(k));
  if (
    want.protocol !== k.protocol ||
    want.type !== k.type ||
    want.scope !== k.scope ||
    (want.src ?? '') !== (k.src ?? '') ||
    want.nexthops.length !== k.nexthops.length
  ) {
    return false;
  }
  const w = want.nexthops[0];
  const h = k.nexthops[0];
  if (!w || !h) return true;
  // A single next hop is normalized to weight 1 on both sides.
  return (
    (w.gateway ?? '') === (h.gateway ?? '') &&
    (w.via ?? '') === (h.via ?? '') &&
    w.onlink === (h.onlink ?? false) &&
    (w.dev === undefined || w.dev === h.dev)
  );
}

/** Back to the Route shape the netlink layer encodes. */
export function toRoute(n: NormRoute): Route {
  const r: Route = { dst: n.dst, table: n.table, metric: n.metric, protocol: n.protocol, type: n.type, scope: n.scope };
  if (n.src) r.src = n.src;
  if (n.nexthops.length) {
    r.nexthops = n.nexthops.map((h) => {
      const o: NonNullable<Route['nexthops']>[number] = { weight: h.weight };
      if (h.gateway) o.gateway = h.gateway;
      if (h.via) o.via = h.via;
      if (h.dev !== undefined) o.dev = h.dev;
      if (h.onlink) o.onlink = true;
      return o;
    });
  }
  return r;
}
