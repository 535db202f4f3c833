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

/** Walk an UPDATE for `key`: announced (with its path) or withdrawn, in §9.1.3 order. */
function scanUpdate(u: UpdateMessage, key: PrefixKey, localAs: number, seen: Seen): void {
  const v4 = typeof key === 'number';
  const hit = (l: UpdateMessage['nlri'], afi: number): boolean => {
    let found = false;
    if (afi === Afi.Ipv4 && v4) l.forEachIpv4((a, len) => (found ||= v4Key(a, len) === key));
    if (afi === Afi.Ipv6 && !v4) l.forEach((b, off, len) => (found ||= v6Key(b, off, len) === key));
    return found;
  };
  let withdrawn = u.withdrawn.count > 0 && hit(u.withdrawn, Afi.Ipv4);
  let announced = u.nlri.count > 0 && hit(u.nlri, Afi.Ipv4);
  for (const a of u.attributes) {
    if (a.kind === 'mp-unreach' && a.safi === Safi.Unicast && a.withdrawn.count) withdrawn ||= hit(a.withdrawn, a.afi);
    if (a.kind === 'mp-reach' && a.safi === Safi.Unicast && a.nlri.count) announced ||= hit(a.nlri, a.afi);
  }
  // RFC 4271 §9.1.3 is silent on a prefix both withdrawn and announced in one UPDATE; the announcement
  // is applied last, as update-in.ts does.
  if (withdrawn) {
    seen.announced = null;
    seen.withdrawn = true;
  }
  if (announced) {
    const path = fromWire(u.attributes).asPath;
    seen.announced = { asPath: asPathText(path), ours: asPathContains(path, localAs) > 0 };
    seen.withdrawn = false;
  }
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
    const r = await refreshAndWatch(speaker, peer, key, localAs, afi, enhanced, opts);
    seen = r.seen;
    window = r.window;
    complete = r.complete;
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
  speaker: BgpSpeaker, peer: string, key: PrefixKey, localAs: number, afi: number, enhanced: boolean, opts: ProbeOptions,
): Promise<{ seen: Seen; window: string; complete: boolean }> {
  const seen: Seen = { announced: null, withdrawn: false };
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
      scanUpdate(m, key, localAs, seen);
      if (!enhanced) rearm(quietMs);
    });
    if (!enhanced) rearm(silentMs);
    speaker.resetNeighbor(peer, 'soft-in');
  });
  return { seen, window, complete };
}
