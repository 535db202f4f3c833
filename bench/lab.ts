// Lab runner figures from one run: build time of the default fabric (FRR spines/ToRs, plain nodes),
// time to BGP convergence, the idempotent re-`up` check, a link drill, and teardown.
// Scale (issue 8's `scale` drill): N agent nodes in racks of up to 12 (one shared embedded
// datastore), one pod per node through the CNI plugin, and the time until every node's kernel routes
// every other node's block (reachable), then over both ToRs (ECMP); agents' RSS and CPU from /proc.
// Two agent modes, same lab: `separate` (one uplinkd per node inside its namespace, LEAN_AGENT_FLAGS)
// and `shared` (`up --shared-agents`: one uplinkd process on the host hosting every node's agent,
// each in its node's namespace); `shared-vs-separate` lines are their ratios.
//   UPLINK_BENCH_LAB_NODES        scale size, default 50 (5 racks x 10); 0 skips the scale part
//   UPLINK_BENCH_LAB_MODES        default "separate,shared"
//   UPLINK_BENCH_LAB_SHARED_MORE  further sizes in shared mode only, e.g. "100,150" (default none)
//   UPLINK_BENCH_LAB_DEFAULT=0    skip the default-fabric part
//   UPLINK_BENCH_LAB_LEAN=0       separate agents without the Node flags
// Anchor: the 9 s BGP hold time of the generated configs — the link drill's session-loss time is
// reported as a ratio to it (well below 1 means carrier loss, not the hold timer, ended the session).
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkDrill } from '../containerlab/drill.js';
import { addPod } from '../containerlab/pods.js';
import { down, execIn, LEAN_AGENT_FLAGS, openLab, up, type LabOptions } from '../containerlab/runner.js';
import { readState } from '../containerlab/state.js';
import { waitBgp } from '../containerlab/wait.js';
import { writeLab } from '../topology/clab.js';
import { devicesOf, loadTopology } from '../topology/resolve.js';
import { scaleFabric } from '../topology/scale.js';

const HOLD_MS = 9000;
const line = (name: string, value: number | string, unit: string): void => console.log(`bench lab ${name}: ${value} ${unit}`);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench lab needs root (network namespaces)');
  const out = mkdtempSync(join(tmpdir(), 'ull-bench-'));
  chmodSync(out, 0o755);
  const opts: LabOptions = { prefix: `ullb${randomBytes(2).toString('hex')}`, stateDir: join(out, '.state') };
  const fabric = loadTopology(join(process.cwd(), 'topology', 'examples', 'default.yaml'));
  const file = writeLab(fabric, out, { agents: false });
  try {
    const t0 = performance.now();
    await up(file, opts);
    const tUp = performance.now() - t0;
    line('up-default', Math.round(tUp), 'ms');
    line('up-per-node', Math.round(tUp / fabric.devices.size), 'ms');
    const spines = devicesOf(fabric, 'spine');
    const tors = devicesOf(fabric, 'tor').length;
    for (;;) {
      const ok = spines.every((s) => {
        const j = JSON.parse(execIn(file, s.name, ['vtysh', '-c', 'show bgp summary json'], opts)) as { ipv4Unicast?: { peers?: Record<string, { state: string }> } };
        const peers = Object.values(j.ipv4Unicast?.peers ?? {});
        return peers.length === tors && peers.every((p) => p.state === 'Established');
      });
      if (ok) break;
      if (performance.now() - t0 > 120_000) throw new Error('fabric did not converge in 120 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    line('converged-default', Math.round(performance.now() - t0), 'ms (from up start to all ToR-spine sessions Established)');
    const t1 = performance.now();
    const again = await up(file, opts);
    line('up-unchanged', Math.round(performance.now() - t1), `ms (${again.action})`);
    const d = await linkDrill(file, 'spine1:eth1', opts);
    const loss = Math.max(...Object.values(d.downMs));
    line('drill-link-loss', loss, 'ms');
    line('drill-link-loss-vs-hold-time', (loss / HOLD_MS).toFixed(3), 'x');
    line('drill-link-restore', Math.max(...Object.values(d.restoreMs)), 'ms');
    const t2 = performance.now();
    await down(file, opts);
    line('down-default', Math.round(performance.now() - t2), 'ms');
  } finally {
    await down(file, opts);
    rmSync(out, { recursive: true, force: true });
  }
}

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
/** utime + stime of a process, in seconds (USER_HZ 100). */
const cpuS = (pid: number): number => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
};

/** Other nodes' /26 blocks in `ns`'s kernel over at least `paths` next hops (own block: blackhole). */
function blocksRouted(ns: string, paths: number): number {
  const j = JSON.parse(execFileSyncText('ip', ['-4', '-j', '-n', ns, 'route', 'show', 'proto', '77'])) as Array<{ dst: string; type?: string; gateway?: string; nexthops?: unknown[] }>;
  return j.filter((r) => r.dst.endsWith('/26') && r.type !== 'blackhole' && (r.nexthops?.length ?? (r.gateway ? 1 : 0)) >= paths).length;
}

type Mode = 'separate' | 'shared';
interface ScaleFigures { nodes: number; upMs: number; bgpMs: number; reachMs: number | undefined; ecmpMs: number | undefined; rssTotalMiB: number; rssPerNodeMiB: number; cpuS: number }

async function scale(nodes: number, mode: Mode, lean: boolean): Promise<ScaleFigures> {
  const racks = Math.max(2, Math.ceil(nodes / 12));
  const perRack = Math.ceil(nodes / racks);
  const out = mkdtempSync(join(tmpdir(), 'ulm-scale-'));
  chmodSync(out, 0o755);
  const shared = mode === 'shared';
  const opts: LabOptions = {
    prefix: `ulms${randomBytes(2).toString('hex')}`, stateDir: join(out, '.state'),
    ...(shared ? { sharedAgents: true } : lean ? { agentNodeFlags: LEAN_AGENT_FLAGS } : {}),
  };
  const file = writeLab(scaleFabric({ racks, perRack, wide: racks * perRack > 100 }), join(out, 'lab'), { agent: { root: join(out, 'agents') } });
  const n = racks * perRack;
  const tag = `scale-${mode}-${n}`;
  const drill = (text: string): void => console.log(`drill scale: ${mode} ${n}: ${text}`);
  try {
    const t0 = performance.now();
    await up(file, opts);
    const upMs = performance.now() - t0;
    const how = shared ? 'one uplinkd process on the host for every node' : `one uplinkd process per node${lean ? `, ${LEAN_AGENT_FLAGS.join(' ')}` : ''}`;
    line(`${tag}-nodes`, n, `agent nodes (${racks} racks x ${perRack}, ${2 * racks} ToRs, 2 spines; ${how})`);
    line(`${tag}-up`, Math.round(upMs), shared ? 'ms (until every agent serves its control socket)' : 'ms');
    await waitBgp(file, opts, 300_000);
    const bgpMs = performance.now() - t0;
    line(`${tag}-bgp-established`, Math.round(bgpMs), 'ms (from up start to every session Established)');
    const lab = openLab(file, opts);
    const state = readState(lab.stateDir)!;
    const agents = Object.values(state.nodes).filter((x) => x.role === 'agent');
    const t1 = performance.now();
    for (const a of agents) addPod(file, a.name, 'p1', opts);
    const tPods = performance.now();
    line(`${tag}-pods-added`, Math.round(tPods - t1), `ms (${agents.length} CNI ADDs, one after another)`);
    const want = agents.length - 1;
    // Two figures: every block reachable (some next hop), and the final state (ECMP over both ToRs).
    let reach: number | undefined;
    let ecmp: number | undefined;
    const limitMs = 180_000;
    while (ecmp === undefined && performance.now() - tPods < limitMs) {
      if (reach === undefined && agents.every((a) => blocksRouted(a.netns, 1) >= want)) reach = performance.now() - tPods;
      if (reach !== undefined && agents.every((a) => blocksRouted(a.netns, 2) >= want)) ecmp = performance.now() - tPods;
      await new Promise((r) => setTimeout(r, 200));
    }
    const fmt = (v: number | undefined): string => (v === undefined ? `NOT within ${limitMs / 1000} s` : `${(v / 1000).toFixed(1)} s`);
    line(`${tag}-routes-reachable`, reach === undefined ? 'none' : Math.round(reach), `ms (last CNI ADD to every node's kernel routing all ${want} other blocks)`);
    line(`${tag}-routes-ecmp`, ecmp === undefined ? 'none' : Math.round(ecmp), 'ms (last CNI ADD to every block over both ToRs on every node)');
    // One PID per agent node, or the same PID on every node (shared): count each process once.
    const pids = [...new Set(agents.map((a) => a.procs.find((p) => p.name === 'agent')!.pid))];
    const rss = pids.map(rssKb);
    const totalMiB = rss.reduce((x, y) => x + y, 0) / 1024;
    const cpu = pids.map(cpuS).reduce((x, y) => x + y, 0);
    line(`${tag}-agent-processes`, pids.length, 'processes');
    line(`${tag}-agent-rss-total`, Math.round(totalMiB), 'MiB');
    line(`${tag}-agent-rss-per-node`, (totalMiB / agents.length).toFixed(1), 'MiB');
    line(`${tag}-agent-cpu`, cpu.toFixed(1), 's (user+system of the agent processes, from start to here)');
    drill(`${agents.length} agent nodes, ${2 * racks} ToRs, 2 spines; up ${(upMs / 1000).toFixed(1)} s; every BGP session Established ${(bgpMs / 1000).toFixed(1)} s after up started`);
    drill(`every node routes all ${want} other blocks ${fmt(reach)} after the last of ${agents.length} CNI ADDs; over both ToRs (ECMP) ${fmt(ecmp)}`);
    drill(`uplinkd RSS ${totalMiB.toFixed(0)} MiB in ${pids.length} processes, ${(totalMiB / agents.length).toFixed(1)} MiB per node`);
    return { nodes: n, upMs, bgpMs, reachMs: reach, ecmpMs: ecmp, rssTotalMiB: totalMiB, rssPerNodeMiB: totalMiB / agents.length, cpuS: cpu };
  } finally {
    const t2 = performance.now();
    await down(file, opts);
    line(`${tag}-down`, Math.round(performance.now() - t2), 'ms');
    rmSync(out, { recursive: true, force: true });
  }
}

function execFileSyncText(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' }) || '[]';
}

if (process.env.UPLINK_BENCH_LAB_DEFAULT !== '0') await main();
const scaleNodes = Number(process.env.UPLINK_BENCH_LAB_NODES ?? 50);
const modes = (process.env.UPLINK_BENCH_LAB_MODES ?? 'separate,shared').split(',').filter((m): m is Mode => m === 'separate' || m === 'shared');
const lean = process.env.UPLINK_BENCH_LAB_LEAN !== '0';
if (scaleNodes > 0) {
  const got: Partial<Record<Mode, ScaleFigures>> = {};
  for (const m of modes) got[m] = await scale(scaleNodes, m, lean);
  const [a, b] = [got.shared, got.separate];
  if (a && b) {
    const ratio = (name: string, x: number | undefined, y: number | undefined): void =>
      line(`scale-shared-vs-separate-${name}`, x === undefined || y === undefined ? 'none' : (x / y).toFixed(2), 'x');
    ratio('up', a.upMs, b.upMs);
    ratio('bgp-established', a.bgpMs, b.bgpMs);
    ratio('routes-reachable', a.reachMs, b.reachMs);
    ratio('routes-ecmp', a.ecmpMs, b.ecmpMs);
    ratio('agent-rss-total', a.rssTotalMiB, b.rssTotalMiB);
    ratio('agent-cpu', a.cpuS, b.cpuS);
  }
}
for (const n of (process.env.UPLINK_BENCH_LAB_SHARED_MORE ?? '').split(',').map(Number).filter((x) => x > 0)) {
  await scale(n, 'shared', lean);
}
