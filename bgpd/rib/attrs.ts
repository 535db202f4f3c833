// Path attributes in the RIB: normalized, immutable and interned once per distinct set. A full table has
// ~1M prefixes but only ~100k distinct attribute sets, and one peer feeding 500k prefixes in 800-prefix
// UPDATEs has at most one set per UPDATE, so prefixes store a small integer id (BIRD's rta cache, FRR's
// attr hash). Ids are reference counted and reused after release.
//
// Ownership: AttrTable is owned by one Rib; ids are only meaningful inside it.
import type { Aggregator, AsPathSegment, PathAttribute } from '../wire/types.js';
import { AsPathSegmentType, AttrFlag, AttrType } from '../wire/types.js';
import { BgpError, BgpErrorCode } from '../errors.js';

export interface RawAttr {
  readonly flags: number;
  readonly typeCode: number;
  readonly data: Uint8Array;
}

export interface Attrs {
  readonly origin: number;
  readonly asPath: readonly AsPathSegment[];
  /** IPv4 next hop, or the IPv6 global next hop (MP_REACH / RFC 8950). '' for locally originated. */
  readonly nextHop: string;
  /** IPv6 link-local next hop (RFC 2545 §3), e.g. from an unnumbered session. */
  readonly nextHopLocal?: string;
  readonly med?: number;
  readonly localPref?: number;
  readonly atomicAggregate?: boolean;
  readonly aggregator?: Aggregator;
  readonly communities?: readonly number[];
  readonly largeCommunities?: readonly (readonly [number, number, number])[];
  /** RFC 4360 extended communities as 16-hex-digit strings. */
  readonly extCommunities?: readonly string[];
  readonly originatorId?: string;
  readonly clusterList?: readonly string[];
  /** Optional transitive attributes we do not interpret, passed on with the Partial bit (§5). */
  readonly unknown?: readonly RawAttr[];
}

export interface AttrSet extends Attrs {
  readonly id: number;
}

/** RFC 4271 §9.1.2.2 a: AS_SET counts as one, confederation segments (RFC 5065 §5.3) as zero. */
export function asPathLength(path: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of path) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/** The neighbouring AS for MED comparison (§9.1.2.2 c): the first AS of the leftmost AS_SEQUENCE. */
export function neighborAs(path: readonly AsPathSegment[]): number {
  for (const s of path) {
    if (s.type === AsPathSegmentType.AsSequence) return s.asns[0] ?? 0;
    if (s.type === AsPathSegmentType.AsSet) return 0;
  }
  return 0;
}

export function asPathText(path: readonly AsPathSegment[]): string {
  return path
    .map((s) => (s.type === AsPathSegmentType.AsSet ? `{${s.asns.join(',')}}` : s.type === AsPathSegmentType.AsSequence ? s.asns.join(' ') : `(${s.asns.join(' ')})`))
    .join(' ');
}

export function asPathContains(path: readonly AsPathSegment[], asn: number): number {
  let n = 0;
  for (const s of path) for (const a of s.asns) if (a === asn) n++;
  return n;
}

function hex(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += x.toString(16).padStart(2, '0');
  return s;
}

/** A canonical text of the set: the interning key. Built once per UPDATE, not per prefix. */
export function attrsKey(a: Attrs): string {
  return [
    a.origin,
    a.asPath.map((s) => `${s.type}:${s.asns.join(',')}`).join(';'),
    a.nextHop,
    a.nextHopLocal ?? '',
    a.med ?? '',
    a.localPref ?? '',
    a.atomicAggregate ? 1 : 0,
    a.aggregator ? `${a.aggregator.asn}@${a.aggregator.address}` : '',
    (a.communities ?? []).join(','),
    (a.largeCommunities ?? []).map((c) => c.join(':')).join(','),
    (a.extCommunities ?? []).join(','),
    a.originatorId ?? '',
    (a.clusterList ?? []).join(','),
    (a.unknown ?? []).map((u) => `${u.typeCode}/${u.flags}/${hex(u.data)}`).join(','),
  ].join('|');
}

export class AttrTable {
  private readonly sets: (AttrSet | undefined)[] = [];
  private readonly refs: number[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly keys: (string | undefined)[] = [];
  private readonly free: number[] = [];

  /** Intern and take one reference. */
  intern(a: Attrs): AttrSet {
    const key = attrsKey(a);
    const found = this.byKey.get(key);
    if (found !== undefined) {
      this.refs[found]!++;
      return this.sets[found]!;
    }
    const id = this.free.pop() ?? this.sets.length;
    const set: AttrSet = Object.freeze({ ...a, id });
    this.sets[id] = set;
    this.refs[id] = 1;
    this.keys[id] = key;
    this.byKey.set(key, id);
    return set;
  }

  get(id: number): AttrSet {
    const s = this.sets[id];
    if (!s) throw new BgpError(BgpErrorCode.ImpossibleState, `attribute set ${id} is not live`);
    return s;
  }

  ref(id: number, n = 1): void {
    this.refs[id] = (this.refs[id] ?? 0) + n;
  }

  unref(id: number): void {
    const r = (this.refs[id] ?? 0) - 1;
    if (r > 0) {
      this.refs[id] = r;
      return;
    }
    const key = this.keys[id];
    if (key !== undefined) this.byKey.delete(key);
    this.sets[id] = undefined;
    this.keys[id] = undefined;
    this.refs[id] = 0;
    this.free.push(id);
  }

  get size(): number {
    return this.byKey.size;
  }

  /** References held on a set (tests check the Rib's bookkeeping with it). */
  refCount(id: number): number {
    return this.refs[id] ?? 0;
  }
}

/**
 * Wire attributes (bgpd/wire) to the RIB form. MP_REACH/MP_UNREACH are the caller's business (they carry
 * NLRI); `mpNextHop` is their next hop already split into global and link-local text.
 */
export function fromWire(attrs: readonly PathAttribute[], mpNextHop?: { global: string; linkLocal?: string }): Attrs {
  let origin = 2;
  let asPath: readonly AsPathSegment[] = [];
  let as4Path: readonly AsPathSegment[] | undefined;
  let nextHop = '';
  const out: {
    med?: number;
    localPref?: number;
    atomicAggregate?: boolean;
    aggregator?: Aggregator;
    communities?: readonly number[];
    largeCommunities?: readonly (readonly [number, number, number])[];
    extCommunities?: readonly string[];
    originatorId?: string;
    clusterList?: readonly string[];
  } = {};
  const unknown: RawAttr[] = [];
  for (const a of attrs) {
    switch (a.kind) {
      case 'origin':
        origin = a.origin;
        break;
      case 'as-path':
        asPath = a.segments;
        break;
      case 'as4-path':
        as4Path = a.segments;
        break;
      case 'next-hop':
        nextHop = a.nextHop;
        break;
      case 'med':
        out.med = a.value;
        break;
      case 'local-pref':
        out.localPref = a.value;
        break;
      case 'atomic-aggregate':
        out.atomicAggregate = true;
        break;
      case 'aggregator':
        out.aggregator = { asn: a.asn, address: a.address };
        break;
      case 'communities':
        out.communities = a.communities;
        break;
      case 'large-communities':
        out.largeCommunities = a.communities;
        break;
      case 'extended-communities':
        out.extCommunities = a.communities.map(hex);
        break;
      case 'originator-id':
        out.originatorId = a.originatorId;
        break;
      case 'cluster-list':
        out.clusterList = a.clusterIds;
        break;
      case 'unknown':
        // §5: unrecognized optional transitive attributes are passed on with Partial set;
        // non-transitive ones are quietly dropped.
        if (a.flags & AttrFlag.Optional && a.flags & AttrFlag.Transitive) {
          unknown.push({ flags: a.flags | AttrFlag.Partial, typeCode: a.typeCode, data: a.data });
        }
        break;
      default:
        break;
    }
  }
  // RFC 6793 §4.2.3: merge AS4_PATH into a 2-octet AS_PATH from an old speaker.
  if (as4Path && as4Path.length > 0) asPath = mergeAs4Path(asPath, as4Path);
  const base: Attrs = {
    origin,
    asPath,
    nextHop: mpNextHop?.global ?? nextHop,
    ...(mpNextHop?.linkLocal ? { nextHopLocal: mpNextHop.linkLocal } : {}),
    ...out,
    ...(unknown.length ? { unknown } : {}),
  };
  return base;
}

function mergeAs4Path(asPath: readonly AsPathSegment[], as4: readonly AsPathSegment[]): readonly AsPathSegment[] {
  const n = asPathLength(asPath);
  const m = asPathLength(as4);
  if (m > n) return asPath; // RFC 6793 §4.2.3: ignore AS4_PATH when longer
  const keep = n - m;
  const head: AsPathSegment[] = [];
  let left = keep;
  for (const s of asPath) {
    if (left <= 0) break;
    if (s.type === AsPathSegmentType.AsSequence) {
      const take = s.asns.slice(0, left);
      head.push({ type: s.type, asns: take });
      left -= take.length;
    } else {
      head.push(s);
      left -= 1;
    }
  }
  return [...head, ...as4];
}

export { AttrType };
