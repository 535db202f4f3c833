// `uplinkctl explain POD|IP`: the walk itself runs in the agent (uplinkd/explain.ts), which can see the
// datastore, its RIBs and the kernel; the CLI only asks and prints.
import { callAgent } from './client.js';
import type { ExplainStep } from '../uplinkd/explain.js';

export function explain(socket: string, target: string): Promise<ExplainStep[]> {
  return callAgent<ExplainStep[]>(socket, 'GET', `/explain?target=${encodeURIComponent(target)}`, undefined, 30_000);
}
