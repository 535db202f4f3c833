// Failure drills on a running lab. `link`: take one veth end down, measure how long until the BGP
// sessions over it leave Established on every FRR end of the link (read from FRR via vtysh), bring
// it back and measure until they are Established again. With directly connected eBGP, FRR drops
// the session on carrier loss (fast-external-failover) instead of waiting for the hold timer
// (RFC 4271 §10: hold time 9 s in our generated configs), so the figures show which one happened.
import { join } from 'node:path';
import { LabError, LabErrorCode } from './errors.js';
import { vtyshArgs } from './frr-node.js';
import { openLab, type LabOptions } from './runner.js';
import { NodeRole, readState, type NodeState } from './state.js';
import { run } from './sys.js';

export interface LinkDrillResult {
  link: string;
  /** Established sessions per FRR end before the drill. */
  before: Record<string, number>;
  /** ms from link down until that end lost a session. */
  downMs: Record<string, number>;
  /** ms from link up until that end was back to its count. */
  restoreMs: Record<string, number>;
}

interface Summary {
  ipv4Unicast?: { peers?: Record<string, { state?: string }> };
  ipv6Unicast?: { peers?: Record<string, { state?: string }> };
}

function established(n: NodeState): number {
  const out = run('ip', ['netns', 'exec', n.netns, 'vtysh', ...vtyshArgs(join(n.dir, 'frr')), '-c', 'show bgp summary json']);
  const s = JSON.parse(out) as Summary;
  const up = new Set<string>();
  for (const af of [s.ipv4Unicast, s.ipv6Unicast]) for (const [peer, p] of Object.entries(af?.peers ?? {})) if (p.state === 'Established') up.add(peer);
  return up.size;
}

async function until(what: string, probe: () => boolean, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (probe()) return Math.round(performance.now() - t0);
    if (performance.now() - t0 > timeoutMs) throw new LabError(LabErrorCode.Daemon, `drill: timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export async function linkDrill(file: string, endpoint: string, opts: LabOptions & { timeoutMs?: number } = {}): Promise<LinkDrillResult> {
  const lab = openLab(file, opts);
  const state = readState(lab.stateDir);
  if (!state?.complete) throw new LabError(LabErrorCode.NotUp, `${lab.topo.name} is not up`);
  const [node, iface] = endpoint.split(':');
  const link = state.links.find((l) => (l.a.node === node && l.a.iface === iface) || (l.b.node === node && l.b.iface === iface));
  if (!link || !node || !iface) throw new LabError(LabErrorCode.UnknownNode, `no link at ${endpoint}`);
  const ends = [link.a, link.b].map((e) => state.nodes[e.node]!).filter((n) => n.role === NodeRole.Frr);
  const before: Record<string, number> = {};
  for (const n of ends) before[n.name] = established(n);
  const watched = ends.filter((n) => before[n.name]! > 0);
  if (watched.length === 0) throw new LabError(LabErrorCode.Daemon, `drill: no FRR end of ${endpoint} has an Established BGP session to watch`);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ns = lab.netns(node);
  const downMs: Record<string, number> = {};
  const restoreMs: Record<string, number> = {};
  run('ip', ['-n', ns, 'link', 'set', iface, 'down']);
  try {
    await Promise.all(watched.map(async (n) => {
      downMs[n.name] = await until(`${n.name} to lose a session`, () => established(n) < before[n.name]!, timeoutMs);
    }));
  } finally {
    run('ip', ['-n', ns, 'link', 'set', iface, 'up']);
  }
  await Promise.all(watched.map(async (n) => {
    restoreMs[n.name] = await until(`${n.name} to restore ${before[n.name]} sessions`, () => established(n) >= before[n.name]!, timeoutMs);
  }));
  return { link: `${link.a.node}:${link.a.iface} <-> ${link.b.node}:${link.b.iface}`, before, downMs, restoreMs };
}
