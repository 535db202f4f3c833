// Just enough CIDR arithmetic for the fabric: parse, contain, overlap, carve the n-th subnet.
// Addresses are bigints so IPv4 and IPv6 share one code path.
import { isIP } from 'node:net';

export interface Cidr {
  family: 4 | 6;
  /** Network address (host bits cleared). */
  base: bigint;
  prefix: number;
}

const bits = (f: 4 | 6): number => (f === 4 ? 32 : 128);

export function parseAddr(s: string): { family: 4 | 6; value: bigint } | undefined {
  const fam = isIP(s);
  if (fam === 4) {
    const v = s.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { family: 4, value: v };
  }
  if (fam === 6) {
    let text = s;
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
    if (v4) {
      const n = parseAddr(v4[1]!)!.value;
      text = `${text.slice(0, -v4[1]!.length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
    const h = head ? head.split(':') : [];
    const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const fill = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
    const groups = [...h, ...fill, ...t];
    return { family: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
  }
  return undefined;
}

export function formatAddr(family: 4 | 6, v: bigint): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((v >> BigInt(112 - 16 * i)) & 0xffffn).toString(16));
  // RFC 5952 §4.2.3: compress the longest run (>= 2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const a = parseAddr(m[1]!);
  const prefix = Number(m[2]);
  if (!a || prefix > bits(a.family)) return undefined;
  const hostBits = BigInt(bits(a.family) - prefix);
  return { family: a.family, base: (a.value >> hostBits) << hostBits, prefix };
}

/** Like parseCidr but keeps the host part ("10.0.0.1/31" as an interface address). */
export function parseIfaceAddr(s: string): { family: 4 | 6; value: bigint; prefix: number } | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim());
  if (!m) return undefined;
  const a = parseAddr(m[1]!);
  const prefix = Number(m[2]);
  if (!a || prefix > bits(a.family)) return undefined;
  return { ...a, prefix };
}

export const formatCidr = (c: Cidr): string => `${formatAddr(c.family, c.base)}/${c.prefix}`;

export function size(c: Cidr): bigint {
  return 1n << BigInt(bits(c.family) - c.prefix);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const aEnd = a.base + size(a);
  const bEnd = b.base + size(b);
  return a.base < bEnd && b.base < aEnd;
}

export function containsAddr(c: Cidr, family: 4 | 6, v: bigint): boolean {
  return c.family === family && v >= c.base && v < c.base + size(c);
}

/** The n-th subnet of length `prefix` inside `c`, or undefined if `c` has fewer. */
export function nthSubnet(c: Cidr, prefix: number, n: number): Cidr | undefined {
  if (prefix < c.prefix || prefix > bits(c.family)) return undefined;
  const count = 1n << BigInt(prefix - c.prefix);
  if (BigInt(n) >= count) return undefined;
  return { family: c.family, base: c.base + BigInt(n) * (1n << BigInt(bits(c.family) - prefix)), prefix };
}
