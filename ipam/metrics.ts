import { Counter, Histogram } from 'prom-client';
import { registry } from '../lib/metrics.js';

export const allocations = new Counter({
  name: 'uplink_ipam_allocations_total',
  help: 'IPAM allocate calls by result (ok, exhausted, error)',
  labelNames: ['result'] as const,
  registers: [registry],
});
export const allocateSeconds = new Histogram({
  name: 'uplink_ipam_allocate_seconds',
  help: 'Latency of Ipam.allocate',
  buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
  registers: [registry],
});
export const casConflicts = new Counter({
  name: 'uplink_ipam_cas_conflicts_total',
  help: 'Compare-and-swap conflicts seen by IPAM (each is a re-read and retry)',
  labelNames: ['kind'] as const,
  registers: [registry],
});
export const blockWrites = new Counter({
  name: 'uplink_ipam_block_writes_total',
  help: 'Block writes by the node fast path; allocations per write = batching factor',
  registers: [registry],
});
