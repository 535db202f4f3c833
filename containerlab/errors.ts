// Errors of the namespace lab runner. One base class with a stable `code`; callers and tests match
// on the code, never on the message.
import { UplinkError } from '../lib/errors.js';

export const LabErrorCode = {
  /** The .clab.yml is malformed or uses a containerlab feature the runner does not emulate. */
  BadTopology: 'LAB_BAD_TOPOLOGY',
  Unsupported: 'LAB_UNSUPPORTED',
  /** A command we ran (ip, sysctl, vtysh, an exec step) failed. */
  Command: 'LAB_COMMAND_FAILED',
  /** A daemon did not start or did not answer in time. */
  Daemon: 'LAB_DAEMON_FAILED',
  /** `up` was interrupted (SIGINT/SIGTERM); what was built has been torn down. */
  Interrupted: 'LAB_INTERRUPTED',
  UnknownNode: 'LAB_UNKNOWN_NODE',
  /** Another runner process holds the lab's lock. */
  Busy: 'LAB_BUSY',
  NotUp: 'LAB_NOT_UP',
} as const;
export type LabErrorCode = (typeof LabErrorCode)[keyof typeof LabErrorCode];

export class LabError extends UplinkError {
  constructor(code: LabErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
