// Property tests (fast-check): round trips for generated messages, and robustness of the decoder
// against random and mutated input (always a message or a typed WireError, quickly, and anything that
// decodes re-encodes to something that decodes to the same value).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  WireError,
  decodeMessage,
  encodeMessage,
  familyKey,
  frame,
  makeContext,
  mirrorContext,
  type Message,
  type WireContext,
} from '../index.js';
import { keepaliveArb, notificationArb, openArb, routeRefreshArb, updateArb } from './arbitraries.js';

const RUNS = 300;

function roundTrip(m: Message, ctx: WireContext): void {
  const bytes = encodeMessage(m, ctx);
  const r = decodeMessage(bytes, ctx);
  if (!r.ok) throw r.error;
  expect(r.message).toEqual(m);
}

const contexts: [string, WireContext][] = [
  ['2-octet', makeContext({ fourOctetAs: false })],
  ['4-octet', makeContext({ fourOctetAs: true })],
  ['4-octet + add-path', makeContext({ fourOctetAs: true, addPathReceive: new Set([familyKey(1, 1), familyKey(2, 1)]) })],
];

describe('round trip: decode(encode(m)) equals m', () => {
  it('OPEN with arbitrary capabilities and parameter grouping', () => {
    fc.assert(fc.property(openArb, (m) => roundTrip(m, contexts[0]![1])), { numRuns: RUNS });
  });
  for (const [name, ctx] of contexts) {
    it(`UPDATE with arbitrary attributes and prefixes (${name})`, () => {
      const ap = ctx.addPathReceive.size > 0;
      fc.assert(fc.property(updateArb(ctx.fourOctetAs, ap, ap), (m) => roundTrip(m, ctx)), { numRuns: RUNS });
    });
  }
  it('NOTIFICATION', () => fc.assert(fc.property(notificationArb, (m) => roundTrip(m, contexts[1]![1])), { numRuns: RUNS }));
  it('ROUTE-REFRESH', () => fc.assert(fc.property(routeRefreshArb, (m) => roundTrip(m, contexts[1]![1])), { numRuns: RUNS }));
  it('KEEPALIVE', () => fc.assert(fc.property(keepaliveArb, (m) => roundTrip(m, contexts[1]![1])), { numRuns: 5 }));
  it('mirrorContext swaps add-path directions', () => {
    const c = makeContext({ addPathSend: new Set([familyKey(1, 1)]) });
    expect([...mirrorContext(c).addPathReceive]).toEqual(['1/1']);
  });
});

/** Decoding must give a message or a typed WireError, not reach the internal-error guard, and be fast. */
function robust(bytes: Uint8Array, ctx: WireContext): void {
  const t0 = performance.now();
  const r = decodeMessage(bytes, ctx);
  const ms = performance.now() - t0;
  // Generous bound: the machine is shared and GC pauses happen; a hang or quadratic blow-up is far slower.
  expect(ms).toBeLessThan(500);
  if (!r.ok) {
    expect(r.error).toBeInstanceOf(WireError);
    expect(r.error.message).not.toMatch(/internal decoder error/);
    return;
  }
  // Whatever decodes must re-encode and decode to the same value (duplicates are already dropped).
  const again = decodeMessage(encodeMessage(r.message, ctx), ctx);
  if (!again.ok) throw again.error;
  expect(again.message).toEqual(r.message);
}

function withHeader(body: Uint8Array, type: number, lengthDelta = 0): Uint8Array {
  const out = new Uint8Array(19 + body.length);
  out.fill(0xff, 0, 16);
  const len = Math.max(0, Math.min(0xffff, out.length + lengthDelta));
  out[16] = len >>> 8;
  out[17] = len & 255;
  out[18] = type;
  out.set(body, 19);
  return out;
}

const mutation = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('byte' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('length' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 0xffff }) }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

export function mutate(src: Uint8Array, muts: readonly Mutation[]): Uint8Array {
  let b = new Uint8Array(src);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] = b[at]! ^ (1 << m.bit);
    else if (m.kind === 'byte') b[at] = m.value;
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else if (at + 1 < b.length) {
      // Corrupt a 2-byte field; the header length when at lands on it, else any length-like field.
      b[at] = m.value >>> 8;
      b[at + 1] = m.value & 255;
    }
  }
  // Keep the header length consistent with the buffer half of the time so the body parsers get hit.
  return b;
}

describe('robustness: any input -> message or typed WireError', () => {
  const ctx = makeContext({ fourOctetAs: true });
  it('random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => robust(b, ctx)), { numRuns: 1000 });
  });
  it('random bodies behind a valid header, every type', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 5 }), (b, t) => robust(withHeader(b, t), ctx)),
      { numRuns: 2000 },
    );
  });
  it('mutated valid UPDATEs (bit flips, truncation, length corruption)', () => {
    const ap = makeContext({ fourOctetAs: true, addPathReceive: new Set([familyKey(1, 1)]) });
    fc.assert(
      fc.property(updateArb(true, false, false), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (m, muts, fixLen) => {
        let b = mutate(encodeMessage(m, ctx), muts);
        if (fixLen && b.length >= 19) b = withHeader(b.subarray(19), b[18]!);
        robust(b, ctx);
        robust(b, ap);
      }),
      { numRuns: 1500 },
    );
  });
  it('mutated valid OPENs, NOTIFICATIONs and ROUTE-REFRESHes', () => {
    fc.assert(
      fc.property(fc.oneof(openArb, notificationArb, routeRefreshArb), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean(), (m, muts, fixLen) => {
        let b = mutate(encodeMessage(m, ctx), muts);
        if (fixLen && b.length >= 19) b = withHeader(b.subarray(19), b[18]!);
        robust(b, ctx);
      }),
      { numRuns: 1500 },
    );
  });
  it('a stream of messages cut at arbitrary points reassembles through frame() unchanged', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(updateArb(true, false, false), keepaliveArb, notificationArb), { minLength: 1, maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 20 }), (msgs, cuts) => {
        const wire = msgs.map((m) => encodeMessage(m, ctx));
        const stream = new Uint8Array(wire.reduce((n, b) => n + b.length, 0));
        let o = 0;
        for (const b of wire) {
          stream.set(b, o);
          o += b.length;
        }
        // Feed the stream in chunks, framing as a session would.
        let buf = new Uint8Array(0);
        let fed = 0;
        let ci = 0;
        const out: Message[] = [];
        while (fed < stream.length || buf.length > 0) {
          const f = frame(buf, 0, ctx);
          if (f.kind === 'error') throw f.error;
          if (f.kind === 'message') {
            const r = decodeMessage(buf.subarray(0, f.length), ctx);
            if (!r.ok) throw r.error;
            out.push(r.message);
            buf = buf.slice(f.length);
            continue;
          }
          if (fed >= stream.length) throw new Error('stream ended mid-message');
          const n = cuts[ci++ % cuts.length]!;
          const next = new Uint8Array(buf.length + Math.min(n, stream.length - fed));
          next.set(buf);
          next.set(stream.subarray(fed, fed + n), buf.length);
          fed += next.length - buf.length;
          buf = next;
        }
        expect(out).toEqual(msgs);
      }),
      { numRuns: 200 },
    );
  });
  it('the framer on arbitrary stream prefixes never claims more than it has', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.boolean(), (b, em) => {
        const f = frame(b, 0, { extendedMessage: em });
        if (f.kind === 'message') expect(f.length).toBeLessThanOrEqual(b.length);
        if (f.kind === 'error') expect(f.error).toBeInstanceOf(WireError);
      }),
      { numRuns: 1000 },
    );
  });
});
