// bench bfd: transmit-timing accuracy of the native BFD engine, idle and with the main thread busy in
// 200 ms synchronous chunks (a stand-in for the RIB churning 100k routes), at 50 ms and 300 ms
// negotiated intervals. Two BfdManagers in two namespaces joined by a veth run real sessions to each
// other; the engine logs when each packet was due and when sendto() returned (CLOCK_MONOTONIC).
// Anchor, same run: a main-thread setTimeout scheduler (what a pure-JS BFD would get), same load.
//
// Figures: gap/interval min, p50, max = spacing of consecutive packets over the negotiated interval
// (the §6.8.7 jitter makes it 0.75-1.0 by design; the max must stay near 1 for the peer's detection
// timer to hold); lateness = sent - due (the jitter is already in `due`, so this is the scheduler's own
// error); state changes while busy (must be 0: 50 ms x 3 = 150 ms detection is shorter than one chunk).
import { Netns, link } from '../test/harness/netns.js';
import { rootLogger } from '../lib/log.js';
import { BfdManager } from '../bfd/manager.js';

const AREA = 'bfd';
const PHASE_MS = Number(process.env.BFD_BENCH_PHASE_MS ?? 8000);
const BUSY_CHUNK_MS = 200;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function line(name: string, value: number, unit: string): void {
  console.log(`bench ${AREA} ${name}: ${Number.isFinite(value) ? +value.toFixed(3) : value} ${unit}`);
}

/** Keep the main thread busy: synchronous 200 ms chunks of route-table churn, yielding between them. */
async function busyFor(ms: number): Promise<number> {
  const end = Date.now() + ms;
  const rib = new Map<string, { nh: string; lp: number }>();
  let ops = 0;
  while (Date.now() < end) {
    const chunkEnd = Date.now() + BUSY_CHUNK_MS;
    while (Date.now() < chunkEnd) {
      for (let i = 0; i < 1000; i++) {
        const k = `10.${(ops >> 16) & 255}.${(ops >> 8) & 255}.${ops & 255}/32`;
        if (rib.size >= 100_000) rib.delete(rib.keys().next().value as string);
        rib.set(k, { nh: '10.0.0.1', lp: ops & 1023 });
        ops++;
      }
    }
    await new Promise((r) => setImmediate(r));
  }
  return ops;
}

interface Timing {
  gapP50Ratio: number;
  gapMinRatio: number;
  lateP50: number;
  lateP99: number;
  lateMax: number;
  gapMaxRatio: number;
  samples: number;
}

function analyse(due: ArrayLike<number>, sent: ArrayLike<number>, fromUs: number, intervalUs: number): Timing {
  const late: number[] = [];
  const gaps: number[] = [];
  let prev: number | undefined;
  for (let i = 0; i < sent.length; i++) {
    if (sent[i]! < fromUs) continue;
    late.push((sent[i]! - due[i]!) / 1000);
    if (prev !== undefined) gaps.push(sent[i]! - prev);
    prev = sent[i]!;
  }
  late.sort((a, b) => a - b);
  const ratios = gaps.map((g) => g / intervalUs).sort((x, y) => x - y);
  return {
    gapP50Ratio: pct(ratios, 50),
    gapMinRatio: ratios[0] ?? NaN,
    lateP50: pct(late, 50),
    lateP99: pct(late, 99),
    lateMax: late.at(-1) ?? NaN,
    gapMaxRatio: gaps.length ? Math.max(...gaps) / intervalUs : NaN,
    samples: late.length,
  };
}

/** The anchor: jittered setTimeout on the main thread, the way a JS-only implementation would send. */
async function jsTimerPhase(intervalMs: number, busy: boolean): Promise<Timing> {
  const due: number[] = [];
  const sent: number[] = [];
  let stop = false;
  const tick = (dueAt: number): void => {
    const now = performance.now() * 1000;
    due.push(dueAt);
    sent.push(now);
    if (stop) return;
    const wait = intervalMs * (0.75 + Math.random() * 0.25);
    setTimeout(() => tick(now + wait * 1000), wait);
  };
  const start = performance.now() * 1000;
  tick(start);
  if (busy) await busyFor(PHASE_MS);
  else await sleep(PHASE_MS);
  stop = true;
  return analyse(due, sent, start, intervalMs * 1000);
}

async function main(): Promise<void> {
  const a = Netns.create('ulf');
  const b = Netns.create('ulf');
  const quiet = rootLogger.child({ component: 'bfd' }, { level: 'warn' });
  let ma: BfdManager | undefined;
  let mb: BfdManager | undefined;
  try {
    link(a, 'eth0', b, 'eth0', ['10.77.3.1/30'], ['10.77.3.2/30']);
    ma = new BfdManager({ netns: a.path, log: quiet });
    mb = new BfdManager({ netns: b.path, log: quiet });
    await sleep(20);
    console.log(`# engine thread scheduling: ${ma.engineScheduling()}`);
    let changes = 0;
    ma.on('state', () => changes++);
    mb.on('state', () => changes++);
    const results: Record<string, Timing> = {};
    for (const intervalMs of [50, 300]) {
      const ka = ma.addSession({ peer: '10.77.3.2', interface: 'eth0', minTxMs: intervalMs, minRxMs: intervalMs, multiplier: 3 });
      const kb = mb.addSession({ peer: '10.77.3.1', interface: 'eth0', minTxMs: intervalMs, minRxMs: intervalMs, multiplier: 3 });
      const deadline = Date.now() + 15_000;
      while (!(ma.session(ka)?.state === 'Up' && !ma.session(ka)?.polling && mb.session(kb)?.state === 'Up' && !mb.session(kb)?.polling)) {
        if (Date.now() > deadline) throw new Error(`sessions at ${intervalMs} ms did not come Up`);
        await sleep(50);
      }
      await sleep(3 * intervalMs);
      const negotiated = ma.session(ka)!.negotiated.txIntervalMs * 1000;
      for (const busy of [false, true]) {
        const before = changes;
        const from = (ma.txLog(ka).sent.at(-1) ?? 0) + 1;
        if (busy) await busyFor(PHASE_MS);
        else await sleep(PHASE_MS);
        const log = ma.txLog(ka);
        const t = analyse(log.due, log.sent, from, negotiated);
        const tag = `${intervalMs}ms_${busy ? 'busy' : 'idle'}`;
        results[tag] = t;
        line(`native_${tag}_late_p50`, t.lateP50, 'ms');
        line(`native_${tag}_late_p99`, t.lateP99, 'ms');
        line(`native_${tag}_late_max`, t.lateMax, 'ms');
        line(`native_${tag}_min_gap_over_interval`, t.gapMinRatio, 'ratio');
        line(`native_${tag}_p50_gap_over_interval`, t.gapP50Ratio, 'ratio');
        line(`native_${tag}_max_gap_over_interval`, t.gapMaxRatio, 'ratio');
        line(`native_${tag}_samples`, t.samples, 'packets');
        line(`native_${tag}_state_changes`, changes - before, 'events');
        const js = await jsTimerPhase(intervalMs, busy);
        line(`anchor_js_timer_${tag}_late_p99`, js.lateP99, 'ms');
        line(`anchor_js_timer_${tag}_late_max`, js.lateMax, 'ms');
        line(`anchor_js_timer_${tag}_max_gap_over_interval`, js.gapMaxRatio, 'ratio');
        line(`native_vs_js_timer_${tag}_late_max`, t.lateMax / js.lateMax, 'x');
      }
      ma.removeSession(ka);
      mb.removeSession(kb);
      await sleep(100);
    }
  } finally {
    ma?.close();
    mb?.close();
    a.destroy();
    b.destroy();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
