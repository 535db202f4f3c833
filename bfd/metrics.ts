// BFD metrics on the agent's registry. Names are the contract with dashboards and alert rules.
import { Counter, Gauge } from 'prom-client';
import { registry } from '../lib/metrics.js';

export const sessionState = new Gauge({
  name: 'uplink_bfd_session_state',
  help: 'BFD session state as RFC 5880 codes it: 0 AdminDown, 1 Down, 2 Init, 3 Up',
  labelNames: ['peer'] as const,
  registers: [registry],
});

export const stateChanges = new Counter({
  name: 'uplink_bfd_state_changes_total',
  help: 'BFD session state transitions, by peer and new state',
  labelNames: ['peer', 'to'] as const,
  registers: [registry],
});

export const detections = new Counter({
  name: 'uplink_bfd_detections_total',
  help: 'BFD sessions taken down because the Detection Time expired (RFC 5880 §6.8.4)',
  labelNames: ['peer'] as const,
  registers: [registry],
});

export const droppedPackets = new Counter({
  name: 'uplink_bfd_dropped_packets_total',
  help: 'Received BFD packets discarded, by RFC 5880 §6.8.6 / RFC 5881 §5 rule',
  labelNames: ['reason'] as const,
  registers: [registry],
});
