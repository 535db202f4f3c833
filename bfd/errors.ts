// bfd/'s error base. Malformed packets are not errors (they are counted drops, see DropReason); these
// are for API misuse and for socket failures from the native engine.
import { UplinkError } from '../lib/errors.js';

export const BfdErrorCode = {
  InvalidConfig: 'BFD_INVALID_CONFIG',
  DuplicateSession: 'BFD_DUPLICATE_SESSION',
  NoSuchSession: 'BFD_NO_SUCH_SESSION',
  Socket: 'BFD_SOCKET',
  NotBuilt: 'BFD_NATIVE_NOT_BUILT',
  Closed: 'BFD_CLOSED',
} as const;
export type BfdErrorCode = (typeof BfdErrorCode)[keyof typeof BfdErrorCode];

export class BfdError extends UplinkError {
  declare readonly code: BfdErrorCode;
  constructor(code: BfdErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
