// The 19-byte message header (RFC 4271 §4.1) and the framer. The framer only decides where a message
// ends; decoding the body is the dispatcher's job (message.ts), as BIRD separates bgp_rx from the
// per-type parsers.
import { ErrorCode, HeaderSubcode, WireError, WireErrorCode } from './errors.js';
import { Writer } from './writer.js';
import {
  HEADER_LENGTH,
  MAX_EXTENDED_MESSAGE_LENGTH,
  MAX_MESSAGE_LENGTH,
  MessageType,
  type FrameResult,
  type WireContext,
} from './types.js';

/** RFC 4271 §6.1 minimum lengths per type (RFC 2918 §3 for ROUTE-REFRESH). */
const MIN_LENGTH: Record<number, number> = {
  [MessageType.Open]: 29,
  [MessageType.Update]: 23,
  [MessageType.Notification]: 21,
  [MessageType.Keepalive]: 19,
  [MessageType.RouteRefresh]: 23,
};

export function maxMessageLength(ctx: Pick<WireContext, 'extendedMessage'>, type?: number): number {
  // RFC 8654 §4: OPEN and KEEPALIVE stay within 4096 even when extended messages were negotiated.
  if (!ctx.extendedMessage || type === MessageType.Open || type === MessageType.Keepalive) return MAX_MESSAGE_LENGTH;
  return MAX_EXTENDED_MESSAGE_LENGTH;
}

export function badLength(length: number): WireError {
  // RFC 4271 §6.1: the Data field carries the erroneous Length field.
  return new WireError(WireErrorCode.BadMessageLength, `bad message length ${length}`, {
    errorCode: ErrorCode.MessageHeader,
    subcode: HeaderSubcode.BadMessageLength,
    data: Uint8Array.of(length >>> 8, length & 255),
  });
}

/**
 * Finds the message starting at `offset`. Checks the marker bytes as soon as they arrive, so a
 * desynchronised stream fails without waiting for 19 bytes.
 */
export function frame(buf: Uint8Array, offset: number, ctx: Pick<WireContext, 'extendedMessage'>): FrameResult {
  const avail = buf.length - offset;
  const markerBytes = Math.min(avail, 16);
  for (let i = 0; i < markerBytes; i++) {
    if (buf[offset + i] !== 0xff) {
      // RFC 4271 §6.1: marker not all ones -> Connection Not Synchronized.
      return {
        kind: 'error',
        error: new WireError(WireErrorCode.ConnectionNotSynchronized, 'marker is not all ones', {
          errorCode: ErrorCode.MessageHeader,
          subcode: HeaderSubcode.ConnectionNotSynchronized,
        }),
      };
    }
  }
  if (avail < HEADER_LENGTH) return { kind: 'need-more', needed: HEADER_LENGTH };
  const length = (buf[offset + 16]! << 8) | buf[offset + 17]!;
  const type = buf[offset + 18]!;
  const min = MIN_LENGTH[type];
  if (min === undefined) {
    // RFC 4271 §6.1: the Data field carries the erroneous Type field.
    return {
      kind: 'error',
      error: new WireError(WireErrorCode.BadMessageType, `bad message type ${type}`, {
        errorCode: ErrorCode.MessageHeader,
        subcode: HeaderSubcode.BadMessageType,
        data: Uint8Array.of(type),
      }),
    };
  }
  const max = type === MessageType.Keepalive ? HEADER_LENGTH : maxMessageLength(ctx, type);
  if (length < min || length > max) return { kind: 'error', error: badLength(length) };
  if (avail < length) return { kind: 'need-more', needed: length };
  return { kind: 'message', length, type };
}

/** Starts a message: marker, a length placeholder, type. Pair with finishMessage. */
export function startMessage(type: number, capacity = 64): Writer {
  const w = new Writer(capacity);
  for (let i = 0; i < 16; i++) w.u8(0xff);
  w.u16(0);
  w.u8(type);
  return w;
}

export function finishMessage(w: Writer, max: number): Uint8Array {
  const out = w.finish();
  if (out.length > max) {
    throw new WireError(WireErrorCode.EncodeError, `message of ${out.length} bytes exceeds ${max}`, {
      errorCode: ErrorCode.MessageHeader,
      subcode: HeaderSubcode.BadMessageLength,
    });
  }
  w.patchU16(16, out.length);
  return out;
}
