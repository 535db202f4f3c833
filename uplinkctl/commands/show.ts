// `uplinkctl show ...`: the agent's state, each view as a table (or -o json|yaml).
import type { Command } from 'commander';
import { callAgent } from '../client.js';
import { globals } from '../context.js';
import { paint, print, renderTable, type Column } from '../output.js';
import { sessionProblem } from '../hints.js';
import type { IpamShow } from '../../ipam/index.js';
import type { NeighborDetail, NeighborSummary, RouteView, RibEntryView } from '../../uplinkd/bgp-bridge.js';

export function registerShow(program: Command): void {
  const show = program.command('show').description('show sessions, routes, RIBs, FIB, IPAM, BFD');

  show.command('neighbors').description('BGP sessions: state, uptime, prefixes, last error').action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    const rows = await callAgent<NeighborSummary[]>(g.socket, 'GET', '/neighbors');
    print(rows, g.output, () => neighborTable(rows));
  });

  show.command('neighbor <peer>').description('one session: capabilities, timers, counters, last error in words, flap history').action(async (peer: string, _o, cmd: Command) => {
    const g = globals(cmd);
    const n = await callAgent<NeighborDetail>(g.socket, 'GET', `/neighbor?peer=${encodeURIComponent(peer)}`);
    print(n, g.output, () => neighborDetail(n));
  });

  show.command('routes [prefix]').description('Loc-RIB with all paths and why the best one won').action(async (prefix: string | undefined, _o, cmd: Command) => {
    const g = globals(cmd);
    const q = prefix ? `?prefix=${encodeURIComponent(prefix)}` : '';
    const rows = await callAgent<RouteView[]>(g.socket, 'GET', `/routes${q}`);
    print(rows, g.output, () => routeTable(rows));
  });

  for (const which of ['rib-in', 'rib-out'] as const) {
    show.command(`${which} <peer>`).description(which === 'rib-in' ? 'routes received from a peer (pre- and post-policy)' : 'routes advertised to a peer').action(async (peer: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const rows = await callAgent<RibEntryView[]>(g.socket, 'GET', `/${which}?peer=${encodeURIComponent(peer)}`);
      print(rows, g.output, () => renderTable(rows, [
        { header: 'PREFIX', value: (r) => r.prefix },
        { header: 'NEXT HOP', value: (r) => r.nextHop },
        { header: 'AS PATH', value: (r) => r.asPath },
        { header: 'LOCAL PREF', value: (r) => r.localPref },
        { header: 'MED', value: (r) => r.med },
        { header: 'COMMUNITIES', value: (r) => r.communities },
        { header: 'POLICY', value: (r) => r.policy },
      ]));
    });
  }

  show.command('fib').description('FIB reconciler: desired vs installed routes, stale, leader').action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    const s = await callAgent<Record<string, unknown> | null>(g.socket, 'GET', '/fib');
    print(s, g.output, () => (s ? Object.entries(s).map(([k, v]) => `${k.padEnd(10)} ${String(v)}`).join('\n') : 'the FIB reconciler is disabled on this agent'));
  });

  show.command('ipam').description('pools, blocks, affinity, usage').action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    const s = await callAgent<IpamShow>(g.socket, 'GET', '/ipam');
    print(s, g.output, () => ipamTables(s));
  });

  show.command('bfd').description('BFD sessions: state, timers, counters').action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    const rows = await callAgent<Array<Record<string, unknown>>>(g.socket, 'GET', '/bfd');
    print(rows, g.output, () => renderTable(rows, [
      { header: 'PEER', value: (r) => r.peer as string },
      { header: 'STATE', value: (r) => r.state as string, state: true },
      { header: 'TX ms', value: (r) => r.txIntervalMs as number },
      { header: 'RX ms', value: (r) => r.rxIntervalMs as number },
      { header: 'DETECT ms', value: (r) => r.detectionTimeMs as number },
      { header: 'LAST DOWN', value: (r) => r.lastDownReason as string },
    ]));
  });
}

export function ipamTables(s: IpamShow): string {
  const pools = renderTable(s.pools, [
    { header: 'POOL', value: (p) => p.name },
    { header: 'CIDR', value: (p) => p.cidr },
    { header: 'BLOCK SIZE', value: (p) => `/${p.blockSize}` },
    { header: 'USED', value: (p) => `${p.used}/${p.size}` },
    { header: '%', value: (p) => (p.size ? ((100 * p.used) / p.size).toFixed(1) : '-') },
    { header: 'BLOCKS', value: (p) => p.blocks },
    { header: 'SELECTOR', value: (p) => p.nodeSelector },
    { header: 'FLAGS', value: (p) => [p.disabled ? 'disabled' : '', p.strictAffinity ? 'strict-affinity' : ''].filter(Boolean).join(',') },
  ]);
  const blocks = renderTable(s.blocks, [
    { header: 'BLOCK', value: (b) => b.cidr },
    { header: 'POOL', value: (b) => b.pool },
    { header: 'NODE', value: (b) => b.affinity ?? '(none)' },
    { header: 'AFFINITY', value: (b) => b.state },
    { header: 'USED', value: (b) => `${b.used}/${b.size}` },
  ]);
  return `${paint('bold', 'Pools')}\n${pools}\n${paint('bold', 'Blocks')}\n${blocks}`;
}

/** The session columns every view shares (status, status --all-nodes, show neighbors). */
export function neighborColumns<T extends NeighborSummary>(): Column<T>[] {
  return [
    { header: 'PEER', value: (r) => r.peer },
    { header: 'ASN', value: (r) => r.asn },
    { header: 'STATE', value: (r) => r.state, state: true },
    { header: 'SINCE', value: (r) => r.since },
    { header: 'RCVD', value: (r) => r.prefixesReceived },
    { header: 'ACCEPTED', value: (r) => r.prefixesAccepted },
    { header: 'SENT', value: (r) => r.prefixesAdvertised },
    { header: 'LAST ERROR', value: (r) => sessionProblem(r) },
  ];
}

function neighborTable(rows: NeighborSummary[]): string {
  return renderTable(rows, neighborColumns());
}

function neighborDetail(n: NeighborDetail): string {
  const lines = Object.entries(n).map(([k, v]) => `${k.padEnd(22)} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return lines.join('\n');
}

function routeTable(rows: RouteView[]): string {
  return renderTable(rows.flatMap((r) => r.paths.map((p, i) => ({ ...p, prefix: i === 0 ? r.prefix : '' }))), [
    { header: 'PREFIX', value: (r) => r.prefix },
    { header: '', value: (r) => (r.best ? '*>' : r.multipath ? '*=' : '*') },
    { header: 'NEXT HOP', value: (r) => r.nextHop },
    { header: 'FROM', value: (r) => r.from },
    { header: 'AS PATH', value: (r) => r.asPath },
    { header: 'LP', value: (r) => r.localPref },
    { header: 'MED', value: (r) => r.med },
    { header: 'WHY', value: (r) => r.reason },
  ]);
}
