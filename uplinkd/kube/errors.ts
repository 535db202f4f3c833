// Errors of the Kubernetes informers: one base class, stable codes.
import { UplinkError } from '../../lib/errors.js';

export const KubeErrorCode = {
  /** An annotation the agent reads (uplink.dev/asn, uplink.dev/router-id) has a value it cannot use. */
  InvalidAnnotation: 'invalid-annotation',
  /** The informer did not complete its first list in time. */
  NotSynced: 'not-synced',
  /** The agent's own CNI DEL of a garbage-collected pod's attachment failed (retried on the next run). */
  DetachFailed: 'detach-failed',
} as const;
export type KubeErrorCode = (typeof KubeErrorCode)[keyof typeof KubeErrorCode];

export class KubeError extends UplinkError {
  declare readonly code: KubeErrorCode;
  constructor(code: KubeErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
