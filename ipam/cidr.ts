// Address arithmetic on bigint, pure. Blocks are named by their CIDR; in keys the `/` becomes `-` and,
// for IPv6, `:` becomes `_` (keys and Kubernetes names cannot hold them).
import { isIPv4, isIPv6 } from 'node:net';
import type { Family } from './types.js';

export interface Cidr {
  readonly family: Family;
  readonly network: bigint;
  readonly prefix: number;
  /** 32 or 128. */
  readonly bits: number;
}

export function parseAddress(text: string): { family: Family; value: bigint } {
  if (isIPv4(text)) {
    const v = text.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n);
    return { family: 'ipv4', value: v };
  }
  if (isIPv6(text)) {
    let t = text;
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(t);
    if (v4) {
      const n = parseAddress(v4[1]!).value;
      t = t.slice(0, -v4[1]!.length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
    }
    const [head, tail] = t.includes('::') ? t.split('::') : [t, undefined];
    const h = head ? head.split(':') : [];
    const tl = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const fill = tail !== undefined ? 8 - h.length - tl.length : 0;
    const parts = [...h, ...Array<string>(fill).fill('0'), ...tl];
    const v = parts.reduce((acc, p) => (acc << 16n) | BigInt(parseInt(p, 16)), 0n);
    return { family: 'ipv6', value: v };
  }
  throw new RangeError(`not an IP address: ${text}`);
}

export function formatAddress(family: Family, value: bigint): string {
  if (family === 'ipv4') {
    return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  }
  const hextets = Array.from({ length: 8 }, (_, i) => Number((value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952 §4.2: compress the longest run (length >= 2) of zero hextets, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (hextets[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && hextets[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = hextets.map((h) => h.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export function parseCidr(text: string): Cidr {
  const slash = text.indexOf('/');
  if (slash < 0) throw new RangeError(`not a CIDR: ${text}`);
  const { family, value } = parseAddress(text.slice(0, slash));
  const bits = family === 'ipv4' ? 32 : 128;
  const prefixText = text.slice(slash + 1);
  const prefix = Number(prefixText);
  if (!/^\d+$/.test(prefixText) || prefix > bits) throw new RangeError(`bad prefix length in ${text}`);
  const network = value & mask(bits, prefix);
  return { family, network, prefix, bits };
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.family, c.network)}/${c.prefix}`;
}

function mask(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return all ^ ((1n << BigInt(bits - prefix)) - 1n);
}

export function size(c: Cidr): number {
  return Number(1n << BigInt(c.bits - c.prefix));
}

export function contains(c: Cidr, address: bigint): boolean {
  return (address & mask(c.bits, c.prefix)) === c.network;
}

export function addressAt(c: Cidr, ordinal: number): string {
  return formatAddress(c.family, c.network + BigInt(ordinal));
}

export function ordinalOf(c: Cidr, address: string): number | undefined {
  const a = parseAddress(address);
  if (a.family !== c.family || !contains(c, a.value)) return undefined;
  return Number(a.value - c.network);
}

/** Number of blocks of `blockSize` in `pool`. */
export function blockCount(pool: Cidr, blockSize: number): bigint {
  return 1n << BigInt(blockSize - pool.prefix);
}

/** The i-th block of `blockSize` inside `pool`. */
export function blockAt(pool: Cidr, blockSize: number, i: bigint): Cidr {
  return { family: pool.family, bits: pool.bits, prefix: blockSize, network: pool.network + (i << BigInt(pool.bits - blockSize)) };
}

export function cidrToKey(cidr: string): string {
  return cidr.replace('/', '-').replaceAll(':', '_');
}

export function keyToCidr(key: string): string {
  const i = key.lastIndexOf('-');
  return `${key.slice(0, i).replaceAll('_', ':')}/${key.slice(i + 1)}`;
}
