// uplink-topology: validate a fabric model and print or write what it derives.
//   node dist/topology/cli.js check -f topology/examples/default.yaml
//   node dist/topology/cli.js lab -f FILE -o OUTDIR [--no-agents]    (containerlab directory)
//   node dist/topology/cli.js peers -f FILE NODE                     (uplinkd's BGP peers, YAML)
//   node dist/topology/cli.js frr -f FILE DEVICE                     (a spine/ToR frr.conf)
//   node dist/topology/cli.js kube -f FILE                           (Node labels + ToR resources)
import { Command } from 'commander';
import { stringify } from 'yaml';
import { writeLab } from './clab.js';
import { frrConfig } from './frr.js';
import { nodeLabels, torResources } from './kube.js';
import { nodeBgpConfig } from './peers.js';
import { devicesOf, loadTopology } from './resolve.js';

const program = new Command('uplink-topology').showHelpAfterError();
program.command('check').requiredOption('-f, --file <yaml>').action((o: { file: string }) => {
  const f = loadTopology(o.file);
  console.log(`${f.spec.name}: ${f.devices.size} devices, ${f.links.length} links: valid`);
});
program
  .command('lab')
  .requiredOption('-f, --file <yaml>')
  .requiredOption('-o, --out <dir>')
  .option('--no-agents', 'plain Linux nodes with static routes instead of the agent image')
  .option('--agent-root <dir>', 'root of the agents\' state and sockets (default /var/lib/uplink/<node>, /run/uplink/<node>); the agents share <dir>/uplink.db')
  .option('--bfd', 'BFD on every BGP session (as `bfd: true` in the model)')
  .action((o: { file: string; out: string; agents: boolean; agentRoot?: string; bfd?: boolean }) => {
    const f = loadTopology(o.file);
    if (o.bfd) f.spec.bfd = true;
    console.log(writeLab(f, o.out, { agents: o.agents, ...(o.agentRoot ? { agent: { root: o.agentRoot } } : {}) }));
  });
program.command('peers').requiredOption('-f, --file <yaml>').argument('<node>').action((node: string, o: { file: string }) => {
  process.stdout.write(stringify(nodeBgpConfig(loadTopology(o.file), node)));
});
program.command('frr').requiredOption('-f, --file <yaml>').argument('<device>').action((dev: string, o: { file: string }) => {
  process.stdout.write(frrConfig(loadTopology(o.file), dev));
});
program.command('kube').requiredOption('-f, --file <yaml>').action((o: { file: string }) => {
  const f = loadTopology(o.file);
  const docs: unknown[] = devicesOf(f, 'node').map((n) => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: n.name, labels: nodeLabels(f, n.name) } }));
  docs.push(...torResources(f));
  process.stdout.write(docs.map((d) => stringify(d)).join('---\n'));
});
program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  console.error(`error${e.code ? ` [${e.code}]` : ''}: ${e.message ?? String(err)}`);
  process.exitCode = 1;
});
