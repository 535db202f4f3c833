// The start-up warm-up (warmup.ts): it runs the real receive path on a scratch RIB, feeds the FIB hook
// what a real FIB listener would get, and leaves the speaker's own RIB and sessions alone.
import { describe, expect, it } from 'vitest';
import { warmUp } from './warmup.js';
import { BgpSpeaker } from './speaker.js';
import { parseBgpConfig } from './config.js';
import { fibBatchKey, type FibBatch } from './rib/rib.js';
import { formatKey } from './rib/prefix.js';
import { compilePolicy } from './rib/policy.js';
import type { RibPeerInfo } from './rib/peer-state.js';

const info = (name: string, address: string, importPolicy?: RibPeerInfo['importPolicy']): RibPeerInfo => ({
  name,
  address,
  routerId: address,
  localAs: 65000,
  remoteAs: 64600,
  ebgp: true,
  rrClient: false,
  igpMetric: 0,
  allowasIn: 0,
  ...(importPolicy ? { importPolicy } : {}),
  localNextHop: { ipv4: '192.0.2.254' },
  nextHopSelf: true,
  mraiMs: 0,
});

describe('warm-up', () => {
  it('selects every synthetic prefix, all inside the first IPv4 import pool, and hands them to the FIB hook', async () => {
    const pool = compilePolicy('pool', { terms: [{ match: { prefixList: [{ prefix: '10.244.0.0/16', le: 32 }] }, action: 'accept' }], default: 'reject' });
    const seen = new Set<string>();
    const withdrawn = new Set<string>();
    const r = warmUp({
      rib: { localAs: 65000, routerId: '10.0.0.1' },
      peerInfo: (name, address) => info(name, address, pool),
      importPools: ['fd00::/48', '10.244.0.0/16'],
      prefixes: 3000,
      fib: (b: FibBatch) => {
        for (let i = 0; i < b.size; i++) (b.hops[i]! < 0 ? withdrawn : seen).add(formatKey(fibBatchKey(b, i)));
        return Promise.resolve();
      },
    });
    await r.fib;
    expect(r.selected).toBe(3000);
    expect(seen.size).toBe(3000);
    // /29s cut from the /16 (pool length + 13), every one inside it, and all withdrawn at the end.
    for (const p of seen) expect(p).toMatch(/^10\.244\.\d+\.\d+\/29$/);
    expect(withdrawn).toEqual(seen);
  });

  it('a pool that rejects the synthetic prefixes selects nothing (the self-check says so)', () => {
    const none = compilePolicy('none', { terms: [], default: 'reject' });
    const r = warmUp({ rib: { localAs: 65000, routerId: '10.0.0.1' }, peerInfo: (n, a) => info(n, a, none), importPools: [], prefixes: 1000 });
    expect(r.selected).toBe(0);
  });

  it('runs once per process at speaker start, through the FIB hook, and leaves the speaker RIB empty', async () => {
    let batches = 0;
    const cfg = (warm: boolean) => parseBgpConfig({ routerId: '10.0.0.1', asn: 65000, listen: false, importPools: ['10.244.0.0/16'], warmUp: warm });
    const s1 = new BgpSpeaker(cfg(true), { warmUpFib: () => (batches++, Promise.resolve()) });
    const s2 = new BgpSpeaker(cfg(true), { warmUpFib: () => (batches++, Promise.resolve()) });
    await s1.start();
    const afterFirst = batches;
    await s2.start();
    try {
      // Two rounds: load, replace, then the withdrawal of everything; the second speaker adds none.
      expect(afterFirst).toBeGreaterThanOrEqual(3);
      expect(batches).toBe(afterFirst);
      expect(s1.warmUpResult).toMatchObject({ ran: true, selected: 8192 });
      expect(s2.warmUpResult).toMatchObject({ ran: false, selected: 8192 });
      expect(s1.rib.locRibSize).toBe(0);
      expect(s2.rib.locRibSize).toBe(0);
    } finally {
      await s1.stop();
      await s2.stop();
    }
  });

  it('warmUp is a config key, on by default, validated', () => {
    expect(parseBgpConfig({ routerId: '10.0.0.1', asn: 65000 }).warmUp).toBe(true);
    expect(parseBgpConfig({ routerId: '10.0.0.1', asn: 65000, warmUp: false }).warmUp).toBe(false);
    expect(() => parseBgpConfig({ routerId: '10.0.0.1', asn: 65000, warmUp: 'yes' })).toThrow(/bgp\.warmUp/);
  });
});
