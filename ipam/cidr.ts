// IPAM's view of addresses and blocks: bigint values tagged with IPAM's family names, over the shared
// parser and network math in lib/ip.ts. Blocks are named by their CIDR; in keys the `/` becomes `-` and,
// for IPv6, `:` becomes `_` (keys and Kubernetes names cannot hold them).
import { IpFamily, familyBits, formatIpValue, netContains, parseIpValue, parseNet, subnetAt, subnetCount, type IpNet } from '../lib/ip.js';
import type { Family } from './types.js';

export interface Cidr {
  readonly family: Family;
  readonly network: bigint;
  readonly prefix: number;
  /** 32 or 128. */
  readonly bits: number;
}

const toIpFamily = (f: Family): IpFamily => (f === 'ipv4' ? IpFamily.V4 : IpFamily.V6);
const fromIpFamily = (f: IpFamily): Family => (f === IpFamily.V4 ? 'ipv4' : 'ipv6');
const toNet = (c: Cidr): IpNet => ({ family: toIpFamily(c.family), base: c.network, prefix: c.prefix });
const fromNet = (n: IpNet): Cidr => ({ family: fromIpFamily(n.family), network: n.base, prefix: n.prefix, bits: familyBits(n.family) });

export function parseAddress(text: string): { family: Family; value: bigint } {
  const a = parseIpValue(text);
  if (a === null) throw new RangeError(`not an IP address: ${text}`);
  return { family: fromIpFamily(a.family), value: a.value };
}

/** RFC 5952 §4 text; IPv4-mapped addresses keep the hex form, as the block and handle keys store them. */
export function formatAddress(family: Family, value: bigint): string {
  return formatIpValue(toIpFamily(family), value);
}

export function parseCidr(text: string): Cidr {
  const n = parseNet(text);
  if (n === null) {
    throw new RangeError(text.includes('/') && parseIpValue(text.slice(0, text.indexOf('/'))) ? `bad prefix length in ${text}` : `not a CIDR: ${text}`);
  }
  return fromNet(n);
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress(c.family, c.network)}/${c.prefix}`;
}

export function size(c: Cidr): number {
  return Number(1n << BigInt(c.bits - c.prefix));
}

/** `address` is a value of the block's own family. */
export function contains(c: Cidr, address: bigint): boolean {
  return netContains(toNet(c), { family: toIpFamily(c.family), value: address });
}

export function addressAt(c: Cidr, ordinal: number): string {
  return formatAddress(c.family, c.network + BigInt(ordinal));
}

export function ordinalOf(c: Cidr, address: string): number | undefined {
  const a = parseIpValue(address);
  if (a === null || fromIpFamily(a.family) !== c.family || !netContains(toNet(c), a)) return undefined;
  return Number(a.value - c.network);
}

/** Number of blocks of `blockSize` in `pool`. */
export function blockCount(pool: Cidr, blockSize: number): bigint {
  return subnetCount(toNet(pool), blockSize);
}

/** The i-th block of `blockSize` inside `pool`. */
export function blockAt(pool: Cidr, blockSize: number, i: bigint): Cidr {
  const n = subnetAt(toNet(pool), blockSize, i);
  if (n === null) throw new RangeError(`block ${i} of /${blockSize} is outside ${formatCidr(pool)}`);
  return fromNet(n);
}

export function cidrToKey(cidr: string): string {
  return cidr.replace('/', '-').replaceAll(':', '_');
}

export function keyToCidr(key: string): string {
  const i = key.lastIndexOf('-');
  return `${key.slice(0, i).replaceAll('_', ':')}/${key.slice(i + 1)}`;
}
