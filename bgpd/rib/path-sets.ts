// The Loc-RIB's values: interned path sets (the selected best path, then the ECMP paths), each with
// the FIB next hops it stands for. A table of 500k prefixes over a few peers has a handful of sets, so
// the Loc-RIB maps prefix -> small set id and the next hops exist once per set (RFC 4271 §9.1.2 result
// per prefix, shared).
import type { AttrTable } from './attrs.js';
import type { BestReasonName } from './decision.js';
import type { NextHop } from './fib-batch.js';

export interface PathRef {
  readonly peer: number;
  readonly pathId: number;
  readonly attr: number;
}

export interface PathSet {
  readonly key: string;
  readonly paths: readonly PathRef[];
  readonly reason: BestReasonName;
  readonly nextHops: readonly NextHop[];
  refs: number;
}

/** What a next hop needs to know of the peer a path came from. */
export interface NextHopPeer {
  readonly address: string;
  readonly interface?: string;
}

/** Interned path sets by id; every id handed out holds one reference until `release`. */
export class PathSetTable {
  private readonly sets: (PathSet | undefined)[] = [];
  private readonly byKey = new Map<string, number>();
  private readonly free: number[] = [];
  /** attr * 65536 + peer -> set id, for single-path sets of path id 0 (the common case). */
  private readonly singles = new Map<number, number>();

  constructor(
    private readonly attrs: AttrTable,
    private readonly peerOf: (id: number) => NextHopPeer | undefined,
  ) {}

  get(id: number): PathSet | undefined {
    return this.sets[id];
  }

  /** The single-path set of (attr, peer), path id 0, with a reference taken; undefined if none yet. */
  single(attr: number, peer: number): number | undefined {
    // A numeric key instead of building a string per prefix.
    const hit = this.singles.get(attr * 65536 + peer);
    if (hit !== undefined) this.sets[hit]!.refs++;
    return hit;
  }

  /** The set of `chosen` (best first), interned, with a reference taken. */
  intern(chosen: PathRef[], reason: BestReasonName, onlyPath: boolean): number {
    let key = '';
    for (const r of chosen) key += `${r.peer}:${r.pathId}:${r.attr};`;
    const found = this.byKey.get(key);
    if (found !== undefined) {
      this.sets[found]!.refs++;
      return found;
    }
    const id = this.free.pop() ?? this.sets.length;
    for (const r of chosen) this.attrs.ref(r.attr);
    this.sets[id] = { key, paths: chosen, reason, nextHops: this.nextHopsOf(chosen), refs: 1 };
    this.byKey.set(key, id);
    if (onlyPath && chosen[0]!.pathId === 0) this.singles.set(chosen[0]!.attr * 65536 + chosen[0]!.peer, id);
    return id;
  }

  release(id: number): void {
    const s = this.sets[id]!;
    if (--s.refs > 0) return;
    for (const r of s.paths) this.attrs.unref(r.attr);
    this.byKey.delete(s.key);
    const only = s.paths.length === 1 ? s.paths[0]! : null;
    if (only && only.pathId === 0 && this.singles.get(only.attr * 65536 + only.peer) === id) this.singles.delete(only.attr * 65536 + only.peer);
    this.sets[id] = undefined;
    this.free.push(id);
  }

  private nextHopsOf(paths: readonly PathRef[]): NextHop[] {
    const out: NextHop[] = [];
    for (const r of paths) {
      const a = this.attrs.get(r.attr);
      const nh = nextHopOf(a.nextHop, a.nextHopLocal, this.peerOf(r.peer));
      if (!out.some((x) => x.address === nh.address && x.linkLocal === nh.linkLocal)) out.push(nh);
    }
    return out;
  }
}

const isLinkLocal = (a: string): boolean => /^fe[89ab][0-9a-f]:/i.test(a);

/**
 * RFC 2545 §3: a global next hop is used as is; a link-local one (MP_REACH's second address, or the
 * only one an unnumbered peer sends) is reachable only through the interface of the session it came
 * over (RFC 4291 §2.5.6), so it carries that interface. No next hop at all: the peer itself.
 */
function nextHopOf(global: string, local: string | undefined, peer: NextHopPeer | undefined): NextHop {
  const g = global && global !== '::' && global !== '0.0.0.0' ? global : '';
  const ll = g && isLinkLocal(g) ? g : !g ? local : undefined;
  if (ll) return peer?.interface ? { address: ll, linkLocal: peer.interface } : { address: ll };
  return { address: g || (peer?.address ?? '') };
}
