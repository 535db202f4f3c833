// One walk over every prefix an UPDATE announces or withdraws, classic and MP alike, for the RIB. No
// object per prefix: the callback gets the wire bytes and offset (see NlriList.forEach).
import { Afi, Safi, type UpdateMessage } from './types.js';

export type PrefixVisitor = (
  announce: boolean,
  afi: number,
  safi: number,
  bytes: Uint8Array,
  offset: number,
  length: number,
  pathId: number,
) => void;

/**
 * Visits withdrawals first, then announcements (RFC 4271 §3.1 processing order within one UPDATE),
 * each in wire order. Opaque (unparsed) families are skipped.
 */
export function forEachPrefix(u: UpdateMessage, cb: PrefixVisitor): void {
  u.withdrawn.forEach((b, off, len, id) => cb(false, Afi.Ipv4, Safi.Unicast, b, off, len, id));
  for (const a of u.attributes) {
    if (a.kind === 'mp-unreach') a.withdrawn.forEach((b, off, len, id) => cb(false, a.afi, a.safi, b, off, len, id));
  }
  for (const a of u.attributes) {
    if (a.kind === 'mp-reach') a.nlri.forEach((b, off, len, id) => cb(true, a.afi, a.safi, b, off, len, id));
  }
  u.nlri.forEach((b, off, len, id) => cb(true, Afi.Ipv4, Safi.Unicast, b, off, len, id));
}

/** Number of prefixes announced plus withdrawn (parsed families only). */
export function prefixCount(u: UpdateMessage): { announced: number; withdrawn: number } {
  let announced = u.nlri.count;
  let withdrawn = u.withdrawn.count;
  for (const a of u.attributes) {
    if (a.kind === 'mp-reach') announced += a.nlri.count;
    else if (a.kind === 'mp-unreach') withdrawn += a.withdrawn.count;
  }
  return { announced, withdrawn };
}
