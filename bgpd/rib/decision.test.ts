import { describe, expect, it } from 'vitest';
import { decide, BestReason, type Candidate, type PathSource } from './decision.js';
import type { AttrSet } from './attrs.js';
import { AsPathSegmentType } from '../wire/types.js';

const seq = (...asns: number[]) => [{ type: AsPathSegmentType.AsSequence, asns }];
let nextId = 1;
function attrs(over: Partial<AttrSet> = {}): AttrSet {
  return { id: nextId++, origin: 0, asPath: seq(65001), nextHop: '10.0.0.1', ...over };
}
function src(over: Partial<PathSource> = {}): PathSource {
  return { local: false, ebgp: true, routerId: '1.1.1.1', address: '10.0.0.1', igpMetric: 0, ...over };
}
const c = (a: Partial<AttrSet>, s: Partial<PathSource> = {}): Candidate => ({ attrs: attrs(a), source: src(s) });

// Each row: the loser differs from the winner in exactly the criterion under test, and is listed first
// so that "first wins" cannot pass by accident.
const table: { name: string; cands: Candidate[]; best: number; reason: string }[] = [
  { name: 'single path', cands: [c({})], best: 0, reason: BestReason.OnlyPath },
  { name: 'higher LOCAL_PREF', cands: [c({ localPref: 100 }), c({ localPref: 200, asPath: seq(1, 2, 3) })], best: 1, reason: BestReason.LocalPref },
  { name: 'missing LOCAL_PREF uses the default 100', cands: [c({ localPref: 99 }), c({})], best: 1, reason: BestReason.LocalPref },
  { name: 'locally originated', cands: [c({}), c({ asPath: [] }, { local: true })], best: 1, reason: BestReason.LocallyOriginated },
  { name: 'shorter AS_PATH', cands: [c({ asPath: seq(1, 2) }), c({ asPath: seq(3) })], best: 1, reason: BestReason.AsPathLength },
  { name: 'AS_SET counts as one', cands: [c({ asPath: seq(1, 2) }), c({ asPath: [{ type: AsPathSegmentType.AsSet, asns: [5, 6, 7] }] })], best: 1, reason: BestReason.AsPathLength },
  { name: 'lower ORIGIN', cands: [c({ origin: 2 }), c({ origin: 0 })], best: 1, reason: BestReason.Origin },
  { name: 'lower MED from the same neighbour AS', cands: [c({ med: 20 }), c({ med: 10 }, { address: '10.0.0.9', routerId: '9.9.9.9' })], best: 1, reason: BestReason.Med },
  { name: 'eBGP over iBGP', cands: [c({}, { ebgp: false }), c({}, { routerId: '9.9.9.9', address: '10.0.0.9' })], best: 1, reason: BestReason.EbgpOverIbgp },
  { name: 'lower IGP metric', cands: [c({}, { igpMetric: 20 }), c({}, { igpMetric: 10, routerId: '9.9.9.9', address: '10.0.0.9' })], best: 1, reason: BestReason.IgpMetric },
  { name: 'lower router ID', cands: [c({}, { routerId: '2.2.2.2' }), c({}, { routerId: '1.1.1.1', address: '10.0.0.9' })], best: 1, reason: BestReason.RouterId },
  { name: 'router ID compared numerically', cands: [c({}, { routerId: '10.0.0.1' }), c({}, { routerId: '9.0.0.1', address: '10.0.0.9' })], best: 1, reason: BestReason.RouterId },
  { name: 'ORIGINATOR_ID replaces router ID (RFC 4456 §9)', cands: [c({ originatorId: '5.5.5.5' }, { routerId: '1.1.1.1', ebgp: false }), c({ originatorId: '4.4.4.4' }, { routerId: '3.3.3.3', ebgp: false, address: '10.0.0.9' })], best: 1, reason: BestReason.RouterId },
  { name: 'shorter CLUSTER_LIST', cands: [c({ clusterList: ['1.1.1.1', '2.2.2.2'] }, { ebgp: false }), c({ clusterList: ['3.3.3.3'] }, { ebgp: false, address: '10.0.0.9' })], best: 1, reason: BestReason.ClusterListLength },
  { name: 'lower peer address', cands: [c({}, { address: '10.0.0.2' }), c({}, { address: '10.0.0.1' })], best: 1, reason: BestReason.PeerAddress },
];

describe('decision process (RFC 4271 §9.1.2.2)', () => {
  for (const row of table) {
    it(`${row.name} -> ${row.reason}`, () => {
      const d = decide(row.cands)!;
      expect(d.best).toBe(row.best);
      expect(d.reason).toBe(row.reason);
      // Order must not matter.
      const rev = decide([...row.cands].reverse())!;
      expect(rev.best).toBe(row.cands.length - 1 - row.best);
      expect(rev.reason).toBe(row.reason);
    });
  }

  it('MED is not compared across neighbouring ASes', () => {
    // A (AS 1, MED 50), B (AS 2, MED 10), C (AS 1, MED 5): C eliminates A; B survives MED; then peer address.
    const cands = [
      c({ asPath: seq(1), med: 50 }, { address: '10.0.0.1' }),
      c({ asPath: seq(2), med: 10 }, { address: '10.0.0.2' }),
      c({ asPath: seq(1), med: 5 }, { address: '10.0.0.3' }),
    ];
    const d = decide(cands)!;
    expect(d.best).toBe(1);
    expect(d.reason).toBe(BestReason.PeerAddress);
    expect(decide(cands, { alwaysCompareMed: true })!.best).toBe(2);
  });

  it('ECMP: paths equal up to IGP metric share the route; different AS paths only when relaxed', () => {
    const cands = [
      c({ asPath: seq(65001, 1) }, { address: '10.0.0.3' }),
      c({ asPath: seq(65001, 1) }, { address: '10.0.0.1' }),
      c({ asPath: seq(65002, 1) }, { address: '10.0.0.2' }),
      c({ asPath: seq(65001, 1), localPref: 50 }, { address: '10.0.0.4' }),
    ];
    expect(decide(cands)!.multipath).toEqual([1]);
    expect(decide(cands, { maxPaths: 8 })!.multipath).toEqual([1, 0]);
    expect(decide(cands, { maxPaths: 8, multipathRelax: true })!.multipath.sort()).toEqual([0, 1, 2]);
    expect(decide(cands, { maxPaths: 2, multipathRelax: true })!.multipath).toHaveLength(2);
  });
});
