// What a session remembers for the operator: message counters, the last NOTIFICATION in words, the
// recent flaps, and the throttled push of counters and prefix gauges to Prometheus.
import { ErrorCode, notificationName, shutdownCommunication, type NotificationMessage } from '../wire/index.js';
import { peerMetrics } from '../metrics.js';
import type { Counters, FlapRecord, LastError } from './types.js';

/** Cadence of the per-peer counter and prefix-gauge refresh while UPDATEs stream in. */
export const METRICS_THROTTLE_MS = 100;

/** Flap records kept per peer (uplinkctl shows them; older ones are in the logs). */
export const FLAP_HISTORY = 20;

export function newCounters(): Counters {
  return {
    messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0, notificationsIn: 0, notificationsOut: 0,
    keepalivesIn: 0, keepalivesOut: 0, routeRefreshIn: 0, treatAsWithdraw: 0, attributeDiscard: 0, maxPrefixWarnings: 0,
  };
}

/** A NOTIFICATION sent or received, in words; Cease carries the RFC 9003 shutdown communication if any. */
export function errorRecord(direction: LastError['direction'], n: NotificationMessage): LastError {
  const comm = n.code === ErrorCode.Cease ? shutdownCommunication(n) : null;
  return {
    at: new Date().toISOString(),
    direction,
    code: n.code,
    subcode: n.subcode,
    text: `${notificationName(n.code, n.subcode)}${comm ? `: ${comm}` : ''}`,
  };
}

export function pushFlap(flaps: FlapRecord[], rec: FlapRecord): void {
  flaps.push(rec);
  if (flaps.length > FLAP_HISTORY) flaps.shift();
}

type MetricsPeer = Parameters<typeof peerMetrics.sync>[0];

/**
 * Update counters and the six prefix gauges at most every METRICS_THROTTLE_MS: a full table arrives
 * as hundreds of UPDATEs a second, and a scrape needs no per-message precision. Trailing, so the
 * last value always lands.
 */
export class MetricsThrottle {
  private timer: ReturnType<typeof setTimeout> | null = null;

  /** `peer` is the session itself: peerMetrics keys its bookkeeping by that object. */
  constructor(private readonly peer: MetricsPeer) {}

  soon(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        peerMetrics.sync(this.peer);
        peerMetrics.prefixes(this.peer);
      } catch {
        // The session left the RIB (closed, disposed) since the refresh was asked for: its gauges are
        // reset on that path, and a late metric update must never throw out of a timer.
      }
    }, METRICS_THROTTLE_MS);
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
