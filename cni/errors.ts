// CNI errors. Every failure the agent reports to a runtime is a CniError carrying the CNI SPEC's numeric
// code ("Error" section, well-known codes) so the shim can print it verbatim and the runtime can act on
// it: 11 means "retry", 7 means "fix the config file", and so on.
import { UplinkError } from '../lib/errors.js';

/** CNI SPEC 1.1 "Error": well-known error codes (0-99 are reserved for the spec). */
export const CniCode = {
  IncompatibleVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironment: 4,
  IoFailure: 5,
  DecodeFailure: 6,
  InvalidConfig: 7,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  PluginLimited: 51,
  /** Plugin-specific (>= 100): a dataplane (netlink/sysctl) step failed. */
  DataplaneFailure: 100,
  /** Plugin-specific: IPAM could not allocate (pool exhausted, datastore error). */
  IpamFailure: 101,
  /** Plugin-specific: CHECK found the attachment differs from what ADD created. */
  CheckFailed: 102,
} as const;
export type CniCode = (typeof CniCode)[keyof typeof CniCode];

/** Stable string codes for UplinkError.code, one per CNI code. */
const stringCode: Record<CniCode, string> = {
  1: 'CNI_INCOMPATIBLE_VERSION',
  2: 'CNI_UNSUPPORTED_FIELD',
  3: 'CNI_UNKNOWN_CONTAINER',
  4: 'CNI_INVALID_ENV',
  5: 'CNI_IO_FAILURE',
  6: 'CNI_DECODE_FAILURE',
  7: 'CNI_INVALID_CONFIG',
  11: 'CNI_TRY_AGAIN_LATER',
  50: 'CNI_PLUGIN_NOT_AVAILABLE',
  51: 'CNI_PLUGIN_LIMITED',
  100: 'CNI_DATAPLANE_FAILURE',
  101: 'CNI_IPAM_FAILURE',
  102: 'CNI_CHECK_FAILED',
};

export class CniError extends UplinkError {
  readonly cniCode: CniCode;
  readonly details: string;

  constructor(cniCode: CniCode, msg: string, details = '', options?: { cause?: unknown }) {
    super(stringCode[cniCode], msg, options);
    this.cniCode = cniCode;
    this.details = details;
  }

  /** The CNI SPEC error object printed on stdout. */
  toJSON(cniVersion: string): { cniVersion: string; code: number; msg: string; details: string } {
    return { cniVersion, code: this.cniCode, msg: this.message, details: this.details };
  }
}

/** Turns anything thrown into a CniError; unknown errors become a dataplane failure with the cause. */
export function asCniError(err: unknown, fallback: CniCode = CniCode.DataplaneFailure): CniError {
  if (err instanceof CniError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new CniError(fallback, msg, '', { cause: err });
}
