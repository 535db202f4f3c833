// ROUTE-REFRESH (RFC 2918 §3) with the RFC 7313 §3 subtypes (0 normal, 1 BoRR, 2 EoRR).
import { ErrorCode, RouteRefreshSubcode, WireError, WireErrorCode } from './errors.js';
import { finishMessage, startMessage } from './header.js';
import { Reader, view } from './reader.js';
import { MAX_MESSAGE_LENGTH, MessageType, RouteRefreshSubtype, type RouteRefreshMessage } from './types.js';

export function decodeRouteRefreshBody(r: Reader, whole: Uint8Array): RouteRefreshMessage | WireError {
  const afi = r.u16();
  const subtype = r.u8();
  const safi = r.u8();
  // RFC 7313 §5: BoRR/EoRR must be exactly 4 octets of body, else ROUTE-REFRESH Message Error /
  // Invalid Message Length with the whole message as data.
  if ((subtype === RouteRefreshSubtype.BoRR || subtype === RouteRefreshSubtype.EoRR) && r.remaining !== 0) {
    return new WireError(WireErrorCode.RouteRefreshLength, 'BoRR/EoRR with a body longer than 4 octets', {
      errorCode: ErrorCode.RouteRefreshMessage,
      subcode: RouteRefreshSubcode.InvalidMessageLength,
      data: view(whole, 0, whole.length),
    });
  }
  return { type: MessageType.RouteRefresh, afi, safi, subtype, orf: r.rest() };
}

export function encodeRouteRefresh(m: RouteRefreshMessage): Uint8Array {
  const w = startMessage(MessageType.RouteRefresh, 23 + m.orf.length);
  w.u16(m.afi).u8(m.subtype).u8(m.safi).bytes(m.orf);
  return finishMessage(w, MAX_MESSAGE_LENGTH);
}
