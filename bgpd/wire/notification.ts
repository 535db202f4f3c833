// NOTIFICATION (RFC 4271 §4.5) and the shutdown communication of RFC 8203 / RFC 9003.
import { CeaseSubcode, ErrorCode } from './errors.js';
import { finishMessage, startMessage } from './header.js';
import { Reader } from './reader.js';
import { MAX_MESSAGE_LENGTH, MessageType, type NotificationMessage } from './types.js';

/** Body = everything after the header; the framer guaranteed at least 2 bytes. */
export function decodeNotificationBody(r: Reader): NotificationMessage {
  const code = r.u8();
  const subcode = r.u8();
  return { type: MessageType.Notification, code, subcode, data: r.rest() };
}

export function encodeNotification(m: NotificationMessage): Uint8Array {
  const w = startMessage(MessageType.Notification, 21 + m.data.length);
  w.u8(m.code).u8(m.subcode).bytes(m.data);
  return finishMessage(w, MAX_MESSAGE_LENGTH);
}

/**
 * RFC 9003 §2: Cease/Administrative Shutdown (2) and Cease/Administrative Reset (4) may carry a
 * length-prefixed UTF-8 message of up to 255 octets. Returns null when absent or not valid UTF-8
 * (RFC 9003 §3: a malformed communication is ignored, the NOTIFICATION itself still counts).
 */
export function shutdownCommunication(n: NotificationMessage): string | null {
  if (n.code !== ErrorCode.Cease) return null;
  if (n.subcode !== CeaseSubcode.AdministrativeShutdown && n.subcode !== CeaseSubcode.AdministrativeReset) return null;
  if (n.data.length < 1) return null;
  const len = n.data[0]!;
  if (len === 0 || 1 + len > n.data.length) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(n.data.subarray(1, 1 + len));
  } catch {
    return null;
  }
}

/** Builds a Cease NOTIFICATION, with an RFC 9003 shutdown communication when text is given. */
export function ceaseNotification(subcode: number, text?: string): NotificationMessage {
  let data = new Uint8Array(0);
  if (text !== undefined && text.length > 0) {
    let utf8 = new TextEncoder().encode(text);
    // RFC 9003 §2: at most 255 octets; cut on a character boundary so the result stays valid UTF-8.
    if (utf8.length > 255) {
      let cut = 255;
      while (cut > 0 && (utf8[cut]! & 0xc0) === 0x80) cut--;
      utf8 = utf8.subarray(0, cut);
    }
    data = new Uint8Array(1 + utf8.length);
    data[0] = utf8.length;
    data.set(utf8, 1);
  }
  return { type: MessageType.Notification, code: ErrorCode.Cease, subcode, data };
}
