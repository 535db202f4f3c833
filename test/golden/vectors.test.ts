// Golden vectors: every message recorded between FRR, BIRD, GoBGP and ExaBGP (test/vectors) must
// decode to what Wireshark's dissector saw in it, and re-encode to the identical bytes.
import { describe, expect, it } from 'vitest';
import { decodeHex, encodeMessage, toHex } from '../../bgpd/wire/index.js';
import { loadVectors, observed, vectorContext } from './vectors.js';

const tables = loadVectors();

describe('golden vectors from real daemons', () => {
  it('cover every message type and the features the recordings were made for', () => {
    const all = tables.flatMap((t) => t.vectors);
    const types = new Set(all.map((v) => v.expect.type));
    expect([...types].sort()).toEqual(['keepalive', 'notification', 'open', 'route-refresh', 'update']);
    const sources = new Set(all.map((v) => v.source.split(' -> ')[0]?.split('-')[0]));
    expect([...sources].sort()).toEqual(['bird', 'exabgp', 'frr', 'gobgp']);
    const json = JSON.stringify(all.map((v) => v.expect));
    // Features the scenarios exist for (see test/vectors/README.md); losing one in a re-recording fails.
    const needles = [
      // UPDATE features
      '"pathId"', '"largeCommunities"', '"extendedCommunities"', '"mpUnreach"', '"endOfRib":"2/1"', '"endOfRib":"1/1"',
      'fe80::', '"as4Path"', '"aggregator"', '"atomicAggregate"', '"localPref"', '"mpReach":{"afi":1',
      // OPEN capabilities: role (9) and LLGR (71) raw, extended next hop (5), GR families
      '"9":"03"', '"71":"', '"nextHopAfi":2', '"families":[{"afi":1,"safi":1,"forwarding"',
      // NOTIFICATION: shutdown communication, hold timer expired; ROUTE-REFRESH BoRR/EoRR (RFC 7313)
      '"communication"', '"code":4,"subcode":0', '"subtype":1', '"subtype":2',
    ];
    for (const needle of needles) {
      expect(json, needle).toContain(needle);
    }
  });

  for (const { scenario, file, vectors } of tables) {
    describe(`${scenario}/${file}`, () => {
      it('is not empty', () => {
        expect(vectors.length).toBeGreaterThan(0);
      });
      for (const v of vectors) {
        it(`${v.name} (${v.source})`, () => {
          const ctx = vectorContext(v);
          const r = decodeHex(v.hex, ctx);
          if (!r.ok) throw new Error(`decode failed: ${r.error.code} ${r.error.message}`);
          expect(r.action).toBeNull();
          expect(observed(r.message, v.expect, v.hex.length / 2)).toEqual(v.expect);
          expect(toHex(encodeMessage(r.message, ctx))).toBe(v.hex);
        });
      }
    });
  }
});
