// TCP socket options for BGP sessions, on the fd under a Node socket (`_handle.fd`, Linux only).
//
// TCP MD5 (RFC 2385) must be on the socket *before* the SYN: for an outgoing session we create the fd
// natively, set the key, and hand the fd to `new net.Socket({ fd })`, whose connect() then runs
// uv_tcp_connect on that very fd. For a listener the key goes on the listening socket (per peer address;
// accepted sockets inherit it). The same creation path can place the socket in another netns.
import { Server, Socket, createServer } from 'node:net';
import { addrToBytes, familyOf } from './addr.js';
import { AF, SOCKOPT } from './constants.js';
import { NetlinkError, NetlinkErrorCode } from './errors.js';
import { fromNative, native } from './native.js';
import type { Family, TcpMd5Spec, TcpSocketSpec } from './types.js';

type Target = Socket | Server | number;

/** The OS fd of a Node socket or server (throws when it has none yet, e.g. before listen()). */
export function socketFd(t: Target): number {
  if (typeof t === 'number') return t;
  const fd = (t as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new NetlinkError(NetlinkErrorCode.Invalid, 'socket fd', { detail: 'socket has no fd (not open yet, or not Linux)' });
  }
  return fd;
}

function wrap<T>(op: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(op, err);
  }
}

/** Installs (or, with an empty key, removes) the RFC 2385 key for a peer address or prefix. */
export function setTcpMd5(t: Target, spec: TcpMd5Spec): void {
  const key = typeof spec.key === 'string' ? Buffer.from(spec.key, 'utf8') : spec.key;
  wrap(`TCP_MD5SIG ${spec.address}`, () => native().tcpMd5(socketFd(t), addrToBytes(spec.address), spec.prefixLen ?? -1, key));
}

/** GTSM (RFC 5082 §3): incoming segments with TTL/hop limit below `ttl` are dropped (255 for a direct peer). */
export function setMinTtl(t: Target, family: Family, ttl: number): void {
  const [level, name] = family === 4 ? [SOCKOPT.IPPROTO_IP, SOCKOPT.IP_MINTTL] : [SOCKOPT.IPPROTO_IPV6, SOCKOPT.IPV6_MINHOPCOUNT];
  wrap('set min TTL', () => native().setsockoptInt(socketFd(t), level, name, ttl));
}

export function getMinTtl(t: Target, family: Family): number {
  const [level, name] = family === 4 ? [SOCKOPT.IPPROTO_IP, SOCKOPT.IP_MINTTL] : [SOCKOPT.IPPROTO_IPV6, SOCKOPT.IPV6_MINHOPCOUNT];
  return wrap('get min TTL', () => native().getsockoptInt(socketFd(t), level, name));
}

/** Outgoing TTL / hop limit (255 with GTSM; >1 for eBGP multihop). */
export function setTtl(t: Target, family: Family, ttl: number): void {
  const [level, name] = family === 4 ? [SOCKOPT.IPPROTO_IP, SOCKOPT.IP_TTL] : [SOCKOPT.IPPROTO_IPV6, SOCKOPT.IPV6_UNICAST_HOPS];
  wrap('set TTL', () => native().setsockoptInt(socketFd(t), level, name, ttl));
}

export function getTtl(t: Target, family: Family): number {
  const [level, name] = family === 4 ? [SOCKOPT.IPPROTO_IP, SOCKOPT.IP_TTL] : [SOCKOPT.IPPROTO_IPV6, SOCKOPT.IPV6_UNICAST_HOPS];
  return wrap('get TTL', () => native().getsockoptInt(socketFd(t), level, name));
}

/** SO_BINDTODEVICE: the session only uses this interface (unnumbered / link-local peers). */
export function bindToDevice(t: Target, device: string): void {
  wrap(`SO_BINDTODEVICE ${device}`, () =>
    native().setsockoptBuf(socketFd(t), SOCKOPT.SOL_SOCKET, SOCKOPT.SO_BINDTODEVICE, Buffer.from(`${device}\0`)),
  );
}

/**
 * A nonblocking TCP socket fd with every option applied before any packet is sent; created inside
 * `spec.netns` when given. The caller owns the fd (hand it to net.Socket/net.Server, which close it).
 */
export function createTcpSocketFd(spec: TcpSocketSpec): number {
  const fd = wrap('create TCP socket', () => native().tcpSocket(spec.family === 4 ? AF.INET : AF.INET6, spec.netns ?? null));
  try {
    for (const m of spec.md5 ?? []) setTcpMd5(fd, m);
    if (spec.minTtl !== undefined) setMinTtl(fd, spec.family, spec.minTtl);
    if (spec.ttl !== undefined) setTtl(fd, spec.family, spec.ttl);
    if (spec.device) bindToDevice(fd, spec.device);
    if (spec.bind) {
      const b = spec.bind;
      wrap(`bind ${b.address}:${b.port}`, () => native().bindAddr(fd, addrToBytes(b.address), b.port));
    }
    return fd;
  } catch (err) {
    native().closeFd(fd);
    throw err;
  }
}

/** Connects an outgoing session with options (MD5, GTSM, TTL, device) set before the SYN. */
export function connectTcp(spec: TcpSocketSpec & { host: string; port: number; timeoutMs?: number }): Promise<Socket> {
  if (familyOf(spec.host) !== spec.family) {
    return Promise.reject(new NetlinkError(NetlinkErrorCode.Invalid, 'connect', { detail: `${spec.host} is not IPv${spec.family}` }));
  }
  let fd: number;
  try {
    fd = createTcpSocketFd(spec);
  } catch (err) {
    return Promise.reject(err);
  }
  const sock = new Socket({ fd, readable: true, writable: true });
  return new Promise((resolve, reject) => {
    const timer = spec.timeoutMs
      ? setTimeout(() => {
          sock.destroy();
          reject(new NetlinkError(NetlinkErrorCode.Syscall, `connect ${spec.host}:${spec.port}`, { errno: 110, detail: `timed out after ${spec.timeoutMs} ms` }));
        }, spec.timeoutMs)
      : undefined;
    sock.once('error', (err) => {
      if (timer) clearTimeout(timer);
      sock.destroy();
      reject(err);
    });
    sock.connect({ host: spec.host, port: spec.port }, () => {
      if (timer) clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
  });
}

/** A listening server whose socket has the options set (MD5 keys per peer, GTSM...) before listen(). */
export function listenTcp(spec: TcpSocketSpec & { bind: { address: string; port: number } }, onConnection?: (s: Socket) => void): Promise<Server> {
  let fd: number;
  try {
    fd = createTcpSocketFd(spec);
  } catch (err) {
    return Promise.reject(err);
  }
  const server = createServer(onConnection);
  return new Promise((resolve, reject) => {
    server.once('error', (err) => {
      native().closeFd(fd);
      reject(err);
    });
    server.listen({ fd }, () => {
      server.removeAllListeners('error');
      resolve(server);
    });
  });
}
