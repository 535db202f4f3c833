// Netlink framing (RFC 3549 §2.3.2, linux/netlink.h): 16-byte nlmsghdr, 4-byte aligned TLV attributes.
// A growable writer that packs many requests into one Buffer (one sendmsg per chunk in the addon), and a
// zero-copy attribute reader. Host byte order throughout (netlink is native-endian; x86/arm64 are LE).

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
const NLA_F_NESTED = 0x8000;
const NLA_TYPE_MASK = 0x3fff;

export const align4 = (n: number): number => (n + 3) & ~3;

export class NlWriter {
  private buf: Buffer;
  private off = 0;
  count = 0;

  /** `reuse`: a buffer to write into (e.g. from a pool), used when it holds `initial` bytes. */
  constructor(initial = 4096, reuse?: Buffer) {
    this.buf = reuse && reuse.length >= initial ? reuse : Buffer.allocUnsafe(initial);
  }

  /** The buffer written into (to hand back to a pool once the messages were sent or copied). */
  get buffer(): Buffer {
    return this.buf;
  }

  private ensure(n: number): void {
    if (this.off + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.off + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.off);
    this.buf = next;
  }

  /** Starts a message; returns its offset for endMsg. */
  beginMsg(type: number, flags: number, seq: number): number {
    this.ensure(NLMSG_HDRLEN);
    const start = this.off;
    this.buf.writeUInt32LE(0, start);
    this.buf.writeUInt16LE(type, start + 4);
    this.buf.writeUInt16LE(flags, start + 6);
    this.buf.writeUInt32LE(seq >>> 0, start + 8);
    this.buf.writeUInt32LE(0, start + 12);
    this.off += NLMSG_HDRLEN;
    return start;
  }

  endMsg(start: number): void {
    this.buf.writeUInt32LE(this.off - start, start);
    this.count++;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.off++] = v & 0xff;
    return this;
  }

  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.off);
    this.off += 2;
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.off);
    this.off += 4;
    return this;
  }

  i32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32LE(v, this.off);
    this.off += 4;
    return this;
  }

  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.off, this.off + n);
    this.off += n;
    return this;
  }

  private pad(): void {
    const p = align4(this.off) - this.off;
    if (p) this.zeros(p);
  }

  attr(type: number, data: Buffer): this {
    const len = NLA_HDRLEN + data.length;
    this.ensure(align4(len));
    this.buf.writeUInt16LE(len, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    // Addresses are 4-18 bytes: a JS loop beats Buffer#copy's call into C++ at that size.
    if (data.length <= 32) {
      const o = this.off + 4;
      for (let i = 0; i < data.length; i++) this.buf[o + i] = data[i] as number;
    } else {
      data.copy(this.buf, this.off + 4);
    }
    this.off += len;
    this.pad();
    return this;
  }

  attrU32(type: number, v: number): this {
    this.ensure(8);
    this.buf.writeUInt16LE(8, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32LE(v >>> 0, this.off + 4);
    this.off += 8;
    return this;
  }

  /** A 4-byte attribute in network byte order (an IPv4 address). */
  attrBE32(type: number, v: number): this {
    this.ensure(8);
    this.buf.writeUInt16LE(8, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32BE(v >>> 0, this.off + 4);
    this.off += 8;
    return this;
  }

  attrU8(type: number, v: number): this {
    this.ensure(8);
    this.buf.writeUInt16LE(5, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32LE(v & 0xff, this.off + 4);
    this.off += 8;
    return this;
  }

  attrU16(type: number, v: number): this {
    this.ensure(8);
    this.buf.writeUInt16LE(6, this.off);
    this.buf.writeUInt16LE(type, this.off + 2);
    this.buf.writeUInt32LE(v & 0xffff, this.off + 4);
    this.off += 8;
    return this;
  }

  /** NUL-terminated string attribute (IFLA_IFNAME, IFLA_INFO_KIND). */
  attrStr(type: number, s: string): this {
    return this.attr(type, Buffer.from(`${s}\0`, 'utf8'));
  }

  /** Starts a nested attribute (or an RTNH entry when `raw`); returns its offset for endNest. */
  beginNest(type: number, nested = true): number {
    this.ensure(NLA_HDRLEN);
    const start = this.off;
    this.buf.writeUInt16LE(0, start);
    this.buf.writeUInt16LE(nested ? type | NLA_F_NESTED : type, start + 2);
    this.off += NLA_HDRLEN;
    return start;
  }

  endNest(start: number): void {
    this.buf.writeUInt16LE(this.off - start, start);
    this.pad();
  }

  /** Current offset, for structures with their own length field (struct rtnexthop). */
  get offset(): number {
    return this.off;
  }

  patchU16(at: number, v: number): void {
    this.buf.writeUInt16LE(v, at);
  }

  get length(): number {
    return this.off;
  }

  /** The encoded messages (a view, valid until the next write). */
  finish(): Buffer {
    return this.buf.subarray(0, this.off);
  }

  /** Drops everything after `offset` (a message that failed to encode half-way). */
  truncate(offset: number): void {
    this.off = offset;
  }

  reset(): void {
    this.off = 0;
    this.count = 0;
  }
}

export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  /** Payload after the nlmsghdr. */
  body: Buffer;
}

/** Splits a receive buffer into messages; stops at a truncated tail. */
export function* messages(buf: Buffer): Generator<NlMessage> {
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = buf.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > buf.length) return;
    yield {
      type: buf.readUInt16LE(off + 4),
      flags: buf.readUInt16LE(off + 6),
      seq: buf.readUInt32LE(off + 8),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
    };
    off += align4(len);
  }
}

/** Attributes of `buf` from `start`: type -> payload (last one wins). Zero-copy views. */
export function parseAttrs(buf: Buffer, start = 0): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let off = start;
  while (off + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(off);
    if (len < NLA_HDRLEN || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & NLA_TYPE_MASK, buf.subarray(off + NLA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}
