// Datastore access for cluster-wide commands: the same datastore the agents use, named in the agent's
// config file. Read-only: uplinkctl never writes allocation state.
import { existsSync } from 'node:fs';
import { openDatastore } from '../ipam/index.js';
import { loadAgentConfig } from '../uplinkd/config.js';
import { AGENTS_PREFIX, type AgentStatusRecord } from '../uplinkd/agent.js';

export async function readAgentStatuses(configFile: string): Promise<AgentStatusRecord[]> {
  if (!existsSync(configFile)) {
    throw new Error(`--all-nodes reads the datastore named in the agent's config, but ${configFile} does not exist: pass --config FILE`);
  }
  const cfg = loadAgentConfig(configFile);
  const store = await openDatastore(cfg.datastore);
  try {
    const { items } = await store.list<AgentStatusRecord>(AGENTS_PREFIX);
    return items.map((i) => i.value).sort((a, b) => a.node.localeCompare(b.node));
  } finally {
    await store.close();
  }
}
