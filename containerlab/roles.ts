// Which emulation a node gets. containerlab runs whatever the image contains; we have no images,
// so the image name (or a label) selects a program installed on this host instead.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabNode } from './clab-file.js';
import { LabError, LabErrorCode } from './errors.js';
import { NodeRole } from './state.js';

/** How to launch an agent image: a command and its arguments, computed from the node. */
export interface AgentLaunch {
  /** Matches the node's image (`uplink/agent:dev`, `ghcr.io/x/uplink/agent:1`). */
  image: RegExp;
  /** Container path of the config file the agent reads; its bound host file is passed. */
  configPath: string;
  command: (repo: string) => { cmd: string; args: string[] };
}

/** The repository root (this file is containerlab/roles.ts, compiled to dist/containerlab/roles.js). */
export function repoRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const up = resolve(here, '..');
  return basenameIs(up, 'dist') ? resolve(up, '..') : up;
}
const basenameIs = (p: string, name: string): boolean => resolve(p).split('/').pop() === name;

export const DEFAULT_AGENTS: AgentLaunch[] = [
  {
    // Uplink's own image (deploy/k8s/daemonset.yaml) and local builds named uplink/agent or uplink-agent.
    image: /(^|\/)uplink-net\/uplink([:@].*)?$|(^|\/)uplink\/agent([:@].*)?$|(^|\/)uplink-agent([:@].*)?$/,
    configPath: '/etc/uplink/uplinkd.yaml',
    command: (repo) => ({ cmd: process.execPath, args: [join(repo, 'dist', 'uplinkd', 'main.js')] }),
  },
];

export function classify(node: LabNode, agents: AgentLaunch[] = DEFAULT_AGENTS): NodeRole {
  if (node.kind !== 'linux') {
    throw new LabError(LabErrorCode.Unsupported, `${node.name}: kind "${node.kind}" is not emulated (only linux)`);
  }
  const label = node.labels['uplink.dev/agent'];
  if (label === 'true' || agents.some((a) => a.image.test(node.image))) return NodeRole.Agent;
  // The image's last path element, without tag: quay.io/frrouting/frr:8.4.1 -> frr.
  const repoName = node.image.split(':')[0] ?? '';
  if (/frr/i.test(repoName)) return NodeRole.Frr;
  if (/bird/i.test(repoName)) return NodeRole.Bird;
  return NodeRole.Plain;
}

/** The command line that runs `node`'s agent, or a LabError naming what is missing. */
export function agentCommand(node: LabNode, repo: string, agents: AgentLaunch[] = DEFAULT_AGENTS): { cmd: string; args: string[] } {
  const launch = agents.find((a) => a.image.test(node.image)) ?? agents[0];
  if (!launch) throw new LabError(LabErrorCode.Unsupported, `${node.name}: no agent launch mapping`);
  const { cmd, args } = launch.command(repo);
  const script = args[0];
  if (script !== undefined && script.endsWith('.js') && !existsSync(script)) {
    throw new LabError(LabErrorCode.Daemon, `${node.name}: agent program ${script} is not built (run \`npm run build\`)`);
  }
  const bind = node.binds.find((b) => b.container === launch.configPath);
  if (!bind) throw new LabError(LabErrorCode.BadTopology, `${node.name}: an agent node needs a bind to ${launch.configPath}`);
  return { cmd, args: [...args, '--config', bind.host] };
}
