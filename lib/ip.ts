// IP addresses as text, bytes and bigint, and CIDR network math: the one copy that ipam/, topology/,
// bfd/ and bgpd/wire/ share.
//
// Pure on purpose: no node:net (bgpd/wire imports this and must stay free of I/O modules) and little
// allocated on the byte paths beyond the result, because the BGP codec parses and prints through them once
// per NEXT_HOP and per NLRI. The bigint forms are for the slower paths (IPAM blocks, the fabric plan).
//
// What parses is exactly what node:net isIP() accepts, less a zone id ("fe80::1%eth0": callers that take
// one strip it, see stripZone): dotted quads without leading zeros (inet_pton(3); inet_aton would read
// "010" as octal, so it is refused rather than guessed) and the three IPv6 text forms of RFC 4291 §2.2.
// ip-address (npm) is correct but 9-47 times slower per address (bench/ip.ts), so it is the test
// oracle here (lib/ip.test.ts), not the implementation.

export const IpFamily = { V4: 4, V6: 6 } as const;
export type IpFamily = (typeof IpFamily)[keyof typeof IpFamily];

/** How ipv6ToString prints ::ffff:0:0/96. RFC 5952 §5 recommends the dotted tail; stored keys use hex. */
export const MappedText = { Hex: 'hex', Dotted: 'dotted' } as const;
export type MappedText = (typeof MappedText)[keyof typeof MappedText];

export interface IpValue {
  readonly family: IpFamily;
  readonly value: bigint;
}

/** A network: `base` has every host bit clear. */
export interface IpNet {
  readonly family: IpFamily;
  readonly base: bigint;
  readonly prefix: number;
}

/** An interface address: the host part is kept ("10.0.0.1/31"). */
export interface IpIfaceAddr extends IpValue {
  readonly prefix: number;
}

export function familyBits(family: IpFamily): 32 | 128 {
  return family === IpFamily.V4 ? 32 : 128;
}

export function familyOfBytes(b: Uint8Array): IpFamily {
  return b.length === 4 ? IpFamily.V4 : IpFamily.V6;
}

/** "fe80::1%eth0" -> "fe80::1". The scope names an interface of one host; the address is the rest. */
export function stripZone(text: string): string {
  const pct = text.indexOf('%');
  return pct < 0 ? text : text.slice(0, pct);
}

// ---- bytes <-> text --------------------------------------------------------------------------------

/** A dotted quad -> 4 bytes, or null. A char loop: the codec runs it per encoded NEXT_HOP. */
export function parseIpv4(s: string): Uint8Array | null {
  const out = new Uint8Array(4);
  return parseIpv4Into(s, 0, s.length, out, 0) ? out : null;
}

function parseIpv4Into(s: string, start: number, end: number, out: Uint8Array, at: number): boolean {
  let part = 0;
  let value = 0;
  let digits = 0;
  let lead = false;
  for (let i = start; i <= end; i++) {
    const c = i < end ? s.charCodeAt(i) : 46; // a virtual '.' ends the last part
    if (c === 46) {
      if (digits === 0 || part > 3) return false;
      out[at + part++] = value;
      value = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 0) lead = c === 48;
      else if (lead || digits === 3) return false; // "01" is ambiguous (octal to inet_aton)
      value = value * 10 + (c - 48);
      digits++;
      if (value > 255) return false;
    } else {
      return false;
    }
  }
  return part === 4;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/**
 * IPv6 text (RFC 4291 §2.2: full, "::"-compressed, or with a dotted-quad tail) -> 16 bytes, or null.
 * One pass over the text; groups after "::" are written at the front and shifted to the end at the close.
 */
export function parseIpv6(s: string): Uint8Array | null {
  const out = new Uint8Array(16);
  const n = s.length;
  if (n < 2) return null;
  let i = 0;
  let at = 0; // next byte to write
  let gap = -1; // byte index where "::" stood
  if (s.charCodeAt(0) === 58) {
    if (s.charCodeAt(1) !== 58) return null; // a lone leading ':'
    gap = 0;
    i = 2;
    if (i === n) return out; // "::"
  }
  for (;;) {
    // One group: 1-4 hex digits, or a dotted quad when it is the last thing in the text.
    const start = i;
    let v = 0;
    while (i < n && i - start < 5) {
      const d = hexDigit(s.charCodeAt(i));
      if (d < 0) break;
      v = (v << 4) | d;
      i++;
    }
    if (i < n && s.charCodeAt(i) === 46) {
      if (at > 12 || !parseIpv4Into(s, start, n, out, at)) return null;
      at += 4;
      break;
    }
    const len = i - start;
    if (len === 0 || len > 4 || at > 14) return null;
    out[at++] = v >> 8;
    out[at++] = v & 255;
    if (i === n) break;
    if (s.charCodeAt(i) !== 58) return null;
    i++;
    if (i < n && s.charCodeAt(i) === 58) {
      if (gap >= 0) return null; // a second "::"
      gap = at;
      i++;
      if (i === n) break;
    } else if (i === n) {
      return null; // a trailing lone ':'
    }
  }
  if (gap < 0) return at === 16 ? out : null;
  // RFC 4291 §2.2: "::" stands for one or more groups of zeros.
  if (at > 14) return null;
  const tail = at - gap;
  out.copyWithin(16 - tail, gap, at);
  out.fill(0, gap, 16 - tail);
  return out;
}

/** Either family: 4 bytes for IPv4 text, 16 for IPv6, null for anything else. */
export function parseIp(s: string): Uint8Array | null {
  return s.includes(':') ? parseIpv6(s) : parseIpv4(s);
}

/** 4 or 6 as node:net isIP() says it, 0 for neither (a zone id counts as neither here). */
export function ipFamilyOf(s: string): IpFamily | 0 {
  const b = parseIp(s);
  return b === null ? 0 : familyOfBytes(b);
}

export function ipv4ToString(b: Uint8Array, off = 0): string {
  return `${b[off] ?? 0}.${b[off + 1] ?? 0}.${b[off + 2] ?? 0}.${b[off + 3] ?? 0}`;
}

/** RFC 5952 §4: lower case, no leading zeros, the longest run (>= 2) of zero groups as "::", the first on a tie. */
export function ipv6ToString(b: Uint8Array, off = 0, mapped: MappedText = MappedText.Hex): string {
  const g = new Array<number>(8);
  for (let i = 0; i < 8; i++) g[i] = ((b[off + 2 * i] ?? 0) << 8) | (b[off + 2 * i + 1] ?? 0);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  // RFC 5952 §5: an IPv4-mapped address may keep its dotted tail.
  if (mapped === MappedText.Dotted && best === 0 && bestLen === 5 && g[5] === 0xffff) {
    return `::ffff:${ipv4ToString(b, off + 12)}`;
  }
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      text += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    text += g[i]!.toString(16);
    if (i < 7) text += ':';
  }
  return text;
}

/** 4 bytes -> dotted quad, 16 -> RFC 5952 text. */
export function ipToString(b: Uint8Array, mapped: MappedText = MappedText.Hex): string {
  return b.length === 4 ? ipv4ToString(b) : ipv6ToString(b, 0, mapped);
}

// ---- bytes <-> bigint ------------------------------------------------------------------------------

export function bytesToBigInt(b: Uint8Array): bigint {
  let v = 0n;
  // 32 bits at a time: one bigint shift per word instead of per byte.
  for (let i = 0; i < b.length; i += 4) {
    const w = (((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0)) >>> 0;
    v = (v << 32n) | BigInt(w);
  }
  return v;
}

export function bigIntToBytes(family: IpFamily, value: bigint): Uint8Array {
  const out = new Uint8Array(family === IpFamily.V4 ? 4 : 16);
  let v = value;
  for (let i = out.length - 4; i >= 0; i -= 4) {
    const w = Number(v & 0xffffffffn);
    out[i] = w >>> 24;
    out[i + 1] = (w >>> 16) & 255;
    out[i + 2] = (w >>> 8) & 255;
    out[i + 3] = w & 255;
    v >>= 32n;
  }
  return out;
}

export function parseIpValue(s: string): IpValue | null {
  const b = parseIp(s);
  return b === null ? null : { family: familyOfBytes(b), value: bytesToBigInt(b) };
}

/** The value's low 32 or 128 bits as text (hex form for IPv4-mapped, see MappedText). */
export function formatIpValue(family: IpFamily, value: bigint): string {
  return ipToString(bigIntToBytes(family, value));
}

// ---- networks --------------------------------------------------------------------------------------

/** The netmask of `prefix` bits as a bigint of the family's width. */
export function netMask(family: IpFamily, prefix: number): bigint {
  const bits = BigInt(familyBits(family));
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

/** "ADDR/LEN" with LEN 1-3 digits within the family's width; the host part kept. */
export function parseIfaceAddr(s: string): IpIfaceAddr | null {
  const slash = s.indexOf('/');
  if (slash < 0) return null;
  const lenText = s.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lenText)) return null;
  const a = parseIpValue(s.slice(0, slash));
  const prefix = Number(lenText);
  if (a === null || prefix > familyBits(a.family)) return null;
  return { family: a.family, value: a.value, prefix };
}

/** "10.1.2.3/24" -> 10.1.2.0/24 (host bits cleared), null when not a CIDR. */
export function parseNet(s: string): IpNet | null {
  const a = parseIfaceAddr(s);
  return a === null ? null : { family: a.family, base: a.value & netMask(a.family, a.prefix), prefix: a.prefix };
}

export function formatNet(n: IpNet): string {
  return `${formatIpValue(n.family, n.base)}/${n.prefix}`;
}

/** Number of addresses in `n`. */
export function netSize(n: IpNet): bigint {
  return 1n << BigInt(familyBits(n.family) - n.prefix);
}

export function netContains(n: IpNet, a: IpValue): boolean {
  return n.family === a.family && (a.value & netMask(n.family, n.prefix)) === n.base;
}

export function netsOverlap(a: IpNet, b: IpNet): boolean {
  if (a.family !== b.family) return false;
  return a.base < b.base + netSize(b) && b.base < a.base + netSize(a);
}

/** How many subnets of length `prefix` fit in `n` (0 when `prefix` is shorter than n's or too long). */
export function subnetCount(n: IpNet, prefix: number): bigint {
  if (prefix < n.prefix || prefix > familyBits(n.family)) return 0n;
  return 1n << BigInt(prefix - n.prefix);
}

/** The i-th subnet of length `prefix` inside `n`, or null when `n` has fewer. */
export function subnetAt(n: IpNet, prefix: number, i: bigint): IpNet | null {
  if (i < 0n || i >= subnetCount(n, prefix)) return null;
  return { family: n.family, base: n.base + (i << BigInt(familyBits(n.family) - prefix)), prefix };
}
