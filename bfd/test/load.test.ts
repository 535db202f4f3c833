// Two of our own managers in two namespaces, 50 ms x 3 (150 ms detection): the sessions stay Up while
// the main thread is blocked in 200 ms synchronous chunks, because the native engine keeps sending and
// receiving on time. Then an administrative removal reaches the peer as AdminDown, not as a failure.
import { describe, expect, it } from 'vitest';
import { registry } from '../../lib/metrics.js';
import { isRoot } from '../../test/harness/netns.js';
import { waitFor } from '../../test/harness/peers/common.js';
import type { BfdStateEvent } from '../manager.js';
import { bfdShowRows } from '../show.js';
import { useBfdFixture } from './fixture.js';

const fx = useBfdFixture();

function blockFor(ms: number): void {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) x++;
  if (x < 0) throw new Error('unreachable');
}

describe.skipIf(!isRoot)('bfd under main-thread load', () => {
  it('keeps 150 ms-detection sessions Up through 200 ms event-loop stalls; removal is not a failure', async () => {
    const { a, b } = fx.pair('10.77.7.1/30', '10.77.7.2/30');
    const ma = fx.manager(a);
    const mb = fx.manager(b);
    const ka = ma.addSession({ peer: '10.77.7.2', interface: 'eth0', minTxMs: 50, minRxMs: 50, multiplier: 3 });
    const kb = mb.addSession({ peer: '10.77.7.1', interface: 'eth0', minTxMs: 50, minRxMs: 50, multiplier: 3 });
    await waitFor('both Up', () => (ma.session(ka)?.state === 'Up' && mb.session(kb)?.state === 'Up' && !ma.session(ka)?.polling && !mb.session(kb)?.polling ? true : undefined), {
      timeoutMs: 10_000,
    });
    expect(ma.session(ka)!.negotiated.detectionTimeMs).toBe(150);
    expect(bfdShowRows(ma.sessions())).toEqual([
      expect.objectContaining({ peer: '10.77.7.2%eth0', state: 'Up', txIntervalMs: 50, rxIntervalMs: 50, detectionTimeMs: 150, dropped: 0 }),
    ]);
    const state = (await registry.getSingleMetric('uplink_bfd_session_state')!.get()).values.find((v) => v.labels.peer === ka);
    expect(state?.value).toBe(3);
    const events: BfdStateEvent[] = [];
    ma.on('state', (e) => events.push(e));
    mb.on('state', (e) => events.push(e));
    const inBefore = ma.session(ka)!.counters.packetsIn;
    for (let i = 0; i < 6; i++) {
      blockFor(200);
      await new Promise((r) => setImmediate(r));
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(events).toEqual([]);
    // ~1.3 s at 37.5-50 ms per packet: the peer kept sending while we were blocked, and we kept hearing it.
    expect(ma.session(ka)!.counters.packetsIn - inBefore).toBeGreaterThanOrEqual(20);

    const peerDown = new Promise<BfdStateEvent>((resolve) => mb.on('state', (e) => e.to === 'Down' && resolve(e)));
    // By peer address: the only session to that peer.
    expect(ma.removeSession('10.77.7.2')).toBe(true);
    expect(ma.sessions()).toEqual([]);
    const e = await peerDown;
    expect(e).toMatchObject({ from: 'Up', to: 'Down', diagnostic: 'NeighborSignaledSessionDown', failed: false });
    expect(mb.session(kb)!.remoteState).toBe('AdminDown');
  });

  it('runs IPv6 link-local sessions bound to an interface (scope from the interface)', async () => {
    const { a, b } = fx.pair('fe80::a/64', 'fe80::b/64');
    const ma = fx.manager(a);
    const mb = fx.manager(b);
    const ka = ma.addSession({ peer: 'fe80::b', interface: 'eth0', minTxMs: 50, minRxMs: 50, multiplier: 3 });
    const kb = mb.addSession({ peer: 'fe80::a', local: 'fe80::b', interface: 'eth0', minTxMs: 50, minRxMs: 50, multiplier: 3 });
    await waitFor('both Up', () => (ma.session(ka)?.state === 'Up' && mb.session(kb)?.state === 'Up' ? true : undefined), { timeoutMs: 10_000 });
    expect(ma.session(ka)!.remoteDiscriminator).toBe(mb.session(kb)!.localDiscriminator);
    expect(ma.session(ka)!.counters.dropped).toEqual({});
  });
});
