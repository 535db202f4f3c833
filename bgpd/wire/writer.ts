// A growable byte writer for encoding. Encoding is caller-driven (our own data), so range violations
// are programming errors and throw RangeError loudly.
export class Writer {
  private buf: Uint8Array;
  private pos = 0;

  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity);
  }

  get length(): number {
    return this.pos;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  u8(v: number): this {
    check(v, 0xff);
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  u16(v: number): this {
    check(v, 0xffff);
    this.ensure(2);
    this.buf[this.pos++] = v >>> 8;
    this.buf[this.pos++] = v & 255;
    return this;
  }

  u24(v: number): this {
    check(v, 0xffffff);
    this.ensure(3);
    this.buf[this.pos++] = v >>> 16;
    this.buf[this.pos++] = (v >>> 8) & 255;
    this.buf[this.pos++] = v & 255;
    return this;
  }

  u32(v: number): this {
    check(v, 0xffffffff);
    this.ensure(4);
    this.buf[this.pos++] = v >>> 24;
    this.buf[this.pos++] = (v >>> 16) & 255;
    this.buf[this.pos++] = (v >>> 8) & 255;
    this.buf[this.pos++] = v & 255;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** Reserves n bytes (e.g. a length field) and returns their offset for patchU8/patchU16. */
  reserve(n: number): number {
    this.ensure(n);
    const p = this.pos;
    this.buf.fill(0, p, p + n);
    this.pos += n;
    return p;
  }

  patchU8(at: number, v: number): void {
    check(v, 0xff);
    this.buf[at] = v;
  }

  patchU16(at: number, v: number): void {
    check(v, 0xffff);
    this.buf[at] = v >>> 8;
    this.buf[at + 1] = v & 255;
  }

  /** Drops everything written after `length` bytes. */
  truncate(length: number): void {
    if (length < 0 || length > this.pos) throw new RangeError('bad truncate');
    this.pos = length;
  }

  /** A copy of bytes [from, to) already written. */
  copy(from: number, to: number): Uint8Array {
    return this.buf.slice(from, to);
  }

  /** The written bytes (a copy-free view of the internal buffer). */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

function check(v: number, max: number): void {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`value ${v} out of range 0..${max}`);
}
