// The RIB pipeline (RFC 4271 §3.2, §9): Adj-RIB-In (pre-policy) -> import policy -> Adj-RIB-In
// (post-policy) -> decision -> Loc-RIB -> export rules + export policy -> Adj-RIB-Out.
//
// Storage: every stage is a PrefixMap from a prefix to a small integer: an interned attribute set in
// the Adj-RIBs, an interned path set (the selected best + ECMP paths) in the Loc-RIB. No object per
// prefix survives a batch.
//
// Batching: inputs mark prefixes dirty; the decision runs once per event-loop turn (setImmediate) over
// the dirty set, then one FIB batch and one outbound batch per peer leave. Ownership: one Rib per
// speaker, single-threaded; listeners must not call back into the Rib synchronously.
import { AttrTable, type Attrs, type AttrSet } from './attrs.js';
import { decide, BestReason, type BestReasonName, type Candidate, type DecisionOptions, type PathSource } from './decision.js';
import { asLoop, attrVerdicts, evaluate, matchingTermWith, type CompiledPolicy } from './policy.js';
import { AddPathOut, PathIds, exportRoute, type AddPathBatch } from './export.js';
import { KeyList } from './key-list.js';
import { formatKey, keyFamily, PrefixMap, type AddressFamily, type PrefixKey } from './prefix.js';
import { BgpError, BgpErrorCode } from '../errors.js';

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
  /** Unnumbered peers: the interface the session runs over, where its link-local next hops live. */
  readonly interface?: string;
  /** RFC 4271 §9.2.1.1 MinRouteAdvertisementInterval for announcements to this peer; 0 = per turn. */
  readonly mraiMs?: number;
  /** RFC 7911: families in which the peer receives several paths from us (add-path send negotiated). */
  readonly addPathSend?: readonly AddressFamily[];
}

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

export interface OutboundBatch {
  readonly withdraw: PrefixKey[];
  /** attribute set -> prefixes to announce with it. */
  readonly announce: Map<AttrSet, PrefixKey[]>;
  /** Families for which this batch completes the initial table (send End-of-RIB, RFC 4724 §2). */
  readonly endOfRib: readonly AddressFamily[];
  /** RFC 7911 add-path families: every path with its Path Identifier (not in withdraw/announce). */
  readonly paths?: AddPathBatch;
}

export interface RibOptions extends DecisionOptions {
  readonly localAs: number;
  readonly routerId: string;
  /** RFC 4456 §7: defaults to the router ID. */
  readonly clusterId?: string;
}

interface PeerState {
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
interface ImportCache {
  readonly policy: CompiledPolicy;
  readonly verdicts: Uint8Array;
  /** UNSEEN until the term first matches; REJECTED; or an id holding one reference until release. */
  readonly post: Int32Array;
}
const UNSEEN = -3;
const REJECTED = -2;

interface PathRef {
  readonly peer: number;
  readonly pathId: number;
  readonly attr: number;
}

interface PathSet {
  readonly key: string;
  readonly paths: readonly PathRef[];
  readonly reason: BestReasonName;
  readonly nextHops: readonly NextHop[];
  refs: number;
}

/** The next hops of a removal (shared: FibChange is read-only). */
const NO_HOPS: readonly NextHop[] = Object.freeze([]);

/** Peer id 0 is the speaker itself (locally originated prefixes). */
export const LOCAL_PEER = 0;
const LOCAL_SOURCE: PathSource = { local: true, ebgp: false, routerId: '0.0.0.0', address: '0.0.0.0', igpMetric: 0 };

export class Rib {
  readonly attrs = new AttrTable();
  private readonly pathIds = new PathIds();
  private readonly peers = new Map<number, PeerState>();
  private peerList: PeerState[] = [];
  private nextPeerId = 1;
  private readonly local = new PrefixMap();
  private readonly loc = new PrefixMap();
  private readonly pathSets: (PathSet | undefined)[] = [];
  private readonly pathSetByKey = new Map<string, number>();
  private readonly freePathSets: number[] = [];
  /** attr * 65536 + peer -> path set id, for single-path sets (see select). */
  private readonly singleSets = new Map<number, number>();
  private dirty = new KeyList();
  private scheduled = false;
  private readonly fibListeners: ((changes: FibChange[]) => void)[] = [];
  private outboundListener: ((peerId: number, batch: OutboundBatch) => void) | null = null;
  private readonly clusterId: string;

  constructor(private opts: RibOptions) {
    this.clusterId = opts.clusterId ?? opts.routerId;
  }

  setOptions(opts: RibOptions): void {
    this.opts = opts;
  }

  onFib(cb: (changes: FibChange[]) => void): void {
    this.fibListeners.push(cb);
  }

  onOutbound(cb: (peerId: number, batch: OutboundBatch) => void): void {
    this.outboundListener = cb;
  }

  // ---------------------------------------------------------------------------------------------
  // Peers

  addPeer(info: RibPeerInfo): number {
    const id = this.nextPeerId++;
    this.peers.set(id, {
      id,
      info,
      pre: new Map(),
      exc: new Map(),
      inIds: [],
      inPre: [],
      inExc: [],
      out: new PrefixMap(),
      pending: null,
      established: false,
      eorPending: [],
      stale: null,
      source: sourceOf(info),
      lastSent: 0,
      mraiTimer: null,
      addPath: info.addPathSend?.length ? new AddPathOut(new Set(info.addPathSend), this.attrs, this.pathIds) : null,
    });
    this.peerList = [...this.peers.values()];
    return id;
  }

  updatePeer(id: number, info: RibPeerInfo): void {
    const p = this.peer(id);
    p.info = info;
    p.source = sourceOf(info);
    const fams = [...(info.addPathSend ?? [])].sort().join();
    if (fams !== [...(p.addPath?.families ?? [])].sort().join()) {
      // Negotiated per session (after OPEN): a new set starts from an empty add-path Adj-RIB-Out.
      p.addPath?.clear();
      p.addPath = fams ? new AddPathOut(new Set(info.addPathSend), this.attrs, this.pathIds) : null;
    }
  }

  removePeer(id: number): void {
    this.peerDown(id, false);
    this.peers.delete(id);
    this.peerList = [...this.peers.values()];
  }

  private peer(id: number): PeerState {
    const p = this.peers.get(id);
    if (!p) throw new BgpError(BgpErrorCode.UnknownPeer, `no RIB peer ${id}`);
    return p;
  }

  /** Session Established: send the whole table, then End-of-RIB per family. */
  peerUp(id: number, families: readonly AddressFamily[]): void {
    const p = this.peer(id);
    p.established = true;
    p.eorPending = [...families];
    this.loc.forEach((key, sid) => this.exportOne(p, key, this.pathSets[sid]));
    p.pending ??= new PrefixMap();
    this.schedule();
  }

  /**
   * Session left Established. `graceful` (RFC 4724 §4.2, helper side): keep the routes, marked stale,
   * until End-of-RIB or `sweepStale`; otherwise withdraw everything now.
   */
  peerDown(id: number, graceful: boolean): void {
    const p = this.peer(id);
    p.established = false;
    p.pending = null;
    p.eorPending = [];
    if (p.mraiTimer) clearTimeout(p.mraiTimer);
    p.mraiTimer = null;
    p.out.forEach((_k, v) => this.attrs.unref(v));
    p.out.clear();
    p.addPath?.clear();
    if (graceful) {
      const stale = p.stale ?? new PrefixMap();
      for (const m of p.pre.values()) m.forEach((k) => stale.set(k, 1));
      p.stale = stale;
      return;
    }
    p.stale = null;
    for (const m of p.pre.values()) m.forEach((k, v) => { this.attrs.unref(v); this.dirty.push(k); });
    for (const m of p.exc.values()) m.forEach((_k, v) => { if (v >= 0) this.attrs.unref(v); });
    p.pre.clear();
    p.exc.clear();
    p.inIds = [];
    p.inPre = [];
    p.inExc = [];
    this.schedule();
  }

  /** Mark a peer's routes of one family stale without touching anything else (RFC 7313 BoRR). */
  markStale(id: number, family: AddressFamily): void {
    const p = this.peer(id);
    const stale = p.stale ?? new PrefixMap();
    for (const m of p.pre.values()) m.forEach((k) => { if (keyFamily(k) === family) stale.set(k, 1); });
    p.stale = stale;
  }

  /** RFC 4724 §4.2: End-of-RIB (or the stale timer) removes what the restarted peer did not resend. */
  sweepStale(id: number, family?: AddressFamily): number {
    const p = this.peer(id);
    if (!p.stale) return 0;
    const gone: PrefixKey[] = [];
    p.stale.forEach((k) => {
      if (!family || keyFamily(k) === family) gone.push(k);
    });
    for (const k of gone) {
      p.stale.delete(k);
      for (const pathId of [...p.pre.keys()]) this.removePath(p, k, pathId);
    }
    if (p.stale.size === 0) p.stale = null;
    this.schedule();
    return gone.length;
  }

  // ---------------------------------------------------------------------------------------------
  // Input (Adj-RIB-In)

  /**
   * Store one UPDATE's announcements. `each` calls `visit` once per prefix (the session walks the NLRI
   * without allocating). Returns how many were accepted by import policy.
   */
  announce(id: number, attrs: Attrs, each: (visit: (key: PrefixKey, pathId: number) => void) => void): number {
    const p = this.peer(id);
    // RFC 4271 §5.1.5: LOCAL_PREF from an external peer is ignored.
    const clean = p.info.ebgp && attrs.localPref !== undefined ? { ...attrs, localPref: undefined } : attrs;
    const pre = this.attrs.intern(clean);
    const rejectAll = this.loops(p, pre);
    const cache = rejectAll ? null : this.importCache(p, pre);
    const preId = pre.id;
    const stale = p.stale;
    let preRefs = 0;
    let accepted = 0;
    let lastPathId = -1;
    let preMap: PrefixMap = new PrefixMap();
    let excMap: PrefixMap = preMap;
    each((key, pathId) => {
      if (pathId !== lastPathId) {
        // One or two path ids per UPDATE in practice: look the maps up only when it changes.
        lastPathId = pathId;
        preMap = p.pre.get(pathId) ?? this.newPathId(p, pathId);
        excMap = p.exc.get(pathId)!;
      }
      // The references for the pre-policy map are added once after the loop: intern() holds one
      // until then, so an unref of the same id below never frees it.
      preRefs++;
      const prev = preMap.set(key, preId);
      if (prev !== undefined) this.attrs.unref(prev);
      if (stale) stale.delete(key);
      const postId = rejectAll ? REJECTED : cache ? this.importAttr(p, key, pre, cache) : preId;
      if (this.setPost(excMap, key, preId, postId)) accepted++;
      this.dirty.push(key);
    });
    this.attrs.ref(preId, preRefs);
    // Release the references taken for the cache entries and by intern().
    if (cache) this.releaseImportCache(cache);
    this.attrs.unref(preId);
    this.schedule();
    return accepted;
  }

  withdraw(id: number, each: (visit: (key: PrefixKey, pathId: number) => void) => void): void {
    const p = this.peer(id);
    each((key, pathId) => {
      this.removePath(p, key, pathId);
      p.stale?.delete(key);
    });
    this.schedule();
  }

  private removePath(p: PeerState, key: PrefixKey, pathId: number): void {
    const a = p.pre.get(pathId)?.delete(key);
    if (a === undefined) return; // nothing stored, so no exception either (see PeerState.exc)
    this.attrs.unref(a);
    const exc = p.exc.get(pathId)!;
    const e = exc.size === 0 ? undefined : exc.delete(key);
    if (e !== undefined && e >= 0) this.attrs.unref(e);
    this.dirty.push(key);
  }

  /** The pre-policy map of a new path id, with its (empty) exception map. */
  private newPathId(p: PeerState, pathId: number): PrefixMap {
    const pre = new PrefixMap();
    const exc = new PrefixMap();
    p.pre.set(pathId, pre);
    p.exc.set(pathId, exc);
    p.inIds.push(pathId);
    p.inPre.push(pre);
    p.inExc.push(exc);
    return pre;
  }

  /**
   * Record the post-policy outcome of one stored prefix as an exception or its absence. `postId` is
   * preId (accepted unchanged), another attribute id (rewritten: the exception takes its own
   * reference), or REJECTED. Returns whether the route was accepted.
   */
  private setPost(exc: PrefixMap, key: PrefixKey, preId: number, postId: number): boolean {
    let prev: number | undefined;
    if (postId === preId) {
      // The fast path: nothing to store, nothing to remove while the peer has no exceptions.
      if (exc.size === 0) return true;
      prev = exc.delete(key);
    } else {
      if (postId >= 0) this.attrs.ref(postId);
      prev = exc.set(key, postId);
    }
    if (prev !== undefined && prev >= 0) this.attrs.unref(prev);
    return postId >= 0;
  }

  /** Post-policy attribute id of a stored path, or undefined when absent or rejected. */
  private postOf(pre: PrefixMap, exc: PrefixMap, key: PrefixKey): number | undefined {
    const a = pre.get(key);
    if (a === undefined || exc.size === 0) return a;
    const e = exc.get(key);
    if (e === undefined) return a;
    return e >= 0 ? e : undefined;
  }

  /** RFC 4271 §9.1.2 AS loop; RFC 4456 §8 ORIGINATOR_ID / CLUSTER_LIST loops. */
  private loops(p: PeerState, a: Attrs): boolean {
    if (p.info.ebgp && asLoop(a, p.info.localAs, p.info.allowasIn)) return true;
    if (p.info.ebgp && p.info.localAs !== this.opts.localAs && asLoop(a, this.opts.localAs, p.info.allowasIn)) return true;
    if (a.originatorId === this.opts.routerId) return true;
    if (a.clusterList?.includes(this.clusterId)) return true;
    return false;
  }

  /**
   * The import cache for one attribute set (one UPDATE, or one set on reimport), or null when the peer
   * has no import policy. The terms' attribute conditions are evaluated here once, so per prefix only
   * the prefix lists run (RFC 4271 §9.1.1 policy, applied per route but mostly per attribute set).
   */
  private importCache(p: PeerState, pre: AttrSet): ImportCache | null {
    const pol = p.info.importPolicy;
    if (!pol) return null;
    return { policy: pol, verdicts: attrVerdicts(pol, pre), post: new Int32Array(pol.terms.length + 1).fill(UNSEEN) };
  }

  private releaseImportCache(cache: ImportCache): void {
    for (const v of cache.post) if (v >= 0) this.attrs.unref(v);
  }

  /** Post-policy attribute id for one prefix (REJECTED = -2), cached per matched term. */
  private importAttr(p: PeerState, key: PrefixKey, pre: AttrSet, cache: ImportCache): number {
    const term = matchingTermWith(cache.policy, key, cache.verdicts);
    const hit = cache.post[term + 1]!;
    if (hit !== UNSEEN) return hit;
    const r = evaluate(cache.policy, key, pre);
    let id = REJECTED;
    if (r.accept) id = r.changed ? this.attrs.intern(r.attrs).id : (this.attrs.ref(pre.id), pre.id);
    cache.post[term + 1] = id;
    return id;
  }

  /** Soft reconfiguration inbound: re-run import policy over the stored pre-policy routes. */
  reimport(id: number): void {
    const p = this.peer(id);
    // Term caches are per pre-policy attribute set: the rewrite depends on the attributes it started from.
    const caches = new Map<number, ImportCache | null>();
    for (const [pathId, preMap] of p.pre) {
      const excMap = p.exc.get(pathId)!;
      preMap.forEach((key, attrId) => {
        const pre = this.attrs.get(attrId);
        let cache = caches.get(attrId);
        if (cache === undefined) caches.set(attrId, (cache = this.importCache(p, pre)));
        const postId = this.loops(p, pre) ? REJECTED : cache ? this.importAttr(p, key, pre, cache) : attrId;
        this.setPost(excMap, key, attrId, postId);
        this.dirty.push(key);
      });
    }
    for (const c of caches.values()) if (c) this.releaseImportCache(c);
    this.schedule();
  }

  /** Re-send everything to a peer (route refresh received, or export policy changed). */
  reexport(id: number): void {
    const p = this.peer(id);
    if (!p.established) return;
    p.pending ??= new PrefixMap();
    p.out.forEach((k, v) => {
      this.attrs.unref(v);
      p.pending!.set(k, -1);
    });
    p.out.clear();
    p.addPath?.withdrawAll();
    this.loc.forEach((key, sid) => this.exportOne(p, key, this.pathSets[sid]));
    this.schedule();
  }

  // ---------------------------------------------------------------------------------------------
  // Locally originated prefixes (desired state: the caller gives the whole set)

  setLocal(prefixes: ReadonlyMap<PrefixKey, Attrs>): void {
    const seen = new PrefixMap();
    for (const [key, a] of prefixes) {
      seen.set(key, 1);
      const set = this.attrs.intern(a);
      const prev = this.local.set(key, set.id);
      if (prev !== undefined) this.attrs.unref(prev);
      if (prev !== set.id) this.dirty.push(key);
    }
    const gone: PrefixKey[] = [];
    this.local.forEach((k) => { if (!seen.has(k)) gone.push(k); });
    for (const k of gone) {
      this.attrs.unref(this.local.delete(k)!);
      this.dirty.push(k);
    }
    this.schedule();
  }

  // ---------------------------------------------------------------------------------------------
  // Decision and output

  /**
   * RFC 4724 §4.1 restarting speaker: while set, inputs only fill the Adj-RIBs-In and mark prefixes
   * dirty; no decision, FIB batch, UPDATE or End-of-RIB leaves until the speaker lifts it.
   */
  private deferred = false;

  deferSelection(on: boolean): void {
    this.deferred = on;
    if (!on) this.schedule();
  }

  get selectionDeferred(): boolean {
    return this.deferred;
  }

  private schedule(): void {
    if (this.scheduled || this.deferred) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Run the decision over everything dirty now (also called by tests and the bench). */
  flush(): void {
    this.scheduled = false;
    const dirty = this.dirty;
    this.dirty = new KeyList();
    // FIB changes are collected as (key, next hops) and become objects in one pass after the
    // decision: the decision loop allocates nothing per prefix.
    const fibKeys: PrefixKey[] = [];
    const fibHops: (readonly NextHop[])[] = [];
    const wantFib = this.fibListeners.length > 0;
    const exporting = this.peerList.filter((p) => p.established);
    dirty.forEach((key) => {
      const next = this.select(key);
      // One hash probe for the read and the write: set and delete return what was there.
      const prev = next === undefined ? this.loc.delete(key) : this.loc.set(key, next);
      if (next === prev) {
        if (next !== undefined) this.releasePathSet(next); // select() took a reference
        return;
      }
      const prevSet = prev !== undefined ? this.pathSets[prev] : undefined;
      const nextSet = next !== undefined ? this.pathSets[next] : undefined;
      if (wantFib) {
        const prevFib = prevSet && prevSet.paths[0]!.peer !== LOCAL_PEER ? prevSet.nextHops : null;
        const nextFib = nextSet && nextSet.paths[0]!.peer !== LOCAL_PEER ? nextSet.nextHops : null;
        if (nextFib || prevFib) {
          fibKeys.push(key);
          fibHops.push(nextFib ?? NO_HOPS);
        }
      }
      if (prev !== undefined) this.releasePathSet(prev);
      for (let i = 0; i < exporting.length; i++) this.exportOne(exporting[i]!, key, nextSet);
    });
    if (fibKeys.length) {
      const changes: FibChange[] = [];
      for (let i = 0; i < fibKeys.length; i++) {
        const key = fibKeys[i]!;
        changes.push({ prefix: formatKey(key), family: keyFamily(key), nextHops: fibHops[i]! });
      }
      for (const l of this.fibListeners) l(changes);
    }
    for (const p of exporting) this.sendPending(p);
  }

  /** Interned path set for the prefix (one reference taken), or undefined when no path is left. */
  private select(key: PrefixKey): number | undefined {
    // First pass without allocating: most prefixes have exactly one path.
    let n = 0;
    let onePeer = 0;
    let onePath = 0;
    let oneAttr = 0;
    // Most speakers originate a handful of prefixes or none: no probe while there are none.
    const localAttr = this.local.size === 0 ? undefined : this.local.get(key);
    if (localAttr !== undefined) {
      n++;
      oneAttr = localAttr;
    }
    const peers = this.peerList;
    for (let i = 0; i < peers.length; i++) {
      const p = peers[i]!;
      for (let j = 0; j < p.inPre.length; j++) {
        const a = this.postOf(p.inPre[j]!, p.inExc[j]!, key);
        if (a === undefined) continue;
        n++;
        onePeer = p.id;
        onePath = p.inIds[j]!;
        oneAttr = a;
      }
    }
    if (n === 0) return undefined;
    if (n === 1 && onePath === 0) {
      // The common case: a numeric cache key instead of building a string per prefix.
      const hit = this.singleSets.get(oneAttr * 65536 + onePeer);
      if (hit !== undefined) {
        this.pathSets[hit]!.refs++;
        return hit;
      }
    }
    const refs: PathRef[] = [];
    if (localAttr !== undefined) refs.push({ peer: LOCAL_PEER, pathId: 0, attr: localAttr });
    for (const p of peers) {
      for (let j = 0; j < p.inPre.length; j++) {
        const a = this.postOf(p.inPre[j]!, p.inExc[j]!, key);
        if (a !== undefined) refs.push({ peer: p.id, pathId: p.inIds[j]!, attr: a });
      }
    }
    let chosen: PathRef[];
    let reason: BestReasonName = BestReason.OnlyPath;
    if (refs.length === 1) chosen = refs;
    else {
      const d = decide(refs.map((r) => this.candidate(r)), this.opts)!;
      chosen = d.multipath.map((i) => refs[i]!);
      reason = d.reason;
    }
    let skey = '';
    for (const r of chosen) skey += `${r.peer}:${r.pathId}:${r.attr};`;
    const found = this.pathSetByKey.get(skey);
    if (found !== undefined) {
      this.pathSets[found]!.refs++;
      return found;
    }
    const id = this.freePathSets.pop() ?? this.pathSets.length;
    for (const r of chosen) this.attrs.ref(r.attr);
    this.pathSets[id] = { key: skey, paths: chosen, reason, nextHops: this.nextHopsOf(chosen), refs: 1 };
    this.pathSetByKey.set(skey, id);
    if (refs.length === 1 && chosen[0]!.pathId === 0) this.singleSets.set(chosen[0]!.attr * 65536 + chosen[0]!.peer, id);
    return id;
  }

  private releasePathSet(id: number): void {
    const s = this.pathSets[id]!;
    if (--s.refs > 0) return;
    for (const r of s.paths) this.attrs.unref(r.attr);
    this.pathSetByKey.delete(s.key);
    const only = s.paths.length === 1 ? s.paths[0]! : null;
    if (only && only.pathId === 0 && this.singleSets.get(only.attr * 65536 + only.peer) === id) this.singleSets.delete(only.attr * 65536 + only.peer);
    this.pathSets[id] = undefined;
    this.freePathSets.push(id);
  }

  private nextHopsOf(paths: readonly PathRef[]): NextHop[] {
    const out: NextHop[] = [];
    for (const r of paths) {
      const a = this.attrs.get(r.attr);
      const p = this.peers.get(r.peer);
      const nh = nextHopOf(a.nextHop, a.nextHopLocal, p?.info);
      if (!out.some((x) => x.address === nh.address && x.linkLocal === nh.linkLocal)) out.push(nh);
    }
    return out;
  }

  private candidate(r: PathRef): Candidate {
    const source = r.peer === LOCAL_PEER ? LOCAL_SOURCE : this.peer(r.peer).source;
    return { source, attrs: this.attrs.get(r.attr) };
  }

  /** Export rules (RFC 4271 §9.1.3, RFC 4456 §6) then export policy, into the peer's pending set. */
  private exportOne(p: PeerState, key: PrefixKey, set: PathSet | undefined): void {
    if (p.addPath?.covers(key)) {
      // RFC 7911: every selected path (best and multipath), each under its own Path Identifier.
      const paths: { peer: number; pathId: number; attrs: Attrs }[] = [];
      for (const r of set?.paths ?? []) {
        const a = this.exportAttrs(p, key, r);
        if (a) paths.push({ peer: r.peer, pathId: r.pathId, attrs: a });
      }
      p.addPath.export(key, paths);
      return;
    }
    const attrs = set ? this.exportAttrs(p, key, set.paths[0]!) : null;
    // A full table from the only established peer exports nothing back to it (split horizon): skip
    // the Adj-RIB-Out probe while that table is empty.
    if (attrs === null && p.out.size === 0) return;
    const prev = p.out.get(key);
    if (attrs === null) {
      if (prev === undefined) return;
      this.attrs.unref(prev);
      p.out.delete(key);
      (p.pending ??= new PrefixMap()).set(key, -1);
      return;
    }
    const a = this.attrs.intern(attrs);
    if (prev === a.id) {
      this.attrs.unref(a.id);
      return;
    }
    if (prev !== undefined) this.attrs.unref(prev);
    p.out.set(key, a.id);
    (p.pending ??= new PrefixMap()).set(key, a.id);
  }

  private exportAttrs(p: PeerState, key: PrefixKey, best: PathRef): Attrs | null {
    if (best.peer === p.id) return null; // never back to the peer it came from
    const src = best.peer === LOCAL_PEER ? null : this.peer(best.peer).info;
    return exportRoute({ clusterId: this.clusterId, defaultLocalPref: this.opts.defaultLocalPref ?? 100 }, p.info, src, key, this.attrs.get(best.attr));
  }

  private sendPending(p: PeerState): void {
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
      if (withdraw.length) this.outboundListener?.(p.id, { withdraw, announce: new Map(), endOfRib: [] });
      if (!p.mraiTimer) {
        p.mraiTimer = setTimeout(() => {
          p.mraiTimer = null;
          if (p.established) this.sendPending(p);
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
      const a = this.attrs.get(v);
      let list = batch.announce.get(a);
      if (!list) batch.announce.set(a, (list = []));
      list.push(key);
    });
    this.outboundListener?.(p.id, batch);
  }

  // ---------------------------------------------------------------------------------------------
  // Introspection (plain data for uplinkctl)

  counts(id: number): { received: Record<AddressFamily, number>; accepted: Record<AddressFamily, number>; advertised: Record<AddressFamily, number> } {
    const p = this.peer(id);
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

  get locRibSize(): number {
    return this.loc.size;
  }

  /** Selected next hops for a prefix (tests, `uplinkctl route`). */
  lookup(key: PrefixKey): { nextHops: readonly NextHop[]; reason: BestReasonName; local: boolean } | undefined {
    const id = this.loc.get(key);
    const s = id !== undefined ? this.pathSets[id] : undefined;
    if (!s) return undefined;
    return { nextHops: s.nextHops, reason: s.reason, local: s.paths[0]!.peer === LOCAL_PEER };
  }

  /** Every path for a prefix with the decision's verdict (recomputed: the decision is pure). */
  paths(key: PrefixKey): { peer: string; pathId: number; attrs: AttrSet; best: boolean; multipath: boolean; reason: BestReasonName | null }[] {
    const refs: PathRef[] = [];
    const la = this.local.get(key);
    if (la !== undefined) refs.push({ peer: LOCAL_PEER, pathId: 0, attr: la });
    for (const p of this.peers.values()) for (let j = 0; j < p.inPre.length; j++) {
      const a = this.postOf(p.inPre[j]!, p.inExc[j]!, key);
      if (a !== undefined) refs.push({ peer: p.id, pathId: p.inIds[j]!, attr: a });
    }
    const d = decide(refs.map((r) => this.candidate(r)), this.opts);
    return refs.map((r, i) => ({
      peer: r.peer === LOCAL_PEER ? 'local' : this.peer(r.peer).info.name,
      pathId: r.pathId,
      attrs: this.attrs.get(r.attr),
      best: d?.best === i,
      multipath: d?.multipath.includes(i) ?? false,
      reason: d?.best === i ? d.reason : null,
    }));
  }

  forEachLoc(cb: (key: PrefixKey) => void): void {
    this.loc.forEach((k) => cb(k));
  }

  /** Adj-RIB-In (pre or post policy) or Adj-RIB-Out of a peer. */
  adjRib(id: number, which: 'in-pre' | 'in-post' | 'out', cb: (key: PrefixKey, attrs: AttrSet, pathId: number) => void): void {
    const p = this.peer(id);
    if (which === 'out') {
      p.out.forEach((k, v) => cb(k, this.attrs.get(v), 0));
      p.addPath?.forEach((k, id, v) => cb(k, this.attrs.get(v), id));
      return;
    }
    for (let j = 0; j < p.inPre.length; j++) {
      const pathId = p.inIds[j]!;
      const exc = which === 'in-post' ? p.inExc[j]! : null;
      p.inPre[j]!.forEach((k, v) => {
        const e = exc && exc.size !== 0 ? exc.get(k) : undefined;
        if (e === undefined) cb(k, this.attrs.get(v), pathId);
        else if (e >= 0) cb(k, this.attrs.get(e), pathId);
      });
    }
  }

  staleCount(id: number): number {
    return this.peer(id).stale?.size ?? 0;
  }
}

function sourceOf(info: RibPeerInfo): PathSource {
  return { local: false, ebgp: info.ebgp, routerId: info.routerId, address: info.address, igpMetric: info.igpMetric };
}

function addPathTally(r: Record<AddressFamily, number>, out: AddPathOut | null): Record<AddressFamily, number> {
  out?.forEach((k) => r[keyFamily(k)]++);
  return r;
}

const isLinkLocal = (a: string): boolean => /^fe[89ab][0-9a-f]:/i.test(a);

/**
 * RFC 2545 §3: a global next hop is used as is; a link-local one (MP_REACH's second address, or the
 * only one an unnumbered peer sends) is reachable only through the interface of the session it came
 * over (RFC 4291 §2.5.6), so it carries that interface. No next hop at all: the peer itself.
 */
function nextHopOf(global: string, local: string | undefined, peer: RibPeerInfo | undefined): NextHop {
  const g = global && global !== '::' && global !== '0.0.0.0' ? global : '';
  const ll = g && isLinkLocal(g) ? g : !g ? local : undefined;
  if (ll) return peer?.interface ? { address: ll, linkLocal: peer.interface } : { address: ll };
  return { address: g || (peer?.address ?? '') };
}
