// FIB reconciler metrics on the agent's registry (lib/metrics.ts). Names are the dashboard contract.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../lib/metrics.js';

export const routesInstalled = new Gauge({
  name: 'uplink_routes_installed',
  help: 'Routes with the uplink protocol in the kernel, as of the last sync',
  labelNames: ['table', 'family'] as const,
  registers: [registry],
});

export const routesStale = new Gauge({
  name: 'uplink_routes_stale',
  help: 'Adopted routes from a previous run still kept until convergence (graceful restart)',
  registers: [registry],
});

export const applySeconds = new Histogram({
  name: 'uplink_routes_apply_seconds',
  help: 'Time from a desired-state change to the kernel acknowledging it',
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});

export const driftRepairs = new Counter({
  name: 'uplink_routes_drift_repairs_total',
  help: 'Routes restored or removed because someone else changed the kernel table',
  registers: [registry],
});

export const netlinkErrors = new Counter({
  name: 'uplink_routes_netlink_errors_total',
  help: 'Route operations or dumps the kernel rejected',
  labelNames: ['op'] as const,
  registers: [registry],
});

export const leaderState = new Gauge({
  name: 'uplink_routes_leader',
  help: '1 while this process is the node FIB writer',
  registers: [registry],
});

export const syncsTotal = new Counter({
  name: 'uplink_routes_syncs_total',
  help: 'Reconciliation passes, by kind',
  labelNames: ['kind'] as const,
  registers: [registry],
});
