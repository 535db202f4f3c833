import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { formatKey, parsePrefix, PrefixMap, v4Key, v6Key, type PrefixKey } from './prefix.js';

// The reference: plain per-field formatting, against which the cached head/tail path is checked.
const dotted = (addr: number, len: number): string => `${addr >>> 24}.${(addr >>> 16) & 255}.${(addr >>> 8) & 255}.${addr & 255}/${len}`;
const masked = (addr: number, len: number): number => (len === 0 ? 0 : (addr & (0xffffffff << (32 - len))) >>> 0);

describe('prefix keys', () => {
  it('formatKey(IPv4) equals dotted-quad text for every length, and parsePrefix reverses it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 }), (a, len) => {
        const addr = masked(a, len);
        const text = formatKey(v4Key(addr, len));
        expect(text).toBe(dotted(addr, len));
        expect(parsePrefix(text)).toBe(v4Key(addr, len));
      }),
      { numRuns: 2000 },
    );
    // The same /16 head and /24 tail reused by different prefixes must not leak into each other.
    expect(formatKey(parsePrefix('10.1.2.0/24'))).toBe('10.1.2.0/24');
    expect(formatKey(parsePrefix('10.1.0.0/16'))).toBe('10.1.0.0/16');
    expect(formatKey(parsePrefix('10.1.2.0/23'))).toBe('10.1.2.0/23');
    expect(formatKey(parsePrefix('10.2.2.0/24'))).toBe('10.2.2.0/24');
    expect(formatKey(parsePrefix('10.1.2.128/25'))).toBe('10.1.2.128/25');
  });

  it('PrefixMap behaves like a Map over mixed IPv4/IPv6 keys (set and delete return the old value)', () => {
    const key = fc.oneof(
      fc.tuple(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: 0, max: 32 })).map(([a, l]) => v4Key(masked(a, l), l) as PrefixKey),
      fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })).map(([b, l]) => v6Key(b, 0, l) as PrefixKey),
    );
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), key, fc.integer({ min: -2, max: 1000 })), { maxLength: 300 }), (ops) => {
        const m = new PrefixMap();
        const ref = new Map<PrefixKey, number>();
        for (const [del, k, v] of ops) {
          if (del) {
            expect(m.delete(k)).toBe(ref.get(k));
            ref.delete(k);
          } else {
            expect(m.set(k, v)).toBe(ref.get(k));
            ref.set(k, v);
          }
        }
        expect(m.size).toBe(ref.size);
        const seen = new Map<PrefixKey, number>();
        m.forEach((k, v) => seen.set(k, v));
        expect(seen).toEqual(ref);
      }),
    );
  });
});
