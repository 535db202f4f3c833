// Typed errors of the netlink layer. Every failure carries the operation, the errno (with its name) and
// the kernel's extended-ack text when it sent one (NLMSGERR_ATTR_MSG, linux/netlink.h), so a log line
// says "route replace 10.1.0.0/24: ENETUNREACH (Nexthop has invalid gateway)" and not just "failed".
import { constants as osConstants } from 'node:os';
import { UplinkError } from '../../lib/errors.js';

export const NetlinkErrorCode = {
  /** The kernel rejected a request (errno set). */
  Kernel: 'NETLINK_KERNEL',
  /** A syscall in the addon failed (socket, setns, sendmsg...). */
  Syscall: 'NETLINK_SYSCALL',
  /** A reply did not parse. */
  Malformed: 'NETLINK_MALFORMED',
  /** Bad argument from the caller (unparsable address, unknown device). */
  Invalid: 'NETLINK_INVALID',
  /** The native addon is not built or failed to load. */
  NotBuilt: 'NETLINK_NOT_BUILT',
  /** A dump stayed interrupted (NLM_F_DUMP_INTR) after all retries. */
  DumpInterrupted: 'NETLINK_DUMP_INTERRUPTED',
  /** The handle was closed. */
  Closed: 'NETLINK_CLOSED',
} as const;
export type NetlinkErrorCode = (typeof NetlinkErrorCode)[keyof typeof NetlinkErrorCode];

const errnoNames = new Map<number, string>();
for (const [name, num] of Object.entries(osConstants.errno)) {
  if (!errnoNames.has(num)) errnoNames.set(num, name);
}

export function errnoName(errno: number): string {
  return errnoNames.get(errno) ?? `E${errno}`;
}

export const ERRNO = {
  EPERM: osConstants.errno.EPERM,
  ENOENT: osConstants.errno.ENOENT,
  ESRCH: osConstants.errno.ESRCH,
  EEXIST: osConstants.errno.EEXIST,
  ENODEV: osConstants.errno.ENODEV,
  EINVAL: osConstants.errno.EINVAL,
  ENOBUFS: osConstants.errno.ENOBUFS,
  EADDRNOTAVAIL: osConstants.errno.EADDRNOTAVAIL,
  EAGAIN: osConstants.errno.EAGAIN,
  EINTR: osConstants.errno.EINTR,
  EBUSY: osConstants.errno.EBUSY,
  EWOULDBLOCK: osConstants.errno.EWOULDBLOCK,
} as const;

export class NetlinkError extends UplinkError {
  readonly errno: number;
  readonly errnoName: string;
  readonly operation: string;
  readonly extack: string | undefined;

  constructor(
    code: NetlinkErrorCode,
    operation: string,
    opts: { errno?: number; extack?: string; detail?: string; cause?: unknown } = {},
  ) {
    const errno = opts.errno ?? 0;
    const name = errno ? errnoName(errno) : '';
    const parts = [operation + ':'];
    if (name) parts.push(name);
    if (opts.extack) parts.push(`(${opts.extack})`);
    if (opts.detail) parts.push(opts.detail);
    super(code, parts.join(' '), { cause: opts.cause });
    this.errno = errno;
    this.errnoName = name;
    this.operation = operation;
    this.extack = opts.extack;
  }
}
