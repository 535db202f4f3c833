// BFD Control packet codec (RFC 5880 §4.1): bytes <-> typed, and the context-free reception checks of
// §6.8.6. Pure: no sockets, timers or logging. A packet that fails a check decodes to a typed drop
// reason, never an exception, so a hostile datagram can only ever bump a counter.
import { BFD_HEADER_LEN, BFD_MIN_AUTH_LEN, BFD_VERSION, DropReason, State, type Diagnostic } from './constants.js';

export interface BfdAuth {
  type: number;
  /** The auth section after Auth Type and Auth Len, undecoded: we configure no authentication. */
  data: Buffer;
}

export interface BfdPacket {
  version: number;
  diagnostic: Diagnostic | number;
  state: State;
  poll: boolean;
  final: boolean;
  /** C bit: Control Plane Independent. */
  cpi: boolean;
  demand: boolean;
  multipoint: boolean;
  detectMult: number;
  myDiscriminator: number;
  yourDiscriminator: number;
  /** Intervals in microseconds, as on the wire. */
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  requiredMinEchoRxUs: number;
  auth?: BfdAuth;
}

export type DecodeResult = { ok: true; packet: BfdPacket } | { ok: false; reason: DropReason; detail: string };

const drop = (reason: DropReason, detail: string): DecodeResult => ({ ok: false, reason, detail });

/**
 * Decode and validate one datagram, in the order §6.8.6 lists the discard rules. The checks that need
 * a session (discriminator lookup, authentication configured or not, GTSM) are the caller's.
 */
export function decodePacket(buf: Uint8Array): DecodeResult {
  if (buf.length < BFD_HEADER_LEN) return drop(DropReason.Length, `datagram of ${buf.length} bytes is shorter than 24`);
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.length);
  const version = b[0]! >> 5;
  if (version !== BFD_VERSION) return drop(DropReason.Version, `version ${version}`);
  const flags = b[1]!;
  const auth = (flags & 0x04) !== 0;
  const length = b[3]!;
  // §6.8.6: Length below 24 (26 with the A bit) or beyond the payload: discard.
  const min = auth ? BFD_MIN_AUTH_LEN : BFD_HEADER_LEN;
  if (length < min) return drop(DropReason.Length, `Length field ${length} below ${min}`);
  if (length > b.length) return drop(DropReason.Length, `Length field ${length} beyond the ${b.length}-byte datagram`);
  const detectMult = b[2]!;
  if (detectMult === 0) return drop(DropReason.DetectMult, 'Detect Mult is zero');
  if ((flags & 0x01) !== 0) return drop(DropReason.Multipoint, 'Multipoint bit set');
  const myDiscriminator = b.readUInt32BE(4);
  if (myDiscriminator === 0) return drop(DropReason.MyDiscriminator, 'My Discriminator is zero');
  const yourDiscriminator = b.readUInt32BE(8);
  const state = (flags >> 6) as State;
  // §6.8.6: a zero Your Discriminator is only legal while the sender has not learned ours.
  if (yourDiscriminator === 0 && state !== State.Down && state !== State.AdminDown) {
    return drop(DropReason.YourDiscriminator, `Your Discriminator zero in state ${state}`);
  }
  const packet: BfdPacket = {
    version,
    diagnostic: b[0]! & 0x1f,
    state,
    poll: (flags & 0x20) !== 0,
    final: (flags & 0x10) !== 0,
    cpi: (flags & 0x08) !== 0,
    demand: (flags & 0x02) !== 0,
    multipoint: false,
    detectMult,
    myDiscriminator,
    yourDiscriminator,
    desiredMinTxUs: b.readUInt32BE(12),
    requiredMinRxUs: b.readUInt32BE(16),
    requiredMinEchoRxUs: b.readUInt32BE(20),
  };
  if (auth) {
    const authLen = b[25]!;
    // §4.2: Auth Len covers the whole section, type and length bytes included.
    if (authLen < 2 || BFD_HEADER_LEN + authLen > length) {
      return drop(DropReason.Length, `Auth Len ${authLen} does not fit Length ${length}`);
    }
    packet.auth = { type: b[24]!, data: Buffer.from(b.subarray(26, BFD_HEADER_LEN + authLen)) };
  }
  return { ok: true, packet };
}

/** Encode a packet; Length is computed. Throws RangeError only for values that cannot be encoded. */
export function encodePacket(p: BfdPacket): Buffer {
  const authLen = p.auth ? 2 + p.auth.data.length : 0;
  const out = Buffer.alloc(BFD_HEADER_LEN + authLen);
  out[0] = ((p.version & 0x07) << 5) | (p.diagnostic & 0x1f);
  out[1] =
    ((p.state & 0x03) << 6) |
    (p.poll ? 0x20 : 0) |
    (p.final ? 0x10 : 0) |
    (p.cpi ? 0x08 : 0) |
    (p.auth ? 0x04 : 0) |
    (p.demand ? 0x02 : 0) |
    (p.multipoint ? 0x01 : 0);
  out.writeUInt8(p.detectMult, 2);
  out.writeUInt8(out.length, 3);
  out.writeUInt32BE(p.myDiscriminator, 4);
  out.writeUInt32BE(p.yourDiscriminator, 8);
  out.writeUInt32BE(p.desiredMinTxUs, 12);
  out.writeUInt32BE(p.requiredMinRxUs, 16);
  out.writeUInt32BE(p.requiredMinEchoRxUs, 20);
  if (p.auth) {
    out[24] = p.auth.type;
    out[25] = authLen;
    p.auth.data.copy(out, 26);
  }
  return out;
}
