// The RIB's per-peer state: the Adj-RIBs-In (pre-policy, and post-policy as exceptions), the
// Adj-RIB-Out and what is pending for the peer, with the two per-peer steps that need nothing else of
// the RIB: import policy per attribute set (cached), and sending the pending batch under MRAI.
import type { AttrTable, AttrSet } from './attrs.js';
import type { PathSource } from './decision.js';
import type { AddPathBatch, AddPathOut } from './export.js';
import { attrVerdicts, evaluate, matchingTermWith, type CompiledPolicy } from './policy.js';
import { keyFamily, type AddressFamily, type PrefixKey, type PrefixMap } from './prefix.js';

export interface RibPeerInfo {
  readonly name: string;
  readonly address: string;
  readonly routerId: string;
  readonly localAs: number;
  readonly remoteAs: number;
  readonly ebgp: boolean;
  readonly rrClient: boolean;
  readonly igpMetric: number;
  readonly allowasIn: number;
  readonly importPolicy?: CompiledPolicy;
  readonly exportPolicy?: CompiledPolicy;
  /** Our address on the session, per family: the next hop we advertise (next-hop-self). */
  readonly localNextHop: { readonly ipv4?: string; readonly ipv6?: string; readonly ipv6LinkLocal?: string };
  readonly nextHopSelf: boolean;
  /** RFC 8950 negotiated for IPv4 unicast: the peer takes IPv4 routes with IPv6 next hops. */
  readonly extendedNextHop?: boolean;
  /** Unnumbered peers: the interface the session runs over, where its link-local next hops live. */
  readonly interface?: string;
  /** RFC 4271 §9.2.1.1 MinRouteAdvertisementInterval for announcements to this peer; 0 = per turn. */
  readonly mraiMs?: number;
  /** RFC 7911: families in which the peer receives several paths from us (add-path send negotiated). */
  readonly addPathSend?: readonly AddressFamily[];
}

export interface OutboundBatch {
  readonly withdraw: PrefixKey[];
  /** attribute set -> prefixes to announce with it. */
  readonly announce: Map<AttrSet, PrefixKey[]>;
  /** Families for which this batch completes the initial table (send End-of-RIB, RFC 4724 §2). */
  readonly endOfRib: readonly AddressFamily[];
  /** RFC 7911 add-path families: every path with its Path Identifier (not in withdraw/announce). */
  readonly paths?: AddPathBatch;
}

export type OutboundListener = (peerId: number, batch: OutboundBatch) => void;

export interface PeerState {
  readonly id: number;
  info: RibPeerInfo;
  /** pathId -> prefix -> attribute id (RFC 7911: one map per path id; 0 without add-path). */
  readonly pre: Map<number, PrefixMap>;
  /**
   * The post-policy Adj-RIB-In, stored as its difference from `pre` (same path ids): a prefix absent
   * here has post = pre; present, its value is the rewritten attribute id, or REJECTED. Most import
   * policies accept most routes unchanged, so this is usually empty and costs nothing per prefix.
   * Invariant: a key is here only while it is in the `pre` map of the same path id.
   */
  readonly exc: Map<number, PrefixMap>;
  /** `pre` and `exc` as parallel arrays, for the per-prefix decision loop (no iterator allocation). */
  inIds: number[];
  inPre: PrefixMap[];
  inExc: PrefixMap[];
  readonly out: PrefixMap;
  pending: PrefixMap | null;
  established: boolean;
  eorPending: AddressFamily[];
  stale: PrefixMap | null;
  source: PathSource;
  lastSent: number;
  mraiTimer: ReturnType<typeof setTimeout> | null;
  /** Adj-RIB-Out of the add-path send families (RFC 7911), null without. */
  addPath: AddPathOut | null;
}

/** See importCache: a policy's per-attribute-set verdicts and matched term + 1 -> post-policy id. */
export interface ImportCache {
  readonly policy: CompiledPolicy;
  readonly verdicts: Uint8Array;
  /** UNSEEN until the term first matches; REJECTED; or an id holding one reference until release. */
  readonly post: Int32Array;
}
export const UNSEEN = -3;
export const REJECTED = -2;

/**
 * The import cache for one attribute set (one UPDATE, or one set on reimport), or null when the peer
 * has no import policy. The terms' attribute conditions are evaluated here once, so per prefix only
 * the prefix lists run (RFC 4271 §9.1.1 policy, applied per route but mostly per attribute set).
 */
export function importCache(p: PeerState, pre: AttrSet): ImportCache | null {
  const pol = p.info.importPolicy;
  if (!pol) return null;
  return { policy: pol, verdicts: attrVerdicts(pol, pre), post: new Int32Array(pol.terms.length + 1).fill(UNSEEN) };
}

export function releaseImportCache(attrs: AttrTable, cache: ImportCache): void {
  for (const v of cache.post) if (v >= 0) attrs.unref(v);
}

/** Post-policy attribute id for one prefix (REJECTED = -2), cached per matched term. */
export function importAttr(attrs: AttrTable, key: PrefixKey, pre: AttrSet, cache: ImportCache): number {
  const term = matchingTermWith(cache.policy, key, cache.verdicts);
  const hit = cache.post[term + 1]!;
  if (hit !== UNSEEN) return hit;
  const r = evaluate(cache.policy, key, pre);
  let id = REJECTED;
  if (r.accept) id = r.changed ? attrs.intern(r.attrs).id : (attrs.ref(pre.id), pre.id);
  cache.post[term + 1] = id;
  return id;
}


export function sendPending(p: PeerState, attrs: AttrTable, emit: OutboundListener): void {
  let pending = p.pending;
  const eor = p.eorPending;
  if ((!pending || pending.size === 0) && eor.length === 0 && !p.addPath?.hasPending) return;
  const mrai = p.info.mraiMs ?? 0;
  const wait = p.lastSent + mrai - Date.now();
  if (mrai > 0 && wait > 0 && eor.length === 0 && pending) {
    // MRAI (RFC 4271 §9.2.1.1): hold announcements until the interval has passed; withdrawals leave
    // at once so traffic stops being drawn to a path that is gone.
    const withdraw: PrefixKey[] = [];
    pending.forEach((k, v) => { if (v < 0) withdraw.push(k); });
    for (const k of withdraw) pending.delete(k);
    if (withdraw.length) emit(p.id, { withdraw, announce: new Map(), endOfRib: [] });
    if (!p.mraiTimer) {
      p.mraiTimer = setTimeout(() => {
        p.mraiTimer = null;
        if (p.established) sendPending(p, attrs, emit);
      }, wait);
    }
    return;
  }
  p.pending = null;
  p.eorPending = [];
  p.lastSent = Date.now();
  const paths = p.addPath?.take();
  const batch: OutboundBatch = { withdraw: [], announce: new Map(), endOfRib: eor, ...(paths ? { paths } : {}) };
  pending?.forEach((key, v) => {
    if (v < 0) {
      batch.withdraw.push(key);
      return;
    }
    const a = attrs.get(v);
    let list = batch.announce.get(a);
    if (!list) batch.announce.set(a, (list = []));
    list.push(key);
  });
  emit(p.id, batch);
}

export function sourceOf(info: RibPeerInfo): PathSource {
  return { local: false, ebgp: info.ebgp, routerId: info.routerId, address: info.address, igpMetric: info.igpMetric };
}

export interface PeerCounts {
  received: Record<AddressFamily, number>;
  accepted: Record<AddressFamily, number>;
  advertised: Record<AddressFamily, number>;
}

/** Prefixes received, accepted by import policy and advertised, per family. */
export function peerCounts(p: PeerState): PeerCounts {
  const tally = (maps: Iterable<PrefixMap>): Record<AddressFamily, number> => {
    const r = { ipv4: 0, ipv6: 0 };
    for (const m of maps) {
      const v6 = m.sizeV6;
      r.ipv4 += m.size - v6;
      r.ipv6 += v6;
    }
    return r;
  };
  const received = tally(p.pre.values());
  const accepted = { ...received };
  // Accepted = received minus the rejections, which are all in the exception maps.
  for (const m of p.exc.values()) m.forEach((k, v) => { if (v < 0) accepted[keyFamily(k)]--; });
  return { received, accepted, advertised: addPathTally(tally([p.out]), p.addPath) };
}

function addPathTally(r: Record<AddressFamily, number>, out: AddPathOut | null): Record<AddressFamily, number> {
  out?.forEach((k) => r[keyFamily(k)]++);
  return r;
}
