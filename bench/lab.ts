// Lab runner figures from one run: build time of the default fabric (FRR spines/ToRs, plain nodes),
// time to BGP convergence, the idempotent re-`up` check, a link drill, and teardown.
// Scale (issue 8's `scale` drill): RACKS x NODES agent nodes (uplinkd, one process each, one shared
// embedded datastore), one pod per node through the CNI plugin, and the time until every node's
// kernel has a route to every other node's block; agents' RSS from /proc. UPLINK_BENCH_LAB_NODES
// (default 48 = 4 racks x 12) sets the size; 0 skips it.
// Anchor: the 9 s BGP hold time of the generated configs — the link drill's session-loss time is
// reported as a ratio to it (well below 1 means carrier loss, not the hold timer, ended the session).
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { linkDrill } from '../containerlab/drill.js';
import { addPod } from '../containerlab/pods.js';
import { down, execIn, openLab, up, type LabOptions } from '../containerlab/runner.js';
import { readState } from '../containerlab/state.js';
import { waitBgp } from '../containerlab/wait.js';
import { writeLab } from '../topology/clab.js';
import { devicesOf, loadTopology } from '../topology/resolve.js';

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

function scaleModel(racks: number, perRack: number): string {
  const lines = ['name: uplink-scale', 'asn: { scheme: per-rack, spine: 65000, tor: 65101 }', 'fabric: { ipv4: 10.255.0.0/23, prefixLength: 31, loopbacks: 10.0.0.0/24 }', 'spines: [{ name: spine1 }, { name: spine2 }]', 'racks:'];
  for (let r = 1; r <= racks; r++) {
    lines.push(`  - name: rack${r}`, `    tors: [tor${r}a, tor${r}b]`, '    nodes:');
    for (let n = 1; n <= perRack; n++) lines.push(`      - { name: n${r}x${n}, uplinks: [tor${r}a, tor${r}b] }`);
  }
  lines.push('pools: [{ name: pods, cidr: 10.244.0.0/16, blockSize: 26 }]');
  return `${lines.join('\n')}\n`;
}

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);

async function scale(nodes: number): Promise<void> {
  const racks = 4;
  const perRack = Math.ceil(nodes / racks);
  const out = mkdtempSync(join(tmpdir(), 'ulq-scale-'));
  chmodSync(out, 0o755);
  const model = join(out, 'scale.yaml');
  writeFileSync(model, scaleModel(racks, perRack));
  const opts: LabOptions = { prefix: `ulqs${randomBytes(2).toString('hex')}`, stateDir: join(out, '.state') };
  const file = writeLab(loadTopology(model), join(out, 'lab'), { agent: { root: join(out, 'agents') } });
  try {
    const t0 = performance.now();
    await up(file, opts);
    line('scale-nodes', racks * perRack, `agent nodes (${racks} racks x ${perRack}, 8 ToRs, 2 spines)`);
    line('scale-up', Math.round(performance.now() - t0), 'ms');
    await waitBgp(file, opts, 300_000);
    line('scale-bgp-established', Math.round(performance.now() - t0), 'ms (from up start to every session Established)');
    const lab = openLab(file, opts);
    const state = readState(lab.stateDir)!;
    const agents = Object.values(state.nodes).filter((n) => n.role === 'agent');
    const t1 = performance.now();
    for (const a of agents) addPod(file, a.name, 'p1', opts);
    const tPods = performance.now();
    line('scale-pods-added', Math.round(tPods - t1), `ms (${agents.length} CNI ADDs, one after another)`);
    const want = agents.length - 1;
    const routesOn = (ns: string): number => {
      const j = JSON.parse(execFileSyncText('ip', ['-j', '-n', ns, 'route', 'show', 'proto', '77'])) as Array<{ dst: string; type?: string }>;
      return j.filter((r) => r.dst.endsWith('/26') && r.type !== 'blackhole').length;
    };
    for (;;) {
      const lagging = agents.filter((a) => routesOn(a.netns) < want).length;
      if (lagging === 0) break;
      if (performance.now() - t1 > 300_000) throw new Error(`${lagging} nodes without all ${want} routes after 300 s`);
      await new Promise((r) => setTimeout(r, 200));
    }
    line('scale-routes-converged', Math.round(performance.now() - t1), `ms (first CNI ADD to every node's kernel holding all ${want} other blocks)`);
    line('scale-routes-after-last-pod', Math.round(performance.now() - tPods), 'ms (last CNI ADD to full convergence)');
    const rss = agents.map((a) => rssKb(a.procs.find((p) => p.name === 'agent')!.pid));
    line('scale-agent-rss-avg', Math.round(rss.reduce((x, y) => x + y, 0) / rss.length / 1024), 'MiB');
    line('scale-agent-rss-total', Math.round(rss.reduce((x, y) => x + y, 0) / 1024), 'MiB');
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
const scaleNodes = Number(process.env.UPLINK_BENCH_LAB_NODES ?? 48);
if (scaleNodes > 0) await scale(scaleNodes);
