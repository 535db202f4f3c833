// Maximum-prefix limits against a real FRR that sends more than the limit (3 prefixes, limit 2), one
// test per action: warn (session stays, warning counted and logged once), teardown (Cease/Maximum
// Number of Prefixes Reached, RFC 4486 §4, session stays down), restart (down, back after restartAfter).
// The limit counts what the peer sent (pre-policy): FRR also reflects our own prefix back to us (AS
// loop, dropped by policy), and that counts too.
import { describe, expect, it } from 'vitest';
import { isRoot } from '../../test/harness/netns.js';
import type { FrrPeer } from '../../test/harness/peers/frr.js';
import { sleep } from '../../test/harness/peers/common.js';
import { capturingLog, waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf, frrSession, nsPair } from './frr-session.js';
import type { Logger } from '../../lib/log.js';

const NETS = ['192.0.2.0/24', '193.0.2.0/24', '198.51.100.0/24'];
const OURS = { routerId: '10.0.0.1', asn: 65000, advertise: ['10.244.1.0/24'], importPools: [...NETS, '203.0.113.0/24'] };

type FrrNeighbor = { bgpState?: string; lastNotificationReason?: string; lastResetDueTo?: string; connectionsEstablished?: number };

describe.skipIf(!isRoot)('max-prefix with FRR sending 3 prefixes, limit 2', () => {
  const cleanup = cleanupAfterEach();

  /** FRR originating NETS, our speaker with `maxPrefix.ipv4 = limit`. */
  async function setup(limit: Record<string, unknown>, log?: Logger) {
    const { us, them } = nsPair(cleanup, 'ulp');
    const config = frrConf({ asn: 65001, routerId: '10.0.0.2', neighbors: [{ address: '10.0.0.1', asn: 65000 }], networks4: NETS });
    const ours = { ...OURS, peers: [{ name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4'], maxPrefix: { ipv4: { limit: 2, ...limit } } }] };
    const { frr, speaker, fib } = await frrSession(cleanup, { us, them, config, ours, peer: false, ...(log ? { log } : {}) });
    const frrNeighbor = (): FrrNeighbor => frr.vtyshJson<Record<string, FrrNeighbor>>('show bgp neighbors 10.0.0.1 json')['10.0.0.1'] ?? {};
    return { frr, speaker, fib, frrNeighbor };
  }

  const frrHasOurs = (frr: FrrPeer): boolean => frr.vtyshJson<{ routes?: Record<string, unknown> }>('show bgp ipv4 unicast json').routes?.['10.244.1.0/24'] !== undefined;

  it('warn: the session stays up with every prefix; one warning, counted and logged', async () => {
    const { log, records } = capturingLog();
    const { frr, speaker, fib, frrNeighbor } = await setup({ action: 'warn' }, log);
    await waitUntil('every FRR prefix installed', () => NETS.every((p) => fib.has(p)), 30_000, () => JSON.stringify(speaker.neighbor('frr')));
    await waitUntil('FRR has our route', () => frrHasOurs(frr));
    const warnings = () => records.filter((r) => r.msg === 'max-prefix exceeded (warn only)');
    expect(warnings()).toEqual([expect.objectContaining({ peer: 'frr', family: 'ipv4', limit: 2 })]);
    expect(warnings()[0]!.count).toBeGreaterThanOrEqual(3);
    expect(speaker.neighbor('frr').counters.maxPrefixWarnings).toBe(1);
    // A fourth prefix: still up, no second warning for the family in this session.
    frr.configure(['router bgp 65001', 'address-family ipv4 unicast', 'network 203.0.113.0/24']);
    await waitUntil('the fourth prefix arrived', () => fib.has('203.0.113.0/24'));
    await sleep(500);
    expect(warnings()).toHaveLength(1);
    expect(speaker.neighbor('frr')).toMatchObject({ state: 'Established', lastError: null, flaps: [], counters: expect.objectContaining({ maxPrefixWarnings: 1, notificationsOut: 0 }) });
    expect(frrNeighbor()).toMatchObject({ bgpState: 'Established', connectionsEstablished: 1 });
  });

  it('teardown: Cease/Maximum Number of Prefixes Reached, and the session stays down', async () => {
    const { speaker, frrNeighbor } = await setup({ action: 'teardown' });
    await waitUntil('max-prefix tripped', () => speaker.neighbor('frr').lastError?.code === 6, 30_000, () => JSON.stringify(speaker.neighbor('frr')));
    expect(speaker.neighbor('frr').lastError).toMatchObject({ direction: 'sent', code: 6, subcode: 1 });
    await waitUntil('FRR got the NOTIFICATION', () => /Maximum Number of Prefixes Reached|Cease/i.test(JSON.stringify(frrNeighbor())), 10_000, () => JSON.stringify(frrNeighbor()));
    await sleep(3000);
    expect(speaker.neighbor('frr').state).toBe('Idle');
    expect(frrNeighbor().bgpState).not.toBe('Established');
    expect(speaker.neighbor('frr').flaps).toHaveLength(1);
  });

  it('restart: down with the Cease, back on its own after restartAfter (and up to stay once under the limit)', async () => {
    const { frr, speaker, fib, frrNeighbor } = await setup({ action: 'restart', restartAfter: 3 });
    await waitUntil('max-prefix tripped', () => speaker.neighbor('frr').flaps.length === 1, 30_000, () => JSON.stringify(speaker.neighbor('frr')));
    const tripped = Date.parse(speaker.neighbor('frr').flaps[0]!.at);
    expect(speaker.neighbor('frr').lastError).toMatchObject({ direction: 'sent', code: 6, subcode: 1 });
    // FRR drops two prefixes while we wait out the restart interval: the next session (192.0.2.0/24
    // and our own reflected back) stays.
    frr.configure(['router bgp 65001', 'address-family ipv4 unicast', 'no network 193.0.2.0/24', 'no network 198.51.100.0/24']);
    expect(speaker.neighbor('frr').state).not.toBe('Established');
    await waitEstablished(speaker, 'frr', 30_000);
    const back = Date.now();
    // Not before the interval (allowing for timer granularity), not by FRR's connection (we refuse in Idle).
    expect(back - tripped).toBeGreaterThanOrEqual(2900);
    await waitUntil('the remaining prefix installed', () => fib.has('192.0.2.0/24'), 20_000, () => JSON.stringify(speaker.neighbor('frr')));
    await frr.waitState('10.0.0.1');
    await sleep(1000);
    expect(speaker.neighbor('frr').state).toBe('Established');
    expect(speaker.neighbor('frr').flaps).toHaveLength(1);
    expect([...fib.keys()]).toEqual(['192.0.2.0/24']);
    expect(frrNeighbor().connectionsEstablished).toBe(2);
  });
});
