// Import/export policy as a pure function: (policy, prefix, attributes) -> reject, or accept with the
// (possibly rewritten) attributes. Terms are tried in order; the first whose matches all hold decides.
// Compiled once at configuration time (prefix lists parsed to keys, AS-path regexes built) so the
// per-prefix cost is numeric comparisons.
import { asPathContains, asPathLength, type Attrs } from './attrs.js';
import { parsePrefix, prefixContains, prefixLength, type PrefixKey } from './prefix.js';
import { AsPathSegmentType } from '../wire/types.js';
import { BgpError, BgpErrorCode } from '../errors.js';

export interface PrefixListEntry {
  readonly prefix: string;
  /** Match prefixes inside `prefix` with length in [ge, le] (defaults: exact length only). */
  readonly ge?: number;
  readonly le?: number;
}

export interface PolicyMatch {
  readonly prefixList?: readonly PrefixListEntry[];
  /** Regex over the AS path as text ("65001 65002"), e.g. '^65001( |$)'. */
  readonly asPath?: string;
  /** Any of these standard communities ('65000:100'). */
  readonly community?: readonly string[];
  /** Any of these large communities ('65000:1:2'). */
  readonly largeCommunity?: readonly string[];
  readonly family?: 'ipv4' | 'ipv6';
}

export interface PolicySet {
  readonly localPref?: number;
  readonly med?: number;
  readonly communities?: { readonly add?: readonly string[]; readonly remove?: readonly string[]; readonly replace?: boolean };
  readonly largeCommunities?: { readonly add?: readonly string[]; readonly replace?: boolean };
  readonly asPathPrepend?: { readonly asn: number; readonly count: number };
}

export interface PolicyTerm {
  readonly name?: string;
  readonly match?: PolicyMatch;
  readonly action: 'accept' | 'reject';
  readonly set?: PolicySet;
}

export interface PolicyDef {
  readonly terms: readonly PolicyTerm[];
  /** When no term matches (default reject: the safe default). */
  readonly default?: 'accept' | 'reject';
}

interface CompiledEntry {
  key: PrefixKey;
  ge: number;
  le: number;
}

interface CompiledTerm {
  term: PolicyTerm;
  prefixes: CompiledEntry[] | null;
  asPath: RegExp | null;
  communities: Set<number> | null;
  large: Set<string> | null;
  set: CompiledSet | null;
}

interface CompiledSet {
  localPref?: number;
  med?: number;
  commAdd: number[];
  commRemove: Set<number>;
  commReplace: boolean;
  largeAdd: [number, number, number][];
  largeReplace: boolean;
  prepend?: { asn: number; count: number };
}

export interface CompiledPolicy {
  readonly name: string;
  readonly terms: readonly CompiledTerm[];
  readonly defaultAccept: boolean;
}

export type PolicyResult = { readonly accept: false } | { readonly accept: true; readonly attrs: Attrs; readonly changed: boolean };

export function parseCommunity(s: string): number {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(s);
  if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) throw new BgpError(BgpErrorCode.Policy, `bad community '${s}'`);
  return ((Number(m[1]) << 16) | Number(m[2])) >>> 0;
}

export function parseLargeCommunity(s: string): [number, number, number] {
  const m = /^(\d{1,10}):(\d{1,10}):(\d{1,10})$/.exec(s);
  const v = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [];
  if (!m || v.some((x) => x > 0xffffffff)) throw new BgpError(BgpErrorCode.Policy, `bad large community '${s}'`);
  return [v[0]!, v[1]!, v[2]!];
}

export function compilePolicy(name: string, def: PolicyDef): CompiledPolicy {
  const terms = def.terms.map((term, i): CompiledTerm => {
    const where = `policy '${name}' term ${term.name ?? i}`;
    try {
      const m = term.match ?? {};
      return {
        term,
        prefixes:
          m.prefixList?.map((e) => {
            const key = parsePrefix(e.prefix);
            const len = prefixLength(key);
            const max = typeof key === 'number' ? 32 : 128;
            const ge = e.ge ?? len;
            const le = e.le ?? (e.ge !== undefined ? max : len);
            if (ge < len || le < ge || le > max) throw new BgpError(BgpErrorCode.Policy, `${e.prefix} ge ${ge} le ${le}: need len <= ge <= le <= ${max}`);
            return { key, ge, le };
          }) ?? null,
        asPath: m.asPath !== undefined ? new RegExp(m.asPath) : null,
        communities: m.community ? new Set(m.community.map(parseCommunity)) : null,
        large: m.largeCommunity ? new Set(m.largeCommunity.map((s) => parseLargeCommunity(s).join(':'))) : null,
        set: term.set ? compileSet(term.set) : null,
      };
    } catch (err) {
      throw new BgpError(BgpErrorCode.Policy, `${where}: ${(err as Error).message}`, { cause: err });
    }
  });
  return { name, terms, defaultAccept: def.default === 'accept' };
}

function compileSet(s: PolicySet): CompiledSet {
  return {
    ...(s.localPref !== undefined ? { localPref: s.localPref } : {}),
    ...(s.med !== undefined ? { med: s.med } : {}),
    commAdd: (s.communities?.add ?? []).map(parseCommunity),
    commRemove: new Set((s.communities?.remove ?? []).map(parseCommunity)),
    commReplace: s.communities?.replace ?? false,
    largeAdd: (s.largeCommunities?.add ?? []).map(parseLargeCommunity),
    largeReplace: s.largeCommunities?.replace ?? false,
    ...(s.asPathPrepend ? { prepend: { asn: s.asPathPrepend.asn, count: s.asPathPrepend.count } } : {}),
  };
}

function asPathString(a: Attrs): string {
  return a.asPath.map((s) => s.asns.join(' ')).join(' ');
}

function matches(t: CompiledTerm, key: PrefixKey, a: Attrs): boolean {
  return matchesPrefix(t, key) && matchesAttrs(t, a);
}

/** The per-prefix half of a term's match (family, prefix list): plain loops, it runs once per prefix. */
function matchesPrefix(t: CompiledTerm, key: PrefixKey): boolean {
  const fam = t.term.match?.family;
  if (fam && fam !== (typeof key === 'number' ? 'ipv4' : 'ipv6')) return false;
  const list = t.prefixes;
  if (!list) return true;
  const len = prefixLength(key);
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    if (len >= e.ge && len <= e.le && prefixContains(e.key, key)) return true;
  }
  return false;
}

/** The per-attribute-set half (AS path, communities): the same for every prefix of one UPDATE. */
function matchesAttrs(t: CompiledTerm, a: Attrs): boolean {
  if (t.asPath && !t.asPath.test(asPathString(a))) return false;
  if (t.communities && !(a.communities ?? []).some((c) => t.communities!.has(c))) return false;
  if (t.large && !(a.largeCommunities ?? []).some((c) => t.large!.has(c.join(':')))) return false;
  return true;
}

/**
 * Which terms' attribute conditions hold for one attribute set (1 = holds). Computed once per UPDATE,
 * so the per-prefix work in `matchingTermWith` is only the prefix list.
 */
export function attrVerdicts(policy: CompiledPolicy, a: Attrs): Uint8Array {
  const v = new Uint8Array(policy.terms.length);
  for (let i = 0; i < v.length; i++) v[i] = matchesAttrs(policy.terms[i]!, a) ? 1 : 0;
  return v;
}

/** `matchingTerm` with the attribute half taken from `attrVerdicts` of the same attribute set. */
export function matchingTermWith(policy: CompiledPolicy, key: PrefixKey, verdicts: Uint8Array): number {
  const terms = policy.terms;
  for (let i = 0; i < terms.length; i++) if (verdicts[i] === 1 && matchesPrefix(terms[i]!, key)) return i;
  return -1;
}

function applySet(s: CompiledSet, a: Attrs): Attrs {
  let communities = a.communities ?? [];
  if (s.commReplace) communities = [];
  if (s.commRemove.size) communities = communities.filter((c) => !s.commRemove.has(c));
  if (s.commAdd.length) communities = [...new Set([...communities, ...s.commAdd])];
  let large = a.largeCommunities ?? [];
  if (s.largeReplace) large = [];
  if (s.largeAdd.length) large = [...large, ...s.largeAdd.filter((x) => !large.some((y) => y.join(':') === x.join(':')))];
  let asPath = a.asPath;
  if (s.prepend && s.prepend.count > 0) {
    const pre = new Array<number>(s.prepend.count).fill(s.prepend.asn);
    const first = asPath[0];
    asPath =
      first && first.type === AsPathSegmentType.AsSequence && first.asns.length + pre.length <= 255
        ? [{ type: first.type, asns: [...pre, ...first.asns] }, ...asPath.slice(1)]
        : [{ type: AsPathSegmentType.AsSequence, asns: pre }, ...asPath];
  }
  const out: Attrs = {
    ...a,
    asPath,
    ...(s.localPref !== undefined ? { localPref: s.localPref } : {}),
    ...(s.med !== undefined ? { med: s.med } : {}),
    communities,
    largeCommunities: large,
  };
  return out;
}

/** Evaluate a policy. `policy` undefined means "accept unchanged" (used where no policy applies). */
export function evaluate(policy: CompiledPolicy | undefined, key: PrefixKey, a: Attrs): PolicyResult {
  if (!policy) return { accept: true, attrs: a, changed: false };
  for (const t of policy.terms) {
    if (!matches(t, key, a)) continue;
    if (t.term.action === 'reject') return { accept: false };
    return t.set ? { accept: true, attrs: applySet(t.set, a), changed: true } : { accept: true, attrs: a, changed: false };
  }
  return policy.defaultAccept ? { accept: true, attrs: a, changed: false } : { accept: false };
}

/** Index of the first matching term (or -1 for the default): the cache key for rewritten attributes. */
export function matchingTerm(policy: CompiledPolicy | undefined, key: PrefixKey, a: Attrs): number {
  if (!policy) return -1;
  return policy.terms.findIndex((t) => matches(t, key, a));
}

/** AS loop check (RFC 4271 §9.1.2), with allowas-in: our AS may appear up to `allowed` times. */
export function asLoop(a: Attrs, localAs: number, allowed = 0): boolean {
  return asPathContains(a.asPath, localAs) > allowed;
}

export { asPathLength };
