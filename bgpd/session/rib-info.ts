// How the Rib sees one session: identity, eBGP/iBGP, our next hops towards the peer and the add-path
// send families. Recomputed whenever an address, the peer's OPEN or the negotiated context changes.
import { Afi, Safi, familyKey, type WireContext } from '../wire/index.js';
import type { PeerConfig } from '../config.js';
import type { Rib } from '../rib/rib.js';
import { FAMILY_AFI } from './capabilities.js';

export type RibPeerInfo = Parameters<Rib['addPeer']>[0];

export interface SessionView {
  readonly localAs: number;
  readonly remoteAs: number;
  readonly remoteAddress: string;
  /** Our end of the TCP connection, once there is one. */
  readonly localAddress: string | null;
  /** The peer's BGP Identifier from its OPEN, if received. */
  readonly routerId: string | undefined;
  readonly ctx: WireContext;
}

const isLinkLocal = (a: string): boolean => a.toLowerCase().startsWith('fe80');

export function sessionRibInfo(cfg: PeerConfig, s: SessionView): RibPeerInfo {
  const la = s.localAddress;
  const v6 = la && la.includes(':') ? la : cfg.nextHopIpv6;
  return {
    name: cfg.name,
    address: s.remoteAddress,
    routerId: s.routerId ?? '0.0.0.0',
    localAs: s.localAs,
    remoteAs: s.remoteAs,
    ebgp: s.remoteAs !== s.localAs,
    rrClient: cfg.routeReflectorClient,
    igpMetric: cfg.igpMetric,
    allowasIn: cfg.allowasIn,
    localNextHop: {
      ...(la && !la.includes(':') ? { ipv4: la } : cfg.nextHopIpv4 ? { ipv4: cfg.nextHopIpv4 } : {}),
      ...(v6 && !isLinkLocal(v6) ? { ipv6: v6 } : {}),
      // The link-local our end uses (unnumbered peers): without its %scope, the FIB adds the interface.
      ...(v6 && isLinkLocal(v6) ? { ipv6LinkLocal: v6.split('%')[0]! } : {}),
    },
    nextHopSelf: cfg.nextHopSelf,
    extendedNextHop: s.ctx.extendedNextHop.has(familyKey(Afi.Ipv4, Safi.Unicast)),
    ...(cfg.interface ? { interface: cfg.interface } : {}),
    mraiMs: cfg.mraiS * 1000,
    // RFC 7911 §4: we send several paths only where we offered Send and the peer Receive.
    addPathSend: cfg.families.filter((f) => s.ctx.addPathSend.has(familyKey(FAMILY_AFI[f], Safi.Unicast))),
  };
}
