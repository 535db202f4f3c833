// uplinkctl: the on-call CLI. Talks to the local agent's control socket; `--all-nodes`/`--node` read
// every agent's published status from the datastore (so it works from any machine with datastore access).
import { Command, Option } from 'commander';
import { registerShow } from './commands/show.js';
import { registerStatus } from './commands/status.js';
import { registerOps } from './commands/ops.js';
import { registerDecode } from './commands/decode.js';
import { nextStep } from './hints.js';

const program = new Command('uplinkctl')
  .description('Uplink on-call CLI: sessions, routes, FIB drift, IPAM, decoded BGP messages, "why is this pod unreachable"')
  .option('-s, --socket <path>', "the local agent's control socket", process.env.UPLINK_CONTROL_SOCKET ?? '/run/uplink/control.sock')
  .option('-c, --config <file>', "the agent's config file (for the datastore used by --all-nodes/--node)", process.env.UPLINK_CONFIG ?? '/etc/uplink/uplinkd.yaml')
  .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
  .showHelpAfterError();

registerStatus(program);
registerShow(program);
registerOps(program);
registerDecode(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const e = err as { code?: string; message?: string };
  const next = nextStep(err);
  process.stderr.write(`uplinkctl: ${e.message ?? String(err)}\n${next ? `  next: ${next}\n` : ''}`);
  process.exit(e.code === 'agent-down' ? 3 : 1);
});
