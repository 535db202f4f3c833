// The agent's single Prometheus registry. Every component registers its metrics here at import time so
// names stay unique and stable; metric names are the contract with the dashboard and alert rules.
import { Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
let defaultsOn = false;

/** Process metrics (RSS, event-loop lag) are only wanted in the long-running agent. */
export function enableDefaultMetrics(): void {
  if (defaultsOn) return;
  defaultsOn = true;
  collectDefaultMetrics({ register: registry, prefix: 'uplink_' });
}
