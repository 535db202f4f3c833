// Interop against real BFD implementations in network namespaces: FRR's bfdd and BIRD 2's `protocol
// bfd`. Our BfdManager runs in namespace A (its sockets are created there by the native engine), the
// peer daemon in namespace B, joined by a veth. Timings printed here are the ones the lead quotes.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { registry } from '../../lib/metrics.js';
import { isRoot, type Netns } from '../../test/harness/netns.js';
import { waitFor } from '../../test/harness/peers/common.js';
import type { BfdManager, BfdStateEvent } from '../manager.js';
import { useBfdFixture } from './fixture.js';
import { birdBfdSessions, startBird, startFrrBfdd, type BirdPeer, type FrrBfdd } from './peers.js';

const A = '10.77.1.1';
const B = '10.77.1.2';

interface Lab {
  a: Netns;
  b: Netns;
  mgr: BfdManager;
  events: BfdStateEvent[];
}

// Down must come within one detection time of the failure (the last packet before it restarted the
// timer), plus the hop from the engine thread to the event loop, which on a loaded 2-core CI machine
// takes tens of milliseconds.
const DELIVERY_SLACK_MS = 100;
const ENGINE_SLACK_MS = 15;

const fx = useBfdFixture();

function lab(): Lab {
  const { a, b } = fx.pair(`${A}/30`, `${B}/30`);
  const mgr = fx.manager(a);
  const events: BfdStateEvent[] = [];
  mgr.on('state', (e) => events.push(e));
  return { a, b, mgr, events };
}

function nextEvent(mgr: BfdManager, pred: (e: BfdStateEvent) => boolean, timeoutMs: number): Promise<BfdStateEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      mgr.off('state', l);
      reject(new Error(`no matching BFD state event within ${timeoutMs} ms`));
    }, timeoutMs);
    const l = (e: BfdStateEvent): void => {
      if (!pred(e)) return;
      clearTimeout(t);
      mgr.off('state', l);
      resolve(e);
    };
    mgr.on('state', l);
  });
}

describe.skipIf(!isRoot)('bfd interop with FRR bfdd', () => {
  it('comes Up, negotiates timers both ways, and detects a SIGKILLed bfdd within the detection time', async () => {
    const { b, mgr, events } = lab();
    const frr: FrrBfdd = await startFrrBfdd(
      b,
      ['bfd', ` peer ${A} local-address ${B} interface eth0`, '  receive-interval 100', '  transmit-interval 100', '  detect-multiplier 3', ' !', '!', ''].join('\n'),
    );
    fx.onCleanup(() => frr.stop());
    const key = mgr.addSession({ peer: B, local: A, interface: 'eth0', minTxMs: 50, minRxMs: 80, multiplier: 4 });

    await waitFor('our session Up and poll finished', () => {
      const s = mgr.session(key);
      return s?.state === 'Up' && !s.polling ? s : undefined;
    }, { timeoutMs: 15_000, describe: () => frr.log() });
    const fp = await waitFor('FRR reports up', () => (frr.peer(A)?.status === 'up' ? frr.peer(A) : undefined), {
      timeoutMs: 10_000,
      describe: () => frr.log(),
    });
    const s = mgr.session(key)!;
    // Down->Up (FRR already Init) or Down->Init->Up, depending on who spoke first (§6.8.6).
    expect(events.filter((e) => e.to === 'Up')).toHaveLength(1);
    // We send no faster than FRR accepts (RFC 5880 §6.8.7): max(our 50, FRR rx 100).
    expect(s.negotiated.txIntervalMs).toBe(100);
    // §6.8.4: FRR's multiplier 3 x max(our rx 80, FRR tx 100).
    expect(s.negotiated.detectionTimeMs).toBe(300);
    expect(s.remote).toEqual({ desiredMinTxMs: 100, requiredMinRxMs: 100, multiplier: 3 });
    expect(s.remoteDiscriminator).toBe(fp.id);
    // FRR's view of us, read back from its own JSON.
    expect(fp['remote-id']).toBe(s.localDiscriminator);
    expect(fp['remote-receive-interval']).toBe(80);
    expect(fp['remote-transmit-interval']).toBe(50);
    expect(fp['remote-detect-multiplier']).toBe(4);
    expect(s.counters.packetsIn).toBeGreaterThan(0);
    expect(s.counters.packetsOut).toBeGreaterThan(0);

    const detections = async (): Promise<number> =>
      (await registry.getSingleMetric('uplink_bfd_detections_total')!.get()).values.find((v) => v.labels.peer === key)?.value ?? 0;
    const detectionsBefore = await detections();
    const down = nextEvent(mgr, (e) => e.key === key && e.to === 'Down', 5_000);
    const killedAt = Date.now();
    process.kill(frr.bfdd.pid!, 'SIGKILL');
    const ev = await down;
    const took = ev.at - killedAt;
    const engine = (ev.detectedAt ?? NaN) - killedAt;
    console.log(`bfd interop: FRR bfdd SIGKILL -> engine detected in ${engine} ms, our Down event in ${took} ms (detection time ${s.negotiated.detectionTimeMs} ms, diag ${ev.diagnostic})`);
    // The engine thread itself fires within the detection time of the last packet (timer precision aside).
    expect(engine).toBeLessThanOrEqual(s.negotiated.detectionTimeMs + ENGINE_SLACK_MS);
    expect(ev.diagnostic).toBe('ControlDetectionTimeExpired');
    expect(ev.failed).toBe(true);
    expect(took).toBeLessThanOrEqual(s.negotiated.detectionTimeMs + DELIVERY_SLACK_MS);
    const after = mgr.session(key)!;
    expect(after.lastDownReason).toBe('ControlDetectionTimeExpired');
    expect(after.remoteDiscriminator).toBe(0);
    expect((await detections()) - detectionsBefore).toBe(1);
  });
});

describe.skipIf(!isRoot)('bfd interop with BIRD 2', () => {
  const birdConfig = [
    'router id 10.77.1.2;',
    'protocol device {}',
    'protocol bfd bfd1 {',
    '  interface "eth0" { min rx interval 60 ms; min tx interval 40 ms; multiplier 5; };',
    `  neighbor ${A} dev "eth0";`,
    '}',
    '',
  ].join('\n');

  async function waitUp(l: Lab, key: string, describe: () => string): Promise<void> {
    await waitFor('our session Up and poll finished', () => {
      const s = l.mgr.session(key);
      return s?.state === 'Up' && !s.polling ? true : undefined;
    }, { timeoutMs: 15_000, describe });
  }

  async function birdUp(l: Lab, ourTx: number, ourRx: number): Promise<{ bird: BirdPeer; key: string }> {
    const bird = await startBird(l.b, { config: birdConfig });
    fx.onCleanup(() => bird.stop({ cleanup: true }));
    const key = l.mgr.addSession({ peer: B, interface: 'eth0', minTxMs: ourTx, minRxMs: ourRx, multiplier: 3 });
    await waitUp(l, key, () => bird.log());
    return { bird, key };
  }

  it('comes Up, negotiates timers both ways, and detects the link going down within the detection time', async () => {
    const l = lab();
    const { bird, key } = await birdUp(l, 30, 70);
    const bs = await waitFor('BIRD reports Up', () => birdBfdSessions(bird).find((x) => x.address === A && x.state === 'Up'), {
      timeoutMs: 10_000,
      describe: () => bird.log(),
    });
    const s = l.mgr.session(key)!;
    // Ours: max(our tx 30, BIRD rx 60) = 60; detection 5 x max(our rx 70, BIRD tx 40) = 350.
    expect(s.negotiated.txIntervalMs).toBe(60);
    expect(s.negotiated.detectionTimeMs).toBe(350);
    expect(s.remote).toEqual({ desiredMinTxMs: 40, requiredMinRxMs: 60, multiplier: 5 });
    // BIRD's: Interval = max(its tx 40, our rx 70) = 70 ms; Timeout = our multiplier 3 x max(its rx 60, our tx 30) = 180 ms.
    expect(bs.intervalMs).toBeCloseTo(70, 5);
    expect(bs.timeoutMs).toBeCloseTo(180, 5);

    const down = nextEvent(l.mgr, (e) => e.key === key && e.to === 'Down', 5_000);
    const droppedAt = Date.now();
    // Asynchronously: a synchronous exec would block the event loop and delay our own Down event.
    let linkDownMs = NaN;
    execFile('ip', ['-n', l.b.name, 'link', 'set', 'eth0', 'down'], () => (linkDownMs = Date.now() - droppedAt));
    const ev = await down;
    const took = ev.at - droppedAt;
    const engine = (ev.detectedAt ?? NaN) - droppedAt;
    console.log(`bfd interop: BIRD link down -> engine detected in ${engine} ms, our Down event in ${took} ms (detection time ${s.negotiated.detectionTimeMs} ms, diag ${ev.diagnostic}; \`ip link set down\` itself took ${linkDownMs} ms)`);
    // The link went down somewhere inside the `ip` command; the engine fires within one detection time of it.
    expect(engine).toBeLessThanOrEqual(s.negotiated.detectionTimeMs + ENGINE_SLACK_MS + linkDownMs);
    expect(ev.diagnostic).toBe('ControlDetectionTimeExpired');
    expect(took).toBeLessThanOrEqual(s.negotiated.detectionTimeMs + DELIVERY_SLACK_MS + linkDownMs);
  });

  it('detects a SIGKILLed BIRD within the detection time and comes back Up when it restarts', async () => {
    const l = lab();
    const { bird, key } = await birdUp(l, 50, 50);
    const s = l.mgr.session(key)!;
    const down = nextEvent(l.mgr, (e) => e.key === key && e.to === 'Down', 5_000);
    const killedAt = Date.now();
    const pid = Number((await import('node:fs')).readFileSync(`${bird.runDir}/bird.pid`, 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    const ev = await down;
    const took = ev.at - killedAt;
    const engine = (ev.detectedAt ?? NaN) - killedAt;
    console.log(`bfd interop: BIRD SIGKILL -> engine detected in ${engine} ms, our Down event in ${took} ms (detection time ${s.negotiated.detectionTimeMs} ms, diag ${ev.diagnostic})`);
    // The engine thread itself fires within the detection time of the last packet (timer precision aside).
    expect(engine).toBeLessThanOrEqual(s.negotiated.detectionTimeMs + ENGINE_SLACK_MS);
    expect(took).toBeLessThanOrEqual(s.negotiated.detectionTimeMs + DELIVERY_SLACK_MS);
    // A new BIRD knows nothing of the old session; ours is Down with RemoteDiscr 0 and comes back Up.
    const again = await startBird(l.b, { config: birdConfig });
    fx.onCleanup(() => again.stop({ cleanup: true }));
    await waitUp(l, key, () => again.log());
    expect(l.events.filter((e) => e.key === key).map((e) => e.to).filter((t) => t !== 'Init')).toEqual(['Up', 'Down', 'Up']);
  });

  it('authenticates with a Simple Password (RFC 5880 §6.7.2) and drops packets with the wrong one', async () => {
    const l = lab();
    const bird = await startBird(l.b, {
      config: birdConfig.replace('multiplier 5;', 'multiplier 5; authentication simple; password "uplink-bfd" { id 7; };'),
    });
    fx.onCleanup(() => bird.stop({ cleanup: true }));
    const key = l.mgr.addSession({ peer: B, interface: 'eth0', minTxMs: 50, minRxMs: 50, auth: { type: 'simple', keyId: 7, password: 'uplink-bfd' } });
    await waitUp(l, key, () => bird.log());
    await waitFor('BIRD reports Up', () => birdBfdSessions(bird).find((x) => x.address === A && x.state === 'Up'), { timeoutMs: 10_000, describe: () => bird.log() });
    expect(l.mgr.session(key)!.counters.dropped).toEqual({});

    // Same peer, wrong password on our side: everything BIRD sends is dropped as `auth`, and BIRD
    // drops ours, so the session never leaves Down.
    l.mgr.removeSession(key);
    const bad = l.mgr.addSession({ peer: B, interface: 'eth0', minTxMs: 50, minRxMs: 50, auth: { type: 'simple', keyId: 7, password: 'wrong' } });
    const s = await waitFor('auth drops counted', () => ((l.mgr.session(bad)!.counters.dropped.auth ?? 0) >= 3 ? l.mgr.session(bad) : undefined), {
      timeoutMs: 10_000,
      describe: () => bird.log(),
    });
    expect(s.state).toBe('Down');
    expect(s.counters.packetsIn).toBe(0);
  });
});
