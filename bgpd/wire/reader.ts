// A bounds-checked cursor over a byte view. Every read checks the remaining length first and reports
// failure by returning false/-1 via `ok`, never by reading past the end; callers turn a short read into
// the WireError that the RFC prescribes for that field (they know the context, the reader does not).
export class Reader {
  private pos: number;
  /** False once any read ran past `end`; reads after that return 0 and empty views. */
  ok = true;

  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end: number = buf.length,
  ) {
    this.pos = start;
  }

  get offset(): number {
    return this.pos;
  }

  /** 0 once a read failed, so `while (r.remaining > 0)` loops always terminate. */
  get remaining(): number {
    return this.ok ? this.end - this.pos : 0;
  }

  has(n: number): boolean {
    return this.ok && this.pos + n <= this.end;
  }

  private take(n: number): number {
    if (!this.has(n)) {
      this.ok = false;
      return -1;
    }
    const p = this.pos;
    this.pos += n;
    return p;
  }

  u8(): number {
    const p = this.take(1);
    return p < 0 ? 0 : this.buf[p]!;
  }

  u16(): number {
    const p = this.take(2);
    return p < 0 ? 0 : (this.buf[p]! << 8) | this.buf[p + 1]!;
  }

  u24(): number {
    const p = this.take(3);
    return p < 0 ? 0 : (this.buf[p]! << 16) | (this.buf[p + 1]! << 8) | this.buf[p + 2]!;
  }

  u32(): number {
    const p = this.take(4);
    const b = this.buf;
    return p < 0 ? 0 : ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** A view (no copy) of the next n bytes. */
  bytes(n: number): Uint8Array {
    const p = this.take(n);
    return p < 0 ? new Uint8Array(0) : view(this.buf, p, p + n);
  }

  /** A sub-reader over the next n bytes. */
  sub(n: number): Reader {
    const p = this.take(n);
    return p < 0 ? new Reader(new Uint8Array(0)) : new Reader(this.buf, p, p + n);
  }

  rest(): Uint8Array {
    return this.bytes(this.remaining);
  }
}

/** A plain Uint8Array view (never a Node Buffer, so results compare equal whatever came in). */
export function view(buf: Uint8Array, start: number, end: number): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset + start, end - start);
}

export function readU16(b: Uint8Array, off: number): number {
  return (b[off]! << 8) | b[off + 1]!;
}

export function readU32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}
