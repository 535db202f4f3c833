import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IntMap } from './int-map.js';

describe('IntMap', () => {
  it('behaves like a Map<number, number> under any sequence of set/delete', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), fc.integer({ min: -5, max: 1000 })), { maxLength: 400 }), (ops) => {
        const m = new IntMap();
        const ref = new Map<number, number>();
        for (const [del, k, v] of ops) {
          // Now and then room for a batch, as the Loc-RIB does before a big pass: contents unchanged.
          if ((v & 63) === 7) m.reserve(v);
          if (del) expect(m.delete(k)).toBe(ref.get(k)), ref.delete(k);
          else expect(m.set(k, v)).toBe(ref.get(k)), ref.set(k, v);
        }
        expect(m.size).toBe(ref.size);
        for (const [k, v] of ref) expect(m.get(k)).toBe(v);
        const seen = new Map<number, number>();
        m.forEach((v, k) => seen.set(k, v));
        expect(seen).toEqual(ref);
      }),
    );
  });

  it('reserve(n) makes room for n more keys at once: no rehash while they go in', () => {
    const m = new IntMap();
    for (let i = 0; i < 1000; i++) m.set(i, i);
    m.reserve(100_000);
    const rehash = (m as unknown as { rehash: () => void }).rehash;
    let rehashes = 0;
    (m as unknown as { rehash: () => void }).rehash = () => (rehashes++, rehash.call(m));
    for (let i = 1000; i < 101_000; i++) m.set(i, i * 2);
    expect(rehashes).toBe(0);
    expect(m.size).toBe(101_000);
    expect(m.get(500)).toBe(500);
    expect(m.get(100_999)).toBe(201_998);
  });

  it('keys that differ only in their high bits do not pile up (sparse prefixes)', () => {
    const m = new IntMap();
    for (let i = 0; i < 50_000; i++) m.set((i << 12) | 0, i);
    const t0 = performance.now();
    let s = 0;
    for (let i = 0; i < 50_000; i++) s += m.get((i << 12) | 0)!;
    expect(s).toBe((49_999 * 50_000) / 2);
    // A clustered table would need ~50k probes per miss-heavy lookup: seconds, not milliseconds.
    expect(performance.now() - t0).toBeLessThan(1000);
  });
});
