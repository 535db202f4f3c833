// The TCP side of one session: the connection record, writes that never throw on a dead socket, the close
// sequence, dialling out (plain `net`, or the netlink addon when a socket option Node lacks is needed) and
// the §6.8 collision tie-break. No FSM here: PeerSession turns these outcomes into RFC 4271 §8.1.4 events.
import { Socket, connect as netConnect, isIP } from 'node:net';
import { CeaseSubcode, ErrorCode, MessageType, type NotificationMessage } from '../wire/index.js';
import type { PeerConfig } from '../config.js';
import { createTcpSocketFd, nativeAvailable, type TcpSocketSpec } from '../../routes/netlink/index.js';

export type Direction = 'outgoing' | 'incoming';

export interface Conn {
  readonly sock: Socket;
  /** Connection generation: a late event from a closed socket carries an old one and is ignored. */
  readonly gen: number;
  readonly dir: Direction;
  buf: Buffer;
  /** Our OPEN already went out on this connection (a §6.8 collision candidate we dialled). */
  sentOpen: boolean;
}

export function writeRaw(sock: Socket, bytes: Uint8Array): void {
  if (!sock.destroyed && sock.writable) sock.write(bytes);
}

export function closeConn(c: Conn | null): void {
  if (!c) return;
  c.sock.removeAllListeners('data');
  c.sock.end();
  // Give the kernel a moment to send what we wrote (a NOTIFICATION), then make sure it is gone.
  setTimeout(() => c.sock.destroy(), 500).unref();
}

/** Drop the listeners a pending (collision-candidate) connection was attached with, before re-attaching it. */
export function detach(sock: Socket): void {
  sock.removeAllListeners('data');
  sock.removeAllListeners('error');
  sock.removeAllListeners('close');
}

export interface DialRequest {
  readonly cfg: PeerConfig;
  readonly host: string;
  readonly netns: string | undefined;
  readonly timeoutMs: number;
}

/** Abandon a connect still in progress: the kernel stops retransmitting its SYN. */
export type AbortDial = () => void;

/**
 * Connect to the peer. MD5 (RFC 2385), GTSM (RFC 5082), a multihop TTL, a netns or a bound device need
 * a socket made by the netlink addon (createTcpSocketFd); otherwise Node's own socket does. Either way
 * the caller gets an abort: a SYN of ours that reaches a peer already Established on another connection
 * costs that session (see PeerSession.onOpen), so an attempt made moot must be withdrawn, not left to
 * complete.
 */
export function dial(req: DialRequest, onConnected: (sock: Socket) => void, onFailed: (err: Error) => void): AbortDial {
  const { cfg, host } = req;
  const family = isIP(host) === 6 ? 6 : 4;
  const device = cfg.address ? undefined : cfg.interface;
  const needOptions = Boolean(cfg.password || cfg.ttlSecurity || cfg.multihop || req.netns || device);
  let sock: Socket;
  if (needOptions && nativeAvailable()) {
    const spec: TcpSocketSpec = {
      family,
      ...(req.netns ? { netns: req.netns } : {}),
      // A link-local destination needs its interface (RFC 4291 §2.5.6); the kernel takes the scope
      // from the bound device when the address carries none.
      ...(device ? { device } : {}),
      ...(cfg.localAddress ? { bind: { address: cfg.localAddress, port: 0 } } : {}),
      ...(cfg.password ? { md5: [{ address: host, key: cfg.password }] } : {}),
      // RFC 5082 §3: send with TTL 255, accept only 255 - (hops - 1).
      ...(cfg.ttlSecurity ? { ttl: 255, minTtl: 256 - cfg.ttlSecurity } : {}),
      ...(cfg.multihop ? { ttl: cfg.multihop } : {}),
    };
    let fd: number;
    try {
      fd = createTcpSocketFd(spec);
    } catch (err) {
      queueMicrotask(() => onFailed(err as Error));
      return () => undefined;
    }
    sock = new Socket({ fd, readable: true, writable: true });
    sock.connect({ host, port: cfg.port });
  } else {
    sock = netConnect({ host, port: cfg.port, ...(cfg.localAddress ? { localAddress: cfg.localAddress } : {}) });
  }
  let settled = false;
  const timer = setTimeout(() => fail(new Error(`connect ${host}:${cfg.port} timed out after ${req.timeoutMs} ms`)), req.timeoutMs);
  timer.unref();
  const fail = (err: Error): void => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    sock.destroy();
    onFailed(err);
  };
  sock.once('connect', () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    sock.removeAllListeners('error');
    onConnected(sock);
  });
  sock.once('error', fail);
  return () => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    sock.destroy();
  };
}

/** RFC 4486 §4 subcode 7: sent on the connection a §6.8 collision closes. */
export const COLLISION_CEASE: NotificationMessage = { type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution, data: new Uint8Array(0) };

/** RFC 4271 §6.8: the connection initiated by the speaker with the lower BGP Identifier is closed. */
export function collisionLoser(localId: string, remoteId: string): Direction {
  return idValue(localId) > idValue(remoteId) ? 'incoming' : 'outgoing';
}

function idValue(s: string): number {
  return s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
}
