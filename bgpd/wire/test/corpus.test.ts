// Replays every fuzz finding kept in corpus/ (see fuzz/fuzz.ts). Each once crashed, hung or broke the
// round trip; each must now decode to a message or typed error quickly and round-trip.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { fromHex } from '../index.js';
import { check, type Finding } from '../fuzz/check.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), 'corpus');

describe('fuzz regression corpus', () => {
  it('exists and is not empty (a missing folder fails)', () => {
    expect(existsSync(dir)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json')).length).toBeGreaterThan(0);
  });
  for (const f of existsSync(dir) ? readdirSync(dir).filter((x) => x.endsWith('.json')).sort() : []) {
    it(f, () => {
      const c = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Finding;
      const t0 = performance.now();
      const finding = check(fromHex(c.hex), c.context);
      expect(performance.now() - t0).toBeLessThan(1000);
      expect(finding).toBeNull();
    });
  }
});
