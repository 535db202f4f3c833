// uplinkd entry point: `uplinkd --config /etc/uplink/uplinkd.yaml`.
// Several --config files: one process hosts the agents of several simulated nodes, each in the
// network namespace its file names (`netns`; uplinkd/agent-group.ts says what is shared).
// Signals: SIGTERM/SIGINT stop gracefully (routes stay, ADDs in flight finish or roll back);
// SIGHUP reloads the config file without resetting unaffected BGP sessions.
import { Command } from 'commander';
import { rootLogger } from '../lib/log.js';
import { ConfigError } from '../lib/config-check.js';
import { Agent } from './agent.js';
import { loadAgentConfig, type AgentConfig } from './config.js';

const program = new Command('uplinkd')
  .description('Uplink node agent: IPAM and CNI server, BGP speaker, FIB reconciler')
  .option('-c, --config <file>', 'configuration file (YAML); repeat it to run several nodes\' agents in this process, each in its config\'s netns', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
  .option('--check', 'validate the configuration and exit')
  .version(process.env.npm_package_version ?? '0.1.0');

program.action(async (o: { config?: string[]; check?: boolean }) => {
  const files = o.config ?? [process.env.UPLINK_CONFIG ?? '/etc/uplink/uplinkd.yaml'];
  if (files.length > 1) return runGroup(files, o.check === true);
  const opts = { config: files[0]!, check: o.check };
  let cfg;
  try {
    cfg = loadAgentConfig(opts.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`uplinkd: invalid configuration in ${opts.config}: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  rootLogger.level = cfg.logLevel;
  if (opts.check) {
    // Parsing the BGP part too, so --check catches everything start would.
    const { parseBgpConfig } = await import('../bgpd/config.js');
    if (cfg.bgp) {
      try {
        parseBgpConfig(cfg.bgp, '');
      } catch (err) {
        process.stderr.write(`uplinkd: invalid configuration in ${opts.config}: ${(err as Error).message}\n`);
        process.exit(2);
      }
    }
    process.stdout.write(`${opts.config}: ok\n`);
    return;
  }
  const agent = new Agent(cfg);
  let stopping = false;
  const stop = (sig: string, withdraw = false): void => {
    if (stopping) return;
    stopping = true;
    rootLogger.info({ signal: sig, withdraw }, 'stopping');
    agent.stop({ withdraw }).then(() => process.exit(0), (err: unknown) => {
      rootLogger.error({ err }, 'error during stop');
      process.exit(1);
    });
  };
  agent.onShutdownRequest = (withdraw) => stop('control socket', withdraw);
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    try {
      void agent.reload(loadAgentConfig(opts.config)).catch((err: unknown) => rootLogger.error({ err }, 'reload failed'));
    } catch (err) {
      rootLogger.error({ err }, 'reload rejected: the new configuration is invalid; keeping the running one');
    }
  });
  try {
    await agent.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`uplinkd: invalid configuration in ${opts.config}: ${err.message}\n`);
      process.exit(2);
    }
    rootLogger.fatal({ err }, 'uplinkd failed to start');
    await agent.stop().catch(() => undefined);
    process.exit(1);
  }
});

/** Several nodes' agents in this process (the lab's simulation mode). Exit codes as for one agent. */
async function runGroup(files: string[], check: boolean): Promise<void> {
  const { AgentGroup, checkGroup } = await import('./agent-group.js');
  let cfgs: AgentConfig[];
  try {
    cfgs = files.map((f) => loadAgentConfig(f));
    checkGroup(cfgs);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`uplinkd: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  rootLogger.level = cfgs[0]!.logLevel;
  if (check) {
    process.stdout.write(`${files.length} configurations: ok\n`);
    return;
  }
  const group = new AgentGroup(cfgs);
  let stopping = false;
  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    rootLogger.info({ signal: sig, agents: group.size }, 'stopping every agent');
    group.stop().then(() => process.exit(0), (err: unknown) => {
      rootLogger.error({ err }, 'error during stop');
      process.exit(1);
    });
  };
  group.onEmpty = () => {
    rootLogger.info('every agent stopped over its control socket: exiting');
    process.exit(0);
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => void group.reload(loadAgentConfig));
  try {
    await group.start();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`uplinkd: invalid configuration: ${err.message}\n`);
      process.exit(2);
    }
    rootLogger.fatal({ err }, 'uplinkd (shared) failed to start');
    process.exit(1);
  }
}

await program.parseAsync(process.argv);
