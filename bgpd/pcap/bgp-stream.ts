// TCP byte streams -> BGP messages, each with the decode context its session negotiated. The codec
// frames the stream (bgpd/wire `frame`), and the first OPEN seen in each direction gives the
// capabilities both ways (bgpd/wire `negotiate`), so UPDATEs decode with the right AS width, add-path
// and extended-message settings.
import { decodeMessage, frame, makeContext, MessageType, negotiate, type OpenMessage, type WireContext, type WireError } from '../wire/index.js';
import { readBgpTcpStreams } from './capture.js';
import type { Endpoint, StreamDirection, TcpStream } from './tcp-stream.js';

export interface CapturedMessage {
  readonly kind: 'message';
  /** TCP connection index in the capture (order of first packet). */
  readonly stream: number;
  readonly from: Endpoint;
  readonly to: Endpoint;
  /** Capture time of the segment that completed the message. */
  readonly timestamp: number;
  /** Position of the message in its direction: 0 = first. */
  readonly index: number;
  readonly bytes: Uint8Array;
  /** The context to decode these bytes with (what the receiver negotiated with the sender). */
  readonly context: WireContext;
}

/** A direction whose bytes stop making sense (bad marker or length): framing cannot go on. */
export interface CapturedStreamError {
  readonly kind: 'stream-error';
  readonly stream: number;
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly timestamp: number;
  readonly offset: number;
  readonly error: WireError;
}

export type CapturedItem = CapturedMessage | CapturedStreamError;

export interface ReadOptions {
  /** Context for directions whose session OPENs were not captured (capture started mid-session). */
  fallback?: Partial<WireContext>;
  /** TCP port that identifies BGP, default 179. */
  port?: number;
}

const MARKER_LENGTH = 16;

/**
 * When the capture started mid-connection (no SYN), the first bytes may be the tail of a message:
 * skip to the first 16-octet all-ones marker (RFC 4271 §4.1). Returns -1 if there is none.
 */
function resync(data: Uint8Array): number {
  let run = 0;
  for (let i = 0; i < data.length; i++) {
    run = data[i] === 0xff ? run + 1 : 0;
    // A run longer than 16 is the tail of a marker-like field; the marker is its last 16 bytes.
    if (run >= MARKER_LENGTH && data[i + 1] !== 0xff) return i + 1 - MARKER_LENGTH;
  }
  return -1;
}

function firstOpen(dir: StreamDirection): OpenMessage | undefined {
  const start = dir.fromStart ? 0 : resync(dir.data);
  if (start < 0) return undefined;
  let off = start;
  // The OPEN is the first message of a session (RFC 4271 §8.2.2); tolerate a few before it when the
  // capture began mid-stream, which means no OPEN at all.
  for (let n = 0; n < 4; n++) {
    const f = frame(dir.data, off, { extendedMessage: false });
    if (f.kind !== 'message') return undefined;
    if (f.type === MessageType.Open) {
      const r = decodeMessage(dir.data.subarray(off, off + f.length), makeContext());
      return r.ok && r.message.type === MessageType.Open ? r.message : undefined;
    }
    off += f.length;
  }
  return undefined;
}

function directionMessages(stream: TcpStream, dir: StreamDirection, ctx: WireContext): CapturedItem[] {
  const out: CapturedItem[] = [];
  let off = dir.fromStart ? 0 : resync(dir.data);
  if (off < 0) return out;
  let index = 0;
  while (off < dir.data.length) {
    const f = frame(dir.data, off, ctx);
    if (f.kind === 'need-more') break; // the capture ended mid-message
    if (f.kind === 'error') {
      out.push({ kind: 'stream-error', stream: stream.index, from: dir.from, to: dir.to, timestamp: dir.timeAt(off), offset: off, error: f.error });
      break;
    }
    out.push({
      kind: 'message',
      stream: stream.index,
      from: dir.from,
      to: dir.to,
      timestamp: dir.timeAt(off + f.length - 1),
      index: index++,
      bytes: dir.data.subarray(off, off + f.length),
      context: ctx,
    });
    off += f.length;
  }
  return out;
}

/** Every BGP message in the capture, in capture-time order. Throws PcapError on a bad file. */
export function readBgpMessages(file: Uint8Array, opts: ReadOptions = {}): CapturedItem[] {
  const items: CapturedItem[] = [];
  for (const stream of readBgpTcpStreams(file, opts.port)) {
    const [ab, ba] = stream.directions;
    const openA = firstOpen(ab);
    const openB = firstOpen(ba);
    // negotiate(local, remote) is from the receiver's side: what B reads from A is B's receive context.
    // The fallback is only for sessions whose OPENs were not captured; it never overrides a negotiation.
    const ctxAB = openA && openB ? negotiate(openB, openA) : makeContext(opts.fallback);
    const ctxBA = openA && openB ? negotiate(openA, openB) : makeContext(opts.fallback);
    items.push(...directionMessages(stream, ab, ctxAB), ...directionMessages(stream, ba, ctxBA));
  }
  // Stable sort keeps each direction's order when timestamps tie.
  return items
    .map((item, i) => ({ item, i }))
    .sort((x, y) => x.item.timestamp - y.item.timestamp || x.i - y.i)
    .map((x) => x.item);
}
