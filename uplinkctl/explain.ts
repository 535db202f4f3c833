// `uplinkctl explain POD|IP`: the walk itself runs in the agent (uplinkd/explain.ts), which can see the
// datastore, its RIBs and the kernel, can ask its BGP peers (route refresh) whether they accepted a
// route, and can ask the owner node's agent for its part; the CLI only asks and prints.
import { callAgent } from './client.js';
import type { ExplainStep } from '../uplinkd/explain.js';

/**
 * The agent may wait on its peers' route-refresh answers (up to 5 s, all peers at once) and on the
 * owner node's agent (up to 12 s, its own probe included): allow for both.
 */
const EXPLAIN_TIMEOUT_MS = 30_000;

export function explain(socket: string, target: string): Promise<ExplainStep[]> {
  return callAgent<ExplainStep[]>(socket, 'GET', `/explain?target=${encodeURIComponent(target)}`, undefined, EXPLAIN_TIMEOUT_MS);
}
