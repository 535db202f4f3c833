// Export rules as a pure function: what a route looks like when sent to one peer (RFC 4271 §5.1, §9.1.3;
// RFC 4456 §6 for reflection), then the peer's export policy. null = not sent.
import type { AttrSet, AttrTable, Attrs } from './attrs.js';
import { evaluate } from './policy.js';
import { keyFamily, type AddressFamily, type PrefixKey } from './prefix.js';
import type { RibPeerInfo } from './peer-state.js';
import { AsPathSegmentType } from '../wire/types.js';

export interface ExportContext {
  readonly clusterId: string;
  readonly defaultLocalPref: number;
}

/** IPv6 link-local (fe80::/10): meaningful only on the link it was learned on (RFC 4291 §2.5.6). */
const isLinkLocal = (a: string): boolean => /^fe[89ab][0-9a-f]:/i.test(a);

/** `src` is the peer the best path came from, null for a locally originated route. */
export function exportRoute(ctx: ExportContext, to: RibPeerInfo, src: RibPeerInfo | null, key: PrefixKey, a: Attrs): Attrs | null {
  // Safe default: without an export policy only our own prefixes leave (no accidental transit).
  if (!to.exportPolicy && src !== null) return null;
  // RFC 4456 §6: iBGP-learned routes go to iBGP peers only by reflection.
  if (src && !src.ebgp && !to.ebgp && !src.rrClient && !to.rrClient) return null;
  const fam = keyFamily(key);
  const self = fam === 'ipv4' ? to.localNextHop.ipv4 ?? to.localNextHop.ipv6 ?? '' : to.localNextHop.ipv6 ?? '';
  const selfLl = fam === 'ipv6' || !to.localNextHop.ipv4 ? to.localNextHop.ipv6LinkLocal : undefined;
  let out: Attrs;
  if (to.ebgp) {
    // §5.1.2: prepend our AS; §5.1.3: next hop self; §5.1.4: MED not propagated; §5.1.5: no LOCAL_PREF.
    const asn = to.localAs;
    const first = a.asPath[0];
    const asPath =
      first && first.type === AsPathSegmentType.AsSequence && first.asns.length < 255
        ? [{ type: first.type, asns: [asn, ...first.asns] }, ...a.asPath.slice(1)]
        : [{ type: AsPathSegmentType.AsSequence, asns: [asn] }, ...a.asPath];
    out = {
      origin: a.origin,
      asPath,
      nextHop: self,
      ...(selfLl ? { nextHopLocal: selfLl } : {}),
      ...(src === null && a.med !== undefined ? { med: a.med } : {}),
      ...(a.atomicAggregate ? { atomicAggregate: true } : {}),
      ...(a.aggregator ? { aggregator: a.aggregator } : {}),
      ...(a.communities ? { communities: a.communities } : {}),
      ...(a.largeCommunities ? { largeCommunities: a.largeCommunities } : {}),
      ...(a.extCommunities ? { extCommunities: a.extCommunities } : {}),
      ...(a.unknown ? { unknown: a.unknown } : {}),
    };
  } else {
    const reflect = src !== null && !src.ebgp;
    // A link-local in the global field (an unnumbered peer, e.g. FRR, sends its link-local in both
    // fields) is no global next hop: like none at all, it is replaced by ours. So is an IPv6 next hop
    // of an IPv4 route for a peer without extended next hop (RFC 8950 §4): it cannot be encoded.
    const nhSelf =
      src === null ||
      (to.nextHopSelf && !reflect) ||
      !a.nextHop ||
      isLinkLocal(a.nextHop) ||
      (fam === 'ipv4' && !to.extendedNextHop && a.nextHop.includes(':'));
    // RFC 2545 §3: a link-local next hop goes only to a peer sharing a subnet with the global one. A
    // next hop passed on unchanged was learned on another link (or one we cannot tell): the source's
    // link-local would be installed on the wrong interface there, so only the global address goes.
    const { originatorId: _o, clusterList: _c, nextHopLocal: _ll, ...rest } = a;
    out = {
      ...rest,
      nextHop: nhSelf ? self : a.nextHop,
      ...(nhSelf && selfLl ? { nextHopLocal: selfLl } : {}),
      localPref: a.localPref ?? ctx.defaultLocalPref,
      // RFC 4456 §8: ORIGINATOR_ID set once, our CLUSTER_ID prepended.
      ...(reflect ? { originatorId: a.originatorId ?? src.routerId, clusterList: [ctx.clusterId, ...(a.clusterList ?? [])] } : {}),
    };
  }
  // No next hop the peer can take (RFC 4271 §5.1.3; RFC 8950 §4: an IPv6 one on an IPv4 route needs
  // extended next hop; e.g. IPv4 over an IPv6 session without `nextHopIpv4`): not sent, instead of an
  // UPDATE the encoder has to refuse. A link-local alone (empty global) is an unnumbered session's.
  const nh = out.nextHop || out.nextHopLocal;
  if (!nh || (fam === 'ipv4' && nh.includes(':') && !to.extendedNextHop)) return null;
  const r = evaluate(to.exportPolicy, key, out);
  return r.accept ? r.attrs : null;
}

// ---------------------------------------------------------------------------------------------
// RFC 7911 add-path send

/** One advertised path: the prefix and the Path Identifier we gave it. */
export interface OutPath {
  readonly key: PrefixKey;
  readonly id: number;
}

/** What an add-path peer must be sent: withdrawals and announcements by Path Identifier. */
export interface AddPathBatch {
  readonly withdraw: OutPath[];
  readonly announce: Map<AttrSet, OutPath[]>;
}

/**
 * Path Identifiers for outbound paths, one per source path (peer id, received path id), shared by
 * every peer of a Rib. RFC 7911 §3: the identifier only has to be unique per prefix on a session; a
 * stable one per source lets a peer see a changed path as an implicit withdraw of the same id.
 */
export class PathIds {
  private readonly ids = new Map<string, number>();
  idFor(peer: number, pathId: number): number {
    const k = `${peer}:${pathId}`;
    let id = this.ids.get(k);
    if (id === undefined) this.ids.set(k, (id = this.ids.size + 1));
    return id;
  }
}

/**
 * Adj-RIB-Out of one peer that negotiated add-path receive for some families (RFC 7911 §4: we send,
 * it receives): every path of the Loc-RIB entry (best and multipath) leaves with its own Path
 * Identifier, and a path that goes is withdrawn by its identifier only. Each stored attribute id
 * holds one reference in `attrs`; `pending` holds none (the stored one keeps it alive until sent).
 */
export class AddPathOut {
  private readonly out = new Map<PrefixKey, Map<number, number>>();
  private pending = new Map<string, { key: PrefixKey; id: number; attr: number }>();

  constructor(
    readonly families: ReadonlySet<AddressFamily>,
    private readonly attrs: AttrTable,
    private readonly ids: PathIds,
  ) {}

  covers(key: PrefixKey): boolean {
    return this.families.has(keyFamily(key));
  }

  /** The paths the peer should have for `key` now (export rules already applied); queue the difference. */
  export(key: PrefixKey, paths: readonly { peer: number; pathId: number; attrs: Attrs }[]): void {
    const want = new Map<number, number>();
    for (const p of paths) {
      const id = this.ids.idFor(p.peer, p.pathId);
      if (!want.has(id)) want.set(id, this.attrs.intern(p.attrs).id);
    }
    const prev = this.out.get(key);
    if (prev) {
      for (const [id, a] of prev) {
        const w = want.get(id);
        if (w === undefined) this.queue(key, id, -1);
        else if (w !== a) this.queue(key, id, w);
        this.attrs.unref(a);
      }
    }
    for (const [id, w] of want) if (!prev?.has(id)) this.queue(key, id, w);
    if (want.size) this.out.set(key, want);
    else this.out.delete(key);
  }

  /** Route refresh / export policy change: withdraw everything, the caller exports again. */
  withdrawAll(): void {
    for (const [key, m] of this.out) for (const [id, a] of m) {
      this.attrs.unref(a);
      this.queue(key, id, -1);
    }
    this.out.clear();
  }

  /** Session down: forget everything without sending. */
  clear(): void {
    for (const m of this.out.values()) for (const a of m.values()) this.attrs.unref(a);
    this.out.clear();
    this.pending.clear();
  }

  get hasPending(): boolean {
    return this.pending.size > 0;
  }

  get size(): number {
    let n = 0;
    for (const m of this.out.values()) n += m.size;
    return n;
  }

  forEach(cb: (key: PrefixKey, id: number, attr: number) => void): void {
    for (const [key, m] of this.out) for (const [id, a] of m) cb(key, id, a);
  }

  take(): AddPathBatch | null {
    if (this.pending.size === 0) return null;
    const batch: AddPathBatch = { withdraw: [], announce: new Map() };
    for (const e of this.pending.values()) {
      if (e.attr < 0) {
        batch.withdraw.push({ key: e.key, id: e.id });
        continue;
      }
      const a = this.attrs.get(e.attr);
      let list = batch.announce.get(a);
      if (!list) batch.announce.set(a, (list = []));
      list.push({ key: e.key, id: e.id });
    }
    this.pending = new Map();
    return batch;
  }

  private queue(key: PrefixKey, id: number, attr: number): void {
    this.pending.set(`${typeof key === 'number' ? key : `6${key}`}|${id}`, { key, id, attr });
  }
}
