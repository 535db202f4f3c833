// Textual IP addresses <-> the raw 4/16 bytes the native engine takes, over lib/ip.ts.
import { ipToString, parseIp, stripZone } from '../lib/ip.js';

/** "10.0.0.1" -> 4 bytes, "fd00::1" (or "fe80::1%eth0", scope dropped) -> 16 bytes; undefined if neither. */
export function addrToBytes(text: string): Buffer | undefined {
  const b = parseIp(stripZone(text));
  return b === null ? undefined : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** RFC 5952 §4 text, so addresses print as users type them. */
export function bytesToAddr(b: Uint8Array): string {
  return ipToString(b);
}
