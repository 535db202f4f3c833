// KEEPALIVE (RFC 4271 §4.4): a bare header; the framer already rejected any other length.
import { finishMessage, startMessage } from './header.js';
import { MAX_MESSAGE_LENGTH, MessageType, type KeepaliveMessage } from './types.js';

export const KEEPALIVE: KeepaliveMessage = Object.freeze({ type: MessageType.Keepalive });

let cached: Uint8Array | null = null;

export function encodeKeepalive(): Uint8Array {
  cached ??= finishMessage(startMessage(MessageType.Keepalive, 19), MAX_MESSAGE_LENGTH);
  return cached.slice();
}
