// Plain-data shapes a PeerSession exposes for introspection (uplinkctl).
import type { EventName, StateName } from '../fsm/table.js';

export interface FlapRecord {
  readonly at: string;
  readonly from: StateName;
  readonly event: EventName;
  readonly error: string | null;
}

export interface LastError {
  readonly at: string;
  readonly direction: 'sent' | 'received';
  readonly code: number;
  readonly subcode: number;
  /** In words, e.g. "Cease/AdministrativeShutdown: maintenance". */
  readonly text: string;
}

export interface Counters {
  messagesIn: number;
  messagesOut: number;
  updatesIn: number;
  updatesOut: number;
  notificationsIn: number;
  notificationsOut: number;
  keepalivesIn: number;
  keepalivesOut: number;
  routeRefreshIn: number;
  treatAsWithdraw: number;
  attributeDiscard: number;
  /** Times a max-prefix limit with action `warn` was exceeded (once per family per session). */
  maxPrefixWarnings: number;
}


export interface LocalSettings {
  readonly asn: number;
  readonly routerId: string;
  readonly connectRetryS: number;
  readonly restartTimeS: number;
  readonly staleTimeS: number;
  /** We are restarting (RFC 4724 §3 R bit) and kept our forwarding state (F bit). */
  readonly restarting: boolean;
}
