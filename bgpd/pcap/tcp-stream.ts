// TCP reassembly per connection and direction, ordered by sequence number: retransmitted and
// overlapping bytes are used once, out-of-order segments wait until the gap before them is filled.
// Sequence numbers are compared modulo 2^32 relative to the direction's initial sequence number
// (RFC 9293 §3.4).
import { TcpFlag, type TcpSegment } from './packet.js';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export interface StreamDirection {
  readonly from: Endpoint;
  readonly to: Endpoint;
  /** The in-order byte stream. */
  readonly data: Uint8Array;
  /** True when the SYN was captured, so `data` starts at the first byte the sender sent. */
  readonly fromStart: boolean;
  /** Bytes received beyond a hole that was never filled (lost segment): not part of `data`. */
  readonly bytesAfterGap: number;
  /** Capture time at which byte `offset` arrived. */
  timeAt(offset: number): number;
}

export interface TcpStream {
  /** 0, 1, ... in order of first packet. */
  readonly index: number;
  /** The side that sent the first packet seen (the SYN when captured). */
  readonly client: Endpoint;
  readonly server: Endpoint;
  /** [client -> server, server -> client]. */
  readonly directions: readonly [StreamDirection, StreamDirection];
}

class DirectionBuilder {
  base: number | undefined;
  fromStart = false;
  /** Next relative offset expected. */
  next = 0;
  readonly chunks: Uint8Array[] = [];
  /** [end offset, timestamp] of each delivered chunk, ascending. */
  readonly times: [number, number][] = [];
  readonly pending = new Map<number, { data: Uint8Array; ts: number }>();

  constructor(
    readonly from: Endpoint,
    readonly to: Endpoint,
  ) {}

  add(seg: TcpSegment): void {
    if (seg.flags & TcpFlag.Syn) {
      // The SYN consumes one sequence number; data starts after it.
      this.base = (seg.seq + 1) >>> 0;
      this.fromStart = true;
      if (seg.payload.length === 0) return;
    }
    if (seg.payload.length === 0) return;
    if (this.base === undefined) this.base = seg.seq;
    const rel = (seg.seq - this.base) >>> 0;
    // Relative offsets past 2^31 are "before the base" (a retransmit of something older than the
    // first segment we saw): nothing to add.
    if (rel >= 0x80000000) return;
    this.insert(rel, seg.payload, seg.timestamp);
  }

  private insert(rel: number, data: Uint8Array, ts: number): void {
    let start = rel;
    let bytes = data;
    if (start < this.next) {
      // Retransmission overlapping bytes already delivered: keep only the new tail.
      const skip = this.next - start;
      if (skip >= bytes.length) return;
      bytes = bytes.subarray(skip);
      start = this.next;
    }
    if (start > this.next) {
      const have = this.pending.get(start);
      if (!have || have.data.length < bytes.length) this.pending.set(start, { data: bytes, ts });
      return;
    }
    this.deliver(bytes, ts);
    // Anything waiting that now touches or overlaps the end can follow.
    for (;;) {
      let progressed = false;
      for (const [off, p] of this.pending) {
        if (off > this.next) continue;
        this.pending.delete(off);
        const skip = this.next - off;
        if (skip < p.data.length) this.deliver(p.data.subarray(skip), p.ts);
        progressed = true;
      }
      if (!progressed) break;
    }
  }

  private deliver(bytes: Uint8Array, ts: number): void {
    this.chunks.push(bytes);
    this.next += bytes.length;
    this.times.push([this.next, ts]);
  }

  build(): StreamDirection {
    const data = concat(this.chunks, this.next);
    const times = this.times;
    let after = 0;
    for (const p of this.pending.values()) after += p.data.length;
    return {
      from: this.from,
      to: this.to,
      data,
      fromStart: this.fromStart,
      bytesAfterGap: after,
      timeAt(offset: number): number {
        // First chunk whose end is beyond `offset`.
        let lo = 0;
        let hi = times.length - 1;
        while (lo < hi) {
          const mid = (lo + hi) >> 1;
          if ((times[mid]?.[0] ?? 0) > offset) hi = mid;
          else lo = mid + 1;
        }
        return times[lo]?.[1] ?? 0;
      },
    };
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

function key(a: Endpoint): string {
  return `${a.address}|${a.port}`;
}

/** Group segments into connections, in order of first appearance; a new SYN on a known 4-tuple starts a new connection. */
export function reassemble(segments: Iterable<TcpSegment>): TcpStream[] {
  const open = new Map<string, { index: number; dirs: [DirectionBuilder, DirectionBuilder]; client: Endpoint; server: Endpoint }>();
  const all: { index: number; dirs: [DirectionBuilder, DirectionBuilder]; client: Endpoint; server: Endpoint }[] = [];
  for (const seg of segments) {
    const src = { address: seg.src, port: seg.srcPort };
    const dst = { address: seg.dst, port: seg.dstPort };
    const k1 = `${key(src)}>${key(dst)}`;
    const k2 = `${key(dst)}>${key(src)}`;
    let conn = open.get(k1) ?? open.get(k2);
    const isSyn = (seg.flags & (TcpFlag.Syn | TcpFlag.Ack)) === TcpFlag.Syn;
    if (conn && isSyn && conn.dirs[0].fromStart && key(conn.client) === key(src) && conn.dirs[0].base !== ((seg.seq + 1) >>> 0)) {
      // A fresh SYN with another ISN on the same 4-tuple: a new connection (port reuse).
      open.delete(k1);
      open.delete(k2);
      conn = undefined;
    }
    if (!conn) {
      conn = { index: all.length, client: src, server: dst, dirs: [new DirectionBuilder(src, dst), new DirectionBuilder(dst, src)] };
      all.push(conn);
      open.set(`${key(src)}>${key(dst)}`, conn);
    }
    const dir = key(conn.client) === key(src) ? conn.dirs[0] : conn.dirs[1];
    dir.add(seg);
  }
  return all.map((c) => ({ index: c.index, client: c.client, server: c.server, directions: [c.dirs[0].build(), c.dirs[1].build()] as const }));
}
