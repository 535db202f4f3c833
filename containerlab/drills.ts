// Failure drills on a running agent lab (issue 8's second half, issue 9's BFD drill). Each drill
// runs continuous traffic between pods on two racks (traffic.ts), breaks one thing, restores it,
// and reports what the pods saw. Figures come from the kernel, FRR and ping, never from our notes.
//   tor-link        a dual-homed node's link to one ToR goes down (carrier loss on both ends)
//   tor-kill        every FRR daemon of that ToR is SIGKILLed (no NOTIFICATION; hold timer or BFD)
//   agent-restart   the node's uplinkd gets SIGTERM and is started again (RFC 4724 GR: no loss)
//   router-restart  the ToR's FRR is killed and restarted with graceful restart configured
//   node-removal    a node's agent stops, `uplinkctl node remove` reclaims its blocks everywhere
//                   (--silent: the node dies without a word: isolated, then uplinkd SIGKILLed)
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { agentConfigFile, agentPaths, removeAgentState } from './agent-state.js';
import { LabError, LabErrorCode } from './errors.js';
import { isolateNode, restartNode, stopNode } from './node-control.js';
import { addPod, listPods, type PodRecord } from './pods.js';
import { removePodRecord } from './pod-store.js';
import { openLab, type Lab, type LabOptions } from './runner.js';
import { repoRoot } from './roles.js';
import { NodeRole, readState } from './state.js';
import { run } from './sys.js';
import { Traffic, type FlowResult } from './traffic.js';
import { waitBgp } from './wait.js';

export const DrillName = {
  TorLink: 'tor-link',
  TorKill: 'tor-kill',
  AgentRestart: 'agent-restart',
  RouterRestart: 'router-restart',
  NodeRemoval: 'node-removal',
} as const;
export type DrillName = (typeof DrillName)[keyof typeof DrillName];

export interface DrillOptions extends LabOptions {
  /** How long traffic runs after the fault before the repair (must exceed the 9 s hold time). */
  observeMs?: number;
  /**
   * node-removal: the node dies silently — its namespace drops every packet, then its agent is
   * SIGKILLed (no NOTIFICATION); its routers notice at hold-timer expiry.
   * tor-link / tor-kill: fail silently — the carrier stays up and packets are dropped (iptables in
   * both namespaces), as with a broken optic or a hung switch. Only the BGP hold timer or BFD can
   * notice; without this a link down is seen at once by the kernel and FRR (carrier loss), and a
   * ToR whose FRR died keeps forwarding on its kernel FIB.
   */
  silent?: boolean;
}

export interface DrillResult {
  drill: DrillName;
  /** What was broken, e.g. "node1:eth1 (to tor1a)". */
  target: string;
  /** One line each: "gap 230 ms", ... printed as `drill NAME: LINE`. */
  lines: string[];
  /** Longest loss over all flows, ms (traffic drills). */
  gapMs?: number;
  lost?: number;
  sent?: number;
  flows?: FlowResult[];
  /** node-removal: seconds until the blocks were gone from IPAM, every kernel and every ToR. */
  /** heldEarly (silent only): kernels and routers still routing the blocks SILENT_EARLY_S after the death. */
  removal?: { ipamS: number; kernelsS: number; torsS: number; blocks: string[]; heldEarly?: number };
  /** router-restart: routes via the restarting ToR present in the node's kernel, min during / before. */
  /** Router restart: routes via the ToR before, their lowest count, how long they stayed after the kill, when every session was back, the longest dip. */
  routesKept?: { before: number; minDuring: number; keptMs: number; backMs: number; longestDipMs: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** node-removal --silent samples the kernels this long after the death: well inside the 9 s hold time. */
const SILENT_EARLY_S = 3;

interface Scene {
  lab: Lab;
  file: string;
  opts: DrillOptions;
  /** The node under test (first node of the first rack) and its first ToR. */
  node: string;
  iface: string;
  tor: string;
  /** Every link of the node to a router. */
  uplinks: Array<{ iface: string; tor: string }>;
  src: PodRecord;
  targets: string[];
}

function rackOf(lab: Lab, node: string): string {
  const n = lab.topo.nodes.find((x) => x.name === node);
  return n?.labels['uplink.dev/rack'] ?? '';
}

/** Pods: one on the drilled node, two on each node of the last rack; paths checked by one ping each. */
async function scene(file: string, opts: DrillOptions): Promise<Scene> {
  const lab = openLab(file, opts);
  const state = readState(lab.stateDir);
  if (!state?.complete) throw new LabError(LabErrorCode.NotUp, `${lab.topo.name} is not up`);
  const agents = lab.topo.nodes.filter((n) => state.nodes[n.name]?.role === NodeRole.Agent).map((n) => n.name);
  const racks = [...new Set(agents.map((n) => rackOf(lab, n)))];
  if (agents.length < 2 || racks.length < 2) throw new LabError(LabErrorCode.BadTopology, 'drills need agent nodes on at least two racks');
  const node = agents.find((n) => rackOf(lab, n) === racks[0])!;
  const far = agents.filter((n) => rackOf(lab, n) === racks.at(-1));
  const frr = (n: string): boolean => state.nodes[n]?.role === NodeRole.Frr;
  const uplinks = lab.topo.links
    .map((l) => (l.a.node === node && frr(l.b.node) ? { iface: l.a.iface, tor: l.b.node } : l.b.node === node && frr(l.a.node) ? { iface: l.b.iface, tor: l.a.node } : undefined))
    .filter((x) => x !== undefined);
  const up = uplinks[0];
  if (!up) throw new LabError(LabErrorCode.BadTopology, `${node} has no link to a router`);
  // Every session Established = every agent is running and serving its CNI socket.
  await waitBgp(file, opts, 90_000);
  const src = addPod(file, node, 'web1', opts).pod;
  const targets: string[] = [];
  for (const n of far) for (const p of ['web1', 'web2']) targets.push(...addPod(file, n, p, opts).pod.ips.filter((ip) => !ip.includes(':')));
  for (const t of targets) await reachable(src.netns, t, 30_000);
  return { lab, file, opts, node, iface: up.iface, tor: up.tor, uplinks, src, targets };
}

async function reachable(netns: string, ip: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (run('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', ip], { allowFail: true }).includes(' 0% packet loss')) return;
    if (Date.now() > deadline) throw new LabError(LabErrorCode.Daemon, `${ip} unreachable from ${netns} after ${timeoutMs} ms`);
    await sleep(300);
  }
}

/**
 * Drills that stop one node's agent need one process per agent: in a lab built with --shared-agents
 * a signal to the agent process stops every node's agent (containerlab/shared-agents.ts).
 */
function refuseSharedAgents(file: string, drill: DrillName, opts: DrillOptions): void {
  const state = readState(openLab(file, opts).stateDir);
  if (state?.sharedAgents) {
    throw new LabError(LabErrorCode.Unsupported, `drill ${drill} stops one node's agent: it needs a lab with one process per agent (up without --shared-agents)`);
  }
}

/** Run `fault` under traffic, keep traffic `observeMs` after it, then `repair`; summarise the flows. */
async function underTraffic(s: Scene, fault: () => Promise<void>, observeMs: number, repair: () => Promise<void>): Promise<Pick<DrillResult, 'gapMs' | 'lost' | 'sent' | 'flows'>> {
  const traffic = new Traffic(s.src.netns, s.targets);
  let flows: FlowResult[];
  try {
    await sleep(1000);
    await fault();
    await sleep(observeMs);
    flows = await traffic.stop();
  } catch (err) {
    traffic.kill();
    await repair().catch(() => undefined);
    throw err;
  }
  await repair();
  return {
    flows,
    gapMs: Math.max(0, ...flows.map((f) => f.gapMs)),
    lost: flows.reduce((a, f) => a + f.lost, 0),
    sent: flows.reduce((a, f) => a + f.sent, 0),
  };
}

const bfdOn = (s: Scene): boolean => {
  const n = s.lab.topo.nodes.find((x) => x.name === s.node);
  const cfg = n ? agentConfigFile(n) : undefined;
  return cfg !== undefined && /^\s+bfd:/m.test(run('cat', [cfg]));
};

const trafficLines = (s: Scene, r: Pick<DrillResult, 'gapMs' | 'lost' | 'sent' | 'flows'>): string[] => {
  const dead = (r.flows ?? []).filter((f) => !f.recovered).map((f) => f.target);
  return [
    `gap ${r.gapMs} ms (longest loss over ${r.flows?.length ?? 0} flows ${s.src.node}/${s.src.name} -> ${s.targets.length} pods on the far rack, ping -i 0.01; BFD ${bfdOn(s) ? 'on' : 'off'})`,
    `lost ${r.lost} of ${r.sent} packets`,
    ...(dead.length ? [`NOT recovered when traffic stopped: ${dead.join(' ')} (the gap is a lower bound)`] : []),
  ];
};

/**
 * Before a ToR fault: every ToR of the node must route the source pod towards the node. Otherwise the
 * drill measures an outage that already exists: issue 9's "steady 1.8 s" was a ToR whose path to the
 * node had been left unselected by FRR's graceful-restart selection deferral after the previous
 * drill's session reset, so losing the other ToR cut the node off completely.
 */
async function everyTorRoutesToNode(s: Scene, timeoutMs = 30_000): Promise<void> {
  const ip = s.src.ips.find((x) => !x.includes(':'));
  if (!ip) return;
  const missing = (): string[] =>
    s.uplinks
      .filter((u) => {
        const torIface = peerIface(s.lab, s.node, u.iface).iface;
        const out = run('ip', ['-j', '-n', s.lab.netns(u.tor), 'route', 'get', ip], { allowFail: true });
        const r = out.trim() ? (JSON.parse(out) as Array<{ dev?: string }>) : [];
        return r[0]?.dev !== torIface;
      })
      .map((u) => u.tor);
  for (const t0 = Date.now(); ; await sleep(200)) {
    const m = missing();
    if (m.length === 0) return;
    if (Date.now() - t0 > timeoutMs) throw new LabError(LabErrorCode.Daemon, `drill: ${m.join(', ')} still route(s) ${ip} (${s.node}) elsewhere after ${timeoutMs} ms; the fabric has not healed from an earlier fault`);
  }
}

function packets(ns: string, iface: string): number {
  const j = JSON.parse(run('ip', ['-j', '-s', '-n', ns, 'link', 'show', 'dev', iface])) as Array<{ stats64?: { rx?: { packets: number }; tx?: { packets: number } } }>;
  return (j[0]?.stats64?.rx?.packets ?? 0) + (j[0]?.stats64?.tx?.packets ?? 0);
}

/**
 * The node's uplink that carries most of the running traffic (packet counters over 500 ms), made
 * the scene's target: ECMP may hash every test flow onto one ToR, and breaking the idle one would
 * measure nothing.
 */
async function busiestUplink(s: Scene): Promise<void> {
  const ns = s.lab.netns(s.node);
  const a = s.uplinks.map((u) => packets(ns, u.iface));
  await sleep(500);
  const d = s.uplinks.map((u, i) => packets(ns, u.iface) - a[i]!);
  const best = s.uplinks[d.indexOf(Math.max(...d))]!;
  s.iface = best.iface;
  s.tor = best.tor;
}

/** Drop everything through `iface` (all non-loopback interfaces when undefined) in `ns`, or undo it. */
function blackhole(ns: string, iface: string | undefined, on: boolean): void {
  const rules = iface
    ? [['INPUT', '-i', iface], ['OUTPUT', '-o', iface], ['FORWARD', '-i', iface], ['FORWARD', '-o', iface]]
    : [['INPUT', '!', '-i', 'lo'], ['OUTPUT', '!', '-o', 'lo'], ['FORWARD']];
  for (const bin of ['iptables', 'ip6tables']) {
    for (const r of rules) run('ip', ['netns', 'exec', ns, bin, on ? '-I' : '-D', r[0]!, ...r.slice(1), '-j', 'DROP'], { allowFail: !on });
  }
}

/** The interface of `peer` on the link between `node:iface` and it. */
function peerIface(lab: Lab, node: string, iface: string): { node: string; iface: string } {
  const l = lab.topo.links.find((x) => (x.a.node === node && x.a.iface === iface) || (x.b.node === node && x.b.iface === iface))!;
  return l.a.node === node ? l.b : l.a;
}

export async function torLinkDrill(file: string, opts: DrillOptions = {}): Promise<DrillResult> {
  const s = await scene(file, opts);
  await everyTorRoutesToNode(s);
  const ns = s.lab.netns(s.node);
  const set = (on: boolean): void => {
    const far = peerIface(s.lab, s.node, s.iface);
    if (opts.silent) {
      blackhole(ns, s.iface, on);
      blackhole(s.lab.netns(far.node), far.iface, on);
    } else run('ip', ['-n', ns, 'link', 'set', s.iface, on ? 'down' : 'up']);
  };
  const r = await underTraffic(s, async () => {
    await busiestUplink(s);
    set(true);
  }, opts.observeMs ?? 12_000, async () => {
    set(false);
    await waitBgp(file, opts, 90_000);
  });
  const how = opts.silent ? 'silent: carrier up, packets dropped' : 'link down';
  return { drill: DrillName.TorLink, target: `${s.node}:${s.iface} to ${s.tor} (${how})`, lines: trafficLines(s, r), ...r };
}

export async function torKillDrill(file: string, opts: DrillOptions = {}): Promise<DrillResult> {
  const s = await scene(file, opts);
  await everyTorRoutesToNode(s);
  let torNs = '';
  const r = await underTraffic(
    s,
    async () => {
      await busiestUplink(s);
      torNs = s.lab.netns(s.tor);
      if (opts.silent) blackhole(torNs, undefined, true);
      await stopNode(file, s.tor, 'SIGKILL', opts);
    },
    opts.observeMs ?? 12_000,
    async () => {
      if (opts.silent) blackhole(torNs, undefined, false);
      await restartNode(file, s.tor, opts);
      await waitBgp(file, opts, 90_000);
    },
  );
  const how = opts.silent ? 'and its forwarding stopped' : 'its kernel FIB still forwards';
  return { drill: DrillName.TorKill, target: `${s.tor}: every FRR daemon SIGKILLed, ${how}`, lines: trafficLines(s, r), ...r };
}

export async function agentRestartDrill(file: string, opts: DrillOptions = {}): Promise<DrillResult> {
  refuseSharedAgents(file, DrillName.AgentRestart, opts);
  const s = await scene(file, opts);
  const r = await underTraffic(
    s,
    async () => {
      await stopNode(file, s.node, 'SIGTERM', opts, ['agent']);
      await restartNode(file, s.node, opts);
      await waitBgp(file, opts, 60_000);
    },
    opts.observeMs ?? 3000,
    async () => undefined,
  );
  return { drill: DrillName.AgentRestart, target: `${s.node} uplinkd (SIGTERM, start)`, lines: trafficLines(s, r), ...r };
}

/** Kernel routes of `node` (proto 77 = uplink) with a next hop through `iface`. */
function routesVia(s: Scene, iface: string): number {
  const out = run('ip', ['-j', '-n', s.lab.netns(s.node), 'route', 'show', 'proto', '77'], { allowFail: true });
  const routes = out.trim() ? (JSON.parse(out) as Array<{ dev?: string; nexthops?: Array<{ dev?: string }> }>) : [];
  return routes.filter((r) => r.dev === iface || (r.nexthops ?? []).some((n) => n.dev === iface)).length;
}

export async function routerRestartDrill(file: string, opts: DrillOptions = {}): Promise<DrillResult> {
  const s = await scene(file, opts);
  const warm = new Traffic(s.src.netns, s.targets);
  try {
    await busiestUplink(s);
  } finally {
    await warm.stop();
  }
  // A previous fault (another drill) may still be healing: sessions come back Established before
  // their routes are re-learned, so wait until the ToR under test carries routes again.
  for (let t0 = Date.now(); routesVia(s, s.iface) === 0 && Date.now() - t0 < 30_000; ) await sleep(200);
  const before = routesVia(s, s.iface);
  // Sampled every 50 ms: how long the routes via the ToR stayed after the kill (RFC 4724 §4.2: a helper
  // keeps them stale), and the longest stretch with fewer. A restarted FRR may send End-of-RIB before
  // the routes it re-learns from the spines (seen: 100 ms early), and a helper must then drop what is
  // still stale: a short dip after the ToR is back, not a loss while it is down.
  let minDuring = before;
  let killedAt = 0;
  let firstDipAt = 0;
  let dipStart = 0;
  let longestDipMs = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const n = routesVia(s, s.iface);
      const t = Date.now();
      minDuring = Math.min(minDuring, n);
      if (n < before) {
        if (!dipStart) dipStart = t;
        if (killedAt && !firstDipAt) firstDipAt = t;
        longestDipMs = Math.max(longestDipMs, t - dipStart);
      } else if (dipStart) {
        longestDipMs = Math.max(longestDipMs, t - dipStart);
        dipStart = 0;
      }
      await sleep(50);
    }
  })();
  let r: Awaited<ReturnType<typeof underTraffic>>;
  let backAt = 0;
  try {
    r = await underTraffic(
      s,
      async () => {
        // SIGKILL: the restarting speaker sends no NOTIFICATION, so its peers keep its routes as
        // stale (RFC 4724 §4.2) and zebra -K keeps the ToR's own kernel routes until bgpd is back.
        killedAt = Date.now();
        await stopNode(file, s.tor, 'SIGKILL', opts);
        await restartNode(file, s.tor, opts);
        await waitBgp(file, opts, 90_000);
        backAt = Date.now();
      },
      opts.observeMs ?? 3000,
      async () => undefined,
    );
  } finally {
    sampling = false;
    await sampler;
  }
  const keptMs = (firstDipAt || backAt || Date.now()) - killedAt;
  const lines = [
    ...trafficLines(s, r),
    `routes via ${s.tor} in ${s.node}'s kernel: ${before} before, kept ${keptMs} ms after the kill (sessions all back after ${backAt - killedAt} ms)`,
    `routes via ${s.tor}: longest dip ${longestDipMs} ms (lowest ${minDuring})`,
  ];
  return { drill: DrillName.RouterRestart, target: `${s.tor} FRR (killed, restarted; graceful restart)`, lines, routesKept: { before, minDuring, keptMs, backMs: backAt - killedAt, longestDipMs }, ...r };
}

/** Blocks of the last node of the last rack, and when they vanished from IPAM, kernels and ToRs. */
export async function nodeRemovalDrill(file: string, opts: DrillOptions = {}): Promise<DrillResult> {
  refuseSharedAgents(file, DrillName.NodeRemoval, opts);
  const s = await scene(file, opts);
  const state = readState(s.lab.stateDir)!;
  const agents = s.lab.topo.nodes.filter((n) => state.nodes[n.name]?.role === NodeRole.Agent);
  const victim = agents.at(-1)!;
  const observer = agents.find((n) => n.name !== victim.name)!;
  const obsPaths = agentPaths(agentConfigFile(observer)!);
  const ctl = (...args: string[]): string =>
    execFileSync(process.execPath, [join(repoRoot(), 'dist', 'uplinkctl', 'main.js'), '-c', obsPaths.config, '-s', obsPaths.controlSocket ?? '', '-o', 'json', ...args], { encoding: 'utf8', timeout: 30_000 });
  const ipamBlocks = (): Array<{ cidr: string; affinity?: string }> => (JSON.parse(ctl('ipam', 'show')) as { blocks: Array<{ cidr: string; affinity?: string }> }).blocks;
  const blocks = ipamBlocks().filter((b) => b.affinity === victim.name).map((b) => b.cidr);
  if (blocks.length === 0) throw new LabError(LabErrorCode.Daemon, `${victim.name} has no block to reclaim`);
  const others = agents.filter((n) => n.name !== victim.name).map((n) => s.lab.netns(n.name));
  const tors = Object.values(state.nodes).filter((n) => n.role === NodeRole.Frr).map((n) => n.name);
  const inKernel = (ns: string): boolean => {
    const out = run('ip', ['-j', '-n', ns, 'route', 'show'], { allowFail: true });
    const dsts = new Set((out.trim() ? (JSON.parse(out) as Array<{ dst: string }>) : []).map((r) => r.dst));
    return blocks.some((b) => dsts.has(b));
  };
  const inTor = (tor: string): boolean => {
    const out = execFileSync('ip', ['netns', 'exec', s.lab.netns(tor), 'vtysh', '--vty_socket', join(state.nodes[tor]!.dir, 'frr'), '-c', 'show ip route json'], { encoding: 'utf8' });
    const routes = JSON.parse(out) as Record<string, unknown>;
    return blocks.some((b) => b in routes);
  };

  const done: Record<'ipam' | 'kernels' | 'tors', number | undefined> = { ipam: undefined, kernels: undefined, tors: undefined };
  const limitS = (opts.observeMs ?? 60_000) / 1000;
  let t0 = performance.now();
  /** Silent: kernels and routers still routing the blocks SILENT_EARLY_S after the death. */
  let heldEarly: number | undefined;
  try {
    if (opts.silent) {
      // The node dies without a word: nothing leaves its namespace from now on (so the routers' hold
      // timers run from the last KEEPALIVE before this), then its agent is SIGKILLed: no FIN, no
      // NOTIFICATION. Only hold-timer expiry (RFC 4271 §6.5) or BFD tells the routers.
      t0 = performance.now();
      isolateNode(file, victim.name, true, opts);
      await stopNode(file, victim.name, 'SIGKILL', opts, ['agent']);
    } else {
      // A decommission, not a restart: the agent closes its sessions with a NOTIFICATION so the
      // routers withdraw its blocks at once (a plain SIGTERM is a graceful restart: they would keep
      // them as stale for the advertised restart time, RFC 4724 §4.2). Then wait for the process.
      const victimPaths0 = agentPaths(agentConfigFile(victim)!);
      execFileSync(process.execPath, [join(repoRoot(), 'dist', 'uplinkctl', 'main.js'), '-s', victimPaths0.controlSocket ?? '', '-o', 'json', 'shutdown', '--withdraw'], { encoding: 'utf8', timeout: 30_000 });
      await stopNode(file, victim.name, 'SIGTERM', opts, ['agent']);
      t0 = performance.now();
    }
    ctl('node', 'remove', victim.name);
    const deadline = t0 + limitS * 1000;
    while (Object.values(done).some((v) => v === undefined)) {
      const t = (performance.now() - t0) / 1000;
      if (done.ipam === undefined && !ipamBlocks().some((b) => blocks.includes(b.cidr) && b.affinity === victim.name)) done.ipam = t;
      if (done.kernels === undefined && !others.some(inKernel)) done.kernels = t;
      if (done.tors === undefined && !tors.some(inTor)) done.tors = t;
      if (opts.silent && heldEarly === undefined && t >= SILENT_EARLY_S) heldEarly = others.filter(inKernel).length + tors.filter(inTor).length;
      if (performance.now() > deadline) break;
      await sleep(200);
    }
  } finally {
    if (opts.silent) isolateNode(file, victim.name, false, opts);
  }
  // Put the lab back: the removed node's pods are gone with its blocks; its agent starts afresh.
  // A removed node that rejoins is a re-provisioned machine: its agent starts from an empty state
  // dir (the shared datastore stays). Reusing the old state dir leaves the rejoined agent with
  // attachment records for a block the GC reclaimed, and it advertises nothing.
  for (const p of listPods(s.lab.stateDir).filter((x) => x.node === victim.name)) removePodRecord(s.lab.stateDir, p);
  const victimPaths = agentPaths(agentConfigFile(victim)!);
  removeAgentState({ config: victimPaths.config, ...(victimPaths.stateDir ? { stateDir: victimPaths.stateDir } : {}) });
  await restartNode(file, victim.name, opts);
  await waitBgp(file, opts, 90_000);
  const fmt = (v: number | undefined): string => (v === undefined ? `NOT within ${limitS} s` : `${v.toFixed(1)} s`);
  const removal = { ipamS: done.ipam ?? Infinity, kernelsS: done.kernels ?? Infinity, torsS: done.tors ?? Infinity, blocks, ...(heldEarly !== undefined ? { heldEarly } : {}) };
  const since = opts.silent ? 'its death' : 'node remove';
  const lines = [`blocks ${blocks.join(' ')}`];
  if (opts.silent) lines.push(`still routed by ${heldEarly ?? '?'} of ${others.length + tors.length} other nodes' and routers' kernels ${SILENT_EARLY_S} s after its death (hold timers not yet expired)`);
  lines.push(`gone from IPAM ${fmt(done.ipam)} after ${since}`, `gone from every other node's kernel ${fmt(done.kernels)} after ${since}`, `gone from every router ${fmt(done.tors)} after ${since}`);
  return {
    drill: DrillName.NodeRemoval,
    target: opts.silent
      ? `${victim.name} (died silently: every packet dropped, uplinkd SIGKILLed; uplinkctl node remove)`
      : `${victim.name} (uplinkctl shutdown --withdraw, uplinkctl node remove)`,
    lines,
    removal,
  };
}

export const DRILLS: Record<DrillName, (file: string, opts?: DrillOptions) => Promise<DrillResult>> = {
  [DrillName.TorLink]: torLinkDrill,
  [DrillName.TorKill]: torKillDrill,
  [DrillName.AgentRestart]: agentRestartDrill,
  [DrillName.RouterRestart]: routerRestartDrill,
  [DrillName.NodeRemoval]: nodeRemovalDrill,
};
