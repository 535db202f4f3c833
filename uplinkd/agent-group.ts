// Many nodes' agents in one Node.js process: the simulation mode of the scale drill (issue 8).
// `uplinkd --config a.yaml --config b.yaml ...` starts one Agent per file; each file names its node's
// network namespace (`netns`), and every socket and netlink request of that agent is made there
// (BGP and BFD sockets, the FIB reconciler's rtnetlink socket, the CNI server's host side, the
// forwarding-state check at start). What stays per agent, exactly as with one process per node:
//   - the datastore connection: each agent opens its own (one per node, as on real machines); its
//     lifecycle is the agent's (stop closes it and revokes the agent's status lease), so sharing one
//     would need reference counting for no gain: an embedded connection is one file handle;
//   - the control socket, CNI socket and FIB lock file: from each config, and required to differ;
//   - graceful restart: a stop leaves each node's routes in its kernel and its peers keep ours.
// What is process-wide: prom-client's one global registry. Every package registers its metrics at
// module load without a node label, so N agents would add to the same counters and overwrite the
// same gauges — figures that look right and are wrong. Metrics endpoints are therefore off in this
// mode (a config's `metrics.listen` is ignored with a warning); the drills read kernels and FRR.
import { ConfigError } from '../lib/config-check.js';
import { logger } from '../lib/log.js';
import { Agent } from './agent.js';
import type { AgentConfig } from './config.js';

const log = logger('agent-group');

/** Agents started at once: each start is mostly waiting on the datastore and netlink. */
const STARTS_AT_ONCE = 8;

/** Throws a ConfigError when two configs would share a node, namespace, socket or lock file. */
export function checkGroup(cfgs: readonly AgentConfig[]): void {
  const seen = new Map<string, string>();
  for (const c of cfgs) {
    const where = c.file ?? c.nodeName;
    if (!c.netns) throw new ConfigError('netns', `${where}: every agent of a shared process needs its node's namespace (netns)`);
    const keys: Array<[string, string]> = [
      ['nodeName', c.nodeName], ['netns', c.netns], ['control.socket', c.control.socket],
      ['routes.lockFile', c.routes.lockFile], ['stateDir', c.stateDir],
    ];
    if (c.cni.enabled) keys.push(['cni.socket', c.cni.socket]);
    for (const [k, v] of keys) {
      const id = `${k}=${v}`;
      const other = seen.get(id);
      if (other !== undefined) throw new ConfigError(k, `${where} and ${other} both use ${v}`);
      seen.set(id, where);
    }
  }
}

export class AgentGroup {
  private readonly agents = new Map<string, Agent>();
  private stopping = false;
  /** Called once no agent is left running (every one stopped, by signal or control socket). */
  onEmpty: (() => void) | undefined;

  constructor(cfgs: readonly AgentConfig[]) {
    checkGroup(cfgs);
    for (const c of cfgs) {
      if (c.metrics.listen) log.warn({ node: c.nodeName, listen: c.metrics.listen }, 'metrics endpoint off: agents sharing a process share one registry');
      const agent = new Agent({ ...c, metrics: { listen: null } });
      // `uplinkctl shutdown` on one node's control socket stops that node's agent only.
      agent.onShutdownRequest = (withdraw) => void this.stopOne(c.nodeName, withdraw);
      this.agents.set(c.nodeName, agent);
    }
  }

  get size(): number {
    return this.agents.size;
  }

  nodes(): string[] {
    return [...this.agents.keys()];
  }

  /** Starts every agent, STARTS_AT_ONCE at a time; on any failure stops those started and rethrows. */
  async start(): Promise<void> {
    const all = [...this.agents.values()];
    const started: Agent[] = [];
    try {
      for (let i = 0; i < all.length; i += STARTS_AT_ONCE) {
        const batch = all.slice(i, i + STARTS_AT_ONCE);
        const r = await Promise.allSettled(batch.map(async (a) => {
          await a.start();
          started.push(a);
        }));
        const failed = r.find((x) => x.status === 'rejected');
        if (failed) throw failed.reason;
      }
    } catch (err) {
      // Those whose start failed half-way hold resources too: stop every agent, started or not.
      await Promise.allSettled(all.map((a) => a.stop()));
      this.agents.clear();
      throw err;
    }
    log.info({ agents: started.length }, 'every agent of the group started');
  }

  /** Stop one node's agent (its control socket asked for it); the others keep running. */
  async stopOne(node: string, withdraw = false): Promise<void> {
    const a = this.agents.get(node);
    if (!a) return;
    this.agents.delete(node);
    try {
      await a.stop({ withdraw });
    } catch (err) {
      log.error({ err, node }, 'error stopping agent');
    }
    if (this.agents.size === 0 && !this.stopping) this.onEmpty?.();
  }

  /** Stop every agent concurrently: per agent the same graceful stop as a single uplinkd's SIGTERM. */
  async stop(opts: { withdraw?: boolean } = {}): Promise<void> {
    this.stopping = true;
    const all = [...this.agents.entries()];
    this.agents.clear();
    const r = await Promise.allSettled(all.map(([, a]) => a.stop(opts)));
    const failed = r.flatMap((x, i) => (x.status === 'rejected' ? [`${all[i]![0]}: ${(x.reason as Error).message}`] : []));
    if (failed.length) throw new Error(`agents failed to stop cleanly: ${failed.join('; ')}`);
  }

  /** SIGHUP: each agent re-reads its own file; a bad file keeps that agent's running config. */
  async reload(load: (file: string) => AgentConfig): Promise<void> {
    for (const [node, a] of this.agents) {
      const file = a.config.file;
      if (!file) continue;
      try {
        await a.reload({ ...load(file), metrics: { listen: null } });
      } catch (err) {
        log.error({ err, node }, 'reload rejected; keeping the running configuration');
      }
    }
  }
}
