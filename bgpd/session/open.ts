// OPEN negotiation for one peer: the checks a received OPEN must pass beyond the codec's (RFC 4271 §6.2,
// RFC 6286), and the session parameters both OPENs agree on.
import {
  Afi,
  ErrorCode,
  OpenSubcode,
  Safi,
  WireError,
  WireErrorCode,
  openAsn,
  validateOpen,
  type Capability,
  type OpenMessage,
} from '../wire/index.js';
import type { FamilyName } from '../config.js';

export interface OpenExpectations {
  /** The configured peer AS; ignored when asRange is set (dynamic neighbours). */
  readonly peerAs: number;
  readonly asRange: readonly [number, number] | undefined;
  /** Our AS towards this peer (local-as override or the speaker's). */
  readonly localAs: number;
  readonly routerId: string;
}

export function checkOpen(open: OpenMessage, want: OpenExpectations): WireError | null {
  const range = want.asRange;
  const err = validateOpen(open, range ? {} : { peerAs: want.peerAs });
  if (err) return err;
  const asn = openAsn(open);
  if (range && (asn < range[0] || asn > range[1])) {
    return new WireError(WireErrorCode.BadPeerAs, `peer AS ${asn} outside ${range[0]}-${range[1]}`, { errorCode: ErrorCode.OpenMessage, subcode: OpenSubcode.BadPeerAs });
  }
  // RFC 6286 §2.2: within an AS the identifiers must differ.
  if (asn === want.localAs && open.bgpId === want.routerId) {
    return new WireError(WireErrorCode.BadBgpIdentifier, `peer uses our BGP identifier ${open.bgpId}`, { errorCode: ErrorCode.OpenMessage, subcode: OpenSubcode.BadBgpIdentifier });
  }
  // RFC 4271 §4.2: hold time 1 or 2 already rejected by validateOpen; 0 is allowed.
  return null;
}

/** The unicast families both sides carry: ours as configured, theirs from Multiprotocol capabilities. */
export function negotiatedFamilies(ours: readonly FamilyName[], theirCaps: readonly Capability[]): FamilyName[] {
  const mp = theirCaps.filter((c): c is Extract<Capability, { kind: 'multiprotocol' }> => c.kind === 'multiprotocol');
  // RFC 4760 §8: a peer without Multiprotocol capabilities speaks IPv4 unicast only.
  const theirs = mp.length ? new Set(mp.filter((c) => c.safi === Safi.Unicast).map((c) => (c.afi === Afi.Ipv6 ? 'ipv6' : 'ipv4'))) : new Set(['ipv4']);
  return ours.filter((f) => theirs.has(f));
}
