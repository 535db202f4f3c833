// The decode/encode context: what the two OPENs negotiated. Built once per session by `negotiate` and
// passed to every call; the codec never reads globals.
import { familyKey } from './nlri.js';
import { openCapabilities } from './open.js';
import { AddPathMode, Afi, type Capability, type FamilyKey, type OpenMessage, type WireContext } from './types.js';

/** RFC 4271 defaults: 2-octet ASNs, 4096-byte messages, no add-path, no extended next hop. */
export function makeContext(overrides: Partial<WireContext> = {}): WireContext {
  return {
    fourOctetAs: false,
    extendedMessage: false,
    addPathReceive: new Set<FamilyKey>(),
    addPathSend: new Set<FamilyKey>(),
    extendedNextHop: new Set<FamilyKey>(),
    afiSafiDisable: false,
    ...overrides,
  };
}

function has(caps: readonly Capability[], kind: Capability['kind']): boolean {
  return caps.some((c) => c.kind === kind);
}

function addPathModes(caps: readonly Capability[]): Map<FamilyKey, number> {
  const out = new Map<FamilyKey, number>();
  for (const c of caps) {
    if (c.kind !== 'add-path') continue;
    for (const f of c.families) out.set(familyKey(f.afi, f.safi), f.mode);
  }
  return out;
}

function extendedNextHops(caps: readonly Capability[]): Set<FamilyKey> {
  const out = new Set<FamilyKey>();
  for (const c of caps) {
    if (c.kind !== 'extended-next-hop') continue;
    for (const f of c.families) if (f.nextHopAfi === Afi.Ipv6) out.add(familyKey(f.afi, f.safi));
  }
  return out;
}

/**
 * The context for a session between our `local` OPEN and the peer's `remote` OPEN, from our side:
 *  - 4-octet AS (RFC 6793 §4.1) and extended message (RFC 8654 §3) need both sides to advertise.
 *  - add-path (RFC 7911 §4): we receive path ids for a family when we advertised Receive and the peer
 *    advertised Send; we send them in the mirror case.
 *  - extended next hop (RFC 8950 §4): a family in both sides' capability with next-hop AFI IPv6.
 */
export function negotiate(local: OpenMessage, remote: OpenMessage, overrides: Partial<WireContext> = {}): WireContext {
  const l = openCapabilities(local);
  const r = openCapabilities(remote);
  const lAp = addPathModes(l);
  const rAp = addPathModes(r);
  const addPathReceive = new Set<FamilyKey>();
  const addPathSend = new Set<FamilyKey>();
  for (const [fam, lm] of lAp) {
    const rm = rAp.get(fam) ?? 0;
    if (lm & AddPathMode.Receive && rm & AddPathMode.Send) addPathReceive.add(fam);
    if (lm & AddPathMode.Send && rm & AddPathMode.Receive) addPathSend.add(fam);
  }
  const lEnh = extendedNextHops(l);
  const rEnh = extendedNextHops(r);
  const extendedNextHop = new Set<FamilyKey>([...lEnh].filter((f) => rEnh.has(f)));
  return makeContext({
    fourOctetAs: has(l, 'four-octet-as') && has(r, 'four-octet-as'),
    extendedMessage: has(l, 'extended-message') && has(r, 'extended-message'),
    addPathReceive,
    addPathSend,
    extendedNextHop,
    ...overrides,
  });
}

/** The context the peer uses to read what we send (add-path directions swapped). */
export function mirrorContext(ctx: WireContext): WireContext {
  return { ...ctx, addPathReceive: ctx.addPathSend, addPathSend: ctx.addPathReceive };
}
