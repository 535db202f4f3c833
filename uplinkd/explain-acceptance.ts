// Did a peer accept the route we advertise to it? Only the peer knows; this asks it.
//
// An eBGP router that accepted our route and chose it as best advertises it to all its eBGP peers,
// including back to us: RFC 4271 §9.2 does not forbid it, and FRR sends it unless the neighbour has
// `sender-as-path-loop-detection` (measured in test/e2e/explain-acceptance.test.ts). We drop such a
// route as an AS-path loop (RFC 4271 §9.1.2), but it still arrives, so seeing it come back with our AS
// in the path is the peer's own word that its import policy let it in. To make the answer current rather
// than whatever the peer sent last, we ask for everything again with ROUTE-REFRESH (RFC 2918). With
// enhanced route refresh (RFC 7313 §4) the peer brackets its answer with BoRR .. EoRR, so the window
// is exact; without it we wait until the peer has gone quiet for a moment.
//
// A peer that never sends routes back to their origin (BIRD and GoBGP suppress them; iBGP peers never
// advertise iBGP-learned routes to iBGP peers, RFC 4271 §9.2) proves nothing by silence. So silence is
// only a problem when the peer is known to send our routes back: it does so for another of our
// prefixes right now, or it did for this one earlier in this process. Otherwise the caller falls back
// to inference from the other nodes' RIBs and says so.
import type { BgpSpeaker } from '../bgpd/speaker.js';
import { Afi, MessageType, RouteRefreshSubtype, Safi, type RouteRefreshMessage, type UpdateMessage } from '../bgpd/wire/index.js';
import { asPathContains, asPathText, fromWire } from '../bgpd/rib/attrs.js';
import { parsePrefix, v4Key, v6Key, type PrefixKey } from '../bgpd/rib/prefix.js';

export const AcceptanceMethod = {
  /** ROUTE-REFRESH answered inside a BoRR .. EoRR window (RFC 7313). */
  EnhancedRouteRefresh: 'enhanced route refresh',
  /** ROUTE-REFRESH (RFC 2918), answer window closed by a quiet period. */
  RouteRefresh: 'route refresh',
  /** The peer cannot refresh: what it last sent, from our Adj-RIB-In before policy. */
  AdjRibIn: 'adj-rib-in',
  /** The peer never sends our routes back: nothing to read from it. */
  None: 'none',
} as const;
export type AcceptanceMethod = (typeof AcceptanceMethod)[keyof typeof AcceptanceMethod];

export interface PeerAcceptance {
  peer: string;
  prefix: string;
  method: AcceptanceMethod;
  /** true: sent back with our AS in the path; false: the peer sends our routes back but not this one; null: no evidence. */
  accepted: boolean | null;
  /** The AS path the peer sent it back with. */
  asPath?: string;
  evidence: string;
}

export interface ProbeOptions {
  /** Upper bound for the whole answer (default 5 s). */
  timeoutMs?: number;
  /** Without RFC 7313: the answer is over after this long without an UPDATE (default 400 ms). */
  quietMs?: number;
  /** ...or this long when the peer sends nothing at all (default 2 s). */
  silentMs?: number;
  /**
   * Reuse a peer's refresh answer for this long (default 0: always ask). One answer covers every
   * prefix of the family, so a burst of explains costs the peer one table resend; the answer is
   * dropped early when the peer sends an UPDATE after it or the session changes.
   */
  cacheMs?: number;
}

/** Peers seen sending one of our prefixes back, per speaker: peer name -> prefix -> when. */
const reflected = new WeakMap<BgpSpeaker, Map<string, Map<string, string>>>();

function remember(speaker: BgpSpeaker, peer: string, prefix: string): void {
  let m = reflected.get(speaker);
  if (!m) reflected.set(speaker, (m = new Map()));
  let p = m.get(peer);
  if (!p) m.set(peer, (p = new Map()));
  p.set(prefix, new Date().toISOString());
}

/** The AS we speak to this peer: what we sent in our OPEN's four-octet-AS capability (RFC 6793 §3). */
function localAsOf(caps: readonly string[]): number | undefined {
  const c = caps.find((x) => x.startsWith('four-octet-as '));
  return c ? Number(c.split(' ')[1]) : undefined;
}

const hasWord = (path: string, asn: number): boolean => path.split(/[\s{},()]+/).includes(String(asn));

interface Seen {
  announced: { asPath: string; ours: boolean } | null;
  withdrawn: boolean;
}

/** What one refresh answer said about every prefix of one family, by prefix. */
interface RefreshAnswer {
  seen: Map<PrefixKey, Seen>;
  window: string;
  complete: boolean;
  /** When the answer window closed (epoch ms). */
  at: number;
}

/** Walk an UPDATE: each prefix of `afi` announced (with its path) or withdrawn, in §9.1.3 order. */
function scanUpdate(u: UpdateMessage, afi: number, localAs: number, seen: Map<PrefixKey, Seen>): void {
  const keys = (l: UpdateMessage['nlri'], listAfi: number, out: PrefixKey[]): void => {
    if (listAfi !== afi || !l.count) return;
    if (afi === Afi.Ipv4) l.forEachIpv4((a, len) => out.push(v4Key(a, len)));
    else l.forEach((b, off, len) => out.push(v6Key(b, off, len)));
  };
  const withdrawn: PrefixKey[] = [];
  const announced: PrefixKey[] = [];
  keys(u.withdrawn, Afi.Ipv4, withdrawn);
  keys(u.nlri, Afi.Ipv4, announced);
  for (const a of u.attributes) {
    if (a.kind === 'mp-unreach' && a.safi === Safi.Unicast) keys(a.withdrawn, a.afi, withdrawn);
    if (a.kind === 'mp-reach' && a.safi === Safi.Unicast) keys(a.nlri, a.afi, announced);
  }
  // RFC 4271 §9.1.3 is silent on a prefix both withdrawn and announced in one UPDATE; the announcement
  // is applied last, as update-in.ts does.
  for (const k of withdrawn) seen.set(k, { announced: null, withdrawn: true });
  if (!announced.length) return;
  const path = fromWire(u.attributes).asPath;
  const v = { asPath: asPathText(path), ours: asPathContains(path, localAs) > 0 };
  for (const k of announced) seen.set(k, { announced: v, withdrawn: false });
}

interface CachedAnswer {
  answer: Promise<RefreshAnswer>;
  /** The session the answer came over: a flap or state change makes it worthless. */
  session: string;
  stale: boolean;
  stopWatching: () => void;
}

/** Refresh answers per speaker, by `peer|afi`. */
const answers = new WeakMap<BgpSpeaker, Map<string, CachedAnswer>>();

/**
 * The peer's current answer for `afi`: a cached one when allowed and still current, else a new
 * ROUTE-REFRESH. Concurrent callers share one refresh in flight.
 */
async function refreshAnswer(
  speaker: BgpSpeaker, peer: string, localAs: number, afi: number, enhanced: boolean, opts: ProbeOptions,
): Promise<{ answer: RefreshAnswer; cachedFor: number | null }> {
  const cacheMs = opts.cacheMs ?? 0;
  if (cacheMs <= 0) return { answer: await refreshAndWatch(speaker, peer, localAs, afi, enhanced, opts), cachedFor: null };
  const n = speaker.neighbor(peer);
  const session = `${n.state}/${n.flaps.length}`;
  let m = answers.get(speaker);
  if (!m) answers.set(speaker, (m = new Map()));
  const k = `${peer}|${afi}`;
  const hit = m.get(k);
  if (hit && !hit.stale && hit.session === session) {
    const a = await hit.answer.catch(() => undefined);
    if (a && Date.now() - a.at < cacheMs) return { answer: a, cachedFor: Date.now() - a.at };
  }
  hit?.stopWatching();
  const entry: CachedAnswer = { answer: refreshAndWatch(speaker, peer, localAs, afi, enhanced, opts), session, stale: false, stopWatching: () => undefined };
  m.set(k, entry);
  const answer = await entry.answer;
  // Anything the peer sends after its answer may change it (a policy change withdraws what it sent
  // back): from then on the answer is history, and the next explain asks again.
  const off = speaker.onMessageIn(peer, (msg: UpdateMessage | RouteRefreshMessage) => {
    if (msg.type === MessageType.RouteRefresh) return;
    entry.stale = true;
    off();
  });
  entry.stopWatching = off;
  return { answer, cachedFor: null };
}

/**
 * Ask `peer` to resend its routes and report whether `prefix` came back with our AS in the path.
 * The caller has checked that the session is Established and that we advertise `prefix` to it.
 */
export async function probeAcceptance(speaker: BgpSpeaker, peer: string, prefix: string, opts: ProbeOptions = {}): Promise<PeerAcceptance> {
  const n = speaker.neighbor(peer);
  const localAs = localAsOf(n.capabilities.sent);
  const base = { peer, prefix };
  if (localAs === undefined) return { ...base, method: AcceptanceMethod.None, accepted: null, evidence: 'session has no OPEN to read our AS from' };
  if (n.asn === localAs) {
    return { ...base, method: AcceptanceMethod.None, accepted: null, evidence: `iBGP peer (AS ${localAs}): RFC 4271 §9.2 keeps it from sending our route back` };
  }
  const key = parsePrefix(prefix);
  const afi = typeof key === 'number' ? Afi.Ipv4 : Afi.Ipv6;
  const rr = n.capabilities.received.includes('route-refresh');
  const enhanced = rr && n.capabilities.received.includes('enhanced-route-refresh');
  let seen: Seen = { announced: null, withdrawn: false };
  let method: AcceptanceMethod = AcceptanceMethod.AdjRibIn;
  let window = '';
  let complete = false;
  if (rr) {
    method = enhanced ? AcceptanceMethod.EnhancedRouteRefresh : AcceptanceMethod.RouteRefresh;
    const { answer, cachedFor } = await refreshAnswer(speaker, peer, localAs, afi, enhanced, opts);
    const s = answer.seen.get(key);
    if (s) seen = { ...s };
    window = `${answer.window}${cachedFor === null ? '' : ` [answer reused from ${(cachedFor / 1000).toFixed(1)} s ago]`}`;
    complete = answer.complete;
  }
  if (!complete && !seen.announced && !seen.withdrawn) {
    // No word about it in an answer without a known end (or no refresh): the last thing the peer sent
    // stands. After EoRR it does not: the session has swept whatever the answer did not repeat.
    const pre = speaker.ribIn(peer, 'pre').find((e) => e.prefix === prefix);
    if (pre) seen.announced = { asPath: pre.asPath, ours: hasWord(pre.asPath, localAs) };
  }
  if (seen.announced?.ours) {
    remember(speaker, peer, prefix);
    return {
      ...base, method, accepted: true, asPath: seen.announced.asPath,
      evidence: `${rr ? `after ROUTE-REFRESH${window}` : 'Adj-RIB-In (the peer cannot refresh)'} it sent ${prefix} back with AS path ${seen.announced.asPath} (dropped here as an AS loop, RFC 4271 §9.1.2)`,
    };
  }
  // Silence means "filtered" only from a peer that sends our routes back.
  const others = speaker.ribIn(peer, 'pre').filter((e) => e.prefix !== prefix && hasWord(e.asPath, localAs));
  const before = reflected.get(speaker)?.get(peer)?.get(prefix);
  const what = seen.withdrawn ? `withdrew ${prefix}` : `did not send ${prefix} back`;
  const how = rr ? `after ROUTE-REFRESH${window}` : 'in its Adj-RIB-In (the peer cannot refresh)';
  if (others.length || before) {
    if (others.length) remember(speaker, peer, others[0]!.prefix);
    const proof = others.length ? `it does send back our ${others[0]!.prefix} (AS path ${others[0]!.asPath})` : `it sent ${prefix} back at ${before}`;
    return { ...base, method, accepted: false, evidence: `${how} it ${what}, yet ${proof}` };
  }
  return { ...base, method: AcceptanceMethod.None, accepted: null, evidence: `${how} it ${what} and sends none of our routes back (BIRD and GoBGP never do), so its silence proves nothing` };
}

async function refreshAndWatch(
  speaker: BgpSpeaker, peer: string, localAs: number, afi: number, enhanced: boolean, opts: ProbeOptions,
): Promise<RefreshAnswer> {
  const seen = new Map<PrefixKey, Seen>();
  const timeoutMs = opts.timeoutMs ?? 5000;
  const quietMs = opts.quietMs ?? 400;
  const silentMs = opts.silentMs ?? 2000;
  const started = Date.now();
  let borr = false;
  let updates = 0;
  let window = '';
  let complete = false;
  const n = (): string => `${updates} UPDATE${updates === 1 ? '' : 's'}`;
  await new Promise<void>((resolve) => {
    let quiet: NodeJS.Timeout | undefined;
    const finish = (why: string): void => {
      window = why;
      clearTimeout(quiet);
      clearTimeout(overall);
      unsubscribe();
      resolve();
    };
    const rearm = (ms: number): void => {
      clearTimeout(quiet);
      quiet = setTimeout(() => finish(` (${n()}, window closed after ${ms} ms of quiet)`), ms);
    };
    const overall = setTimeout(() => finish(` (${n()}; no ${enhanced ? 'EoRR' : 'quiet period'} within ${timeoutMs} ms)`), timeoutMs);
    const unsubscribe = speaker.onMessageIn(peer, (m: UpdateMessage | RouteRefreshMessage) => {
      if (m.type === MessageType.RouteRefresh) {
        if (m.afi !== afi) return;
        // RFC 7313 §4: everything between BoRR and EoRR is the peer's complete current answer.
        if (m.subtype === RouteRefreshSubtype.BoRR) borr = true;
        if (m.subtype === RouteRefreshSubtype.EoRR && borr) {
          complete = true;
          finish(` (BoRR .. EoRR, ${n()}, ${Date.now() - started} ms)`);
        }
        return;
      }
      updates++;
      scanUpdate(m, afi, localAs, seen);
      if (!enhanced) rearm(quietMs);
    });
    if (!enhanced) rearm(silentMs);
    speaker.resetNeighbor(peer, 'soft-in');
  });
  return { seen, window, complete, at: Date.now() };
}
