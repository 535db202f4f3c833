// Builds a containerlab topology out of network namespaces and veths, runs each node's programs
// inside its namespace, and tears it all down again.
//
// Idempotence: `up` compares the recorded state (hash of the inputs, namespaces, links, PIDs)
// with the kernel. A complete, healthy lab built from the same inputs is left alone; anything else
// (a crash or Ctrl-C halfway, a dead daemon, an edited config) is torn down and rebuilt from scratch.
// Rebuilding is simpler to get right than repairing in place and takes a few seconds.
// Cancellation: `up` checks its AbortSignal between steps; on abort or on any error it tears down
// what it made (known from the state file, written after each step) and rethrows.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { logger } from '../lib/log.js';
import { loadLabTopology, namespaceName, type LabNode, type LabTopology } from './clab-file.js';
import { LabError, LabErrorCode } from './errors.js';
import { agentConfigFile, agentPaths, removeAgentState, type AgentPaths } from './agent-state.js';
import { birdSocket, startBirdNode } from './bird-node.js';
import { removePodNamespaces } from './pod-store.js';
import { startFrrNode, vtyshArgs } from './frr-node.js';
import { agentCommand, classify, repoRoot, type AgentLaunch, DEFAULT_AGENTS } from './roles.js';
import { splitWords } from './shell-words.js';
import { startSharedAgents } from './shared-agents.js';
import { acquireLock, defaultStateDir, NodeRole, readState, writeState, type LabState, type NodeState } from './state.js';
import { killPid, netnsAdd, netnsDelete, netnsExists, netnsPids, pidAlive, pidNetns, run, startInNetns, tail } from './sys.js';

const log = logger('lab');

export interface LabOptions {
  /** Overrides the file's `prefix` (tests use their own, e.g. "ull1a2b3c"). */
  prefix?: string;
  /** Defaults to /run/uplink-lab/<lab>. */
  stateDir?: string;
  agents?: AgentLaunch[];
  signal?: AbortSignal;
  /** Per-daemon readiness timeout. */
  timeoutMs?: number;
  /**
   * Node.js/V8 flags put before the agent's script when the agent runs under this Node binary
   * (e.g. LEAN_AGENT_FLAGS for labs of many agents on one host).
   */
  agentNodeFlags?: readonly string[];
  /**
   * Every agent node's uplinkd in one process on the host, each agent in its node's namespace
   * (containerlab/shared-agents.ts): for labs of many nodes. Drills that stop or restart one node's
   * agent need separate processes (the default) and refuse a shared lab.
   */
  sharedAgents?: boolean;
}

/**
 * Flags that trade agent CPU for memory in labs of many agents on one host. Measured on the default
 * lab (4 agents, a pod each): 128-145 MiB RSS per agent without them, 94-97 MiB with them.
 *  --max-semi-space-size=1  a 1 MiB young generation instead of up to 16 MiB per semi-space: the
 *                           agent allocates little per event, so scavenges stay cheap (-20 MiB)
 *  --lite-mode              no optimizing compiler and its code (-15 MiB); the agent's hot paths are
 *                           I/O bound (netlink, BGP sockets), not JavaScript compute
 */
export const LEAN_AGENT_FLAGS = ['--max-semi-space-size=1', '--lite-mode'] as const;

export interface Lab {
  topo: LabTopology;
  stateDir: string;
  netns(node: string): string;
}

export function openLab(file: string, opts: LabOptions = {}): Lab {
  const parsed = loadLabTopology(file);
  const topo = opts.prefix !== undefined ? { ...parsed, prefix: opts.prefix } : parsed;
  const stateDir = opts.stateDir ?? defaultStateDir(topo.name);
  return { topo, stateDir, netns: (node) => namespaceName(topo, node) };
}

/** sha256 over the topology file and every bound host file (so an edited frr.conf rebuilds). */
function inputsHash(file: string, topo: LabTopology): string {
  const h = createHash('sha256');
  h.update(readFileSync(file));
  h.update(topo.prefix ?? '<clab>');
  for (const n of topo.nodes) {
    for (const b of n.binds) {
      h.update(`${n.name}:${b.host}:${b.container}`);
      if (existsSync(b.host)) h.update(readFileSync(b.host));
    }
  }
  return h.digest('hex');
}

/** Problems that make a recorded lab unhealthy; empty = healthy. Reads the kernel, not our notes. */
export function healthProblems(lab: Lab, state: LabState): string[] {
  const problems: string[] = [];
  if (!state.complete) problems.push('previous up did not complete');
  for (const n of lab.topo.nodes) {
    const ns = state.nodes[n.name];
    if (!ns) {
      problems.push(`${n.name}: not recorded`);
      continue;
    }
    if (!netnsExists(ns.netns)) problems.push(`${n.name}: namespace ${ns.netns} missing`);
    for (const p of ns.procs) {
      if (!pidAlive(p.pid) || pidNetns(p.pid) !== p.netnsId) problems.push(`${n.name}: ${p.name} (pid ${p.pid}) not running`);
    }
  }
  for (const l of state.links) {
    for (const ep of [l.a, l.b]) {
      const ns = lab.netns(ep.node);
      if (netnsExists(ns) && run('ip', ['-n', ns, 'link', 'show', 'dev', ep.iface], { allowFail: true }) === '') {
        problems.push(`link ${ep.node}:${ep.iface} missing`);
      }
    }
  }
  return problems;
}

/** Agents started concurrently by `up` (see build()). */
const AGENT_STARTS_AT_ONCE = 8;

export type UpResult = { action: 'unchanged' } | { action: 'built'; rebuilt: boolean; reasons: string[] };

export async function up(file: string, opts: LabOptions = {}): Promise<UpResult> {
  const lab = openLab(file, opts);
  const release = acquireLock(lab.stateDir);
  try {
    return await build(file, lab, opts);
  } finally {
    release();
  }
}

async function build(file: string, lab: Lab, opts: LabOptions): Promise<UpResult> {
  const hash = inputsHash(file, lab.topo);
  const roles = new Map(lab.topo.nodes.map((n) => [n.name, classify(n, opts.agents)] as const));
  const previous = readState(lab.stateDir);
  let reasons: string[] = [];
  if (previous) {
    reasons = previous.hash !== hash ? ['inputs changed']
      : (previous.sharedAgents ?? false) !== (opts.sharedAgents ?? false) ? [`agents ${opts.sharedAgents ? 'to share one process' : 'to run one process each'}`]
        : healthProblems(lab, previous);
    if (reasons.length === 0) return { action: 'unchanged' };
    log.info({ lab: lab.topo.name, reasons }, 'rebuilding lab');
  }
  // Also clears namespaces with our names that no state file knows of (left by a run that used
  // another --state-dir, or whose state dir was removed by hand).
  await teardown(lab);
  const rebuilt = previous !== undefined;

  const state: LabState = { lab: lab.topo.name, file, hash, complete: false, nodes: {}, links: [], ignored: lab.topo.ignored, ...(opts.sharedAgents ? { sharedAgents: true } : {}) };
  const save = (): void => writeState(lab.stateDir, state);
  const check = (): void => {
    if (opts.signal?.aborted) throw new LabError(LabErrorCode.Interrupted, `up of ${lab.topo.name} interrupted`);
  };
  try {
    save();
    for (const n of lab.topo.nodes) {
      check();
      const netns = lab.netns(n.name);
      const dir = join(lab.stateDir, n.name);
      mkdirSync(dir, { recursive: true });
      state.nodes[n.name] = { name: n.name, netns, role: roles.get(n.name)!, dir, procs: [], skipped: [], execDone: false };
      save();
      netnsAdd(netns);
      // Routers forward; containerlab's FRR and BIRD images run with forwarding on. Hosts too:
      // a namespace starts with forwarding off, and a host that forwards harms nothing in a lab.
      run('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1']);
    }
    for (const l of lab.topo.links) {
      check();
      makeVeth(lab, l.a.node, l.a.iface, l.b.node, l.b.iface, l.mtu);
      state.links.push(l);
      save();
    }
    const repo = repoRoot();
    const startOne = async (n: LabNode): Promise<void> => {
      check();
      const ns = state.nodes[n.name]!;
      await startNode(n, ns, repo, opts, save);
      check();
      runExec(n, ns);
      ns.execDone = true;
      save();
    };
    // Routers first, one by one, in file order (as before). Agents then start AGENT_STARTS_AT_ONCE
    // at a time: each start is mostly waiting (Node loading the agent, the 300 ms liveness check),
    // so a 50-agent lab comes up in a fraction of the sequential time. A failure still tears down
    // everything (the state file knows every PID recorded so far).
    for (const n of lab.topo.nodes) if (roles.get(n.name) !== NodeRole.Agent) await startOne(n);
    const agents = lab.topo.nodes.filter((n) => roles.get(n.name) === NodeRole.Agent);
    if (opts.sharedAgents) {
      // One process for every agent. The agent nodes' exec steps (the generated labs' addresses and
      // routes) run before it, not after: in-process agents start within milliseconds, and one
      // whose first BGP connect finds no address waits out connectRetry (30 s) before the next.
      for (const n of agents) {
        check();
        const ns = state.nodes[n.name]!;
        runExec(n, ns);
        ns.execDone = true;
        save();
      }
      await startSharedAgents({
        nodes: agents.map((n) => ({ node: n, state: state.nodes[n.name]! })),
        repo,
        logFile: join(lab.stateDir, 'agents.out'),
        ...(opts.agents ? { agents: opts.agents } : {}),
        ...(opts.agentNodeFlags ? { nodeFlags: opts.agentNodeFlags } : {}),
        ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
        ...(opts.signal ? { signal: opts.signal } : {}),
        record: (p) => {
          for (const n of agents) state.nodes[n.name]!.procs.push(p);
          save();
        },
      });
    }
    const separate = opts.sharedAgents ? [] : agents;
    for (let i = 0; i < separate.length; i += AGENT_STARTS_AT_ONCE) {
      const batch = await Promise.allSettled(separate.slice(i, i + AGENT_STARTS_AT_ONCE).map(startOne));
      const failed = batch.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    state.complete = true;
    save();
    return { action: 'built', rebuilt, reasons };
  } catch (err) {
    log.warn({ lab: lab.topo.name, err: (err as Error).message }, 'up failed; tearing down what was built');
    await teardown(lab);
    throw err;
  }
}

function makeVeth(lab: Lab, aNode: string, aIf: string, bNode: string, bIf: string, mtu: number): void {
  // Both ends are created directly in their namespaces under their final names (the kernel creates
  // each end in the namespace given by IFLA_NET_NS_FD), so names that repeat across nodes (eth1, ...)
  // never meet in the host namespace, and a failure leaves no half-moved pair behind.
  const [aNs, bNs] = [lab.netns(aNode), lab.netns(bNode)];
  run('ip', ['link', 'add', aIf, 'netns', aNs, 'mtu', String(mtu), 'type', 'veth', 'peer', 'name', bIf, 'netns', bNs, 'mtu', String(mtu)]);
  run('ip', ['-n', aNs, 'link', 'set', aIf, 'up']);
  run('ip', ['-n', bNs, 'link', 'set', bIf, 'up']);
}

/** Start the programs of one node (its role decides which) and record their PIDs via `save`. */
export async function startNode(n: LabNode, ns: NodeState, repo: string, opts: LabOptions, save: () => void): Promise<void> {
  const record = (p: NodeState['procs'][number]): void => {
    ns.procs.push(p);
    save();
  };
  switch (ns.role) {
    case NodeRole.Frr: {
      const r = await startFrrNode(n, ns.netns, join(ns.dir, 'frr'), record, opts.timeoutMs, opts.signal);
      ns.skipped = r.skipped;
      save();
      return;
    }
    case NodeRole.Bird:
      return startBirdNode(n, ns.netns, join(ns.dir, 'bird'), record, opts.timeoutMs, opts.signal);
    case NodeRole.Agent: {
      const launch = agentCommand(n, repo, opts.agents ?? DEFAULT_AGENTS);
      const { cmd } = launch;
      const args = cmd === process.execPath && opts.agentNodeFlags ? [...opts.agentNodeFlags, ...launch.args] : launch.args;
      const logFile = join(ns.dir, 'agent.out');
      const pid = startInNetns(ns.netns, cmd, args, logFile, n.env);
      await new Promise((r) => setTimeout(r, 300));
      record({ name: 'agent', pid, netnsId: pidNetns(pid) ?? '', log: logFile });
      if (!pidAlive(pid)) throw new LabError(LabErrorCode.Daemon, `${n.name}: agent exited at start\n${tail(logFile)}`);
      return;
    }
    case NodeRole.Plain:
      if (n.binds.length > 0) log.info({ node: n.name }, 'binds of plain linux nodes are not mounted (no mount namespace); exec steps see host paths');
      return;
  }
}

function ipBatch(netns: string, lines: string[], env: NodeJS.ProcessEnv): void {
  try {
    execFileSync('ip', ['-n', netns, '-batch', '-'], { input: `${lines.join('\n')}\n`, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env, timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new LabError(LabErrorCode.Command, `ip -n ${netns} -batch: ${(e.stderr || e.message).trim()}\n  ${lines.join('\n  ')}`, { cause: err });
  }
}

/**
 * containerlab's `exec`: each line split into words and run in the node, in order; any failure fails
 * `up`. Consecutive `ip ...` lines (the generated labs' addresses and links, 5-8 per node) run as one
 * `ip -n NS -batch -`, which stops at the first failing line like the loop would: one process
 * instead of two per line (`ip netns exec` + `ip`), the bulk of a large lab's start-up time.
 */
function runExec(n: LabNode, ns: NodeState): void {
  const env = { ...process.env, ...n.env };
  let batch: string[][] = [];
  const flush = (): void => {
    if (batch.length === 1) run('ip', ['netns', 'exec', ns.netns, ...batch[0]!], { env });
    else if (batch.length > 1) ipBatch(ns.netns, batch.map((w) => w.slice(1).join(' ')), env);
    batch = [];
  };
  for (const line of n.exec) {
    const argv = splitWords(line);
    if (argv.length === 0) continue;
    // Batch lines only hold words without blanks or quotes: ip -batch splits on blanks itself.
    if (argv[0] === 'ip' && argv.length > 1 && !argv[1]!.startsWith('-') && argv.every((w) => w !== '' && !/[\s'"\\#]/.test(w))) {
      batch.push(argv);
      continue;
    }
    flush();
    run('ip', ['netns', 'exec', ns.netns, ...argv], { env });
  }
  flush();
}

export async function down(file: string, opts: LabOptions = {}): Promise<{ removed: string[] }> {
  const lab = openLab(file, opts);
  const release = acquireLock(lab.stateDir);
  try {
    return await teardown(lab);
  } finally {
    release();
  }
}

async function teardown(lab: Lab): Promise<{ removed: string[] }> {
  const state = readState(lab.stateDir);
  const removed: string[] = [];
  // Pods first: their namespaces are recorded in the state dir removed below.
  removed.push(...(await removePodNamespaces(lab.stateDir)));
  const nodes: Array<{ netns: string; procs: NodeState['procs'] }> = lab.topo.nodes.map((n) => ({ netns: lab.netns(n.name), procs: [] }));
  if (state) for (const s of Object.values(state.nodes)) nodes.push({ netns: s.netns, procs: s.procs });
  // Recorded PIDs first, gracefully (zebra removes its routes, bgpd sends a Cease), then anything
  // else still inside our namespaces (ldpd's children, processes an exec step left behind).
  for (const n of nodes) {
    // A shared agent process stops every agent gracefully (sessions, sockets): give it longer.
    for (const p of n.procs) if (pidNetns(p.pid) === p.netnsId) await killPid(p.pid, p.shared ? 15_000 : undefined);
  }
  for (const n of nodes) {
    if (!netnsExists(n.netns)) continue;
    for (const pid of netnsPids(n.netns)) await killPid(pid, 500);
    netnsDelete(n.netns);
    if (!removed.includes(n.netns)) removed.push(n.netns);
  }
  // Agents' host files (state dirs, sockets, the lab's shared embedded datastore): a lab brought up
  // again must not inherit block affinities of the previous one. Only after every process is gone.
  for (const p of agentFiles(lab)) removeAgentState(p);
  rmSync(lab.stateDir, { recursive: true, force: true });
  return { removed };
}

function agentFiles(lab: Lab): AgentPaths[] {
  const out: AgentPaths[] = [];
  for (const n of lab.topo.nodes) {
    const cfg = agentConfigFile(n);
    if (cfg === undefined || !existsSync(cfg)) continue;
    try {
      out.push(agentPaths(cfg));
    } catch (err) {
      log.warn({ node: n.name, err: (err as Error).message }, 'agent config unreadable; its state is left in place');
    }
  }
  return out;
}

export interface NodeStatus {
  name: string;
  netns: string;
  role: NodeRole;
  present: boolean;
  procs: Array<{ name: string; pid: number; running: boolean }>;
  links: Array<{ iface: string; peer: string; state: string }>;
  /** `show bgp summary` (FRR) or `show protocols` (BIRD). */
  routing?: string;
}

export function status(file: string, opts: LabOptions = {}): { lab: string; up: boolean; problems: string[]; nodes: NodeStatus[] } {
  const lab = openLab(file, opts);
  const state = readState(lab.stateDir);
  if (!state) return { lab: lab.topo.name, up: false, problems: ['not up'], nodes: [] };
  const nodes: NodeStatus[] = [];
  for (const n of lab.topo.nodes) {
    const s = state.nodes[n.name];
    const netns = lab.netns(n.name);
    const present = netnsExists(netns);
    const links = state.links
      .flatMap((l) => [
        { me: l.a, peer: l.b },
        { me: l.b, peer: l.a },
      ])
      .filter((x) => x.me.node === n.name)
      .map((x) => {
        const j = present ? run('ip', ['-j', '-n', netns, 'link', 'show', 'dev', x.me.iface], { allowFail: true }) : '';
        const st = j ? ((JSON.parse(j) as Array<{ operstate?: string }>)[0]?.operstate ?? '?') : 'missing';
        return { iface: x.me.iface, peer: `${x.peer.node}:${x.peer.iface}`, state: st };
      });
    const st: NodeStatus = {
      name: n.name,
      netns,
      role: s?.role ?? classify(n, opts.agents),
      present,
      procs: (s?.procs ?? []).map((p) => ({ name: p.name, pid: p.pid, running: pidAlive(p.pid) && pidNetns(p.pid) === p.netnsId })),
      links,
    };
    if (present && s?.role === NodeRole.Frr) {
      st.routing = run('ip', ['netns', 'exec', netns, 'vtysh', ...vtyshArgs(join(s.dir, 'frr')), '-c', 'show bgp summary'], { allowFail: true }).trim();
    } else if (present && s?.role === NodeRole.Bird) {
      st.routing = run('birdc', ['-s', birdSocket(join(s.dir, 'bird')), 'show', 'protocols'], { allowFail: true }).trim();
    }
    nodes.push(st);
  }
  return { lab: lab.topo.name, up: state.complete, problems: healthProblems(lab, state), nodes };
}

/**
 * The argv that runs `cmd` inside `node` (like `docker exec clab-<lab>-<node> cmd`). `vtysh` and
 * `birdc` are pointed at the node's own daemons.
 */
export function execArgv(file: string, node: string, cmd: string[], opts: LabOptions = {}): string[] {
  const lab = openLab(file, opts);
  const state = readState(lab.stateDir);
  const s = state?.nodes[node];
  if (!lab.topo.nodes.some((n) => n.name === node)) throw new LabError(LabErrorCode.UnknownNode, `no node "${node}" in ${lab.topo.name}`);
  if (!s || !netnsExists(s.netns)) throw new LabError(LabErrorCode.NotUp, `${node} is not up`);
  const [first, ...rest] = cmd;
  if (first === undefined) throw new LabError(LabErrorCode.BadTopology, 'exec: no command');
  let argv = cmd;
  if (first === 'vtysh' && s.role === NodeRole.Frr) argv = ['vtysh', ...vtyshArgs(join(s.dir, 'frr')), ...rest];
  if (first === 'birdc' && s.role === NodeRole.Bird) argv = ['birdc', '-s', birdSocket(join(s.dir, 'bird')), ...rest];
  return ['ip', 'netns', 'exec', s.netns, ...argv];
}

/** Run a command in a node and return its stdout (throws LabError on failure). */
export function execIn(file: string, node: string, cmd: string[], opts: LabOptions = {}): string {
  const [bin, ...args] = execArgv(file, node, cmd, opts);
  try {
    return execFileSync(bin!, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new LabError(LabErrorCode.Command, `${node}: ${cmd.join(' ')}: ${(e.stderr || e.stdout || e.message).trim()}`, { cause: err });
  }
}
