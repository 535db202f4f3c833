// Public API of the BGP speaker for uplinkd and uplinkctl. bgpd/wire has its own index.
export { BgpSpeaker, type SpeakerDeps, type NeighborStatus, type RouteView, type RibEntry } from './speaker.js';
export { parseBgpConfig, type BgpConfig, type PeerConfig, type ListenRange, type MaxPrefix, type FamilyName } from './config.js';
export type { FibChange, NextHop } from './rib/rib.js';
export type { FlapRecord, LastError, Counters } from './session/peer.js';
export { BgpError, BgpErrorCode } from './errors.js';
export { State, Event } from './fsm/table.js';
