// `uplinkctl status`: one screen for the person on call — sessions, prefixes, FIB drift, IPAM usage,
// leader, recent errors. `--all-nodes` / `--node NAME`: every agent's published status from the datastore.
import type { Command } from 'commander';
import { callAgent } from '../client.js';
import { globals } from '../context.js';
import { paint, print, renderTable, stateColour } from '../output.js';
import type { AgentStatusRecord } from '../../uplinkd/agent.js';
import type { NeighborSummary } from '../../uplinkd/bgp-bridge.js';
import { readAgentStatuses } from '../datastore.js';
import { neighborColumns } from './show.js';
import type { IpamShow } from '../../ipam/index.js';

interface LocalStatus extends AgentStatusRecord {
  leader: boolean;
  ipam: IpamShow | null;
  recentErrors: Array<{ time: string; message: string }>;
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('sessions, prefixes, FIB, IPAM and recent errors of this node (or every node)')
    .option('--all-nodes', 'every node, from the status each agent publishes in the datastore')
    .option('--node <name>', 'one node, from the datastore')
    .action(async (opts: { allNodes?: boolean; node?: string }, cmd: Command) => {
      const g = globals(cmd);
      if (opts.allNodes || opts.node) {
        let nodes = await readAgentStatuses(g.config);
        if (opts.node) {
          nodes = nodes.filter((n) => n.node === opts.node);
          if (!nodes.length) throw new Error(`no agent status for node "${opts.node}" in the datastore: is uplinkd running there? (records expire 30 s after an agent stops)`);
        }
        print(nodes, g.output, () => clusterTable(nodes));
        return;
      }
      const s = await callAgent<LocalStatus>(g.socket, 'GET', '/status');
      print(s, g.output, () => localScreen(s));
    });
}

function sessionRows(nodes: AgentStatusRecord[]): Array<NeighborSummary & { node: string }> {
  return nodes.flatMap((n) => (n.sessions as NeighborSummary[]).map((s) => ({ ...s, node: n.node })));
}

function clusterTable(nodes: AgentStatusRecord[]): string {
  const rows = sessionRows(nodes);
  const sessions = renderTable(rows, [{ header: 'NODE', value: (r) => r.node }, ...neighborColumns<NeighborSummary & { node: string }>()]);
  const summary = renderTable(nodes, [
    { header: 'NODE', value: (n) => n.node },
    { header: 'BLOCKS', value: (n) => n.blocks.join(' ') },
    { header: 'PODS', value: (n) => n.attachments },
    { header: 'FIB ROUTES', value: (n) => (n.fib ? `${n.fib.installed}/${n.fib.desired}` : '-') },
    { header: 'STALE', value: (n) => n.fib?.stale },
    { header: 'UPDATED', value: (n) => n.updatedAt },
  ]);
  return `${paint('bold', 'Nodes')}\n${summary}\n${paint('bold', 'BGP sessions')}\n${sessions}`;
}

function localScreen(s: LocalStatus): string {
  const out: string[] = [];
  out.push(`${paint('bold', 'Node')} ${s.node}   pid ${s.pid}   up since ${s.startedAt}   FIB writer: ${stateColour(s.leader ? 'leader' : 'standby')}`);
  out.push(paint('bold', 'BGP sessions'));
  out.push(renderTable(s.sessions as NeighborSummary[], neighborColumns()));
  if (s.fib) {
    const drift = s.fib.desired - s.fib.installed;
    out.push(`${paint('bold', 'FIB')} desired ${s.fib.desired}, installed ${s.fib.installed}, stale ${s.fib.stale}, ${drift === 0 ? stateColour('ok') : paint('red', `${drift} missing`)}`);
  }
  out.push(`${paint('bold', 'Blocks')} ${s.blocks.join(' ') || '-'}   pods attached: ${s.attachments}`);
  if (s.ipam) {
    out.push(paint('bold', 'IPAM pools'));
    out.push(renderTable(s.ipam.pools, [
      { header: 'POOL', value: (p) => p.name },
      { header: 'CIDR', value: (p) => p.cidr },
      { header: 'USED', value: (p) => `${p.used}/${p.size}` },
    ]));
  }
  out.push(paint('bold', 'Recent errors'));
  out.push(s.recentErrors.length ? s.recentErrors.map((e) => `  ${e.time} ${paint('red', e.message)}`).join('\n') : '  none');
  return out.join('\n');
}
