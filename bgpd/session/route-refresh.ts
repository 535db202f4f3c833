// Route refresh (RFC 2918) and enhanced route refresh (RFC 7313) for one peer: what a received
// ROUTE-REFRESH does to the Rib, and the BoRR/EoRR markers owed around the next re-advertisement.
import { Afi, MessageType, Safi, findCapability, openCapabilities, type OpenMessage, type RouteRefreshMessage } from '../wire/index.js';
import type { FamilyName } from '../config.js';
import type { Rib } from '../rib/rib.js';
import { FAMILY_AFI } from './capabilities.js';

/** RFC 7313 §3: the Message Subtype field (was Reserved in RFC 2918). */
export const RefreshSubtype = { Request: 0, BeginningOfRouteRefresh: 1, EndOfRouteRefresh: 2 } as const;
type RefreshSubtypeValue = (typeof RefreshSubtype)[keyof typeof RefreshSubtype];

interface Marker {
  readonly afi: number;
  readonly safi: number;
}

export function routeRefreshMessage(afi: number, safi: number, subtype: RefreshSubtypeValue): RouteRefreshMessage {
  return { type: MessageType.RouteRefresh, afi, safi, subtype, orf: new Uint8Array(0) };
}

export class PeerRouteRefresh {
  private markers: Marker[] = [];

  constructor(
    private readonly rib: Rib,
    private readonly ribId: () => number,
  ) {}

  /** A ROUTE-REFRESH from an Established peer. */
  received(remoteOpen: OpenMessage | null, afi: number, safi: number, subtype: number): void {
    const family = afi === Afi.Ipv6 ? 'ipv6' : 'ipv4';
    if (subtype === RefreshSubtype.Request) {
      // RFC 7313 §4: answer with BoRR/EoRR when the peer supports enhanced route refresh.
      const enhanced = remoteOpen && findCapability(remoteOpen, 'enhanced-route-refresh');
      if (enhanced) this.markers.push({ afi, safi });
      this.rib.reexport(this.ribId());
    } else if (subtype === RefreshSubtype.BeginningOfRouteRefresh) {
      // RFC 7313 §4.2: BoRR marks the peer's routes stale; EoRR removes those not re-advertised.
      this.rib.markStale(this.ribId(), family);
    } else if (subtype === RefreshSubtype.EndOfRouteRefresh) {
      this.rib.sweepStale(this.ribId(), family);
    }
  }

  /** The markers owed by the next outbound batch; each is sent once. */
  takeMarkers(): readonly Marker[] {
    const m = this.markers;
    this.markers = [];
    return m;
  }

  /** Requests for a soft reset in, or null when the peer lacks the capability (RFC 2918 §3: it must not be sent). */
  requests(remoteOpen: OpenMessage | null, families: readonly FamilyName[]): RouteRefreshMessage[] | null {
    const rr = remoteOpen && openCapabilities(remoteOpen).some((c) => c.kind === 'route-refresh');
    if (!rr) return null;
    return families.map((f) => routeRefreshMessage(FAMILY_AFI[f], Safi.Unicast, RefreshSubtype.Request));
  }
}
