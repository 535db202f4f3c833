// Loads the C++ addon (native/netlink, built by node-gyp from binding.gyp during `npm install`/`npm ci`).
// The addon owns only sockets and syscalls; all netlink message encoding and parsing is TypeScript.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NetlinkError, NetlinkErrorCode } from './errors.js';

/** `[index, errno, extack message]` for each message of a batch the kernel rejected. */
export type NativeFailure = [number, number, string];

export interface NativeWatcher {
  stop(): void;
}

export interface NativeAddon {
  /** rtnetlink socket, opened inside `netns` (path) when given. Returns the fd. */
  nlOpen(netns: string | null, groups: number, rcvbuf: number): number;
  nlClose(fd: number): void;
  /** Send `count` messages (seq firstSeq..firstSeq+count-1, all with NLM_F_ACK) in chunks; collect acks. */
  nlTransact(fd: number, buf: Buffer, count: number, firstSeq: number): Promise<NativeFailure[]>;
  /** Send one dump request and return every reply message (concatenated) up to NLMSG_DONE. */
  nlDump(fd: number, req: Buffer, seq: number): Promise<{ data: Buffer; interrupted: boolean }>;
  /** Poll a subscribed socket on the libuv loop; each datagram (or an errno on overrun) to `cb`. */
  nlWatch(fd: number, cb: (data: Buffer | null, errno: number) => void, ignorePortId?: number): NativeWatcher;
  /** The kernel-assigned portid (nl_pid) of a netlink socket. */
  nlPortId(fd: number): number;
  sysctlWrite(netns: string | null, path: string, value: string): void;
  sysctlRead(netns: string | null, path: string): string;
  /** Nonblocking TCP socket fd of `family` (2|10), created inside `netns` when given. */
  tcpSocket(family: number, netns: string | null): number;
  setsockoptInt(fd: number, level: number, name: number, value: number): void;
  getsockoptInt(fd: number, level: number, name: number): number;
  setsockoptBuf(fd: number, level: number, name: number, value: Buffer): void;
  /** TCP_MD5SIG_EXT; `addr` is 4 or 16 raw bytes; prefixLen < 0 means a host key. */
  tcpMd5(fd: number, addr: Buffer, prefixLen: number, key: Buffer): void;
  bindAddr(fd: number, addr: Buffer, port: number): void;
  closeFd(fd: number): void;
  /** flock(2); returns 0 or the errno (EWOULDBLOCK when LOCK_NB and held elsewhere). */
  flock(fd: number, op: number): number;
}

const here = dirname(fileURLToPath(import.meta.url));

function findAddon(): string | undefined {
  // routes/netlink, dist/routes/netlink or a transpiled copy under build/: walk up to the repo root.
  let dir = here;
  for (let i = 0; i < 8; i++) {
    const p = join(dir, 'build', 'Release', 'uplink_netlink.node');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  return undefined;
}

let addon: NativeAddon | undefined;
let loadError: Error | undefined;

/** Loads the addon from `path`; any failure becomes NETLINK_NOT_BUILT with the fix in the message. */
export function loadNativeFrom(path: string | undefined): NativeAddon {
  try {
    if (!path) throw new Error('build/Release/uplink_netlink.node not found');
    return createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    throw new NetlinkError(NetlinkErrorCode.NotBuilt, 'load native addon', {
      detail: `uplink native addon not built: run npm ci (needs g++, make, python3 and node headers) [${(err as Error).message}]`,
      cause: err,
    });
  }
}

function load(): NativeAddon {
  if (addon) return addon;
  if (loadError) throw loadError;
  try {
    addon = loadNativeFrom(findAddon());
    return addon;
  } catch (err) {
    loadError = err as Error;
    throw err;
  }
}

export function native(): NativeAddon {
  return load();
}

export function nativeAvailable(): boolean {
  try {
    load();
    return true;
  } catch {
    return false;
  }
}

export function nativeLoadError(): Error | undefined {
  nativeAvailable();
  return loadError;
}

/** Errors thrown by the addon carry `errno` and `syscall`; turn them into NetlinkErrors. */
export function fromNative(operation: string, err: unknown): NetlinkError {
  if (err instanceof NetlinkError) return err;
  const e = err as { errno?: number; syscall?: string; message?: string };
  return new NetlinkError(e.errno ? NetlinkErrorCode.Syscall : NetlinkErrorCode.Invalid, operation, {
    errno: typeof e.errno === 'number' ? e.errno : 0,
    detail: e.syscall ? `in ${e.syscall}` : e.message,
    cause: err,
  });
}
