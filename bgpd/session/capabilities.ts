// The capabilities we offer in OPEN (RFC 5492) for one peer's configuration.
import { Afi, Safi, type Capability } from '../wire/index.js';
import type { FamilyName, PeerConfig } from '../config.js';

export const FAMILY_AFI: Record<FamilyName, number> = { ipv4: Afi.Ipv4, ipv6: Afi.Ipv6 };

export interface CapabilityInputs {
  readonly asn: number;
  readonly restartTimeS: number;
  /** RFC 4724 §3: R bit, and F bit per family (forwarding kept across our restart). */
  readonly restarting: boolean;
}

export function localCapabilities(cfg: PeerConfig, local: CapabilityInputs): Capability[] {
  const caps: Capability[] = [];
  for (const f of cfg.families) caps.push({ kind: 'multiprotocol', afi: FAMILY_AFI[f], safi: Safi.Unicast });
  caps.push({ kind: 'route-refresh' }, { kind: 'enhanced-route-refresh' });
  caps.push({ kind: 'four-octet-as', asn: cfg.localAs ?? local.asn });
  if (cfg.families.includes('ipv4')) {
    // RFC 8950: IPv4 NLRI with an IPv6 next hop (unnumbered peers, IPv6-only fabrics).
    caps.push({ kind: 'extended-next-hop', families: [{ afi: Afi.Ipv4, safi: Safi.Unicast, nextHopAfi: Afi.Ipv6 }] });
  }
  if (cfg.gracefulRestart) {
    caps.push({
      kind: 'graceful-restart',
      restarting: local.restarting,
      notification: false,
      restartTime: local.restartTimeS,
      families: cfg.families.map((f) => ({ afi: FAMILY_AFI[f], safi: Safi.Unicast, forwarding: local.restarting })),
    });
  }
  if (cfg.addPath !== 'none') {
    const mode = { receive: 1, send: 2, both: 3 }[cfg.addPath];
    caps.push({ kind: 'add-path', families: cfg.families.map((f) => ({ afi: FAMILY_AFI[f], safi: Safi.Unicast, mode })) });
  }
  caps.push({ kind: 'extended-message' });
  return caps;
}
