// Lab runner figures from one run: build time of the default fabric (FRR spines/ToRs, plain nodes),
// time to BGP convergence, the idempotent re-`up` check, a link drill, and teardown.
// Scale (issue 8's `scale` drill): N agent nodes in racks of up to 12 (uplinkd, one process each with
// LEAN_AGENT_FLAGS, one shared embedded datastore), one pod per node through the CNI plugin, and
// the time until every node's kernel routes every other node's block (reachable), then over both
// ToRs (ECMP); agents' RSS from /proc. UPLINK_BENCH_LAB_NODES (default 50 = 5 racks x 10) sets the
// size, 0 skips it; UPLINK_BENCH_LAB_LEAN=0 runs the agents without the Node flags.
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

/** Other nodes' /26 blocks in `ns`'s kernel over at least `paths` next hops (own block: blackhole). */
function blocksRouted(ns: string, paths: number): number {
  const j = JSON.parse(execFileSyncText('ip', ['-4', '-j', '-n', ns, 'route', 'show', 'proto', '77'])) as Array<{ dst: string; type?: string; gateway?: string; nexthops?: unknown[] }>;
  return j.filter((r) => r.dst.endsWith('/26') && r.type !== 'blackhole' && (r.nexthops?.length ?? (r.gateway ? 1 : 0)) >= paths).length;
}

async function scale(nodes: number, lean: boolean): Promise<void> {
  const racks = Math.max(2, Math.ceil(nodes / 12));
  const perRack = Math.ceil(nodes / racks);
  const out = mkdtempSync(join(tmpdir(), 'ulq-scale-'));
  chmodSync(out, 0o755);
  const opts: LabOptions = { prefix: `ulqs${randomBytes(2).toString('hex')}`, stateDir: join(out, '.state'), ...(lean ? { agentNodeFlags: LEAN_AGENT_FLAGS } : {}) };
  const file = writeLab(scaleFabric({ racks, perRack }), join(out, 'lab'), { agent: { root: join(out, 'agents') } });
  const drill = (text: string): void => console.log(`drill scale: ${text}`);
  try {
    const t0 = performance.now();
    await up(file, opts);
    line('scale-nodes', racks * perRack, `agent nodes (${racks} racks x ${perRack}, ${2 * racks} ToRs, 2 spines; one uplinkd process each${lean ? `, ${LEAN_AGENT_FLAGS.join(' ')}` : ''})`);
    line('scale-up', Math.round(performance.now() - t0), 'ms');
    await waitBgp(file, opts, 300_000);
    const tBgp = performance.now() - t0;
    line('scale-bgp-established', Math.round(tBgp), 'ms (from up start to every session Established)');
    const lab = openLab(file, opts);
    const state = readState(lab.stateDir)!;
    const agents = Object.values(state.nodes).filter((n) => n.role === 'agent');
    const t1 = performance.now();
    for (const a of agents) addPod(file, a.name, 'p1', opts);
    const tPods = performance.now();
    line('scale-pods-added', Math.round(tPods - t1), `ms (${agents.length} CNI ADDs, one after another)`);
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
    line('scale-routes-reachable', reach === undefined ? 'none' : Math.round(reach), `ms (last CNI ADD to every node's kernel routing all ${want} other blocks)`);
    line('scale-routes-ecmp', ecmp === undefined ? 'none' : Math.round(ecmp), 'ms (last CNI ADD to every block over both ToRs on every node)');
    const rss = agents.map((a) => rssKb(a.procs.find((p) => p.name === 'agent')!.pid));
    const avgMiB = rss.reduce((x, y) => x + y, 0) / rss.length / 1024;
    line('scale-agent-rss-avg', Math.round(avgMiB), 'MiB');
    line('scale-agent-rss-max', Math.round(Math.max(...rss) / 1024), 'MiB');
    line('scale-agent-rss-total', Math.round(rss.reduce((x, y) => x + y, 0) / 1024), 'MiB');
    drill(`${agents.length} agent nodes, ${2 * racks} ToRs, 2 spines; every BGP session Established ${(tBgp / 1000).toFixed(1)} s after up started`);
    drill(`every node routes all ${want} other blocks ${fmt(reach)} after the last of ${agents.length} CNI ADDs; over both ToRs (ECMP) ${fmt(ecmp)}`);
    drill(`uplinkd RSS ${avgMiB.toFixed(0)} MiB avg per agent (${lean ? LEAN_AGENT_FLAGS.join(' ') : 'no Node flags'})`);
  } finally {
    const t2 = performance.now();
    await down(file, opts);
    line('scale-down', Math.round(performance.now() - t2), 'ms');
    rmSync(out, { recursive: true, force: true });
  }
}

function execFileSyncText(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8' }) || '[]';
}

await main();
const scaleNodes = Number(process.env.UPLINK_BENCH_LAB_NODES ?? 50);
if (scaleNodes > 0) await scale(scaleNodes, process.env.UPLINK_BENCH_LAB_LEAN !== '0');
