// CNI metrics on the agent's registry. Registered once at import: several servers in one process (tests)
// share them, as they would share one registry in uplinkd.
import { Counter, Gauge, Histogram } from 'prom-client';
import { registry } from '../../lib/metrics.js';

export const cniMetrics = {
  /** Attach latency, by command and result ("0" for success, else the CNI error code). */
  duration: new Histogram({
    name: 'uplink_cni_request_duration_seconds',
    help: 'Time the agent spent on a CNI command',
    labelNames: ['command', 'result'] as const,
    buckets: [0.005, 0.01, 0.02, 0.035, 0.05, 0.075, 0.1, 0.2, 0.5, 1, 2, 5],
    registers: [registry],
  }),
  requests: new Counter({
    name: 'uplink_cni_requests_total',
    help: 'CNI commands handled, by command and result ("0" success, else the CNI error code)',
    labelNames: ['command', 'result'] as const,
    registers: [registry],
  }),
  orphans: new Counter({
    name: 'uplink_cni_orphaned_interfaces_total',
    help: 'Host veths with the uplink prefix that no attachment owned, removed by the sweep',
    registers: [registry],
  }),
  rollbacks: new Counter({
    name: 'uplink_cni_add_rollbacks_total',
    help: 'ADDs that failed and had their completed steps undone',
    registers: [registry],
  }),
  attachments: new Gauge({
    name: 'uplink_cni_attachments',
    help: 'Attachments this agent currently records',
    registers: [registry],
  }),
};
