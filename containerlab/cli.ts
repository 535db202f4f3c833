// uplink-lab: containerlab's deploy/destroy/inspect/exec for a host without Docker.
//   node dist/containerlab/cli.js up|down|status -t FILE.clab.yml
//   node dist/containerlab/cli.js exec -t FILE.clab.yml NODE CMD...
import { spawnSync } from 'node:child_process';
import { Command } from 'commander';
import { LabError, LabErrorCode } from './errors.js';
import { linkDrill } from './drill.js';
import { down, execArgv, status, up, type LabOptions } from './runner.js';

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

common(program.command('up').description('build the lab (idempotent: a healthy lab is left alone, a broken one rebuilt)')).action(async (f: CommonFlags) => {
  // Ctrl-C: stop at the next step, tear down what was built, exit 130. A second Ctrl-C is ignored
  // so the teardown itself is not cut short.
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const r = await up(f.topo, { ...labOpts(f), signal: ac.signal });
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

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`error${e.code ? ` [${e.code}]` : ''}: ${e.message ?? String(err)}`);
  process.exitCode = 1;
});
