import { describe, expect, it } from 'vitest';
import { compilePolicy, evaluate, asLoop, parseCommunity, attrVerdicts, matchingTerm, matchingTermWith } from './policy.js';
import { parsePrefix } from './prefix.js';
import type { Attrs } from './attrs.js';
import { AsPathSegmentType } from '../wire/types.js';

const base: Attrs = { origin: 0, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65001, 65010] }], nextHop: '10.0.0.1' };

describe('policy', () => {
  const pools = compilePolicy('import-pools', {
    terms: [
      { name: 'default-from-tor', match: { prefixList: [{ prefix: '0.0.0.0/0' }] }, action: 'accept', set: { localPref: 50 } },
      { name: 'pods', match: { prefixList: [{ prefix: '10.244.0.0/16', ge: 24, le: 26 }] }, action: 'accept' },
      { name: 'v6', match: { prefixList: [{ prefix: 'fd00:10::/48', le: 64 }] }, action: 'accept' },
    ],
  });

  it('prefix lists honour ge/le and the safe default rejects the rest', () => {
    const ok = (p: string) => evaluate(pools, parsePrefix(p), base).accept;
    expect(ok('10.244.3.0/24')).toBe(true);
    expect(ok('10.244.3.64/26')).toBe(true);
    expect(ok('10.244.0.0/16')).toBe(false); // shorter than ge
    expect(ok('10.244.3.128/27')).toBe(false); // longer than le
    expect(ok('10.245.0.0/24')).toBe(false); // outside
    expect(ok('0.0.0.0/0')).toBe(true);
    expect(ok('0.0.0.0/1')).toBe(false); // exact match only without ge/le
    expect(ok('fd00:10::/64')).toBe(true);
    expect(ok('fd00:10::/48')).toBe(true);
    expect(ok('fd00:11::/64')).toBe(false);
    expect(ok('fd00:10::/80')).toBe(false);
  });

  it('set actions rewrite local-pref, MED, communities, large communities and prepend', () => {
    const p = compilePolicy('x', {
      terms: [{
        match: { asPath: '^65001 ' },
        action: 'accept',
        set: { localPref: 300, med: 7, communities: { add: ['65000:1'], remove: ['65000:2'] }, largeCommunities: { add: ['65000:1:2'] }, asPathPrepend: { asn: 65000, count: 2 } },
      }],
    });
    const r = evaluate(p, parsePrefix('10.0.0.0/24'), { ...base, communities: [parseCommunity('65000:2'), parseCommunity('1:1')] });
    expect(r.accept).toBe(true);
    if (!r.accept) return;
    expect(r.attrs.localPref).toBe(300);
    expect(r.attrs.med).toBe(7);
    expect(r.attrs.communities).toEqual([parseCommunity('1:1'), parseCommunity('65000:1')]);
    expect(r.attrs.largeCommunities).toEqual([[65000, 1, 2]]);
    expect(r.attrs.asPath[0]!.asns).toEqual([65000, 65000, 65001, 65010]);
    // AS-path regex that does not match falls to the default (reject).
    expect(evaluate(p, parsePrefix('10.0.0.0/24'), { ...base, asPath: [{ type: 2, asns: [65002] }] }).accept).toBe(false);
  });

  it('community and large community matches, reject terms, default accept', () => {
    const p = compilePolicy('y', {
      terms: [
        { match: { community: ['65535:666'] }, action: 'reject' },
        { match: { largeCommunity: ['65000:0:1'] }, action: 'reject' },
      ],
      default: 'accept',
    });
    const k = parsePrefix('192.0.2.0/24');
    expect(evaluate(p, k, base).accept).toBe(true);
    expect(evaluate(p, k, { ...base, communities: [parseCommunity('65535:666')] }).accept).toBe(false);
    expect(evaluate(p, k, { ...base, largeCommunities: [[65000, 0, 1]] }).accept).toBe(false);
  });

  it('configuration errors name the policy and term', () => {
    expect(() => compilePolicy('bad', { terms: [{ name: 't1', match: { prefixList: [{ prefix: '10.0.0.0/8', ge: 4 }] }, action: 'accept' }] })).toThrow(/policy 'bad' term t1/);
    expect(() => compilePolicy('bad', { terms: [{ match: { community: ['70000:1'] }, action: 'accept' }] })).toThrow(/bad community/);
    expect(() => compilePolicy('bad', { terms: [{ match: { prefixList: [{ prefix: '10.0.0.1/8' }] }, action: 'accept' }] })).toThrow(/host bits/);
  });

  it('AS loop detection with allowas-in', () => {
    const a: Attrs = { ...base, asPath: [{ type: 2, asns: [65001, 65000, 65000] }] };
    expect(asLoop(a, 65000)).toBe(true);
    expect(asLoop(a, 65000, 1)).toBe(true);
    expect(asLoop(a, 65000, 2)).toBe(false);
    expect(asLoop(a, 65099)).toBe(false);
  });
});

describe('policy split per attribute set / per prefix', () => {
  // Terms mixing prefix and attribute conditions, so the split can disagree with the whole match.
  const mixed = compilePolicy('mixed', {
    terms: [
      { match: { prefixList: [{ prefix: '10.1.0.0/16', le: 24 }], asPath: '^65001 ' }, action: 'reject' },
      { match: { community: ['65000:7'] }, action: 'accept', set: { localPref: 70 } },
      { match: { prefixList: [{ prefix: '10.0.0.0/8', le: 32 }], family: 'ipv4' }, action: 'accept' },
      { match: { prefixList: [{ prefix: 'fd00::/16', le: 64 }] }, action: 'accept' },
    ],
  });
  const attrSets: Attrs[] = [
    base,
    { ...base, asPath: [{ type: AsPathSegmentType.AsSequence, asns: [65002] }] },
    { ...base, communities: [parseCommunity('65000:7')] },
  ];
  const keys = ['10.1.2.0/24', '10.1.2.0/25', '10.9.0.0/16', '11.0.0.0/8', 'fd00:1::/48', 'fd01::/32'].map(parsePrefix);

  it('matchingTermWith(attrVerdicts) picks the same term as matchingTerm', () => {
    const sawDifferentTerms = new Set<number>();
    for (const a of attrSets) {
      const v = attrVerdicts(mixed, a);
      for (const k of keys) {
        const t = matchingTermWith(mixed, k, v);
        expect(t).toBe(matchingTerm(mixed, k, a));
        sawDifferentTerms.add(t);
      }
    }
    // Every term and the default are hit by some case, so the comparison covers each branch.
    expect([...sawDifferentTerms].sort()).toEqual([-1, 0, 1, 2, 3]);
  });
});
