// `up --shared-agents`: every agent node's uplinkd runs in ONE process on the host, each agent in its
// node's namespace (uplinkd's config key `netns`, uplinkd/agent-group.ts), instead of one process per
// node inside the namespace. For labs of many nodes: the Node runtime (~60 MiB of a lean agent's
// ~97 MiB RSS) is paid once. The node's bound config is not edited: a copy with `netns:` added is
// written to the node's private dir and given to the process. The PID is recorded on every agent
// node with `shared: true`, so `status`, `up`'s health check and `down` work unchanged; stopping one
// node's agent by PID cannot work and node-control.ts refuses it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { logger } from '../lib/log.js';
import type { LabNode } from './clab-file.js';
import { agentConfigFile, agentPaths } from './agent-state.js';
import { LabError, LabErrorCode } from './errors.js';
import { agentCommand, DEFAULT_AGENTS, type AgentLaunch } from './roles.js';
import type { NodeState, ProcRecord } from './state.js';
import { pidAlive, pidNetns, startDetached, tail, waitUntil } from './sys.js';

const log = logger('lab');

/** The node's config with its namespace added, written into the node's private dir. */
export function sharedAgentConfig(n: LabNode, ns: NodeState, agents: AgentLaunch[] = DEFAULT_AGENTS): string {
  const src = agentConfigFile(n, agents);
  if (!src) throw new LabError(LabErrorCode.BadTopology, `${n.name}: an agent node needs a bound config file`);
  const doc = (parse(readFileSync(src, 'utf8')) ?? {}) as Record<string, unknown>;
  if (doc.netns !== undefined && doc.netns !== ns.netns) {
    throw new LabError(LabErrorCode.BadTopology, `${n.name}: its config names netns ${String(doc.netns)}, the lab's namespace is ${ns.netns}`);
  }
  const out = join(ns.dir, 'uplinkd.yaml');
  writeFileSync(out, `# ${src} with the node's namespace (written by up --shared-agents)\n${stringify({ ...doc, netns: ns.netns })}`);
  return out;
}

export interface SharedStart {
  nodes: Array<{ node: LabNode; state: NodeState }>;
  repo: string;
  /** Where the process's output goes (the lab's state dir). */
  logFile: string;
  agents?: AgentLaunch[];
  nodeFlags?: readonly string[];
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Records the process on every node (and saves the state) before waiting for it. */
  record: (p: ProcRecord) => void;
}

/**
 * Starts the one process and waits until every agent serves its control socket (the last step of an
 * agent's start), or fails with the process's output when it exits or the wait times out.
 */
export async function startSharedAgents(s: SharedStart): Promise<number> {
  const first = s.nodes[0];
  if (!first) return 0;
  const launch = agentCommand(first.node, s.repo, s.agents ?? DEFAULT_AGENTS);
  // The agent command line ends in `--config <bound file>`: the shared one takes every node's copy.
  const base = launch.args.slice(0, launch.args.indexOf('--config'));
  const configs = s.nodes.map(({ node, state }) => sharedAgentConfig(node, state, s.agents));
  for (const { node } of s.nodes) {
    if (Object.keys(node.env).length) log.warn({ node: node.name }, 'env of an agent node is not applied with --shared-agents (one process for every node)');
  }
  const flags = launch.cmd === process.execPath && s.nodeFlags ? [...s.nodeFlags] : [];
  const pid = startDetached(launch.cmd, [...flags, ...base, ...configs.flatMap((c) => ['--config', c])], s.logFile);
  s.record({ name: 'agent', pid, netnsId: pidNetns(pid) ?? '', log: s.logFile, shared: true });
  const sockets = s.nodes.map(({ node }) => agentPaths(agentConfigFile(node, s.agents)!).controlSocket).filter((x): x is string => !!x);
  const timeoutMs = s.timeoutMs ?? Math.max(60_000, 1500 * s.nodes.length);
  await waitUntil(
    `${s.nodes.length} agents in one process to serve their control sockets`,
    () => {
      if (!pidAlive(pid)) throw new LabError(LabErrorCode.Daemon, `shared agent process exited at start\n${tail(s.logFile)}`);
      return sockets.every((p) => existsSync(p));
    },
    timeoutMs,
    () => `missing: ${sockets.filter((p) => !existsSync(p)).join(' ')}\n${tail(s.logFile)}`,
    s.signal,
  );
  return pid;
}
