// Readiness of a running lab, read from the routers themselves: every BGP neighbour configured on
// every FRR node is Established (`show bgp summary json`), so the fabric and the agents' sessions
// to their ToRs are all up. Used by scripts/lab.sh, the drills and the tests.
import { join } from 'node:path';
import { LabError, LabErrorCode } from './errors.js';
import { vtyshArgs } from './frr-node.js';
import { openLab, type LabOptions } from './runner.js';
import { NodeRole, readState, type NodeState } from './state.js';
import { run } from './sys.js';

interface Summary {
  ipv4Unicast?: { peers?: Record<string, { state?: string }> };
  ipv6Unicast?: { peers?: Record<string, { state?: string }> };
}

/** Peer -> state for one FRR node (IPv4 and IPv6 unicast merged; Established wins). */
export function frrPeerStates(n: NodeState): Map<string, string> {
  const out = run('ip', ['netns', 'exec', n.netns, 'vtysh', ...vtyshArgs(join(n.dir, 'frr')), '-c', 'show bgp summary json'], { allowFail: true });
  const states = new Map<string, string>();
  if (!out.trim()) return states;
  const s = JSON.parse(out) as Summary;
  for (const af of [s.ipv4Unicast, s.ipv6Unicast]) {
    for (const [peer, p] of Object.entries(af?.peers ?? {})) if (states.get(peer) !== 'Established') states.set(peer, p.state ?? '?');
  }
  return states;
}

/** Sessions not Established, as "tor1a: 10.255.0.9 Active"; empty when the fabric is converged. */
export function bgpProblems(file: string, opts: LabOptions = {}): string[] {
  const lab = openLab(file, opts);
  const state = readState(lab.stateDir);
  if (!state?.complete) return ['lab is not up'];
  const problems: string[] = [];
  for (const n of Object.values(state.nodes)) {
    if (n.role !== NodeRole.Frr) continue;
    const peers = frrPeerStates(n);
    if (peers.size === 0) problems.push(`${n.name}: no BGP summary`);
    for (const [peer, st] of peers) if (st !== 'Established') problems.push(`${n.name}: ${peer} ${st}`);
  }
  return problems;
}

export async function waitBgp(file: string, opts: LabOptions = {}, timeoutMs = 90_000): Promise<number> {
  const t0 = performance.now();
  let last: string[] = [];
  while (performance.now() - t0 < timeoutMs) {
    last = bgpProblems(file, opts);
    if (last.length === 0) return Math.round(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new LabError(LabErrorCode.Daemon, `BGP not converged after ${timeoutMs} ms: ${last.slice(0, 8).join('; ')}`);
}
