// FRR bfdd interop beyond single-hop IPv4: an RFC 5883 multihop session across a router namespace
// (packets arrive with TTL 254, which single-hop GTSM would drop), and an IPv6 single-hop session
// (hop limit read through IPV6_RECVHOPLIMIT).
import { describe, expect, it } from 'vitest';
import { isRoot, link } from '../../test/harness/netns.js';
import { waitFor } from '../../test/harness/peers/common.js';
import type { BfdStateEvent } from '../manager.js';
import { useBfdFixture } from './fixture.js';
import { startFrrBfdd } from './peers.js';

// Down must come within one detection time of the failure (the last packet before it restarted the
// timer), plus the hop from the engine thread to the event loop, which on a loaded 2-core CI machine
// takes tens of milliseconds.
const DELIVERY_SLACK_MS = 100;

const fx = useBfdFixture();

describe.skipIf(!isRoot)('bfd interop with FRR bfdd: multihop and IPv6', () => {
  it('brings up an RFC 5883 multihop session through a router and detects the peer dying', async () => {
    const a = fx.ns();
    const r = fx.ns();
    const b = fx.ns();
    link(a, 'eth0', r, 'ra', ['10.77.4.1/30'], ['10.77.4.2/30']);
    link(r, 'rb', b, 'eth0', ['10.77.5.1/30'], ['10.77.5.2/30']);
    r.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    a.ip('route', 'add', '10.77.5.0/30', 'via', '10.77.4.2');
    b.ip('route', 'add', '10.77.4.0/30', 'via', '10.77.5.1');
    const frr = await startFrrBfdd(
      b,
      ['bfd', ' peer 10.77.4.1 multihop local-address 10.77.5.2', '  receive-interval 100', '  transmit-interval 100', '  detect-multiplier 3', ' !', '!', ''].join('\n'),
    );
    fx.onCleanup(() => frr.stop());
    const mgr = fx.manager(a);
    const key = mgr.addSession({ peer: '10.77.5.2', local: '10.77.4.1', multihop: true, minTxMs: 100, minRxMs: 100, multiplier: 3 });
    const s = await waitFor('multihop session Up', () => (mgr.session(key)?.state === 'Up' && !mgr.session(key)?.polling ? mgr.session(key) : undefined), {
      timeoutMs: 15_000,
      describe: () => frr.log(),
    });
    expect(s.multihop).toBe(true);
    expect(s.negotiated.detectionTimeMs).toBe(300);
    await waitFor('FRR multihop peer up', () => (frr.peer('10.77.4.1')?.status === 'up' ? true : undefined), { timeoutMs: 10_000, describe: () => frr.log() });
    expect(s.counters.dropped).toEqual({});

    const down = new Promise<BfdStateEvent>((resolve) => mgr.on('state', (e) => e.to === 'Down' && resolve(e)));
    const killedAt = Date.now();
    process.kill(frr.bfdd.pid!, 'SIGKILL');
    const ev = await down;
    const took = ev.at - killedAt;
    const engine = (ev.detectedAt ?? NaN) - killedAt;
    console.log(`bfd interop: FRR multihop bfdd SIGKILL -> engine detected in ${engine} ms, our Down event in ${took} ms (detection time 300 ms)`);
    expect(engine).toBeLessThanOrEqual(300 + 15);
    expect(took).toBeLessThanOrEqual(300 + DELIVERY_SLACK_MS);
  });

  it('brings up an IPv6 single-hop session and agrees on timers', async () => {
    const a = fx.ns();
    const b = fx.ns();
    link(a, 'eth0', b, 'eth0', ['fd00:77:6::1/64'], ['fd00:77:6::2/64']);
    const frr = await startFrrBfdd(
      b,
      ['bfd', ' peer fd00:77:6::1 local-address fd00:77:6::2 interface eth0', '  receive-interval 150', '  transmit-interval 120', '  detect-multiplier 2', ' !', '!', ''].join('\n'),
    );
    fx.onCleanup(() => frr.stop());
    const mgr = fx.manager(a);
    const key = mgr.addSession({ peer: 'fd00:77:6::2', local: 'fd00:77:6::1', interface: 'eth0', minTxMs: 100, minRxMs: 100, multiplier: 3 });
    const s = await waitFor('IPv6 session Up', () => (mgr.session(key)?.state === 'Up' && !mgr.session(key)?.polling ? mgr.session(key) : undefined), {
      timeoutMs: 15_000,
      describe: () => frr.log(),
    });
    // ours: max(100, FRR rx 150) = 150; detection 2 x max(our rx 100, FRR tx 120) = 240.
    expect(s.negotiated).toEqual({ txIntervalMs: 150, rxIntervalMs: 120, detectionTimeMs: 240 });
    const fp = await waitFor('FRR IPv6 peer up', () => (frr.peer('fd00:77:6::1')?.status === 'up' ? frr.peer('fd00:77:6::1') : undefined), {
      timeoutMs: 10_000,
      describe: () => frr.log(),
    });
    expect(fp['remote-receive-interval']).toBe(100);
    expect(fp['remote-transmit-interval']).toBe(100);
    expect(fp['remote-id']).toBe(s.localDiscriminator);
  });
});
