// containerlab topology generation: FRR routers (kind linux, the FRR image, `frr.conf` and
// `daemons` bound at /etc/frr/) and Kubernetes nodes (the agent image with its config bound, or —
// for labs without the agent — a plain Linux image configured by `exec`). The output is a directory
// a user deploys unchanged with `containerlab deploy -t <name>.clab.yml`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { agentConfig, type AgentConfigOptions } from './agent-config.js';
import { frrConfig, frrDaemons } from './frr.js';
import { formatNet } from '../lib/ip.js';
import { nodeLabels } from './kube.js';
import type { Device, Fabric } from './resolve.js';

export const AGENT_CONFIG_PATH = '/etc/uplink/uplinkd.yaml';
/** How the agent image starts uplinkd (as in deploy/k8s/daemonset.yaml). */
export const AGENT_CMD = `node /opt/uplink/dist/uplinkd/main.js --config ${AGENT_CONFIG_PATH}`;

export interface LabGenOptions {
  /** true: nodes run the agent image; false: plain Linux nodes with static routes. Default true. */
  agents?: boolean;
  /** Passed to agentConfig for every node (e.g. a shared datastore). */
  agent?: AgentConfigOptions;
}

function nodeExec(f: Fabric, d: Device, agents: boolean): string[] {
  const cmds: string[] = [];
  // The router ID doubles as the node's loopback address (the source of its BGP identity).
  cmds.push(`ip addr add ${d.routerId}/32 dev lo`);
  for (const [name, addrs] of d.ifaces) {
    cmds.push(`ip link set ${name} up`);
    for (const a of addrs) cmds.push(a.includes(':') ? `ip -6 addr add ${a} dev ${name} nodad` : `ip addr add ${a} dev ${name}`);
  }
  if (!agents) {
    // Without the agent nothing learns routes: a static ECMP route to the pools and loopbacks
    // through every numbered uplink stands in for BGP.
    const gw4 = f.links.filter((l) => l.down.device === d.name).flatMap((l) => l.up.addresses.filter((a) => !a.includes(':')).map((a) => ({ via: a.split('/')[0]!, dev: l.down.iface })));
    if (gw4.length > 0) {
      const hops = gw4.map((g) => `nexthop via ${g.via} dev ${g.dev}`).join(' ');
      const dests = [...f.spec.pools.filter((p) => p.cidr.family === 4).map((p) => formatNet(p.cidr)), formatNet(f.spec.fabric.loopbacks)];
      for (const dst of dests) cmds.push(`ip route add ${dst} ${hops}`);
    }
  }
  return cmds;
}

/**
 * With a host `root` (the namespace lab: every agent on one host) all nodes share one embedded
 * datastore file, <root>/uplink.db, so IPAM hands out non-overlapping blocks as one cluster would.
 * Without it (containerlab: one filesystem per container) each agent keeps uplinkd's default.
 */
function withSharedDatastore(o: AgentConfigOptions | undefined): AgentConfigOptions | undefined {
  if (!o?.root || o.extra?.datastore !== undefined) return o;
  return { ...o, extra: { datastore: { type: 'embedded', path: `${o.root}/uplink.db` }, ...(o.extra ?? {}) } };
}

function agentConfigHeader(o: AgentConfigOptions | undefined): string {
  if (o?.extra?.datastore !== undefined) return '';
  if (o?.root) return `# Lab on one host: all agents share the embedded datastore ${o.root}/uplink.db. Real clusters use etcd or Kubernetes (datastore.type).\n`;
  return [
    '# Each containerlab container has its own filesystem, so this embedded datastore is private to the node',
    '# and blocks of different nodes may overlap. Real clusters share one datastore: etcd or Kubernetes, e.g.',
    '#   datastore: { type: etcd, endpoints: [http://etcd:2379] }',
    '# (the namespace lab, `topology lab --agent-root DIR`, shares one embedded file instead).',
    '',
  ].join('\n');
}

/** Relative path -> file content; the topology file is `<name>.clab.yml`. */
export function generateLab(f: Fabric, opts: LabGenOptions = {}): Map<string, string> {
  const agents = opts.agents ?? true;
  const files = new Map<string, string>();
  const nodes: Record<string, Record<string, unknown>> = {};
  for (const d of f.devices.values()) {
    if (d.role === 'node') {
      const labels = { ...nodeLabels(f, d.name), ...(agents ? { 'uplink.dev/agent': 'true' } : {}) };
      const node: Record<string, unknown> = { kind: 'linux', image: agents ? f.spec.images.agent : f.spec.images.host, labels };
      if (agents) {
        files.set(`${d.name}/uplinkd.yaml`, `${agentConfigHeader(opts.agent)}${stringify(agentConfig(f, d.name, withSharedDatastore(opts.agent)))}`);
        node.binds = [`${d.name}/uplinkd.yaml:${AGENT_CONFIG_PATH}:ro`];
        node.cmd = AGENT_CMD;
      }
      node.exec = nodeExec(f, d, agents);
      nodes[d.name] = node;
    } else {
      files.set(`${d.name}/frr.conf`, frrConfig(f, d.name));
      files.set(`${d.name}/daemons`, frrDaemons(f.spec.bfd));
      nodes[d.name] = {
        kind: 'linux',
        image: f.spec.images.router,
        labels: { 'uplink.dev/role': d.role, ...(d.rack ? { 'uplink.dev/rack': d.rack } : {}) },
        binds: [`${d.name}/daemons:/etc/frr/daemons`, `${d.name}/frr.conf:/etc/frr/frr.conf`],
      };
    }
  }
  const links = f.links.map((l) => ({ endpoints: [`${l.up.device}:${l.up.iface}`, `${l.down.device}:${l.down.iface}`] }));
  const doc = { name: f.spec.name, topology: { nodes, links } };
  files.set(`${f.spec.name}.clab.yml`, `# Generated by uplink topology from the ${f.spec.name} model. Deploy: containerlab deploy -t ${f.spec.name}.clab.yml\n${stringify(doc, { lineWidth: 0 })}`);
  return files;
}

/** Write the generated lab under `outDir`; returns the path of the .clab.yml. */
export function writeLab(f: Fabric, outDir: string, opts: LabGenOptions = {}): string {
  const files = generateLab(f, opts);
  for (const [rel, text] of files) {
    const p = join(outDir, rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return join(outDir, `${f.spec.name}.clab.yml`);
}
