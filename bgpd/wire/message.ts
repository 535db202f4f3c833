// The dispatcher: one whole message (header included) in, a typed result out; and the inverse. Framing
// (where a message ends in a stream) is header.ts's `frame`.
import { ErrorCode, HeaderSubcode, WireError, WireErrorCode } from './errors.js';
import { frame } from './header.js';
import { encodeKeepalive } from './keepalive.js';
import { decodeNotificationBody, encodeNotification } from './notification.js';
import { decodeOpenBody, encodeOpen } from './open.js';
import { Reader, view } from './reader.js';
import { decodeRouteRefreshBody, encodeRouteRefresh } from './route-refresh.js';
import { decodeUpdateBody, encodeUpdate } from './update.js';
import { HEADER_LENGTH, MessageType, type ErrorActionName, type Message, type WireContext } from './types.js';

export type DecodeResult =
  | {
      readonly ok: true;
      readonly message: Message;
      /** UPDATE only: the most severe RFC 7606 action required (null = clean, and for other types). */
      readonly action: ErrorActionName | null;
      /** UPDATE only: every non-fatal error found (attribute-discard, treat-as-withdraw). */
      readonly errors: readonly WireError[];
      /** UPDATE only: the raw path attribute section, a view into the input (for interning). */
      readonly attributeBytes: Uint8Array | null;
    }
  | { readonly ok: false; readonly error: WireError };

function ok(message: Message): DecodeResult {
  return { ok: true, message, action: null, errors: [], attributeBytes: null };
}

/**
 * Decodes exactly one message occupying all of `buf` (use `frame` to cut a stream). Never throws for
 * any input: every failure is a WireError in the result.
 */
export function decodeMessage(buf: Uint8Array, ctx: WireContext): DecodeResult {
  const f = frame(buf, 0, ctx);
  if (f.kind === 'error') return { ok: false, error: f.error };
  if (f.kind === 'need-more' || f.length !== buf.length) {
    // The caller handed us a buffer that is not one message: the header's length is what is wrong.
    const len = buf.length >= 18 ? (buf[16]! << 8) | buf[17]! : buf.length;
    return {
      ok: false,
      error: new WireError(WireErrorCode.BadMessageLength, `header length ${len} but ${buf.length} bytes given`, {
        errorCode: ErrorCode.MessageHeader,
        subcode: HeaderSubcode.BadMessageLength,
        data: Uint8Array.of(len >>> 8, len & 255),
      }),
    };
  }
  const body = view(buf, HEADER_LENGTH, buf.length);
  try {
    switch (f.type) {
      case MessageType.Open: {
        const m = decodeOpenBody(body);
        return m instanceof WireError ? { ok: false, error: m } : ok(m);
      }
      case MessageType.Update: {
        const r = decodeUpdateBody(body, ctx);
        return r.ok ? { ok: true, message: r.message, action: r.action, errors: r.errors, attributeBytes: r.attributeBytes } : r;
      }
      case MessageType.Notification:
        return ok(decodeNotificationBody(new Reader(body)));
      case MessageType.Keepalive:
        return ok({ type: MessageType.Keepalive });
      case MessageType.RouteRefresh: {
        const m = decodeRouteRefreshBody(new Reader(body), buf);
        return m instanceof WireError ? { ok: false, error: m } : ok(m);
      }
      default:
        // frame() already rejected other types.
        throw new Error(`unreachable message type ${f.type}`);
    }
  } catch (cause) {
    // Defence in depth: a decoder bug must still surface as a typed error, never an untyped exception
    // into the session. The fuzzer treats reaching this branch as a finding.
    return {
      ok: false,
      error: new WireError(WireErrorCode.MalformedAttributeList, `internal decoder error: ${String(cause)}`, {
        errorCode: ErrorCode.MessageHeader,
        subcode: 0,
        cause,
      }),
    };
  }
}

/** Convenience for tests and `uplinkctl decode`: hex (spaces/colons allowed) in. */
export function decodeHex(hex: string, ctx: WireContext): DecodeResult {
  const clean = hex.replace(/[\s:]/g, '');
  const bytes = new Uint8Array(clean.length >> 1);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return decodeMessage(bytes, ctx);
}

/** Encodes a message. Throws WireError (EncodeError) if it does not fit the negotiated maximum. */
export function encodeMessage(m: Message, ctx: WireContext): Uint8Array {
  switch (m.type) {
    case MessageType.Open:
      return encodeOpen(m);
    case MessageType.Update:
      return encodeUpdate(m, ctx);
    case MessageType.Notification:
      return encodeNotification(m);
    case MessageType.Keepalive:
      return encodeKeepalive();
    case MessageType.RouteRefresh:
      return encodeRouteRefresh(m);
  }
}
