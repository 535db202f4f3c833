// Graceful restart (RFC 4724) against a real FRR bgpd, both roles:
//  - helper: FRR's bgpd is killed with SIGKILL (no NOTIFICATION) and started again while its zebra
//    keeps running, as in the lab's router-restart drill. Our Loc-RIB must keep every route of FRR
//    through the restart (stale, §4.2) and after FRR's End-of-RIB drop only what it did not resend.
//  - restarting speaker (§4.1): our speaker restarts; FRR never loses our routes and our FIB-bound
//    stream shows no withdraw-then-add churn while we wait for FRR's End-of-RIB.
import { join } from 'node:path';
import { chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { link, isRoot, type Netns } from '../../test/harness/netns.js';
import { startFrr, type FrrPeer } from '../../test/harness/peers/frr.js';
import { sleep } from '../../test/harness/peers/common.js';
import { startSpeaker, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf as sharedFrrConf, frrSession as startFrrSession, netns, nsPair } from './frr-session.js';
import type { FibChange } from '../rib/rib.js';

const NETS4 = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'];
const NETS6 = ['2001:db8:1::/48', '2001:db8:2::/48'];

function frrConf(nets4: readonly string[], nets6: readonly string[]): string {
  return sharedFrrConf({
    asn: 65001,
    routerId: '10.0.0.2',
    global: ['bgp graceful-restart', 'bgp graceful-restart preserve-fw-state', 'bgp graceful-restart restart-time 60'],
    neighbors: [{ address: '10.0.0.1', asn: 65000 }],
    networks4: nets4,
    networks6: nets6,
  });
}

/** FRR's graceful restart with forwarding state kept, as the lab's ToRs run it. */
const FRR_GR = ['bgp graceful-restart', 'bgp graceful-restart preserve-fw-state'];

const OURS = {
  routerId: '10.0.0.1',
  asn: 65000,
  advertise: ['10.244.1.0/24', '10.244.2.0/24'],
  importPools: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24', '2001:db8::/32'],
  peers: [{ name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4', 'ipv6'] }],
};

/** SIGKILL FRR's bgpd only (zebra stays, as with `zebra -K` in the lab) and start it again with `conf`. */
async function killAndRestartBgpd(ns: Netns, frr: FrrPeer, conf: string): Promise<void> {
  const pid = Number(readFileSync(join(frr.runDir, 'bgpd.pid'), 'utf8').trim());
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    await sleep(50);
  }
  const bconf = join(frr.runDir, 'bgpd.conf');
  writeFileSync(bconf, conf);
  const st = statSync(frr.runDir);
  chownSync(bconf, st.uid, st.gid);
  // Same arguments as the harness (test/harness/peers/frr.ts); the Netns kills this child on destroy().
  ns.spawn('/usr/lib/frr/bgpd', ['-f', bconf, '-i', join(frr.runDir, 'bgpd.pid'), '-z', join(frr.runDir, 'zserv.api'), '--vty_socket', frr.runDir, '-P', '0', '--log', `file:${join(frr.runDir, 'bgpd.log')}`]);
}

describe.skipIf(!isRoot)('graceful restart with FRR', () => {
  const cleanup = cleanupAfterEach();
  const pair = (): { us: Netns; them: Netns } => nsPair(cleanup, 'ulg');

  it('helper, lab shape: a restarted ToR re-learns node B while node A keeps B\'s routes (no loss at A)', async () => {
    const { us: a, them: tor } = pair();
    const b = netns(cleanup, 'ulg');
    link(b, 'eth0', tor, 'eth1', ['10.0.1.1/30'], ['10.0.1.2/30']);
    const nodes = [{ address: '10.0.0.1', asn: 65010 }, { address: '10.0.1.1', asn: 65011 }];
    const conf = sharedFrrConf({ asn: 65001, routerId: '10.0.0.2', hostname: 'tor-ulg', global: FRR_GR, neighbors: nodes, networks4: ['192.0.2.0/24'] });
    const frr = await startFrr(tor, { config: conf });
    cleanup.push(() => frr.stop({ cleanup: true }));
    const pools = ['192.0.2.0/24', '10.244.0.0/16'];
    const A = startSpeaker(a, { routerId: '10.0.0.1', asn: 65010, advertise: ['10.244.1.0/24'], importPools: pools, peers: [{ name: 'tor', address: '10.0.0.2', asn: 65001, families: ['ipv4'] }] });
    cleanup.push(() => A.speaker.stop());
    const B = startSpeaker(b, { routerId: '10.0.1.1', asn: 65011, advertise: ['10.244.2.0/24', '10.244.3.0/24'], importPools: pools, peers: [{ name: 'tor', address: '10.0.1.2', asn: 65001, families: ['ipv4'] }] });
    cleanup.push(() => B.speaker.stop());
    await A.speaker.start();
    await B.speaker.start();
    const want = ['192.0.2.0/24', '10.244.2.0/24', '10.244.3.0/24'];
    await waitUntil('A has the ToR route and both of B\'s', () => want.every((p) => A.fib.has(p)), 30_000, () => JSON.stringify([...A.fib.keys()]));
    // B's session has flapped before (earlier drills): its idle hold backoff has grown to 4 s.
    for (let i = 0; i < 3; i++) {
      const n = B.speaker.neighbor('tor').flaps.length;
      frr.vtysh('clear bgp 10.0.1.1');
      await waitUntil('B flapped', () => B.speaker.neighbor('tor').flaps.length > n, 10_000);
      await waitEstablished(B.speaker, 'tor', 30_000);
    }
    expect(B.speaker.neighbor('tor').idleHoldMs).toBeGreaterThanOrEqual(4000);
    await waitUntil('A has B\'s routes again', () => want.every((p) => A.fib.has(p)), 20_000);
    const removed: string[] = [];
    cleanup.push(A.speaker.onRoutes((cs) => { for (const c of cs) if (!c.nextHops.length) removed.push(c.prefix); }));
    for (let round = 0; round < 2; round++) {
      const flaps = A.speaker.neighbor('tor').flaps.length;
      await killAndRestartBgpd(tor, frr, conf);
      await waitUntil('A noticed', () => A.speaker.neighbor('tor').flaps.length > flaps, 10_000);
      await waitEstablished(A.speaker, 'tor', 40_000);
      await waitEstablished(B.speaker, 'tor', 40_000);
      await waitUntil('ToR has B\'s routes again', () => frr.vtyshJson<{ routes?: Record<string, unknown> }>('show bgp ipv4 unicast json').routes?.['10.244.3.0/24'] !== undefined, 30_000);
      await sleep(2000);
      expect({ round, removed }).toEqual({ round, removed: [] });
      expect(want.every((p) => A.fib.has(p))).toBe(true);
      expect(A.speaker.rib.staleCount(1)).toBe(0);
    }
  }, 150_000);

  /** FRR peering with our speaker, every FRR route in our FIB, and a record of the routes we remove. */
  async function frrSession() {
    const { us, them } = pair();
    const { frr, speaker, fib } = await startFrrSession(cleanup, { us, them, config: frrConf(NETS4, NETS6), ours: OURS });
    const all = [...NETS4, ...NETS6];
    await waitUntil('we have every FRR route', () => all.every((p) => fib.has(p)), 20_000, () => JSON.stringify([...fib.keys()]));
    const removed: string[] = [];
    cleanup.push(speaker.onRoutes((cs) => { for (const c of cs) if (!c.nextHops.length) removed.push(c.prefix); }));
    return { them, frr, speaker, fib, all, removed };
  }

  it('helper: FRR bgpd killed and restarted, we keep all its routes through the restart and after End-of-RIB', async () => {
    const { them, frr, speaker, fib, all, removed } = await frrSession();
    const flapsBefore = speaker.neighbor('frr').flaps.length;

    // FRR restarts without 203.0.113.0/24 and 2001:db8:2::/48: End-of-RIB must remove exactly those.
    await killAndRestartBgpd(them, frr, frrConf(NETS4.slice(0, 2), NETS6.slice(0, 1)));
    await waitUntil('our session noticed the restart', () => speaker.neighbor('frr').flaps.length > flapsBefore, 10_000);
    expect(all.every((p) => fib.has(p))).toBe(true);
    expect(speaker.rib.staleCount(1)).toBeGreaterThanOrEqual(all.length);
    await waitEstablished(speaker, 'frr', 40_000);
    await waitUntil('End-of-RIB swept what FRR did not resend', () => !fib.has('203.0.113.0/24') && !fib.has('2001:db8:2::/48'), 30_000, () => JSON.stringify({ fib: [...fib.keys()], n: speaker.neighbor('frr') }));
    expect([...removed].sort()).toEqual(['2001:db8:2::/48', '203.0.113.0/24']);
    for (const p of [...NETS4.slice(0, 2), NETS6[0]!]) expect(fib.has(p)).toBe(true);
    expect(speaker.rib.staleCount(1)).toBe(0);
    // Kept through a second restart too (the stale marks of the first one must not linger).
    await killAndRestartBgpd(them, frr, frrConf(NETS4.slice(0, 2), NETS6.slice(0, 1)));
    await waitUntil('second restart noticed', () => speaker.neighbor('frr').flaps.length > flapsBefore + 1, 10_000);
    await waitEstablished(speaker, 'frr', 40_000);
    await sleep(3000);
    expect([...removed].sort()).toEqual(['2001:db8:2::/48', '203.0.113.0/24']);
  }, 120_000);

  // A box that reboots sends no FIN for the old connection; its new kernel answers our probe on it with
  // a reset (RFC 9293 §3.10.7.1), unless a firewall eats that too. Either way the new session takes over
  // (session/held.ts): at once on the reset, after two keepalive intervals (2 x 3 s) of silence without.
  it.each([
    ['FIN dropped: our probe draws a reset, the new session takes over at once', ['FIN'], 'old connection failed'],
    ['FIN and RST dropped: silence for two keepalive intervals, then the new session takes over', ['FIN', 'RST'], 'no message on the old connection'],
  ])('helper: the restarted peer reconnects before we saw the old connection die (%s); routes stay', async (_what, flags, reason) => {
    const { them, frr, speaker, fib, all, removed } = await frrSession();
    const rules = flags.map((f) => ['-p', 'tcp', '--tcp-flags', f, f, '-j', 'DROP']);
    for (const r of rules) them.exec('iptables', ['-A', 'OUTPUT', ...r]);
    cleanup.push(() => { for (const r of rules) them.exec('iptables', ['-D', 'OUTPUT', ...r], { allowFail: true }); });
    await killAndRestartBgpd(them, frr, frrConf(NETS4, NETS6));
    const replaced = (): boolean => speaker.neighbor('frr').flaps.some((f) => f.error?.startsWith('peer reconnected') ?? false);
    await waitUntil('the new session replaced the old one', replaced, 30_000, () => JSON.stringify(speaker.neighbor('frr')));
    for (const r of rules) them.exec('iptables', ['-D', 'OUTPUT', ...r]);
    // One flap, for the reason the variant forces (a reset, or silence), taken for the peer's restart.
    expect(speaker.neighbor('frr').flaps.map((f) => f.error)).toEqual([expect.stringContaining(reason)]);
    await waitEstablished(speaker, 'frr', 30_000);
    await sleep(3000);
    expect(removed).toEqual([]);
    expect(all.every((p) => fib.has(p))).toBe(true);
    expect(speaker.rib.staleCount(1)).toBe(0);
  }, 90_000);

  it('no graceful restart: a restarted peer\'s new connection still takes over at once (no backoff), routes withdrawn', async () => {
    const { us, them } = pair();
    const noGr = (): string => frrConf(NETS4, []).replace(/ bgp graceful-restart[^\n]*\n/g, '');
    // FRR still advertises the capability as a helper; ours is off, so nothing is kept stale.
    const ours = { ...OURS, peers: OURS.peers.map((p) => ({ ...p, gracefulRestart: false })) };
    const { frr, speaker, fib } = await startFrrSession(cleanup, { us, them, config: noGr(), ours });
    await waitUntil('we have every FRR route', () => NETS4.every((p) => fib.has(p)), 20_000);
    expect(speaker.neighbor('frr').capabilities.sent.some((c) => c.startsWith('graceful-restart'))).toBe(false);
    const removed: string[] = [];
    cleanup.push(speaker.onRoutes((cs) => { for (const c of cs) if (!c.nextHops.length) removed.push(c.prefix); }));
    // The rebooted box sends no FIN; its kernel resets our probe.
    const rule = ['-p', 'tcp', '--tcp-flags', 'FIN', 'FIN', '-j', 'DROP'];
    them.exec('iptables', ['-A', 'OUTPUT', ...rule]);
    cleanup.push(() => void them.exec('iptables', ['-D', 'OUTPUT', ...rule], { allowFail: true }));
    await killAndRestartBgpd(them, frr, noGr());
    await waitUntil('the new session replaced the old one', () => speaker.neighbor('frr').flaps.length > 0, 20_000, () => JSON.stringify(speaker.neighbor('frr')));
    const flap = speaker.neighbor('frr').flaps[0]!;
    expect(flap.error).toContain('old connection failed');
    // Up again on the held connection without the flap's idle-hold backoff.
    await waitEstablished(speaker, 'frr', 3000);
    expect(Date.now() - Date.parse(flap.at)).toBeLessThan(3000);
    await waitUntil('routes back', () => NETS4.every((p) => fib.has(p)), 10_000);
    // Without graceful restart the old session's routes went with it (RFC 4271 §8.2.2), then came back.
    expect([...removed].sort()).toEqual([...NETS4].sort());
    expect(speaker.neighbor('frr').flaps).toHaveLength(1);
  }, 60_000);

  it('helper: a peer back without the Forwarding State bit loses its stale routes at once (RFC 4724 §4.2)', async () => {
    const { us, them } = pair();
    const { frr, speaker, fib } = await startFrrSession(cleanup, { us, them, config: frrConf(NETS4, []), ours: OURS });
    await waitUntil('we have every FRR route', () => NETS4.every((p) => fib.has(p)), 20_000);
    const removed: string[] = [];
    cleanup.push(speaker.onRoutes((cs) => { for (const c of cs) if (!c.nextHops.length) removed.push(c.prefix); }));
    const flaps = speaker.neighbor('frr').flaps.length;
    await killAndRestartBgpd(them, frr, frrConf(NETS4, []).replace(' bgp graceful-restart preserve-fw-state\n', ''));
    await waitUntil('noticed', () => speaker.neighbor('frr').flaps.length > flaps, 10_000);
    expect(removed).toEqual([]); // kept while it is away
    await waitEstablished(speaker, 'frr', 40_000);
    expect(speaker.neighbor('frr').capabilities.received.some((c) => c.startsWith('graceful-restart') && !c.includes('+F'))).toBe(true);
    await waitUntil('routes back', () => NETS4.every((p) => fib.has(p)), 20_000);
    // Removed when the session came back (no forwarding state kept), re-learned from the new UPDATEs.
    expect([...removed].sort()).toEqual([...NETS4].sort());
  }, 90_000);

  it('restarting speaker: selection deferred until every GR peer sent End-of-RIB; FRR keeps our route; one FIB batch, ECMP at once', async () => {
    const { us, them: t1 } = pair();
    const t2 = netns(cleanup, 'ulg');
    link(us, 'eth1', t2, 'eth0', ['10.0.1.1/30'], ['10.0.1.2/30']);
    const nets = ['192.0.2.0/24', '198.51.100.0/24'];
    const f1 = await startFrr(t1, { config: sharedFrrConf({ asn: 65001, routerId: '10.0.0.2', global: FRR_GR, neighbors: [{ address: '10.0.0.1', asn: 65000 }], networks4: nets }) });
    cleanup.push(() => f1.stop({ cleanup: true }));
    // The second upstream is another speaker of ours: FRR sets the R bit for 120 s after its own start
    // (t_startup), and a peer with the R bit is not waited for (RFC 4724 §4.1) — a long-running ToR has none.
    // B waits for us (passive), so its late return below is driven by our side only.
    const B = startSpeaker(t2, { routerId: '10.0.1.2', asn: 65001, advertise: nets, importPools: ['10.244.0.0/16'], peers: [{ name: 'us', address: '10.0.1.1', asn: 65000, families: ['ipv4'], passive: true }] });
    cleanup.push(() => B.speaker.stop());
    await B.speaker.start();
    const cfg = {
      routerId: '10.0.0.1',
      asn: 65000,
      advertise: ['10.244.1.0/24'],
      importPools: nets,
      gracefulRestart: { selectionDeferralTime: 30 },
      peers: [
        { name: 'f1', address: '10.0.0.2', asn: 65001, families: ['ipv4'] },
        { name: 'b', address: '10.0.1.2', asn: 65001, families: ['ipv4'] },
      ],
    };
    const first = startSpeaker(us, cfg);
    cleanup.push(() => first.speaker.stop());
    await first.speaker.start();
    const ecmp = (fib: Map<string, FibChange>, p: string): boolean => (fib.get(p)?.nextHops.length ?? 0) === 2;
    await waitUntil('ECMP over both upstreams', () => nets.every((p) => ecmp(first.fib, p)), 20_000, () => JSON.stringify([...first.fib.values()]));
    const ours = (): { stale?: boolean } | undefined => f1.vtyshJson<{ routes?: Record<string, { stale?: boolean }[]> }>('show bgp ipv4 unicast json').routes?.['10.244.1.0/24']?.[0];
    await waitUntil('FRR has our route', () => ours() !== undefined);

    await first.speaker.stop({ graceful: true });
    await waitUntil('FRR marks our route stale', () => ours()?.stale === true, 10_000);
    // B answers late: its session stays down for a while after we are back.
    B.speaker.shutdownNeighbor('us', '');
    const again = startSpeaker(us, cfg, { restarting: true });
    cleanup.push(() => again.speaker.stop());
    const batches: FibChange[][] = [];
    again.speaker.onRoutes((cs) => batches.push(cs));
    let lost = false;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        if (ours() === undefined) lost = true;
        await sleep(100);
      }
    })();
    try {
      await again.speaker.start();
      await waitEstablished(again.speaker, 'f1');
      await sleep(2000);
      // FRR's End-of-RIB is in, B is not up: still deferred, nothing to the FIB, FRR still holds our route stale.
      expect(again.speaker.selectionDeferred).toBe(true);
      expect(batches).toEqual([]);
      expect(ours()?.stale).toBe(true);
      B.speaker.enableNeighbor('us');
      await waitEstablished(again.speaker, 'b', 30_000);
      await waitUntil('deferral over', () => !again.speaker.selectionDeferred, 10_000);
      await waitUntil('our End-of-RIB clears the stale flag on FRR', () => ours() !== undefined && ours()?.stale !== true, 10_000);
    } finally {
      sampling = false;
      await sampler;
    }
    expect(lost).toBe(false);
    // One batch with the converged ECMP next hops: no withdraw, no single-path interim.
    await sleep(500);
    const changes = batches.flat();
    expect(changes.filter((c) => c.nextHops.length === 0)).toEqual([]);
    for (const p of nets) {
      const mine = changes.filter((c) => c.prefix === p);
      expect(mine.length).toBe(1);
      expect(mine[0]!.nextHops.map((h) => h.address).sort()).toEqual(['10.0.0.2', '10.0.1.2']);
    }
  }, 120_000);
});
