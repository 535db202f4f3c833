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
//
// This file is the facade and the pipeline's control; its parts: peer-state.ts (per-peer Adj-RIBs,
// import cache, sending under MRAI), path-sets.ts (the Loc-RIB's interned values and their next hops),
// fib-batch.ts (the columnar FIB output), export.ts (export rules, add-path), decision.ts, policy.ts.
import { AttrTable, type Attrs, type AttrSet } from './attrs.js';
import { decide, BestReason, type BestReasonName, type Candidate, type DecisionOptions, type PathSource } from './decision.js';
import { asLoop } from './policy.js';
import { AddPathOut, PathIds, exportRoute } from './export.js';
import { KeyList } from './key-list.js';
import { keyFamily, PrefixMap, type AddressFamily, type PrefixKey } from './prefix.js';
import { FibBatchBuilder, fibChanges, subscribe, type FibBatch, type FibChange, type NextHop } from './fib-batch.js';
import { PathSetTable, type PathRef, type PathSet } from './path-sets.js';
import { REJECTED, importAttr, importCache, peerCounts, releaseImportCache, sendPending, sourceOf, type PeerCounts, type ImportCache, type OutboundBatch, type OutboundListener, type PeerState, type RibPeerInfo } from './peer-state.js';
import { BgpError, BgpErrorCode } from '../errors.js';

export type { OutboundBatch, PeerCounts, RibPeerInfo } from './peer-state.js';
export { fibBatchKey, fibChanges, type FibBatch, type FibChange, type NextHop } from './fib-batch.js';

export interface RibOptions extends DecisionOptions {
  readonly localAs: number;
  readonly routerId: string;
  /** RFC 4456 §7: defaults to the router ID. */
  readonly clusterId?: string;
}

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
  private readonly pathSets = new PathSetTable(this.attrs, (id) => this.peers.get(id)?.info);
  private dirty = new KeyList();
  private scheduled = false;
  private readonly fibListeners: ((changes: FibChange[]) => void)[] = [];
  private readonly fibBatchListeners: ((batch: FibBatch) => void)[] = [];
  private readonly fibOut = new FibBatchBuilder();
  private outboundListener: OutboundListener | null = null;
  private readonly emitOutbound: OutboundListener = (id, batch) => this.outboundListener?.(id, batch);
  private readonly clusterId: string;

  constructor(private opts: RibOptions) {
    this.clusterId = opts.clusterId ?? opts.routerId;
  }

  setOptions(opts: RibOptions): void {
    this.opts = opts;
  }

  /** FIB changes per decision pass as objects (built only while someone listens here). */
  onFib(cb: (changes: FibChange[]) => void): () => void {
    return subscribe(this.fibListeners, cb);
  }

  /** FIB changes per decision pass, columnar (see FibBatch): what the agent's FIB path uses. */
  onFibBatch(cb: (batch: FibBatch) => void): () => void {
    return subscribe(this.fibBatchListeners, cb);
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
    this.loc.forEach((key, sid) => this.exportOne(p, key, this.pathSets.get(sid)));
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
    const cache = rejectAll ? null : importCache(p, pre);
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
      const postId = rejectAll ? REJECTED : cache ? importAttr(this.attrs, key, pre, cache) : preId;
      if (this.setPost(excMap, key, preId, postId)) accepted++;
      this.dirty.push(key);
    });
    this.attrs.ref(preId, preRefs);
    // Release the references taken for the cache entries and by intern().
    if (cache) releaseImportCache(this.attrs, cache);
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
        if (cache === undefined) caches.set(attrId, (cache = importCache(p, pre)));
        const postId = this.loops(p, pre) ? REJECTED : cache ? importAttr(this.attrs, key, pre, cache) : attrId;
        this.setPost(excMap, key, attrId, postId);
        this.dirty.push(key);
      });
    }
    for (const c of caches.values()) if (c) releaseImportCache(this.attrs, c);
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
    this.loc.forEach((key, sid) => this.exportOne(p, key, this.pathSets.get(sid)));
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
    // FIB changes are collected columnar (FibBatch): the decision loop allocates nothing per prefix.
    const fib = this.fibOut;
    const wantFib = this.fibListeners.length > 0 || this.fibBatchListeners.length > 0;
    const exporting = this.peerList.filter((p) => p.established);
    this.reserveLoc(dirty);
    // A plain loop calling a method: a closure made per pass would be a new call target for the
    // optimized loop each time (V8 deoptimizes on "wrong call target").
    for (let i = 0, n = dirty.length; i < n; i++) this.decideOne(dirty.at(i), wantFib, exporting);
    if (fib.size) {
      const batch = fib.take();
      for (const l of this.fibBatchListeners) l(batch);
      if (this.fibListeners.length) {
        const changes = fibChanges(batch);
        for (const l of this.fibListeners) l(changes);
      }
    }
    for (const p of exporting) sendPending(p, this.attrs, this.emitOutbound);
  }

  /** The decision for one dirty prefix: Loc-RIB, FIB batch, Adj-RIB-Out of every established peer. */
  private decideOne(key: PrefixKey, wantFib: boolean, exporting: PeerState[]): void {
    const fib = this.fibOut;
    const next = this.select(key);
    // One hash probe for the read and the write: set and delete return what was there.
    const prev = next === undefined ? this.loc.delete(key) : this.loc.set(key, next);
    if (next === prev) {
      if (next !== undefined) this.releasePathSet(next); // select() took a reference
      return;
    }
    const prevSet = prev !== undefined ? this.pathSets.get(prev) : undefined;
    const nextSet = next !== undefined ? this.pathSets.get(next) : undefined;
    if (wantFib) {
      const prevFib = prevSet && prevSet.paths[0]!.peer !== LOCAL_PEER ? prevSet.nextHops : null;
      const nextFib = nextSet && nextSet.paths[0]!.peer !== LOCAL_PEER ? nextSet.nextHops : null;
      if (nextFib || prevFib) fib.push(key, nextFib);
    }
    if (prev !== undefined) this.releasePathSet(prev);
    for (let i = 0; i < exporting.length; i++) this.exportOne(exporting[i]!, key, nextSet);
  }

  /**
   * A pass that grows the Loc-RIB (a table load: every dirty key new) sizes its maps once, instead of
   * rehashing through every power of 4 on the way (8% of a 100k load's CPU profile). Only when the pass
   * has more keys of a length than the map holds, so a refresh of a known table reserves nothing.
   */
  private readonly lenCounts = new Int32Array(33);
  private reserveLoc(dirty: KeyList): void {
    dirty.countV4ByLength(this.lenCounts);
    for (let len = 0; len <= 32; len++) {
      const n = this.lenCounts[len]!;
      if (n > 1024 && n > this.loc.sizeV4(len)) this.loc.reserveV4(len, n);
    }
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
      // The common case: no array and no string built per prefix.
      const hit = this.pathSets.single(oneAttr, onePeer);
      if (hit !== undefined) return hit;
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
    return this.pathSets.intern(chosen, reason, refs.length === 1);
  }

  private releasePathSet(id: number): void {
    this.pathSets.release(id);
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

  // ---------------------------------------------------------------------------------------------
  // Introspection (plain data for uplinkctl)

  counts(id: number): PeerCounts {
    return peerCounts(this.peer(id));
  }

  get locRibSize(): number {
    return this.loc.size;
  }

  /** Selected next hops for a prefix (tests, `uplinkctl route`). */
  lookup(key: PrefixKey): { nextHops: readonly NextHop[]; reason: BestReasonName; local: boolean } | undefined {
    const id = this.loc.get(key);
    const s = id !== undefined ? this.pathSets.get(id) : undefined;
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
