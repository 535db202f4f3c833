// bench bgpd: time from Established to all prefixes in the receiver's RIB, and to all of them in the
// receiver namespace's kernel FIB, for 10k / 100k / 500k IPv4 prefixes sent by a raw feeder
// (pre-encoded UPDATEs, ~800 prefixes each) in a namespace. Receivers: our speaker (in a child process
// inside the namespace, so its RSS is its own), BIRD 2, FRR and GoBGP, in the same run. RIB counts are
// read with birdc / vtysh / gobgp; FIB counts from the kernel (`ip route show proto P`) for our speaker
// -> FibReconciler, BIRD's kernel protocol and FRR's zebra (GoBGP has no FIB here: no zebra link).
// Peak RSS is VmHWM of the receiving process (FRR FIB: bgpd + zebra). CPU is every thread's time
// on CPU (schedstat, ns; our receiver: process.cpuUsage()). Probed figures (anchors' RIB, every FIB)
// are the midpoint between the last missed probe and the hit (see pollUntil); our RIB time is taken
// in the receiver. BENCH_DEBUG=1 prints where our receiver's time went (first UPDATE, decision passes).
// After each FIB load (ours, BIRD, FRR), one withdrawal and a next-hop change of 800 prefixes are sent
// and timed from the feeder's write to the kernel's notification (measureChanges).
//
// Usage: node dist/bench/bgpd.js [sizes...]   (default 10000 100000 500000; 100k runs 3 times, median)
// Our receiver starts as uplinkd does, warm-up included (config bgp.warmUp: a synthetic table through
// decode, RIB and a dry-run FIB reconciler before any peer connects); BENCH_COLD=1 turns it off.
// Env: BENCH_ONLY=uplink,bird,...  BENCH_REPEAT=n (100k)  BENCH_MEM=FILE (our receiver appends its peak
// heap / array-buffer use, V8 spaces at the peak and GC counts)  BENCH_NO_FIB=1  BENCH_FIB_WHOLE=1 (the FIB
// glue of the first release: whole set per batch; uplinkd now sends deltas, as the default here)  BENCH_NODE_ARGS='--cpu-prof ...'
// Internal: node dist/bench/bgpd.js --receiver N [--fib]   (our speaker as the receiver)
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { PerformanceObserver } from 'node:perf_hooks';
import type { Socket } from 'node:net';
import { Netns, link } from '../test/harness/netns.js';
import { startBird } from '../test/harness/peers/bird.js';
import { startFrr } from '../test/harness/peers/frr.js';
import { startGobgp } from '../test/harness/peers/gobgp.js';
import { NetlinkHandle, connectTcp } from '../routes/netlink/index.js';
import { AttrFlag, NlriBuilder, buildOpen, encodeMessage, frame, makeContext, packUpdates, packWithdrawals, type PathAttribute } from '../bgpd/wire/index.js';

const now = (): number => performance.timeOrigin + performance.now();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------------------------------------
// Receiver mode: our speaker, counting its Loc-RIB.

async function receiver(n: number, withFib: boolean): Promise<void> {
  const { BgpSpeaker } = await import('../bgpd/speaker.js');
  const { parseBgpConfig } = await import('../bgpd/config.js');
  const { logger } = await import('../lib/log.js');
  const log = logger('bench');
  log.level = 'warn';
  const cfg = parseBgpConfig({
    routerId: '10.0.0.1',
    asn: 65000,
    importPools: ['0.0.0.0/0'],
    listen: { address: '0.0.0.0', port: 179 },
    peers: [{ name: 'feed', address: '10.0.0.2', asn: 65002, passive: true, families: ['ipv4'], gracefulRestart: false }],
    // BENCH_COLD=1: without the start-up warm-up (bgpd/warmup.ts), to see what it buys.
    warmUp: process.env.BENCH_COLD !== '1',
  });
  // As uplinkd does: the speaker's warm-up at start also runs the FIB path, into a dry-run reconciler.
  const { fibWarmUp } = await import('../uplinkd/bgp-bridge.js');
  const s = new BgpSpeaker(cfg, { log, ...(withFib ? { warmUpFib: fibWarmUp() } : {}) });
  let fibCount = 0;
  // What the agent subscribes to (the columnar batches; FibChange objects are built only on request).
  s.rib.onFibBatch((b) => (fibCount += b.size));
  const fib = withFib ? await fibGlue(s) : null;
  // BENCH_MEM=FILE: the receiver appends its peak heap / external / array-buffer use (sampled every 5 ms).
  const memFile = process.env.BENCH_MEM;
  let spaces = '';
  // GC count and time by kind (1 minor, 4 incremental, 8 weak callbacks, 2 major) while loading.
  const gcs = new Map<number, [number, number]>();
  const gcObs = memFile ? new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      const k = (e as unknown as { detail: { kind: number } }).detail.kind;
      const g = gcs.get(k) ?? [0, 0];
      g[0]++;
      g[1] += e.duration;
      gcs.set(k, g);
    }
  }) : null;
  gcObs?.observe({ entryTypes: ['gc'] });
  let snapped = false;
  const memPeak = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
  const memTimer = memFile
    ? setInterval(() => {
        const m = process.memoryUsage();
        if (m.heapUsed > memPeak.heapUsed) spaces = v8.getHeapSpaceStatistics().map((x) => `${x.space_name} ${(x.space_used_size / 1048576).toFixed(1)}`).join(', ');
        for (const k of Object.keys(memPeak) as (keyof typeof memPeak)[]) memPeak[k] = Math.max(memPeak[k], m[k]);
      }, 5)
    : null;
  const trace = process.env.BENCH_DEBUG ? traceRib(s.rib) : null;
  await s.start();
  // BENCH_PROFILE=FILE: a CPU profile of the load only (from ready to all prefixes in the Loc-RIB, or in
  // the kernel's FIB with --fib).
  const profile = process.env.BENCH_PROFILE ? await startProfile() : null;
  process.stdout.write('ready\n');
  const cpu0 = process.cpuUsage();
  const idleKb = vmRssKb(process.pid);
  let first = 0;
  for (;;) {
    const size = s.rib.locRibSize;
    if (size > 0 && !first) first = now();
    if (size >= n) break;
    await sleep(1);
  }
  const done = now();
  if (profile && !fib) await profile.stop(process.env.BENCH_PROFILE!);
  const hwm = vmHwmKb(process.pid);
  const c = process.cpuUsage(cpu0);
  const warmUpMs = s.warmUpResult?.ms ?? 0;
  process.stdout.write(`${JSON.stringify({ done, first, hwmKb: hwm, fib: fibCount, cpuS: (c.user + c.system) / 1e6, idleKb, warmUpMs, ...(trace ? { trace } : {}) })}\n`);
  if (fib) {
    // The parent counts the kernel's routes; it says when to stop (and reads VmHWM after).
    await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
    // With the FIB, the profile covers the load into the kernel.
    if (profile) await profile.stop(process.env.BENCH_PROFILE!);
    const cf = process.cpuUsage(cpu0);
    process.stdout.write(`${JSON.stringify({ hwmKbFib: vmHwmKb(process.pid), cpuSFib: (cf.user + cf.system) / 1e6 })}\n`);
    await fib.stop();
  }
  if (memTimer && memFile) {
    clearInterval(memTimer);
    appendFileSync(memFile, `${n}${fib ? ' fib' : ''}: peak MB ${Object.entries(memPeak).map(([k, v]) => `${k} ${(v / 1048576).toFixed(1)}`).join(', ')}; at peak heap: ${spaces}; gc ${[...gcs].map(([k, [c, ms]]) => `kind ${k}: ${c} x, ${ms.toFixed(0)} ms`).join(', ')}\n`);
  }
  await s.stop({ graceful: true });
  process.exit(0);
}

async function startProfile(): Promise<{ stop: (file: string) => Promise<void> }> {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  await session.post('Profiler.start');
  return {
    stop: async (file) => {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

/**
 * BENCH_DEBUG: where the receiver's time goes (absolute ms, same clock as the feeder's t0): the first
 * UPDATE stored, and each decision pass (start, end, prefixes changed).
 */
function traceRib(rib: import('../bgpd/rib/rib.js').Rib): { firstAnnounce: number; flushes: [number, number, number][] } {
  const t = { firstAnnounce: 0, flushes: [] as [number, number, number][] };
  const announce = rib.announce.bind(rib);
  const flush = rib.flush.bind(rib);
  rib.announce = (...a) => {
    t.firstAnnounce ||= now();
    return announce(...a);
  };
  rib.flush = () => {
    const s0 = now();
    const n0 = rib.locRibSize;
    flush();
    t.flushes.push([s0, now(), rib.locRibSize - n0]);
  };
  return t;
}

/**
 * Speaker -> FibReconciler in this (the receiver's) namespace, exactly as uplinkd wires it: each
 * columnar Loc-RIB batch goes through uplinkd/bgp-bridge.ts `ribPrefixDelta` (RFC 8950 RTA_VIA for IPv6
 * next hops of IPv4 routes, onlink for link-local) into `applyPrefixes`. BENCH_FIB_WHOLE=1 hands the reconciler the
 * whole set per batch instead (setDesired, the bridge before the delta path), for comparison.
 */
async function fibGlue(s: import('../bgpd/speaker.js').BgpSpeaker): Promise<{ stop: () => Promise<void> }> {
  const { FibReconciler } = await import('../routes/reconciler.js');
  const { ribDelta, ribPrefixDelta } = await import('../uplinkd/bgp-bridge.js');
  type Route = import('../routes/netlink/types.js').Route;
  const whole = process.env.BENCH_FIB_WHOLE === '1';
  const rec = new FibReconciler({ resyncIntervalMs: 0 });
  await rec.start();
  const rib = new Map<string, Route>();
  const fail = (err: unknown): void => void process.stderr.write(`FIB update failed: ${String(err)}\n`);
  // BENCH_FIB_DEBUG=FILE: the receiver appends when the first Loc-RIB batch came and when the kernel
  // acked the last one (the parent does not show a receiver's output).
  const debugFile = process.env.BENCH_FIB_DEBUG;
  const debug = debugFile ? { first: 0, acked: 0, batches: 0 } : null;
  if (!whole) {
    s.rib.onFibBatch((batch) => {
      if (debug) {
        debug.first ||= now();
        debug.batches++;
      }
      const t = now();
      const p = rec.applyPrefixes('rib', ribPrefixDelta(batch));
      if (debug) {
        void p.then(() => {
          debug.acked = now();
          // Small batches (the change measurements after the load): when each was decided and acked.
          if (batch.size < 2000 && debugFile) appendFileSync(debugFile, `fib batch ${batch.size}: decided ${t.toFixed(1)}, acked +${(debug.acked - t).toFixed(1)} ms\n`);
        });
      }
      void p.catch(fail);
    });
  } else {
    s.onRoutes((changes) => {
      const { upserts, removals } = ribDelta(changes);
      for (const r of removals) rib.delete(r.dst);
      for (const r of upserts) rib.set(r.dst, r);
      void rec.setDesired('rib', [...rib.values()]).catch(fail);
    });
  }
  return {
    stop: () => {
      if (debug && debugFile) appendFileSync(debugFile, `fib: ${debug.batches} batches, first at ${debug.first.toFixed(1)}, last acked ${(debug.acked - debug.first).toFixed(1)} ms later\n`);
      return rec.stop();
    },
  };
}

/**
 * CPU seconds a process has used, all its threads: the sum of /proc/PID/task/TID/schedstat's first
 * field (time on CPU, ns). /proc/PID/stat's utime + stime come in ticks of 10 ms, coarser than BIRD's
 * whole 100k load (~0.03 s), so a ratio against it was mostly rounding. Our receiver reports
 * process.cpuUsage() (every thread, µs): the same measure.
 */
function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read: its time is gone from the process's count too.
    }
  }
  return ns / 1e9;
}

function vmRssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function vmHwmKb(pid: number): number {
  const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

// ------------------------------------------------------------------------------------------------
// Feeder: pre-encoded UPDATEs, ~800 /24s each, one attribute set per UPDATE (as a real table has).
// The origin ASNs stay below 65000 (the receivers' AS): a loop would make them drop a whole UPDATE.

function encodeFeed(n: number): Uint8Array[] {
  const ctx = makeContext({ fourOctetAs: true });
  const out: Uint8Array[] = [];
  for (let start = 0; start < n; start += 800) {
    const b = new NlriBuilder(1, 1, false, 800 * 4 + 16);
    for (let i = start; i < Math.min(n, start + 800); i++) b.addIpv4((((11 << 24) >>> 0) + i * 256) >>> 0, 24);
    const attrs: PathAttribute[] = [
      { kind: 'origin', flags: AttrFlag.Transitive, origin: 0 },
      { kind: 'as-path', flags: AttrFlag.Transitive, segments: [{ type: 2, asns: [65002, 64512 + ((start / 800) % 400)] }] },
      { kind: 'next-hop', flags: AttrFlag.Transitive, nextHop: '10.0.0.2' },
      { kind: 'med', flags: AttrFlag.Optional, value: start },
    ];
    out.push(...packUpdates(attrs, b.build(), ctx));
  }
  return out;
}

/** Connect, exchange OPEN/KEEPALIVE, then write every UPDATE; resolves with the time writing started. */
async function feed(ns: Netns, msgs: Uint8Array[]): Promise<Feed> {
  let sock: Socket | null = null;
  for (let i = 0; i < 100 && !sock; i++) {
    // A connect that neither completes nor fails (seen under load) must not stall the whole bench.
    const attempt = connectTcp({ family: 4, netns: ns.path, host: '10.0.0.1', port: 179 });
    const late = (s: Socket): void => void s.destroy();
    try {
      sock = await Promise.race([attempt, sleep(3000).then(() => null)]);
      if (!sock) attempt.then(late, () => undefined);
    } catch {
      await sleep(100);
    }
  }
  if (!sock) throw new Error('feeder could not connect');
  const s = sock;
  let buf = Buffer.alloc(0);
  let gotOpen = false;
  let gotKeepalive = false;
  let notification = '';
  const ctx = makeContext();
  s.on('error', () => undefined);
  s.on('data', (d: Buffer) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const f = frame(buf, 0, { extendedMessage: false });
      if (f.kind !== 'message') break;
      // RFC 4271 §8.2.2 (OpenSent x BGPOpen): confirm the OPEN with a KEEPALIVE at once, in this
      // handler. Deciding it in the wait loop below lost the KEEPALIVE whenever the receiver's OPEN
      // and KEEPALIVE arrived in one read (FRR, GoBGP): the loop saw both flags, never sent ours,
      // and the UPDATEs reached a receiver still in OpenConfirm (FRR: "Update packet received
      // under status OpenConfirm", FSM error, session Active, no prefixes).
      if (f.type === 1 && !gotOpen) s.write(encodeMessage({ type: 4 }, ctx));
      if (f.type === 1) gotOpen = true;
      if (f.type === 4) gotKeepalive = true;
      if (f.type === 3) notification = buf.subarray(19, 21).toString('hex');
      buf = buf.subarray(f.length);
    }
  });
  s.write(encodeMessage(buildOpen({ asn: 65002, holdTime: 240, bgpId: '10.0.0.2', capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'four-octet-as', asn: 65002 }, { kind: 'route-refresh' }] }), ctx));
  const openBy = Date.now() + 20_000;
  while (!gotOpen || !gotKeepalive) {
    if (Date.now() > openBy || s.destroyed || notification) {
      s.destroy();
      throw new Error(`no OPEN/KEEPALIVE from the receiver (open ${gotOpen}, notification ${notification || 'none'})`);
    }
    await sleep(1);
  }
  const t0 = now();
  s.write(Buffer.concat(msgs));
  // Slow receivers may take longer than their hold time: keep the session alive (RFC 4271 §4.4).
  const ka = setInterval(() => {
    if (notification) {
      console.error(`receiver sent NOTIFICATION ${notification}`);
      clearInterval(ka);
      return;
    }
    if (!s.destroyed) s.write(encodeMessage({ type: 4 }, ctx));
  }, 5_000);
  let closed = false;
  s.once('close', () => {
    closed = true;
    clearInterval(ka);
  });
  const check = (): void => {
    // A session the receiver tore down will never complete: fail now, not at the 180 s timeout.
    if (notification) throw new Error(`receiver sent NOTIFICATION ${notification}`);
    if (closed) throw new Error('receiver closed the session');
  };
  return { t0, sock: s, check };
}

interface Feed {
  t0: number;
  sock: Socket;
  /** Throws when the session is gone (NOTIFICATION or close from the receiver). */
  check: () => void;
}

/**
 * `relative`: wait max(intervalMs, 2% of the time so far) between probes. The anchors are probed
 * through their CLI (birdc, vtysh, gobgp), which the daemon answers on the thread that is loading the
 * table: probing every 5 ms through a long load (GoBGP 500k: minutes) slowed the anchor itself.
 *
 * The figure is the midpoint between the end of the last probe that missed and the moment the hit
 * was seen (a probe may return that moment itself, e.g. before a slow confirming count): the target was
 * reached somewhere in that gap, so taking its end (as before) overstated every probed receiver by
 * half a probe period plus the probe's own run time (birdc: a process spawn, ~5 ms; the kernel count
 * at 500k: ~0.3 s), while our speaker's RIB time is taken in-process to the millisecond.
 */
async function pollUntil(probe: () => boolean | number, timeoutMs: number, intervalMs: number, relative = false): Promise<number> {
  const start = Date.now();
  const deadline = start + timeoutMs;
  let missed = 0;
  for (;;) {
    const hit = probe();
    if (hit !== false) {
      const at = hit === true ? now() : hit;
      return missed ? (missed + at) / 2 : at;
    }
    missed = now();
    if (Date.now() > deadline) throw new Error('receiver did not reach the prefix count in time');
    await sleep(relative ? Math.max(intervalMs, (Date.now() - start) * 0.02) : intervalMs);
  }
}

/** Daemon stops (with run-directory removal) for the run in progress, done even when it fails. */
const cleanups: (() => Promise<void>)[] = [];
async function runCleanups(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
}

interface Result {
  seconds: number;
  rssMb: number;
  /** CPU time of the receiving process from Established to done (NaN where not measured). */
  cpuSeconds?: number;
  /** Our receiver: RSS when ready, before any route (the Node.js runtime and the speaker's code). */
  idleMb?: number;
  /** Our receiver: the start-up warm-up (bgpd/warmup.ts), before the feeder connects; 0 = off. */
  warmUpMs?: number;
  /** FIB runs: one withdrawal and one next-hop change after the load (measureChanges). */
  changes?: ChangeTimes;
}

function topo(): { rx: Netns; tx: Netns } {
  const rx = Netns.create('ulq');
  const tx = Netns.create('ulq');
  // A /29: 10.0.0.3 is a third party on the shared subnet, the next hop of the next-hop change.
  link(rx, 'eth0', tx, 'eth0', ['10.0.0.1/29'], ['10.0.0.2/29']);
  return { rx, tx };
}

async function runOurs(n: number, msgs: Uint8Array[]): Promise<Result> {
  const { rx, tx } = topo();
  try {
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = rx.spawn(process.execPath, [...nodeArgs, fileURLToPath(import.meta.url), '--receiver', String(n)], { env: { ...process.env, UPLINK_LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await pollUntil(() => out.includes('ready'), 20_000, 10);
    const { t0, sock, check } = await feed(tx, msgs);
    await pollUntil(() => out.includes('"done"') || (check(), false), 180_000, 5).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; receiver output: ${out.slice(-2000)}`);
    });
    sock.destroy();
    // Let the receiver exit on its own (it writes profiles on exit) before the namespace is torn down.
    await pollUntil(() => child.exitCode !== null, 10_000, 20).catch(() => undefined);
    // BENCH_RECEIVER_LOG=FILE: everything the receiver wrote (e.g. with BENCH_NODE_ARGS=--trace-deopt).
    if (process.env.BENCH_RECEIVER_LOG) appendFileSync(process.env.BENCH_RECEIVER_LOG, out);
    const line = out.split('\n').find((l) => l.includes('"done"'))!;
    const r = JSON.parse(line) as { done: number; first: number; hwmKb: number; cpuS: number; idleKb: number; warmUpMs: number; trace?: { firstAnnounce: number; flushes: [number, number, number][] } };
    if (process.env.BENCH_DEBUG) {
      const tr = r.trace;
      const passes = tr ? tr.flushes.map(([a, b, c]) => `${(a - t0).toFixed(1)}+${(b - a).toFixed(1)}ms:${c}`).join(' ') : '';
      console.error(`uplink ${n}: first UPDATE stored after ${tr ? (tr.firstAnnounce - t0).toFixed(1) : '?'} ms, first prefix in Loc-RIB after ${(r.first - t0).toFixed(1)} ms, all after ${(r.done - t0).toFixed(1)} ms; passes ${passes}`);
    }
    return { seconds: (r.done - t0) / 1000, rssMb: r.hwmKb / 1024, cpuSeconds: r.cpuS, idleMb: r.idleKb / 1024, warmUpMs: r.warmUpMs };
  } finally {
    tx.destroy();
    rx.destroy();
  }
}

// The anchors' receiver configs, shared by the RIB and FIB runs: passive, one eBGP feed peer.
const FRR_RECEIVER = `router bgp 65000\n bgp router-id 10.0.0.1\n no bgp ebgp-requires-policy\n neighbor 10.0.0.2 remote-as 65002\n neighbor 10.0.0.2 passive\n neighbor 10.0.0.2 timers 60 240\n address-family ipv4 unicast\n  neighbor 10.0.0.2 activate\n exit-address-family\n`;
const BIRD_FEED = 'protocol bgp feed { local 10.0.0.1 as 65000; neighbor 10.0.0.2 as 65002; passive on; hold time 240; ipv4 { import all; export none; }; }\n';

/**
 * One anchor run: start the daemon in a fresh receiver namespace (`start` returns the PIDs whose peak
 * RSS and CPU count, summed), feed it, wait until `done` says every prefix
 * is there (it gets the feed's `check`, which fails fast on a NOTIFICATION or a close), then read RSS
 * and CPU. Namespaces and daemons go away whatever happens.
 */
async function runAnchor(msgs: Uint8Array[], start: (rx: Netns) => Promise<number[]>, done: (rx: Netns, check: () => void) => Promise<number>, withChanges = false): Promise<Result> {
  const { rx, tx } = topo();
  try {
    const pids = await start(rx);
    const cpuOf = (): number => pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    const cpu0 = cpuOf();
    const { t0, sock, check } = await feed(tx, msgs);
    const t1 = await done(rx, check);
    const rssMb = pids.reduce((sum, pid) => sum + vmHwmKb(pid), 0) / 1024;
    const cpu = cpuOf() - cpu0;
    const changes = withChanges ? await measureChanges(rx, sock).catch(changesFailed) : undefined;
    sock.destroy();
    return { seconds: (t1 - t0) / 1000, rssMb, cpuSeconds: cpu, ...(changes ? { changes } : {}) };
  } finally {
    await runCleanups();
    tx.destroy();
    rx.destroy();
  }
}

const pidFile = (dir: string, name: string): number => Number(readFileSync(`${dir}/${name}.pid`, 'utf8').trim());

/** RIB time: poll the daemon's own count, at intervals growing with the elapsed time (it answers on the loading thread). */
const ribDone = (count: () => number, n: number) => (_rx: Netns, check: () => void): Promise<number> =>
  pollUntil(() => {
    check();
    return count() >= n;
  }, 180_000, 5, true);

async function startBirdIn(rx: Netns, kernel: boolean): Promise<{ bird: Awaited<ReturnType<typeof startBird>>; pids: number[] }> {
  const bird = await startBird(rx, {
    config: `router id 10.0.0.1;\nprotocol device {}\n${kernel ? 'protocol kernel { ipv4 { export all; }; }\n' : ''}${BIRD_FEED}`,
  });
  cleanups.push(() => bird.stop({ cleanup: true }));
  return { bird, pids: [pidFile(bird.runDir, 'bird')] };
}

async function startFrrIn(rx: Netns, withZebra: boolean): Promise<{ frr: Awaited<ReturnType<typeof startFrr>>; pids: number[] }> {
  const frr = await startFrr(rx, { config: FRR_RECEIVER });
  cleanups.push(() => frr.stop({ cleanup: true }));
  return { frr, pids: [pidFile(frr.runDir, 'bgpd'), ...(withZebra ? [pidFile(frr.runDir, 'zebra')] : [])] };
}

function runBird(n: number, msgs: Uint8Array[]): Promise<Result> {
  let count = (): number => 0;
  return runAnchor(msgs, async (rx) => {
    const { bird, pids } = await startBirdIn(rx, false);
    count = () => Number(/Routes:\s+(\d+) imported/.exec(bird.birdc('show protocols all feed'))?.[1] ?? 0);
    return pids;
  }, (rx, check) => ribDone(count, n)(rx, check));
}

function runFrr(n: number, msgs: Uint8Array[]): Promise<Result> {
  let count = (): number => 0;
  return runAnchor(msgs, async (rx) => {
    const { frr, pids } = await startFrrIn(rx, false);
    count = () => frr.vtyshJson<{ ipv4Unicast?: { peers?: Record<string, { pfxRcd?: number }> } }>('show bgp summary json').ipv4Unicast?.peers?.['10.0.0.2']?.pfxRcd ?? 0;
    return pids;
  }, (rx, check) => ribDone(count, n)(rx, check));
}

function runGobgp(n: number, msgs: Uint8Array[]): Promise<Result> {
  let count = (): number => 0;
  return runAnchor(msgs, async (rx) => {
    const g = await startGobgp(rx, {
      config: `[global.config]\n  as = 65000\n  router-id = "10.0.0.1"\n  port = 179\n[[neighbors]]\n  [neighbors.config]\n    neighbor-address = "10.0.0.2"\n    peer-as = 65002\n  [neighbors.timers.config]\n    hold-time = 240\n  [neighbors.transport.config]\n    passive-mode = true\n  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      afi-safi-name = "ipv4-unicast"\n`,
    });
    cleanups.push(() => g.stop({ cleanup: true }));
    count = () => Number(/Destination:\s*(\d+)/i.exec(g.gobgp('global', 'rib', 'summary', '-a', 'ipv4'))?.[1] ?? 0);
    return [Number(rx.exec('pgrep', ['-n', 'gobgpd']).trim().split('\n').at(-1))];
  }, (rx, check) => ribDone(count, n)(rx, check));
}

// ------------------------------------------------------------------------------------------------
// FIB: Established -> every prefix in the receiver namespace's kernel table. The same probe for every
// receiver: a cheap look-up of the last prefix sent, then a full count of the protocol's routes
// (`ip -o route show proto P | wc -l`) that must confirm n; the time taken is when the look-up saw the
// last prefix (midpoint with the previous miss, see pollUntil), not the end of the count: the dump
// takes ~0.3 s at 500k, which used to be added to every receiver's figure alike.

const LAST = (n: number): string => {
  const a = (((11 << 24) >>> 0) + (n - 1) * 256) >>> 0;
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.0/24`;
};

async function pollKernel(ns: Netns, proto: number, n: number, timeoutMs: number): Promise<number> {
  const last = LAST(n);
  return pollUntil(() => {
    if (!ns.exec('ip', ['-4', 'route', 'show', last, 'proto', String(proto)]).trim()) return false;
    // The last prefix sent is there: the time is now, if the full count (slow at 500k) confirms it.
    const seen = now();
    return Number(ns.exec('sh', ['-c', `ip -o -4 route show proto ${proto} | wc -l`]).trim()) >= n ? seen : false;
  }, timeoutMs, 20);
}

interface FibResult extends Result {
  ribSeconds: number;
}

/** From the feeder's write to the kernel's change, once the table is in the kernel. */
interface ChangeTimes {
  withdrawMs: number;
  nexthopMs: number;
}

const v4Text = (a: number): string => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
const feedAddr = (i: number): number => (((11 << 24) >>> 0) + i * 256) >>> 0;

/**
 * How fast a change reaches the kernel once the table is there: (a) one prefix withdrawn, (b) the
 * 800 prefixes of the second UPDATE moved to another next hop (10.0.0.3, a third party on the shared
 * subnet, RFC 4271 §5.1.3). Timed from the feeder's write to the last kernel notification, seen by a
 * route watcher (RTNLGRP) in the receiver's namespace.
 */
function changesFailed(err: unknown): ChangeTimes {
  console.log(`bench bgpd change measurement FAILED: ${(err as Error).message}`);
  return { withdrawMs: NaN, nexthopMs: NaN };
}

async function measureChanges(rx: Netns, sock: Socket): Promise<ChangeTimes> {
  // The events carry their own time: wait for the condition, keep the event's timestamp.
  const eventTime = async (probe: () => number | false): Promise<number> => {
    for (const end = Date.now() + 10_000; Date.now() < end; await sleep(2)) {
      const t = probe();
      if (t !== false) return t;
    }
    throw new Error('the kernel did not show the change within 10 s');
  };
  const ctx = makeContext({ fourOctetAs: true });
  const h = new NetlinkHandle(rx.path);
  const w = h.watchRoutes();
  const seen = new Map<string, { at: number; del: boolean; via: string }>();
  w.on('route', (ev) => seen.set(ev.route.dst, { at: now(), del: ev.action === 'del', via: ev.route.nexthops.map((x) => x.gateway ?? '').join(',') }));
  try {
    await sleep(50); // the watcher's socket is subscribed before anything is sent
    const gone = `${v4Text(feedAddr(0))}/24`;
    const wd = new NlriBuilder(1, 1, false);
    wd.addIpv4(feedAddr(0), 24);
    const tw = now();
    for (const m of packWithdrawals(wd.build(), ctx)) sock.write(m);
    const withdrawn = await eventTime(() => (seen.get(gone)?.del ? seen.get(gone)!.at : false));
    const moved: string[] = [];
    const b = new NlriBuilder(1, 1, false, 800 * 4 + 16);
    for (let i = 800; i < 1600; i++) {
      b.addIpv4(feedAddr(i), 24);
      moved.push(`${v4Text(feedAddr(i))}/24`);
    }
    const attrs: PathAttribute[] = [
      { kind: 'origin', flags: AttrFlag.Transitive, origin: 0 },
      { kind: 'as-path', flags: AttrFlag.Transitive, segments: [{ type: 2, asns: [65002, 64513] }] },
      { kind: 'next-hop', flags: AttrFlag.Transitive, nextHop: '10.0.0.3' },
      { kind: 'med', flags: AttrFlag.Optional, value: 800 },
    ];
    const t0 = now();
    for (const m of packUpdates(attrs, b.build(), ctx)) sock.write(m);
    const t1 = await eventTime(() => {
      let last = 0;
      for (const k of moved) {
        const e = seen.get(k);
        if (!e || e.del || e.via !== '10.0.0.3') return false;
        last = Math.max(last, e.at);
      }
      return last;
    });
    return { withdrawMs: withdrawn - tw, nexthopMs: t1 - t0 };
  } finally {
    w.close();
    await h.close();
  }
}

async function runOursFib(n: number, msgs: Uint8Array[]): Promise<FibResult> {
  const { rx, tx } = topo();
  try {
    const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    const child = rx.spawn(process.execPath, [...nodeArgs, fileURLToPath(import.meta.url), '--receiver', String(n), '--fib'], { env: { ...process.env, UPLINK_LOG_LEVEL: 'warn' } });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    await pollUntil(() => out.includes('ready'), 20_000, 10);
    const { t0, sock } = await feed(tx, msgs);
    const t1 = await pollKernel(rx, 77, n, 180_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}; receiver output: ${out.slice(-2000)}`);
    });
    const changes = await measureChanges(rx, sock).catch(changesFailed);
    child.stdin?.write('end\n');
    await pollUntil(() => out.includes('hwmKbFib'), 20_000, 10);
    sock.destroy();
    await pollUntil(() => child.exitCode !== null, 10_000, 20).catch(() => undefined);
    const r = JSON.parse(out.split('\n').find((l) => l.includes('"done"'))!) as { done: number; idleKb: number };
    const h = JSON.parse(out.split('\n').find((l) => l.includes('hwmKbFib'))!) as { hwmKbFib: number; cpuSFib: number };
    return { seconds: (t1 - t0) / 1000, ribSeconds: (r.done - t0) / 1000, rssMb: h.hwmKbFib / 1024, cpuSeconds: h.cpuSFib, idleMb: r.idleKb / 1024, changes };
  } finally {
    tx.destroy();
    rx.destroy();
  }
}

async function runBirdFib(n: number, msgs: Uint8Array[]): Promise<FibResult> {
  const r = await runAnchor(msgs, async (rx) => (await startBirdIn(rx, true)).pids, (rx) => pollKernel(rx, 12, n, 180_000), true); // RTPROT_BIRD
  return { ...r, ribSeconds: NaN };
}

async function runFrrFib(n: number, msgs: Uint8Array[]): Promise<FibResult> {
  // RTPROT_BGP, installed by zebra; RSS is bgpd's plus zebra's.
  const r = await runAnchor(msgs, async (rx) => (await startFrrIn(rx, true)).pids, (rx) => pollKernel(rx, 186, n, 180_000), true);
  return { ...r, ribSeconds: NaN };
}

function median(xs: Result[]): Result {
  const s = [...xs].sort((a, b) => a.seconds - b.seconds);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--receiver') return receiver(Number(args[1]), args[2] === '--fib');
  const sizes = args.length ? args.map(Number) : [10_000, 100_000, 500_000];
  const runners: [string, (n: number, m: Uint8Array[]) => Promise<Result>][] = [
    ['uplink', runOurs],
    ['bird', runBird],
    ['frr', runFrr],
    ['gobgp', runGobgp],
  ];
  const only = process.env.BENCH_ONLY?.split(',');
  for (const n of sizes) {
    const msgs = encodeFeed(n);
    const label = n >= 1000 ? `${n / 1000}k` : String(n);
    const repeat = n === 100_000 ? Number(process.env.BENCH_REPEAT ?? 3) : 1;
    const results = new Map<string, Result>();
    for (const [name, run] of runners) {
      if (only && !only.includes(name)) continue;
      const rs: Result[] = [];
      for (let i = 0; i < repeat; i++) {
        try {
          rs.push(await run(n, msgs));
        } catch (err) {
          console.log(`bench bgpd ${label} ${name}: FAILED ${(err as Error).message.split('\n')[0]}`);
        }
      }
      if (!rs.length) continue;
      const r = median(rs);
      results.set(name, r);
      console.log(`bench bgpd ${label} ${name} time-to-rib: ${r.seconds.toFixed(3)} s${repeat > 1 ? ` (median of ${repeat})` : ''}`);
      console.log(`bench bgpd ${label} ${name} peak-rss: ${r.rssMb.toFixed(1)} MB`);
      if (r.cpuSeconds !== undefined) console.log(`bench bgpd ${label} ${name} rib-cpu: ${r.cpuSeconds.toFixed(3)} s`);
      console.log(`bench bgpd ${label} ${name} peak-rss-per-prefix: ${((r.rssMb * 1048576) / n).toFixed(0)} bytes`);
      if (r.idleMb !== undefined) console.log(`bench bgpd ${label} ${name} peak-rss-above-idle-per-prefix: ${(((r.rssMb - r.idleMb) * 1048576) / n).toFixed(0)} bytes (idle ${r.idleMb.toFixed(1)} MB)`);
      if (r.warmUpMs !== undefined) console.log(`bench bgpd ${label} ${name} warm-up-at-start: ${r.warmUpMs.toFixed(0)} ms (before the feeder connects; BENCH_COLD=1 skips it)`);
    }
    const ours = results.get('uplink');
    for (const other of ['bird', 'frr', 'gobgp']) {
      const o = results.get(other);
      if (ours && o) console.log(`bench bgpd ${label} uplink/${other} rib time ratio: ${(ours.seconds / o.seconds).toFixed(2)} x`);
      if (ours?.cpuSeconds && o?.cpuSeconds) console.log(`bench bgpd ${label} uplink/${other} rib cpu ratio: ${(ours.cpuSeconds / o.cpuSeconds).toFixed(2)} x`);
    }
    const fibRunners: [string, (n: number, m: Uint8Array[]) => Promise<FibResult>][] = [
      ['uplink', runOursFib],
      ['bird', runBirdFib],
      ['frr', runFrrFib],
    ];
    const fib = new Map<string, Result>();
    for (const [name, run] of fibRunners) {
      if ((only && !only.includes(name)) || process.env.BENCH_NO_FIB) continue;
      const rs: Result[] = [];
      for (let i = 0; i < repeat; i++) {
        try {
          rs.push(await run(n, msgs));
        } catch (err) {
          console.log(`bench bgpd ${label} ${name}: FIB FAILED ${(err as Error).message.split('\n')[0]}`);
        }
      }
      if (!rs.length) continue;
      const r = median(rs);
      fib.set(name, r);
      console.log(`bench bgpd ${label} ${name} time-to-fib: ${r.seconds.toFixed(3)} s${repeat > 1 ? ` (median of ${repeat})` : ''}`);
      // CPU (user + system, so the kernel's route inserts done in the receiver's netlink calls count)
      // is steadier than wall time on a shared machine.
      if (r.cpuSeconds !== undefined) console.log(`bench bgpd ${label} ${name} fib-cpu: ${r.cpuSeconds.toFixed(3)} s${name === 'frr' ? ' (bgpd + zebra)' : ''}`);
      console.log(`bench bgpd ${label} ${name} peak-rss-with-fib: ${r.rssMb.toFixed(1)} MB${name === 'frr' ? ' (bgpd + zebra)' : ''}`);
      if (r.idleMb !== undefined) console.log(`bench bgpd ${label} ${name} peak-rss-with-fib-above-idle-per-prefix: ${(((r.rssMb - r.idleMb) * 1048576) / n).toFixed(0)} bytes (idle ${r.idleMb.toFixed(1)} MB)`);
      // Medians of their own over the repeats (not those of the run with the median load time).
      const ch = rs.map((x) => x.changes).filter((c): c is ChangeTimes => c !== undefined);
      if (ch.length) {
        const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
        r.changes = { withdrawMs: med(ch.map((c) => c.withdrawMs)), nexthopMs: med(ch.map((c) => c.nexthopMs)) };
        const of = repeat > 1 ? ` (median of ${ch.length})` : '';
        console.log(`bench bgpd ${label} ${name} withdraw-1-to-kernel: ${r.changes.withdrawMs.toFixed(1)} ms${of}`);
        console.log(`bench bgpd ${label} ${name} nexthop-change-800-to-kernel: ${r.changes.nexthopMs.toFixed(1)} ms${of}`);
      }
    }
    const oursFib = fib.get('uplink');
    for (const other of ['bird', 'frr']) {
      const o = fib.get(other);
      if (oursFib && o) console.log(`bench bgpd ${label} uplink/${other} fib time ratio: ${(oursFib.seconds / o.seconds).toFixed(2)} x`);
      if (oursFib?.cpuSeconds && o?.cpuSeconds) console.log(`bench bgpd ${label} uplink/${other} fib cpu ratio: ${(oursFib.cpuSeconds / o.cpuSeconds).toFixed(2)} x`);
      const [a, b] = [oursFib?.changes, o?.changes];
      if (a && b) console.log(`bench bgpd ${label} uplink/${other} withdraw / next-hop change ratio: ${(a.withdrawMs / b.withdrawMs).toFixed(2)} x / ${(a.nexthopMs / b.nexthopMs).toFixed(2)} x`);
    }
    console.log(`bench bgpd ${label} messages: ${msgs.length} UPDATEs`);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
