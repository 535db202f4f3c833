// BFD down (RFC 5882 §4.3, RFC 9384) against a real FRR bgpd: an Established session closes with
// Cease/BFD Down, FRR records that subcode, our routes from FRR leave the FIB at once and the session
// comes back by itself; a BFD failure while the session is already down leaves the routes that
// graceful restart keeps stale alone (RFC 5882 §4.3.1).
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isRoot } from '../../test/harness/netns.js';
import { waitEstablished, waitUntil } from './helpers.js';
import { cleanupAfterEach, frrConf, frrSession, nsPair } from './frr-session.js';

const CONF = frrConf({
  asn: 65001,
  routerId: '10.0.0.2',
  global: ['bgp graceful-restart', 'bgp graceful-restart preserve-fw-state'],
  neighbors: [{ address: '10.0.0.1', asn: 65000 }],
  networks4: ['192.0.2.0/24'],
});

describe.skipIf(!isRoot)('BFD down with FRR', () => {
  const cleanup = cleanupAfterEach();

  it('closes with Cease/BFD Down, withdraws at once, and leaves graceful-restart stale routes alone', async () => {
    const { us, them } = nsPair(cleanup, 'ulg');
    const ours = { routerId: '10.0.0.1', asn: 65000, advertise: ['10.244.1.0/24'], importPools: ['192.0.2.0/24'], peers: [{ name: 'frr', address: '10.0.0.2', asn: 65001, families: ['ipv4'] }] };
    const { frr, speaker, fib } = await frrSession(cleanup, { us, them, config: CONF, ours });
    await waitUntil('FRR route in our FIB', () => fib.has('192.0.2.0/24'));

    expect(speaker.bfdDown('frr')).toBe(true);
    // Withdrawn in the same turn's FIB batch: no graceful restart for a path BFD says is dead.
    await waitUntil('route gone from the FIB', () => !fib.has('192.0.2.0/24'), 2000);
    expect(speaker.neighbor('frr').lastError).toMatchObject({ direction: 'sent', code: 6, subcode: 10, text: 'Cease/BfdDown' });
    await waitUntil('FRR saw the BFD Down Cease', () => {
      const j = frr.vtyshJson<Record<string, { lastNotificationReason?: string; lastErrorCodeSubcode?: string }>>('show bgp neighbors 10.0.0.1 json')['10.0.0.1'];
      return /060a|BFD/i.test(`${j?.lastErrorCodeSubcode ?? ''} ${j?.lastNotificationReason ?? ''}`);
    }, 10_000, () => frr.vtysh('show bgp neighbors 10.0.0.1'));
    await waitEstablished(speaker, 'frr', 30_000);
    await waitUntil('route back', () => fib.has('192.0.2.0/24'), 10_000);

    // FRR's bgpd dies (its bfdd would die with it): the session drops gracefully, then BFD reports the
    // failure. Nothing is Established, so nothing closes, and the stale route stays.
    const pid = Number(readFileSync(join(frr.runDir, 'bgpd.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await waitUntil('our session noticed', () => speaker.neighbor('frr').state !== 'Established', 10_000);
    expect(speaker.bfdDown('frr')).toBe(false);
    await new Promise((r) => setTimeout(r, 500));
    expect(fib.has('192.0.2.0/24')).toBe(true);
    expect(speaker.rib.staleCount(1)).toBeGreaterThan(0);
  }, 60_000);
});
