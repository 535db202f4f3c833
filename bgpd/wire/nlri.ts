// NLRI in compact form. An UPDATE from a busy peer carries ~800 prefixes; allocating an object per
// prefix per message is the dominant cost of a naive decoder. An NlriList keeps the validated wire bytes
// (a view into the received buffer, not a copy) plus the count, and walks them on demand:
// `forEach`/`forEachIpv4` allocate nothing per prefix; `toArray`/iteration allocate, for convenience.
//
// Wire form (RFC 4271 §4.3, RFC 4760 §5, RFC 7911 §3): [path id (4), only with add-path]
// length (1) prefix (ceil(length/8)).
import { ipv4ToString, ipv6ToString, parseIpv4, parseIpv6 } from './addr.js';
import { Afi, Safi, type FamilyKey, type Prefix } from './types.js';

export function familyKey(afi: number, safi: number): FamilyKey {
  return `${afi}/${safi}`;
}

/** Families whose NLRI this codec parses into prefixes; the rest are carried through opaque. */
export function isPrefixFamily(afi: number, safi: number): boolean {
  return (afi === Afi.Ipv4 || afi === Afi.Ipv6) && (safi === Safi.Unicast || safi === Safi.Multicast);
}

export function maxPrefixBits(afi: number): number {
  return afi === Afi.Ipv6 ? 128 : 32;
}

/** Why a byte range is not a valid NLRI encoding (null when valid). */
export type NlriProblem = 'truncated' | 'prefix-too-long';

export type NlriParse = { ok: true; list: NlriList } | { ok: false; problem: NlriProblem };

export class NlriList {
  readonly afi: number;
  readonly safi: number;
  /** Entries carry a 4-byte RFC 7911 path identifier. */
  readonly addPath: boolean;
  /** Family not parsed by this codec: `bytes` is carried through and `count` is 0. */
  readonly opaque: boolean;
  /** The NLRI bytes in wire form. */
  readonly bytes: Uint8Array;
  /** Number of prefixes (0 when opaque). */
  readonly count: number;

  private constructor(afi: number, safi: number, addPath: boolean, opaque: boolean, bytes: Uint8Array, count: number) {
    this.afi = afi;
    this.safi = safi;
    this.addPath = addPath;
    this.opaque = opaque;
    this.bytes = bytes;
    this.count = count;
  }

  static empty(afi: number = Afi.Ipv4, safi: number = Safi.Unicast, addPath = false): NlriList {
    return new NlriList(afi, safi, addPath, !isPrefixFamily(afi, safi), new Uint8Array(0), 0);
  }

  static opaque(afi: number, safi: number, bytes: Uint8Array): NlriList {
    return new NlriList(afi, safi, false, true, bytes, 0);
  }

  /**
   * Validates `bytes` as NLRI of a prefix family and wraps them (no copy). One pass, no allocation per
   * prefix. Trailing bits past the prefix length are kept as sent (RFC 4271 §4.3 says they are
   * irrelevant) so the message re-encodes byte-exact; the walkers mask them.
   */
  static parse(bytes: Uint8Array, afi: number, safi: number, addPath: boolean): NlriParse {
    const max = maxPrefixBits(afi);
    const idLen = addPath ? 4 : 0;
    let off = 0;
    let count = 0;
    const end = bytes.length;
    while (off < end) {
      if (off + idLen >= end) return { ok: false, problem: 'truncated' };
      const len = bytes[off + idLen]!;
      if (len > max) return { ok: false, problem: 'prefix-too-long' };
      off += idLen + 1 + ((len + 7) >> 3);
      if (off > end) return { ok: false, problem: 'truncated' };
      count++;
    }
    return { ok: true, list: new NlriList(afi, safi, addPath, false, bytes, count) };
  }

  /** Builds a list from prefixes given as objects or text ('10.0.0.0/24', '2001:db8::/32'). */
  static fromPrefixes(afi: number, safi: number, prefixes: Iterable<Prefix | string>, addPath = false): NlriList {
    const b = new NlriBuilder(afi, safi, addPath);
    for (const p of prefixes) {
      const pr = typeof p === 'string' ? parsePrefix(p) : p;
      if (pr.afi !== afi) throw new TypeError(`prefix family ${pr.afi} does not match list family ${afi}`);
      b.add(pr.addr, pr.length, pr.pathId ?? 0);
    }
    return b.build();
  }

  /**
   * Walks every prefix without allocating: `bytes[offset .. offset + ceil(length/8))` are the prefix
   * octets (trailing bits unmasked), `pathId` is 0 without add-path.
   */
  forEach(cb: (bytes: Uint8Array, offset: number, length: number, pathId: number) => void): void {
    if (this.opaque) return;
    const b = this.bytes;
    const end = b.length;
    let off = 0;
    while (off < end) {
      let pathId = 0;
      if (this.addPath) {
        pathId = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
        off += 4;
      }
      const len = b[off]!;
      cb(b, off + 1, len, pathId);
      off += 1 + ((len + 7) >> 3);
    }
  }

  /** IPv4 walk: the address as an unsigned 32-bit number, host bits masked. No allocation. */
  forEachIpv4(cb: (addr: number, length: number, pathId: number) => void): void {
    if (this.opaque) return;
    const b = this.bytes;
    const end = b.length;
    const addPath = this.addPath;
    let off = 0;
    while (off < end) {
      let pathId = 0;
      if (addPath) {
        pathId = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
        off += 4;
      }
      const len = b[off++]!;
      const n = (len + 7) >> 3;
      let a = 0;
      if (n > 0) a = b[off]! << 24;
      if (n > 1) a |= b[off + 1]! << 16;
      if (n > 2) a |= b[off + 2]! << 8;
      if (n > 3) a |= b[off + 3]!;
      off += n;
      cb(len === 0 ? 0 : (a & (0xffffffff << (32 - len))) >>> 0, len, pathId);
    }
  }

  toArray(): Prefix[] {
    const out: Prefix[] = [];
    const width = this.afi === Afi.Ipv6 ? 16 : 4;
    this.forEach((b, off, len, pathId) => {
      const addr = new Uint8Array(width);
      const n = (len + 7) >> 3;
      for (let i = 0; i < n; i++) addr[i] = b[off + i]!;
      if (len % 8 !== 0 && n > 0) addr[n - 1] = addr[n - 1]! & (0xff << (8 - (len % 8)));
      out.push(this.addPath ? { afi: this.afi, addr, length: len, pathId } : { afi: this.afi, addr, length: len });
    });
    return out;
  }

  toStrings(): string[] {
    return this.toArray().map(prefixToString);
  }

  [Symbol.iterator](): Iterator<Prefix> {
    return this.toArray()[Symbol.iterator]();
  }

  /** The same list over its own copy of the bytes, for keeping beyond the input buffer's life. */
  copy(): NlriList {
    return new NlriList(this.afi, this.safi, this.addPath, this.opaque, this.bytes.slice(), this.count);
  }

  /** Byte offsets of each entry start plus the end offset (count + 1 entries); used by packUpdates. */
  entryOffsets(): Uint32Array {
    const out = new Uint32Array(this.count + 1);
    const b = this.bytes;
    const idLen = this.addPath ? 4 : 0;
    let off = 0;
    for (let i = 0; i < this.count; i++) {
      out[i] = off;
      off += idLen + 1 + ((b[off + idLen]! + 7) >> 3);
    }
    out[this.count] = off;
    return out;
  }

  /** A sub-list of entries [from, to) by entry index, sharing bytes. */
  slice(offsets: Uint32Array, from: number, to: number): NlriList {
    return new NlriList(
      this.afi,
      this.safi,
      this.addPath,
      this.opaque,
      this.bytes.subarray(offsets[from]!, offsets[to]!),
      to - from,
    );
  }
}

/** Appends prefixes into one growing buffer; no object per prefix. */
export class NlriBuilder {
  private buf: Uint8Array;
  private len = 0;
  private n = 0;

  constructor(
    readonly afi: number,
    readonly safi: number,
    readonly addPath: boolean,
    capacity = 256,
  ) {
    this.buf = new Uint8Array(capacity);
  }

  add(addr: Uint8Array, length: number, pathId = 0, addrOffset = 0): this {
    const max = maxPrefixBits(this.afi);
    if (!Number.isInteger(length) || length < 0 || length > max) throw new RangeError(`bad prefix length ${length}`);
    const n = (length + 7) >> 3;
    this.ensure(n + 5);
    const b = this.buf;
    if (this.addPath) {
      b[this.len++] = pathId >>> 24;
      b[this.len++] = (pathId >>> 16) & 255;
      b[this.len++] = (pathId >>> 8) & 255;
      b[this.len++] = pathId & 255;
    }
    b[this.len++] = length;
    for (let i = 0; i < n; i++) b[this.len++] = addr[addrOffset + i] ?? 0;
    if (length % 8 !== 0) b[this.len - 1] = b[this.len - 1]! & (0xff << (8 - (length % 8)));
    this.n++;
    return this;
  }

  addIpv4(addr: number, length: number, pathId = 0): this {
    const tmp = new Uint8Array(4);
    tmp[0] = addr >>> 24;
    tmp[1] = (addr >>> 16) & 255;
    tmp[2] = (addr >>> 8) & 255;
    tmp[3] = addr & 255;
    return this.add(tmp, length, pathId);
  }

  get count(): number {
    return this.n;
  }

  build(): NlriList {
    const parsed = NlriList.parse(this.buf.slice(0, this.len), this.afi, this.safi, this.addPath);
    if (!parsed.ok) throw new Error('NlriBuilder produced invalid NLRI (bug)');
    return parsed.list;
  }

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + extra));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

/** '10.0.0.0/24' or '2001:db8::/32' -> Prefix. Throws TypeError on bad text (caller input, not wire). */
export function parsePrefix(text: string, pathId?: number): Prefix {
  const slash = text.lastIndexOf('/');
  if (slash < 0) throw new TypeError(`not a prefix: ${text}`);
  const addrText = text.slice(0, slash);
  const length = Number(text.slice(slash + 1));
  const v4 = parseIpv4(addrText);
  const addr = v4 ?? parseIpv6(addrText);
  if (addr === null) throw new TypeError(`not a prefix: ${text}`);
  const afi = v4 !== null ? Afi.Ipv4 : Afi.Ipv6;
  if (!Number.isInteger(length) || length < 0 || length > addr.length * 8) throw new TypeError(`bad length: ${text}`);
  return pathId === undefined ? { afi, addr, length } : { afi, addr, length, pathId };
}

export function prefixToString(p: Prefix): string {
  const a = p.afi === Afi.Ipv6 ? ipv6ToString(p.addr) : ipv4ToString(p.addr);
  return `${a}/${p.length}`;
}
