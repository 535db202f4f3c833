// Issue 8's remaining drills on real labs (namespaces, veths, FRR routers, uplinkd agents sharing one
// embedded datastore, pods through the CNI shim), asserted against limits:
//   router-restart  a ToR's FRR is SIGKILLed and restarted (graceful restart): the pods lose nothing
//                   AND the node keeps its kernel routes via that ToR throughout (uplinkd is the GR
//                   helper: RFC 4724 §4.2, routes kept as stale until the ToR is back).
//   node-removal    the node withdraws (uplinkctl shutdown --withdraw) and is removed (uplinkctl
//                   node remove): IPAM reclaims its blocks and every other node's kernel and every
//                   router lose its routes within a few seconds.
//   node-removal, silent  the node dies without a word (all its traffic dropped, then uplinkd
//                   SIGKILLed): its ToRs notice only at hold-timer expiry (9 s, RFC 4271 §6.5; 6-9 s
//                   after the death with 3 s keepalives). FRR then sends a Hold Timer Expired
//                   NOTIFICATION, which ends graceful restart unless both sides negotiated RFC 8538's
//                   N bit; if they did, the ToRs keep the routes as stale for the restart time the
//                   agent advertised (RFC 4724 §4.2; 10 s in these labs). The limit allows both; the
//                   routes must be gone everywhere after that, and the blocks reclaimed in IPAM.
// Two topologies: the default (AS per rack, iBGP to route-reflector ToRs, IPv4) and the dual-stack
// one with an AS per node (eBGP, IPv4 + IPv6 blocks); both start with a cross-rack ping.
// Every figure is read from the kernel, FRR, the datastore (via uplinkctl) or ping.
import { chmodSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLab } from '../../topology/clab.js';
import { loadTopology } from '../../topology/resolve.js';
import { agentConfigFile, agentPaths, removeAgentState } from '../agent-state.js';
import { DRILLS, DrillName } from '../drills.js';
import { isolateNode, restartNode, stopNode } from '../node-control.js';
import { addPod, type PodRecord } from '../pods.js';
import { listPods, removePodRecord } from '../pod-store.js';
import { down, openLab, up, type LabOptions } from '../runner.js';
import { NodeRole, readState } from '../state.js';
import { run } from '../sys.js';
import { waitBgp } from '../wait.js';
import { namespacesWith } from './lab-util.js';

const execFileP = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const REPO = join(import.meta.dirname, '..', '..');
const EXAMPLES = join(REPO, 'topology', 'examples');
const built = existsSync(join(REPO, 'build', 'Release', 'uplink_cni_shim')) && existsSync(join(REPO, 'dist', 'uplinkctl', 'main.js'));

/** Generated timers: BGP hold time on every session, and the restart time the agents advertise here. */
const HOLD_S = 9;
const AGENT_RESTART_S = 10;
/** A ToR's hold timer cannot expire earlier than hold time minus one keepalive interval (hold / 3). */
const EARLY_S = HOLD_S - HOLD_S / 3 - 1;
/**
 * IPAM reclaims a removed node's blocks on the GC leader's next pass (every 5 s, uplinkd/cluster-gc.ts).
 * If the removed node itself led, its lease must expire first (TTL 15 s) and a standby's next attempt
 * (5 s) win: 25 s worst case, plus uplinkctl polling on a loaded host.
 */
const IPAM_LIMIT_S = 30;

interface LabCtx {
  file: string;
  opts: LabOptions;
  dir: string;
  prefix: string;
}

async function labUp(model: string): Promise<LabCtx> {
  const prefix = `ulr${randomBytes(3).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'ulr-lab-'));
  chmodSync(dir, 0o755); // FRR (user frr) traverses to its private dir under the state dir
  const f = loadTopology(join(EXAMPLES, model));
  const file = writeLab(f, dir, { agent: { root: join(dir, 'agents'), gracefulRestart: { restartTime: AGENT_RESTART_S } } });
  const opts = { prefix, stateDir: join(dir, '.state') };
  try {
    await up(file, opts);
    await waitBgp(file, opts, 60_000);
  } catch (err) {
    await down(file, opts).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { file, opts, dir, prefix };
}

async function labDown(l: LabCtx | undefined): Promise<void> {
  if (!l) return;
  await down(l.file, l.opts);
  expect(namespacesWith(l.prefix)).toEqual([]);
  rmSync(l.dir, { recursive: true, force: true });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const pingOk = (netns: string, ip: string): boolean => run('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', ip], { allowFail: true }).includes(' 0% packet loss');

async function pingEventually(netns: string, ip: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pingOk(netns, ip)) {
    if (Date.now() > deadline) throw new Error(`${ip} unreachable from ${netns} after ${ms} ms`);
    await sleep(300);
  }
}

/** Agent nodes of the lab in topology order, with their rack. */
function agents(l: LabCtx): Array<{ name: string; rack: string; netns: string }> {
  const lab = openLab(l.file, l.opts);
  const state = readState(lab.stateDir)!;
  return lab.topo.nodes
    .filter((n) => state.nodes[n.name]?.role === NodeRole.Agent)
    .map((n) => ({ name: n.name, rack: n.labels['uplink.dev/rack'] ?? '', netns: lab.netns(n.name) }));
}

function routers(l: LabCtx): string[] {
  const state = readState(openLab(l.file, l.opts).stateDir)!;
  return Object.values(state.nodes).filter((n) => n.role === NodeRole.Frr).map((n) => n.netns);
}

/** uplinkctl against `node`'s agent (control socket and config from its generated uplinkd.yaml). */
function ctl(l: LabCtx, node: string, ...args: string[]): string {
  const n = openLab(l.file, l.opts).topo.nodes.find((x) => x.name === node)!;
  const p = agentPaths(agentConfigFile(n)!);
  return execFileSync(process.execPath, [join(REPO, 'dist', 'uplinkctl', 'main.js'), '-c', p.config, '-s', p.controlSocket ?? '', '-o', 'json', ...args], { encoding: 'utf8', timeout: 30_000 });
}

type Block = { cidr: string; affinity?: string };
const ipamBlocks = (l: LabCtx, via: string): Block[] => (JSON.parse(ctl(l, via, 'ipam', 'show')) as { blocks: Block[] }).blocks;

/** As ipamBlocks, without blocking the event loop (uplinkctl takes 1-3 s to start on a loaded host). */
async function ipamBlocksAsync(l: LabCtx, via: string): Promise<Block[]> {
  const n = openLab(l.file, l.opts).topo.nodes.find((x) => x.name === via)!;
  const p = agentPaths(agentConfigFile(n)!);
  const { stdout } = await execFileP(process.execPath, [join(REPO, 'dist', 'uplinkctl', 'main.js'), '-c', p.config, '-s', p.controlSocket ?? '', '-o', 'json', 'ipam', 'show'], { encoding: 'utf8', timeout: 30_000 });
  return (JSON.parse(stdout) as { blocks: Block[] }).blocks;
}

/** Destinations in a namespace's kernel, IPv4 and IPv6 main tables. */
function kernelDsts(netns: string): Set<string> {
  const dsts = new Set<string>();
  for (const fam of ['-4', '-6']) {
    const out = run('ip', [fam, '-j', '-n', netns, 'route', 'show'], { allowFail: true }).trim();
    for (const r of out ? (JSON.parse(out) as Array<{ dst: string }>) : []) dsts.add(r.dst);
  }
  return dsts;
}

/** Namespaces (other agents and every router) whose kernel still routes one of `blocks`. */
const holders = (netnses: string[], blocks: string[]): string[] => netnses.filter((ns) => {
  const d = kernelDsts(ns);
  return blocks.some((b) => d.has(b));
});

interface SilentRemoval {
  blocks: string[];
  /** Seconds from the node's death to: every other node's and router's kernel without its blocks. */
  goneS: number;
  /** Seconds from `uplinkctl node remove` to IPAM without affinity to it. */
  ipamS: number;
  /** Kernels that still routed its blocks EARLY_S after its death, before any hold timer can expire. */
  heldEarly: number;
}

/**
 * The node dies silently: its namespace drops every packet, then its uplinkd is SIGKILLed (no FIN,
 * no NOTIFICATION reaches the ToRs), then an operator removes it from the cluster. What the
 * `node-removal --silent` drill does (see the report for the drills.ts change that makes the CLI
 * run it). Afterwards the node rejoins as a re-provisioned machine (empty state dir).
 */
async function silentRemoval(l: LabCtx, victim: string, observer: string, limitS: number): Promise<SilentRemoval> {
  const blocks = ipamBlocks(l, observer).filter((b) => b.affinity === victim).map((b) => b.cidr);
  expect(blocks.length, `${victim} has blocks`).toBeGreaterThan(0);
  const watched = [...agents(l).filter((a) => a.name !== victim).map((a) => a.netns), ...routers(l)];
  expect(holders(watched, blocks), 'every other node and router routes the blocks before the drill').toHaveLength(watched.length);
  const lab = openLab(l.file, l.opts);
  try {
    // Dead from the moment nothing leaves the namespace: the ToRs' hold timers run from their last
    // received KEEPALIVE, before this.
    const t0 = performance.now();
    const since = (): number => (performance.now() - t0) / 1000;
    isolateNode(l.file, victim, true, l.opts);
    await stopNode(l.file, victim, 'SIGKILL', l.opts, ['agent']);
    // Removed by the operator at once: IPAM may reclaim now, the routes go with the sessions.
    ctl(l, observer, 'node', 'remove', victim);
    const tRemove = since();
    // Two loops: IPAM through uplinkctl (slow to start) must not coarsen the kernels' figure.
    const ipam = (async (): Promise<number> => {
      while (since() < limitS) {
        if (!(await ipamBlocksAsync(l, observer)).some((b) => blocks.includes(b.cidr) && b.affinity === victim)) return since() - tRemove;
        await sleep(500);
      }
      return Infinity;
    })();
    let goneS: number | undefined;
    let heldEarly: number | undefined;
    while (goneS === undefined && since() < limitS) {
      const t = since();
      const held = holders(watched, blocks).length;
      if (heldEarly === undefined && t >= EARLY_S) heldEarly = held;
      if (held === 0) goneS = t;
      await sleep(100);
    }
    return { blocks, goneS: goneS ?? Infinity, ipamS: await ipam, heldEarly: heldEarly ?? -1 };
  } finally {
    // Put the lab back: the node rejoins re-provisioned (its pods and state are gone).
    isolateNode(l.file, victim, false, l.opts);
    for (const p of listPods(lab.stateDir).filter((x) => x.node === victim)) removePodRecord(lab.stateDir, p);
    const n = lab.topo.nodes.find((x) => x.name === victim)!;
    const p = agentPaths(agentConfigFile(n)!);
    removeAgentState({ config: p.config, ...(p.stateDir ? { stateDir: p.stateDir } : {}) });
    await restartNode(l.file, victim, l.opts);
    await waitBgp(l.file, l.opts, 90_000);
  }
}

describe.skipIf(!isRoot || !built)('default lab (AS per rack, IPv4): router restart keeps routes; node removal', () => {
  let l: LabCtx | undefined;
  beforeAll(async () => {
    l = await labUp('default.yaml');
  }, 90_000);
  afterAll(() => labDown(l), 60_000);

  it('cross-rack: a pod on rack1 reaches a pod on rack2 and back', async () => {
    const a = addPod(l!.file, 'node1', 'web1', l!.opts).pod;
    const b = addPod(l!.file, 'node4', 'web1', l!.opts).pod;
    await pingEventually(a.netns, b.ips[0]!);
    await pingEventually(b.netns, a.ips[0]!);
  }, 60_000);

  it('router-restart: no gap above 1 s, and the node keeps its kernel routes via the restarting ToR', async () => {
    const r = await DRILLS[DrillName.RouterRestart](l!.file, { ...l!.opts, observeMs: 2000 });
    console.log(r.lines.map((x) => `drill router-restart: ${x}`).join('\n'));
    expect(r.sent).toBeGreaterThan(500);
    expect(r.gapMs).toBeLessThan(1000);
    // The pod routes of the other racks, learned from that ToR: still there while it restarts
    // (stale, RFC 4724 §4.2) — a helper that drops them moves all traffic to the other ToR.
    expect(r.routesKept!.before).toBeGreaterThan(0);
    // Kept while the ToR was down: at least until its sessions are back (a helper that dropped them at
    // the TCP failure would show a dip from the kill on). After its End-of-RIB a short dip is allowed:
    // a restarted FRR may send End-of-RIB ~100 ms before the routes it re-learns from the spines.
    const k = r.routesKept!;
    expect(k.keptMs, r.lines.join('\n')).toBeGreaterThanOrEqual(Math.min(k.backMs, 3000));
    expect(k.longestDipMs, r.lines.join('\n')).toBeLessThan(1000);
  }, 120_000);

  it('node-removal: its blocks leave IPAM, every kernel and every router within limits; it rejoins', async () => {
    const r = await DRILLS[DrillName.NodeRemoval](l!.file, { ...l!.opts, observeMs: (IPAM_LIMIT_S + 10) * 1000 });
    console.log(r.lines.map((x) => `drill node-removal: ${x}`).join('\n'));
    const rm = r.removal!;
    expect(rm.blocks.length).toBeGreaterThan(0);
    expect(rm.ipamS).toBeLessThan(IPAM_LIMIT_S);
    // A withdraw: below the 9 s hold time (0.6-1.9 s measured on a quiet host; the drill samples
    // IPAM, kernels and routers in one loop, so on a loaded host its figures are as coarse as one
    // uplinkctl start). A plain SIGTERM (graceful restart) would leave them for 120 s.
    expect(rm.kernelsS).toBeLessThan(HOLD_S);
    expect(rm.torsS).toBeLessThan(HOLD_S);
    // The node came back as a new machine: a pod on it is reachable from rack1 again.
    const victim = agents(l!).at(-1)!;
    const back = addPod(l!.file, victim.name, 'again', l!.opts).pod;
    const src = listPods(l!.opts.stateDir!).find((p) => p.node === 'node1')!;
    await pingEventually(src.netns, back.ips[0]!);
  }, 150_000);
});

describe.skipIf(!isRoot || !built)('dualstack-as-per-node lab (eBGP, IPv4 + IPv6): node dies silently', () => {
  let l: LabCtx | undefined;
  beforeAll(async () => {
    l = await labUp('dualstack-as-per-node.yaml');
  }, 90_000);
  afterAll(() => labDown(l), 60_000);

  it('node-removal, silent: every kernel keeps the routes until the ToRs\' hold timers expire, then none does; blocks reclaimed', async () => {
    const as = agents(l!);
    const src = addPod(l!.file, as[0]!.name, 'web1', l!.opts).pod;
    const victim = as.at(-1)!;
    const dst: PodRecord = addPod(l!.file, victim.name, 'web1', l!.opts).pod;
    expect(as[0]!.rack).not.toBe(victim.rack);
    for (const ip of dst.ips) await pingEventually(src.netns, ip);
    // The hold timer has to expire before the restart time starts: allow both plus 6 s of polling,
    // GC interval and BGP propagation through the spines.
    const limitS = HOLD_S + AGENT_RESTART_S + 6;
    const r = await silentRemoval(l!, victim.name, as[0]!.name, 60);
    console.log(`drill node-removal (silent): blocks ${r.blocks.join(' ')}\n` +
      `drill node-removal (silent): still routed by ${r.heldEarly} kernels ${EARLY_S} s after death\n` +
      `drill node-removal (silent): gone from IPAM ${r.ipamS.toFixed(1)} s after node remove\n` +
      `drill node-removal (silent): gone from every other node's and router's kernel ${r.goneS.toFixed(1)} s after death`);
    expect(r.blocks.some((b) => b.includes(':')) && r.blocks.some((b) => !b.includes(':'))).toBe(true);
    expect(r.ipamS).toBeLessThan(IPAM_LIMIT_S);
    // Silent: nobody withdrew, so every kernel kept the routes until a hold timer could expire...
    expect(r.heldEarly).toBe(as.length - 1 + routers(l!).length);
    expect(r.goneS).toBeGreaterThan(EARLY_S);
    // ...and are gone once hold time and restart time have passed.
    expect(r.goneS).toBeLessThan(limitS);
    // Rejoined: a fresh pod on it is reachable over both families.
    const again = addPod(l!.file, victim.name, 'again', l!.opts).pod;
    for (const ip of again.ips) await pingEventually(src.netns, ip);
  }, 180_000);
});
