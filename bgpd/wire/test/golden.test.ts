// Golden vectors checked both ways, and the malformed table checked for {code, subcode, action}.
import { describe, expect, it } from 'vitest';
import {
  ErrorAction,
  WireError,
  decodeHex,
  encodeMessage,
  fromHex,
  isEndOfRib,
  toHex,
  toNotification,
  type DecodeResult,
  type Message,
} from '../index.js';
import { GOLDEN } from './golden-vectors.js';
import { MALFORMED } from './malformed-vectors.js';

function prefixCount(m: Message): number {
  if (m.type !== 2) return 0;
  let n = m.nlri.count;
  for (const a of m.attributes) if (a.kind === 'mp-reach') n += a.nlri.count;
  return n;
}

describe('golden vectors', () => {
  it('has vectors', () => expect(GOLDEN.length).toBeGreaterThan(15));
  for (const v of GOLDEN) {
    it(`decode: ${v.name}`, () => {
      const r = decodeHex(v.hex, v.ctx);
      if (!r.ok) throw r.error;
      expect(r.action).toBeNull();
      expect(r.message).toEqual(v.decoded);
    });
    it(`encode: ${v.name}`, () => {
      expect(toHex(encodeMessage(v.decoded, v.ctx))).toBe(v.hex.replace(/\s+/g, '').toLowerCase());
    });
  }

  it('recognises End-of-RIB markers and nothing else', () => {
    const eors = GOLDEN.filter((v) => v.name.startsWith('End-of-RIB'));
    expect(eors.length).toBe(2);
    for (const v of GOLDEN) {
      const m = v.decoded;
      if (m.type !== 2) continue;
      const fam = isEndOfRib(m);
      if (eors.includes(v)) expect(fam).not.toBeNull();
      else expect(fam).toBeNull();
    }
  });
});

describe('malformed messages -> {code, subcode, action}', () => {
  it('has vectors', () => expect(MALFORMED.length).toBeGreaterThan(50));
  for (const v of MALFORMED) {
    it(v.name, () => {
      const r: DecodeResult = decodeHex(v.hex, v.ctx);
      let err: WireError;
      if (r.ok) {
        // Non-fatal: the message is returned with the action and its prefixes (RFC 7606 §5).
        expect(v.action === ErrorAction.TreatAsWithdraw || v.action === ErrorAction.AttributeDiscard, 'decoded but a fatal outcome was expected').toBe(true);
        expect(r.action).toBe(v.action);
        expect(prefixCount(r.message)).toBe(v.keepsNlri);
        const first = r.errors.find((e) => e.action === r.action);
        if (first === undefined) throw new Error('action without an error');
        err = first;
        // The decoded message must still re-encode (the malformed value is kept raw).
        if (v.action === ErrorAction.TreatAsWithdraw && r.message.type === 2) {
          expect(() => encodeMessage(r.message, v.ctx)).not.toThrow();
        }
      } else {
        expect(r.error).toBeInstanceOf(WireError);
        expect(r.error.action).toBe(v.action);
        err = r.error;
      }
      expect({ code: err.errorCode, subcode: err.subcode, action: err.action }).toEqual({ code: v.code, subcode: v.subcode, action: v.action });
      if (v.data !== undefined) expect(toHex(err.data)).toBe(v.data);
      // One mapping to the NOTIFICATION, whatever the error.
      const n = toNotification(err);
      expect([n.type, n.code, n.subcode]).toEqual([3, v.code, v.subcode]);
      expect(n.data).toEqual(err.data);
    });
  }

  it('the malformed inputs are well-formed hex (sanity of the table itself)', () => {
    for (const v of MALFORMED) expect(() => fromHex(v.hex)).not.toThrow();
  });
});
