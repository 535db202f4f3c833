// Operational commands: reset, reload, watch, ipam show/check, explain.
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { callAgent, streamAgent } from '../client.js';
import { globals } from '../context.js';
import { paint, print, renderTable, stateColour } from '../output.js';
import { ipamTables } from './show.js';
import type { IpamCheckReport, IpamShow } from '../../ipam/index.js';
import type { AgentEvent } from '../../uplinkd/events.js';
import { explain } from '../explain.js';

export function registerOps(program: Command): void {
  const reset = program.command('reset').description('reset something on the agent');
  reset.command('neighbor <peer>')
    .description('reset a BGP session (hard: close and reconnect; --soft: route refresh, keeps the session)')
    .option('--soft', 'soft reset: ask the peer to resend (route refresh) and re-run policies')
    .action(async (peer: string, opts: { soft?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const r = await callAgent(g.socket, 'POST', '/reset', { peer, soft: opts.soft === true });
      print(r, g.output, () => `${opts.soft ? 'soft' : 'hard'} reset of ${peer} requested`);
    });

  program.command('shutdown')
    .description('stop the agent: by default as for a restart (routes stay, peers keep ours); --withdraw to decommission')
    .option('--withdraw', 'close BGP sessions with a NOTIFICATION so every peer withdraws this node at once')
    .action(async (opts: { withdraw?: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const r = await callAgent(g.socket, 'POST', '/shutdown', { withdraw: opts.withdraw === true });
      print(r, g.output, () => (opts.withdraw ? 'agent stopping; its sessions close with a NOTIFICATION (decommission)' : 'agent stopping (graceful restart: routes stay)'));
    });

    program.command('reload').description("re-read the agent's config file; unaffected sessions are not reset").action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    const r = await callAgent<{ changed: string[] }>(g.socket, 'POST', '/reload');
    print(r, g.output, () => `reloaded: ${r.changed.length ? r.changed.join(', ') : 'no changes'}`);
  });

  program.command('watch').description('stream session changes, route changes and CNI events as they happen').action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    await streamAgent(g.socket, '/watch', (e) => {
      const ev = e as AgentEvent;
      if (g.output === 'json') process.stdout.write(`${JSON.stringify(ev)}\n`);
      // One YAML document per event, so `-o yaml watch` is a valid multi-document stream.
      else if (g.output === 'yaml') process.stdout.write(`---\n${stringify(ev)}`);
      else process.stdout.write(`${paint('dim', ev.time)} ${paint('cyan', ev.kind.padEnd(7))} ${ev.kind === 'error' ? paint('red', ev.message) : ev.message}\n`);
    });
  });

  const node = program.command('node').description('cluster membership');
  node.command('remove <name>')
    .description('declare a node gone for good: the cluster GC leader reclaims its blocks and they are withdrawn everywhere')
    .action(async (name: string, _o, cmd: Command) => {
      const g = globals(cmd);
      const r = await callAgent(g.socket, 'POST', '/node/remove', { node: name });
      print(r, g.output, () => `node ${name} removed; its blocks are reclaimed by the GC leader within a few seconds`);
    });

  const ipam = program.command('ipam').description('IP address management');
  ipam.command('show').description('pools, blocks, affinity, usage').action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    const s = await callAgent<IpamShow>(g.socket, 'GET', '/ipam');
    print(s, g.output, () => ipamTables(s));
  });
  ipam.command('check').description('leaks, duplicates, orphaned handles, blocks of unknown nodes').action(async (_o, cmd: Command) => {
    const g = globals(cmd);
    const r = await callAgent<IpamCheckReport>(g.socket, 'GET', '/ipam/check');
    print(r, g.output, () => checkText(r));
    if (!r.ok) process.exitCode = 4;
  });

  program.command('explain <target>')
    .description('why is this pod or IP (un)reachable: walks pool, block, advertisement, peers, RIB, FIB, veth')
    .option('--no-refresh', "do not ask the owner's BGP peers (ROUTE-REFRESH makes each resend its table): acceptance is reported as not verified")
    .action(async (target: string, opts: { refresh: boolean }, cmd: Command) => {
      const g = globals(cmd);
      const steps = await explain(g.socket, target, { noRefresh: opts.refresh === false });
      print(steps, g.output, () => steps.map((s) => `${stateColour(s.ok ? 'ok' : 'problem').padEnd(9)} ${paint('bold', s.step)}: ${s.detail}${s.evidence ? `\n          ${paint('dim', s.evidence)}` : ''}`).join('\n'));
      if (steps.some((s) => !s.ok)) process.exitCode = 4;
    });
}

function checkText(r: IpamCheckReport): string {
  if (r.ok) return stateColour('ok') + ': no leaks, duplicates, orphaned handles or blocks of unknown nodes';
  const parts: string[] = [];
  if (r.leaks.length) parts.push(`${paint('red', 'Leaks')}\n${renderTable(r.leaks, [
    { header: 'ADDRESS', value: (l) => l.address }, { header: 'BLOCK', value: (l) => l.block },
    { header: 'HANDLE', value: (l) => l.handle }, { header: 'WHY', value: (l) => l.reason }, { header: 'NODE', value: (l) => l.node },
  ])}`);
  if (r.duplicates.length) parts.push(`${paint('red', 'Duplicates')}\n${renderTable(r.duplicates, [
    { header: 'ADDRESS', value: (d) => d.address }, { header: 'HELD BY', value: (d) => d.holders.join(', ') },
  ])}`);
  if (r.orphanedHandles.length) parts.push(`${paint('red', 'Orphaned handles')}\n${renderTable(r.orphanedHandles, [
    { header: 'HANDLE', value: (h) => h.handle }, { header: 'ADDRESS', value: (h) => h.address }, { header: 'WHY', value: (h) => h.reason },
  ])}`);
  if (r.unknownNodeBlocks.length) parts.push(`${paint('red', 'Blocks of unknown nodes')} (reclaim with the GC leader)\n${renderTable(r.unknownNodeBlocks, [
    { header: 'BLOCK', value: (b) => b.block }, { header: 'NODE', value: (b) => b.node },
  ])}`);
  return parts.join('\n');
}
