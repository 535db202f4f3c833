// Address text <-> bytes for the codec, and hex dumps. The parsers and printers are lib/ip.ts's (pure,
// no node:net, nothing allocated beyond the result), so the codec stays free of I/O modules.
import { MappedText, ipv6ToString as formatIpv6, parseIpv4 } from '../../lib/ip.js';

export { ipv4ToString, parseIpv4, parseIpv6 } from '../../lib/ip.js';

/** RFC 5952 text; an IPv4-mapped next hop keeps its dotted tail, as RFC 5952 §5 recommends. */
export function ipv6ToString(b: Uint8Array, off = 0): string {
  return formatIpv6(b, off, MappedText.Dotted);
}

export function parseIpv4OrThrow(s: string): Uint8Array {
  const b = parseIpv4(s);
  if (b === null) throw new TypeError(`not an IPv4 address: ${s}`);
  return b;
}

export function toHex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i]! < 16 ? '0' : '') + b[i]!.toString(16);
  return s;
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new TypeError('bad hex string');
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
  return out;
}
