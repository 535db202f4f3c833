// The decision process (RFC 4271 §9.1.2) as a pure function. It removes candidates one criterion at a
// time, in the RFC's order plus the usual tie breakers, and reports the criterion at which the winner
// became the only one left: that is "why it won" (GoBGP's BestPathReason). The same pass yields the ECMP
// set: the candidates still equal after the IGP-metric step (§9.1.2.2 e).
//
// Eliminating per criterion (rather than comparing pairs) keeps MED correct: §9.1.2.2 c compares MED
// only among routes from the same neighbouring AS, which is not a total order.
import { asPathLength, neighborAs, type AttrSet } from './attrs.js';

export const BestReason = {
  OnlyPath: 'only-path',
  LocalPref: 'local-pref',
  LocallyOriginated: 'locally-originated',
  AsPathLength: 'as-path-length',
  Origin: 'origin',
  Med: 'med',
  EbgpOverIbgp: 'ebgp-over-ibgp',
  IgpMetric: 'igp-metric',
  RouterId: 'router-id',
  ClusterListLength: 'cluster-list-length',
  PeerAddress: 'peer-address',
} as const;
export type BestReasonName = (typeof BestReason)[keyof typeof BestReason];

export interface PathSource {
  /** Locally originated (static/own prefixes): preferred over learned routes of equal local-pref. */
  readonly local: boolean;
  readonly ebgp: boolean;
  /** BGP Identifier of the peer (dotted quad). */
  readonly routerId: string;
  readonly address: string;
  /** Cost to the next hop; we run no IGP, so this is the configured per-peer metric (default 0). */
  readonly igpMetric: number;
}

export interface Candidate {
  readonly source: PathSource;
  readonly attrs: AttrSet;
}

export interface DecisionOptions {
  /** §9.1.2.2 a: default LOCAL_PREF for routes without one (eBGP-learned). */
  readonly defaultLocalPref?: number;
  /** Compare MED across neighbouring ASes too (FRR `bgp always-compare-med`). */
  readonly alwaysCompareMed?: boolean;
  /** ECMP across up to this many paths; 1 = no multipath. */
  readonly maxPaths?: number;
  /** Multipath across different AS paths of equal length (FRR `bestpath as-path multipath-relax`). */
  readonly multipathRelax?: boolean;
}

export interface Decision {
  /** Index of the best candidate in the input. */
  readonly best: number;
  readonly reason: BestReasonName;
  /** Indexes of the ECMP set, best first (length 1 without multipath). */
  readonly multipath: readonly number[];
}

function ipNum(a: string): number {
  if (a.includes(':')) return Number.NaN;
  const p = a.split('.');
  return (((Number(p[0]) << 24) | (Number(p[1]) << 16) | (Number(p[2]) << 8) | Number(p[3])) >>> 0);
}

/** Compare addresses numerically for v4, by expanded text for v6. Lower wins. */
function addrCompare(a: string, b: string): number {
  const x = ipNum(a);
  const y = ipNum(b);
  if (!Number.isNaN(x) && !Number.isNaN(y)) return x - y;
  return a < b ? -1 : a > b ? 1 : 0;
}

type Step = { reason: BestReasonName; keep: (idx: number[], c: readonly Candidate[]) => number[] };

function keepMin(score: (c: Candidate) => number): Step['keep'] {
  return (idx, c) => {
    let best = Infinity;
    for (const i of idx) best = Math.min(best, score(c[i]!));
    return idx.filter((i) => score(c[i]!) === best);
  };
}

function keepMinBy(cmp: (a: Candidate, b: Candidate) => number): Step['keep'] {
  return (idx, c) => {
    let best = idx[0]!;
    for (const i of idx) if (cmp(c[i]!, c[best]!) < 0) best = i;
    return idx.filter((i) => cmp(c[i]!, c[best]!) === 0);
  };
}

function steps(o: Required<DecisionOptions>): { before: Step[]; after: Step[] } {
  const before: Step[] = [
    { reason: BestReason.LocalPref, keep: keepMin((c) => -(c.attrs.localPref ?? o.defaultLocalPref)) },
    { reason: BestReason.LocallyOriginated, keep: keepMin((c) => (c.source.local ? 0 : 1)) },
    { reason: BestReason.AsPathLength, keep: keepMin((c) => asPathLength(c.attrs.asPath)) },
    { reason: BestReason.Origin, keep: keepMin((c) => c.attrs.origin) },
    {
      reason: BestReason.Med,
      keep: (idx, c) => {
        // §9.1.2.2 c: a missing MED is the lowest value (0); compare within each neighbour AS.
        const med = (i: number): number => c[i]!.attrs.med ?? 0;
        if (o.alwaysCompareMed) return keepMin((x) => x.attrs.med ?? 0)(idx, c);
        const bestByAs = new Map<number, number>();
        for (const i of idx) {
          const as = neighborAs(c[i]!.attrs.asPath);
          bestByAs.set(as, Math.min(bestByAs.get(as) ?? Infinity, med(i)));
        }
        return idx.filter((i) => med(i) === bestByAs.get(neighborAs(c[i]!.attrs.asPath)));
      },
    },
    { reason: BestReason.EbgpOverIbgp, keep: keepMin((c) => (c.source.ebgp ? 0 : 1)) },
    { reason: BestReason.IgpMetric, keep: keepMin((c) => c.source.igpMetric) },
  ];
  const after: Step[] = [
    // RFC 4456 §9: the ORIGINATOR_ID stands in for the router ID of a reflected route.
    { reason: BestReason.RouterId, keep: keepMinBy((a, b) => addrCompare(a.attrs.originatorId ?? a.source.routerId, b.attrs.originatorId ?? b.source.routerId)) },
    { reason: BestReason.ClusterListLength, keep: keepMin((c) => c.attrs.clusterList?.length ?? 0) },
    { reason: BestReason.PeerAddress, keep: keepMinBy((a, b) => addrCompare(a.source.address, b.source.address)) },
  ];
  return { before, after };
}

export function decide(cands: readonly Candidate[], opts: DecisionOptions = {}): Decision | null {
  if (cands.length === 0) return null;
  if (cands.length === 1) return { best: 0, reason: BestReason.OnlyPath, multipath: [0] };
  const o: Required<DecisionOptions> = {
    defaultLocalPref: opts.defaultLocalPref ?? 100,
    alwaysCompareMed: opts.alwaysCompareMed ?? false,
    maxPaths: opts.maxPaths ?? 1,
    multipathRelax: opts.multipathRelax ?? false,
  };
  const { before, after } = steps(o);
  let idx = cands.map((_, i) => i);
  let reason: BestReasonName | null = null;
  for (const s of before) {
    const next = s.keep(idx, cands);
    if (next.length < idx.length && next.length === 1 && reason === null) reason = s.reason;
    idx = next;
  }
  const equal = idx;
  for (const s of after) {
    if (idx.length === 1) break;
    const next = s.keep(idx, cands);
    if (next.length === 1 && reason === null) reason = s.reason;
    idx = next;
  }
  const best = idx[0]!;
  // Multipath (FRR/Cisco semantics): equal through IGP metric, and the same AS path unless relaxed;
  // eBGP multipath needs the same neighbouring AS unless relaxed.
  const bestPath = cands[best]!.attrs.asPath;
  const samePath = (i: number): boolean =>
    o.multipathRelax || JSON.stringify(cands[i]!.attrs.asPath) === JSON.stringify(bestPath);
  const multipath = [best, ...equal.filter((i) => i !== best && samePath(i))].slice(0, Math.max(1, o.maxPaths));
  return { best, reason: reason ?? BestReason.PeerAddress, multipath };
}
