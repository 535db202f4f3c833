// bfd/: BFD (RFC 5880 asynchronous mode, RFC 5881 single hop, RFC 5883 multihop) for BGP peers.
export { BfdManager, BFD_DEFAULTS, sessionKey, type BfdManagerOptions, type BfdSessionConfig, type BfdSessionInfo, type BfdStateEvent } from './manager.js';
export { State, Diagnostic, DropReason, type StateName } from './constants.js';
export { BfdError, BfdErrorCode } from './errors.js';
export { bfdSessionsFromConfig, type BgpPeerLike, type BfdTimers } from './config.js';
export { bfdShowRows, type BfdShowRow } from './show.js';
export { decodePacket, encodePacket, type BfdPacket, type DecodeResult } from './packet.js';
