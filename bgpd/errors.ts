// The speaker's error base. Wire-level errors stay WireError (bgpd/wire); everything the session, RIB,
// policy and configuration layers throw derives from BgpError with a stable code.
import { UplinkError } from '../lib/errors.js';

export const BgpErrorCode = {
  Config: 'BGP_CONFIG_INVALID',
  Policy: 'BGP_POLICY_INVALID',
  Prefix: 'BGP_PREFIX_INVALID',
  ImpossibleState: 'BGP_IMPOSSIBLE_STATE',
  NotRunning: 'BGP_NOT_RUNNING',
  UnknownPeer: 'BGP_UNKNOWN_PEER',
} as const;
export type BgpErrorCode = (typeof BgpErrorCode)[keyof typeof BgpErrorCode];

export class BgpError extends UplinkError {
  constructor(code: BgpErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
