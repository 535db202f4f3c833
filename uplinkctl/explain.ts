// `uplinkctl explain POD|IP`: the walk itself runs in the agent (uplinkd/explain.ts), which can see the
// datastore, its RIBs and the kernel, can ask its BGP peers (route refresh) whether they accepted a
// route, and can ask the owner node's agent for its part (through the datastore, explain-broker.ts);
// the CLI only asks and prints.
import { callAgent } from './client.js';
import type { ExplainStep } from '../uplinkd/explain.js';

/**
 * The agent may wait on its peers' route-refresh answers (up to 5 s, all peers at once) and on the
 * owner node's agent (up to 12 s, its own probe included): allow for both.
 */
const EXPLAIN_TIMEOUT_MS = 30_000;

/** `noRefresh`: the agents send no ROUTE-REFRESH; peer acceptance is then reported as not verified. */
export function explain(socket: string, target: string, opts: { noRefresh?: boolean } = {}): Promise<ExplainStep[]> {
  const q = `target=${encodeURIComponent(target)}${opts.noRefresh ? '&refresh=0' : ''}`;
  return callAgent<ExplainStep[]>(socket, 'GET', `/explain?${q}`, undefined, EXPLAIN_TIMEOUT_MS);
}
