// Flat rows for `uplinkctl show bfd` (uplinkctl/commands/show.ts reads peer, state, txIntervalMs,
// rxIntervalMs, detectionTimeMs, lastDownReason); the full nested BfdSessionInfo stays available for -o json.
import type { BfdSessionInfo } from './manager.js';

export interface BfdShowRow {
  peer: string;
  interface?: string;
  multihop: boolean;
  state: string;
  remoteState: string;
  localDiscriminator: number;
  remoteDiscriminator: number;
  txIntervalMs: number;
  rxIntervalMs: number;
  detectionTimeMs: number;
  packetsIn: number;
  packetsOut: number;
  dropped: number;
  stateChanges: number;
  lastDownReason?: string;
}

export function bfdShowRows(sessions: BfdSessionInfo[]): BfdShowRow[] {
  return sessions.map((s) => ({
    peer: s.key,
    ...(s.interface ? { interface: s.interface } : {}),
    multihop: s.multihop,
    state: s.state,
    remoteState: s.remoteState,
    localDiscriminator: s.localDiscriminator,
    remoteDiscriminator: s.remoteDiscriminator,
    txIntervalMs: s.negotiated.txIntervalMs,
    rxIntervalMs: s.negotiated.rxIntervalMs,
    detectionTimeMs: s.negotiated.detectionTimeMs,
    packetsIn: s.counters.packetsIn,
    packetsOut: s.counters.packetsOut,
    dropped: Object.values(s.counters.dropped).reduce((a, b) => a + (b ?? 0), 0),
    stateChanges: s.counters.stateChanges,
    ...(s.lastDownReason ? { lastDownReason: s.lastDownReason } : {}),
  }));
}
