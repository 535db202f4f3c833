// Stop and start the programs of one node of a running lab (the drills' "kill a ToR's FRR",
// "restart an agent"), keeping the state file's PID records true so `status`, `up` and `down`
// still see a healthy lab afterwards. Holds the lab's lock while it changes the record.
import { spawnSync } from 'node:child_process';
import { repoRoot } from './roles.js';
import { LabError, LabErrorCode } from './errors.js';
import { openLab, startNode, type LabOptions } from './runner.js';
import { acquireLock, readState, writeState, type NodeState } from './state.js';
import { pidAlive, pidNetns, run } from './sys.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function nodeState(file: string, node: string, opts: LabOptions): { st: NodeState; stateDir: string } {
  const lab = openLab(file, opts);
  const st = readState(lab.stateDir)?.nodes[node];
  if (!st) throw new LabError(LabErrorCode.NotUp, `${node} is not up`);
  return { st, stateDir: lab.stateDir };
}

/** PIDs of the node's recorded programs (optionally only those named). */
export function nodePids(file: string, node: string, opts: LabOptions = {}, names?: string[]): number[] {
  const { st } = nodeState(file, node, opts);
  return st.procs.filter((p) => !names || names.includes(p.name)).filter((p) => pidNetns(p.pid) === p.netnsId).map((p) => p.pid);
}

/** Signal the node's programs (all, or those named) and wait until they are gone. */
export async function stopNode(file: string, node: string, signal: NodeJS.Signals, opts: LabOptions = {}, names?: string[], timeoutMs = 15_000): Promise<void> {
  const { st } = nodeState(file, node, opts);
  const shared = st.procs.find((p) => p.shared && (!names || names.includes(p.name)));
  if (shared) {
    // The process hosts every node's agent: a signal to it would stop them all, not this node's.
    throw new LabError(LabErrorCode.Unsupported, `${node}: its agent shares process ${shared.pid} with every agent of the lab (up --shared-agents); stopping one node's agent needs a lab with one process per agent`);
  }
  const pids = nodePids(file, node, opts, names);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + timeoutMs;
  while (pids.some(pidAlive)) {
    if (Date.now() > deadline) throw new LabError(LabErrorCode.Daemon, `${node}: ${pids.filter(pidAlive).join(', ')} still running ${timeoutMs} ms after ${signal}`);
    await sleep(20);
  }
}

/** Start the node's programs again (after stopNode) and record their new PIDs. */
export async function restartNode(file: string, node: string, opts: LabOptions = {}): Promise<void> {
  const lab = openLab(file, opts);
  const release = acquireLock(lab.stateDir);
  try {
    const state = readState(lab.stateDir);
    const st = state?.nodes[node];
    const n = lab.topo.nodes.find((x) => x.name === node);
    if (!state || !st || !n) throw new LabError(LabErrorCode.NotUp, `${node} is not up`);
    const alive = st.procs.filter((p) => pidAlive(p.pid) && pidNetns(p.pid) === p.netnsId);
    if (alive.length > 0) throw new LabError(LabErrorCode.Daemon, `${node}: ${alive.map((p) => `${p.name}[${p.pid}]`).join(' ')} still running; stop it first`);
    st.procs = [];
    await startNode(n, st, repoRoot(), opts, () => writeState(lab.stateDir, state));
  } finally {
    release();
  }
}

/**
 * Cut a node off the fabric without telling anyone (or undo it): every packet in or out of its
 * namespace except loopback is dropped (iptables and ip6tables), carriers stay up. Killing its
 * programs after this is a node that died: no FIN, no NOTIFICATION ever reaches its peers, so only
 * their hold timers notice (RFC 4271 §6.5). Idempotent in both directions.
 */
export function isolateNode(file: string, node: string, on: boolean, opts: LabOptions = {}): void {
  const { st } = nodeState(file, node, opts);
  const rules = [['INPUT', '!', '-i', 'lo'], ['OUTPUT', '!', '-o', 'lo'], ['FORWARD']];
  for (const bin of ['iptables', 'ip6tables']) {
    for (const r of rules) {
      const present = spawnSync('ip', ['netns', 'exec', st.netns, bin, '-C', ...r, '-j', 'DROP'], { stdio: 'ignore' }).status === 0;
      if (present !== on) run('ip', ['netns', 'exec', st.netns, bin, on ? '-I' : '-D', ...r, '-j', 'DROP']);
    }
  }
}
