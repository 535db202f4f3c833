// Compact prefix keys. A full table is ~1M prefixes; one JS object per prefix costs ~100 bytes before
// any payload, so the RIB never holds prefix objects. An IPv4 prefix is a number
// (length * 2^32 + address) in flight, and in storage a small integer per prefix length: V8 keeps
// 31/32-bit integers unboxed (Smi) in Map keys and values, so a PrefixMap entry costs the hash table slot
// only. IPv6 keys are short binary strings (length octet + significant prefix octets).
import { BgpError, BgpErrorCode } from '../errors.js';
import { IntMap } from './int-map.js';

export type AddressFamily = 'ipv4' | 'ipv6';
/** number = IPv4 (len * 2^32 + addr); string = IPv6 (latin1: len, then ceil(len/8) octets). */
export type PrefixKey = number | string;

const TWO32 = 4294967296;

export function v4Key(addr: number, len: number): number {
  return len * TWO32 + (addr >>> 0);
}

export function v4Parts(key: number): { addr: number; len: number } {
  const len = Math.floor(key / TWO32);
  return { addr: key - len * TWO32, len };
}

/** IPv6 key from wire octets (bits past `len` are masked). */
export function v6Key(bytes: Uint8Array, offset: number, len: number): string {
  const n = (len + 7) >> 3;
  let s = String.fromCharCode(len);
  for (let i = 0; i < n; i++) {
    let b = bytes[offset + i] ?? 0;
    if (i === n - 1 && len % 8 !== 0) b &= 0xff << (8 - (len % 8));
    s += String.fromCharCode(b & 0xff);
  }
  return s;
}

export function keyFamily(key: PrefixKey): AddressFamily {
  return typeof key === 'number' ? 'ipv4' : 'ipv6';
}

/** Prefix octets (4 or 16, left aligned) and length: the shape the wire NlriBuilder takes. */
export function keyToBytes(key: PrefixKey): { addr: Uint8Array; len: number } {
  if (typeof key === 'number') {
    const { addr, len } = v4Parts(key);
    return { addr: new Uint8Array([addr >>> 24, (addr >>> 16) & 255, (addr >>> 8) & 255, addr & 255]), len };
  }
  const out = new Uint8Array(16);
  for (let i = 1; i < key.length; i++) out[i - 1] = key.charCodeAt(i);
  return { addr: out, len: key.charCodeAt(0) };
}

// Once per FIB change, so up to a full table per batch: octet and length texts come from tables
// instead of a number-to-string conversion per field.
const OCTET = Array.from({ length: 256 }, (_, i) => String(i));
const OCTET_DOT = OCTET.map((o) => `${o}.`);
const SLASH_LEN = Array.from({ length: 129 }, (_, i) => `/${i}`);

// Most of a table is /16../24 with the last octet zero. Those are built from two shared pieces, the
// "a.b." head (cached per /16: at most 65536 short strings) and the "c.0/len" tail (9 x 256), so a
// full-table batch allocates one string per prefix instead of five.
const HEAD16: (string | undefined)[] = new Array<string | undefined>(65536);
const TAIL: (string | undefined)[] = new Array<string | undefined>(9 * 256);

export function formatKey(key: PrefixKey): string {
  if (typeof key === 'number') {
    const len = Math.floor(key / TWO32);
    const addr = key - len * TWO32;
    if (len >= 16 && len <= 24 && (addr & 255) === 0) {
      const h = addr >>> 16;
      const head = (HEAD16[h] ??= OCTET_DOT[h >>> 8]! + OCTET_DOT[h & 255]!);
      const c = (addr >>> 8) & 255;
      const tail = (TAIL[(len - 16) * 256 + c] ??= `${OCTET[c]!}.0${SLASH_LEN[len]!}`);
      return head + tail;
    }
    return OCTET_DOT[addr >>> 24]! + OCTET_DOT[(addr >>> 16) & 255]! + OCTET_DOT[(addr >>> 8) & 255]! + OCTET[addr & 255]! + SLASH_LEN[len]!;
  }
  const { addr, len } = keyToBytes(key);
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((addr[i]! << 8) | addr[i + 1]!).toString(16));
  // RFC 5952 §4.2.3: compress the longest run (>= 2) of zero groups.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const text = best < 0 ? groups.join(':') : `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
  return `${text}/${len}`;
}

export function parseIpv4(text: string): number | null {
  const p = text.split('.');
  if (p.length !== 4) return null;
  let a = 0;
  for (const o of p) {
    if (!/^\d{1,3}$/.test(o) || Number(o) > 255) return null;
    a = a * 256 + Number(o);
  }
  return a;
}

export function parseIpv6(text: string): Uint8Array | null {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (g.includes('.')) {
        const v4 = parseIpv4(g);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  if (!head || !tail) return null;
  const fill = 8 - head.length - tail.length;
  if (halves.length === 2 ? fill < 1 : fill !== 0) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...tail];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 255;
  });
  return out;
}

/** '10.0.0.0/8' or '2001:db8::/32' to a key; host bits must be zero (config errors name them). */
export function parsePrefix(text: string): PrefixKey {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m) throw new BgpError(BgpErrorCode.Prefix, `not a prefix: '${text}'`);
  const len = Number(m[2]);
  if (m[1]!.includes(':')) {
    const a = parseIpv6(m[1]!);
    if (!a || len > 128) throw new BgpError(BgpErrorCode.Prefix, `not an IPv6 prefix: '${text}'`);
    const key = v6Key(a, 0, len);
    if (formatKey(key) !== normalizeV6(text, a, len)) throw new BgpError(BgpErrorCode.Prefix, `host bits set in '${text}'`);
    return key;
  }
  const a = parseIpv4(m[1]!);
  if (a === null || len > 32) throw new BgpError(BgpErrorCode.Prefix, `not an IPv4 prefix: '${text}'`);
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  if (((a & ~mask) >>> 0) !== 0) throw new BgpError(BgpErrorCode.Prefix, `host bits set in '${text}'`);
  return v4Key(a, len);
}

function normalizeV6(_text: string, a: Uint8Array, len: number): string {
  // Host bits check: the key masks them, so compare the masked form with the unmasked one.
  return formatKey(String.fromCharCode(len) + String.fromCharCode(...a.subarray(0, (len + 7) >> 3)));
}

/** Is `inner` inside (or equal to) `outer`? Both keys of the same family. */
export function prefixContains(outer: PrefixKey, inner: PrefixKey): boolean {
  if (typeof outer === 'number' && typeof inner === 'number') {
    // Hot path (import policy per prefix): no allocation.
    const oLen = Math.floor(outer / TWO32);
    const iLen = Math.floor(inner / TWO32);
    if (iLen < oLen) return false;
    if (oLen === 0) return true;
    const mask = (0xffffffff << (32 - oLen)) >>> 0;
    return ((inner - iLen * TWO32) & mask) >>> 0 === outer - oLen * TWO32;
  }
  if (typeof outer === 'string' && typeof inner === 'string') {
    const o = keyToBytes(outer);
    const i = keyToBytes(inner);
    if (i.len < o.len) return false;
    for (let b = 0; b < o.len; b++) {
      const bit = (x: Uint8Array): number => (x[b >> 3]! >> (7 - (b & 7))) & 1;
      if (bit(o.addr) !== bit(i.addr)) return false;
    }
    return true;
  }
  return false;
}

export function prefixLength(key: PrefixKey): number {
  return typeof key === 'number' ? Math.floor(key / TWO32) : key.charCodeAt(0);
}

/**
 * A map from prefix to a small integer (attribute-set id, path-set id). IPv4 is split per prefix length
 * so every stored key is an int32 (addr >>> (32 - len) for len < 32, addr | 0 for /32) in a typed-array
 * hash table (int-map.ts); IPv6 keys stay in a Map.
 */
export class PrefixMap {
  private readonly v4: (IntMap | undefined)[] = new Array<IntMap | undefined>(33);
  private readonly v6 = new Map<string, number>();
  private n4 = 0;

  get size(): number {
    return this.n4 + this.v6.size;
  }

  get sizeV6(): number {
    return this.v6.size;
  }

  get(key: PrefixKey): number | undefined {
    if (typeof key === 'string') return this.v6.get(key);
    const len = Math.floor(key / TWO32);
    return this.v4[len]?.get(inner(key - len * TWO32, len));
  }

  has(key: PrefixKey): boolean {
    return this.get(key) !== undefined;
  }

  /** Returns the previous value. */
  set(key: PrefixKey, value: number): number | undefined {
    if (typeof key === 'string') {
      const prev = this.v6.get(key);
      this.v6.set(key, value);
      return prev;
    }
    const len = Math.floor(key / TWO32);
    let m = this.v4[len];
    if (!m) {
      m = new IntMap();
      this.v4[len] = m;
    }
    // One probe: IntMap.set returns the previous value (values are never undefined).
    const prev = m.set(inner(key - len * TWO32, len), value);
    if (prev === undefined) this.n4++;
    return prev;
  }

  /** Room for `n` more IPv4 keys of length `len` (see IntMap.reserve). */
  reserveV4(len: number, n: number): void {
    let m = this.v4[len];
    if (!m) {
      m = new IntMap(n);
      this.v4[len] = m;
      return;
    }
    m.reserve(n);
  }

  /** Entries of one IPv4 prefix length. */
  sizeV4(len: number): number {
    return this.v4[len]?.size ?? 0;
  }

  /** Returns the removed value. */
  delete(key: PrefixKey): number | undefined {
    if (typeof key === 'string') {
      const prev = this.v6.get(key);
      this.v6.delete(key);
      return prev;
    }
    const len = Math.floor(key / TWO32);
    const m = this.v4[len];
    if (!m) return undefined;
    const prev = m.delete(inner(key - len * TWO32, len));
    if (prev !== undefined) this.n4--;
    return prev;
  }

  forEach(cb: (key: PrefixKey, value: number) => void): void {
    // Map.prototype.forEach: no [key, value] pair allocated per entry, unlike for..of.
    for (let len = 0; len <= 32; len++) {
      const m = this.v4[len];
      if (!m) continue;
      const base = len * TWO32;
      m.forEach((v, k) => cb(base + outer(k, len), v));
    }
    this.v6.forEach((v, k) => cb(k, v));
  }

  clear(): void {
    this.v4.fill(undefined);
    this.v6.clear();
    this.n4 = 0;
  }
}

function inner(addr: number, len: number): number {
  if (len === 0) return 0;
  return len === 32 ? addr | 0 : addr >>> (32 - len);
}

function outer(k: number, len: number): number {
  if (len === 0) return 0;
  return len === 32 ? k >>> 0 : (k << (32 - len)) >>> 0;
}
