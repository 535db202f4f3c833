// uplink-lab: containerlab's deploy/destroy/inspect/exec for a host without Docker.
//   node dist/containerlab/cli.js up|down|status -t FILE.clab.yml
//   node dist/containerlab/cli.js exec -t FILE.clab.yml NODE CMD...
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { LabError, LabErrorCode } from './errors.js';
import { linkDrill } from './drill.js';
import { DRILLS, DrillName } from './drills.js';
import { addPod, delPod, listPods } from './pods.js';
import { waitBgp } from './wait.js';
import { down, execArgv, LEAN_AGENT_FLAGS, openLab, status, up, type LabOptions } from './runner.js';

interface CommonFlags {
  topo: string;
  prefix?: string;
  stateDir?: string;
}

const common = (c: Command): Command =>
  c
    .requiredOption('-t, --topo <file>', 'containerlab topology file (*.clab.yml)')
    .option('--prefix <prefix>', 'namespace name prefix (containerlab `prefix`; default "clab")')
    .option('--state-dir <dir>', 'state directory (default /run/uplink-lab/<lab>)');

const labOpts = (f: CommonFlags): LabOptions => ({
  ...(f.prefix !== undefined ? { prefix: f.prefix } : {}),
  ...(f.stateDir !== undefined ? { stateDir: f.stateDir } : {}),
});

const program = new Command('uplink-lab').description('run containerlab topologies with network namespaces').enablePositionalOptions().showHelpAfterError();

common(program.command('up').description('build the lab (idempotent: a healthy lab is left alone, a broken one rebuilt)'))
  .option('--lean-agents', `run agents with ${LEAN_AGENT_FLAGS.join(' ')} (less memory per agent, for labs of many nodes)`)
  .option('--shared-agents', 'run every agent node\'s uplinkd in one process, each in its node\'s namespace (labs of many nodes; agent-restart and node-removal drills need separate processes)')
  .action(async (f: CommonFlags & { leanAgents?: boolean; sharedAgents?: boolean }) => {
  // Ctrl-C: stop at the next step, tear down what was built, exit 130. A second Ctrl-C is ignored
  // so the teardown itself is not cut short.
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const r = await up(f.topo, { ...labOpts(f), signal: ac.signal, ...(f.leanAgents ? { agentNodeFlags: LEAN_AGENT_FLAGS } : {}), ...(f.sharedAgents ? { sharedAgents: true } : {}) });
    console.log(r.action === 'unchanged' ? 'lab is up (unchanged)' : `lab is up (${r.rebuilt ? `rebuilt: ${r.reasons.join('; ')}` : 'built'})`);
  } catch (err) {
    if (err instanceof LabError && err.code === LabErrorCode.Interrupted) {
      console.error('interrupted: lab torn down');
      process.exitCode = 130;
      return;
    }
    throw err;
  }
});

common(program.command('down').description('remove namespaces, links and processes of the lab')).action(async (f: CommonFlags) => {
  const r = await down(f.topo, labOpts(f));
  console.log(r.removed.length ? `removed ${r.removed.join(', ')}` : 'nothing to remove');
});

common(program.command('status').description('nodes, processes, links and BGP summaries'))
  .option('--json', 'machine-readable output')
  .action((f: CommonFlags & { json?: boolean }) => {
    const s = status(f.topo, labOpts(f));
    if (f.json) {
      console.log(JSON.stringify(s, null, 2));
      return;
    }
    console.log(`lab ${s.lab}: ${s.up && s.problems.length === 0 ? 'up' : `NOT HEALTHY (${s.problems.join('; ')})`}`);
    for (const n of s.nodes) {
      const procs = n.procs.map((p) => `${p.name}[${p.pid}]${p.running ? '' : ' DEAD'}`).join(' ');
      console.log(`\n${n.name} (${n.role}) netns ${n.netns}${n.present ? '' : ' MISSING'}${procs ? `\n  procs: ${procs}` : ''}`);
      for (const l of n.links) console.log(`  ${l.iface} -> ${l.peer} ${l.state}`);
      if (n.routing) console.log(n.routing.replace(/^/gm, '  | '));
    }
    if (!s.up || s.problems.length) process.exitCode = 1;
  });

common(program.command('exec').description('run a command in a node (vtysh/birdc reach that node\'s daemons)'))
  .argument('<node>')
  .argument('<cmd...>')
  .passThroughOptions()
  .action((node: string, cmd: string[], f: CommonFlags) => {
    const [bin, ...args] = execArgv(f.topo, node, cmd, labOpts(f));
    const r = spawnSync(bin!, args, { stdio: 'inherit' });
    process.exitCode = r.status ?? 1;
  });

common(program.command('wait').description('wait until every BGP session on every FRR node is Established'))
  .option('--timeout <ms>', 'give up after', '120000')
  .action(async (f: CommonFlags & { timeout: string }) => {
    const ms = await waitBgp(f.topo, labOpts(f), Number(f.timeout));
    console.log(`BGP: every session Established (waited ${ms} ms)`);
  });

const pod = program.command('pod').description('pods: namespaces attached through the Uplink CNI plugin on an agent node');
common(pod.command('add').description('create a pod namespace on NODE and run CNI ADD (idempotent)'))
  .argument('<node>')
  .argument('<name>')
  .action((node: string, name: string, f: CommonFlags) => {
    const r = addPod(f.topo, node, name, labOpts(f));
    console.log(`pod ${node}/${r.pod.name} ${r.action}: ${r.pod.ips.join(' ')} (netns ${r.pod.netns})`);
  });
common(pod.command('del').description('CNI DEL and remove the pod namespace'))
  .argument('<node>')
  .argument('<name>')
  .action((node: string, name: string, f: CommonFlags) => {
    console.log(delPod(f.topo, node, name, labOpts(f)) ? `pod ${node}/${name} deleted` : `no pod ${node}/${name}`);
  });
common(pod.command('list').description('pods of the lab: node, name, addresses, namespace'))
  .option('--json', 'machine-readable output')
  .action((f: CommonFlags & { json?: boolean }) => {
    const pods = listPods(openLab(f.topo, labOpts(f)).stateDir);
    if (f.json) console.log(JSON.stringify(pods, null, 2));
    else for (const p of pods) console.log(`${p.node}\t${p.name}\t${p.ips.join(',')}\t${p.netns}`);
  });

const drill = program.command('drill').description('failure drills on a running lab');
common(drill.command('link').description('take NODE:IFACE down, time BGP session loss and recovery on the FRR ends'))
  .argument('<endpoint>', 'NODE:IFACE of a lab link')
  .option('--timeout <ms>', 'per phase', '30000')
  .action(async (endpoint: string, f: CommonFlags & { timeout: string }) => {
    const r = await linkDrill(f.topo, endpoint, { ...labOpts(f), timeoutMs: Number(f.timeout) });
    console.log(`drill link ${r.link}`);
    for (const n of Object.keys(r.downMs)) {
      console.log(`  ${n}: ${r.before[n]} sessions; lost one ${r.downMs[n]} ms after link down; restored ${r.restoreMs[n]} ms after link up`);
    }
  });

const SILENT_DRILLS: readonly DrillName[] = [DrillName.TorLink, DrillName.TorKill, DrillName.NodeRemoval];

for (const name of Object.values(DrillName)) {
  common(drill.command(name).description(`${name} drill on the lab's agents (see containerlab/drills.ts)`))
    .option('--observe <ms>', 'traffic time after the fault, before the repair')
    .option('--silent', 'tor-link/tor-kill: carrier stays up, packets are dropped (only hold timer or BFD detect it); node-removal: the node dies without withdrawing (isolated, then uplinkd SIGKILLed)')
    .option('--json', 'print the full result as JSON')
    .action(async (f: CommonFlags & { observe?: string; json?: boolean; silent?: boolean }) => {
      // Only these drills read `silent` (drills.ts); elsewhere it would quietly run the loud drill.
      if (f.silent && !SILENT_DRILLS.includes(name)) {
        throw new LabError(LabErrorCode.Unsupported, `drill ${name} has no --silent variant (${SILENT_DRILLS.join(', ')} do)`);
      }
      const r = await DRILLS[name](f.topo, { ...labOpts(f), ...(f.observe !== undefined ? { observeMs: Number(f.observe) } : {}), ...(f.silent ? { silent: true } : {}) });
      if (f.json) console.log(JSON.stringify(r, null, 2));
      console.log(`drill ${name}: ${r.target}`);
      for (const l of r.lines) console.log(`drill ${name}: ${l}`);
    });
}

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`error${e.code ? ` [${e.code}]` : ''}: ${e.message ?? String(err)}`);
  process.exitCode = 1;
});
