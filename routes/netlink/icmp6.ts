// A raw ICMPv6 socket on one interface for neighbour discovery (RFC 4861 Router Solicitation and
// Router Advertisement only; the kernel filters the rest with ICMP6_FILTER). The addon
// (native/netlink/icmp6.cc) owns the socket; packets are built and parsed by the caller
// (bgpd/session/unnumbered.ts). Used by BGP unnumbered to learn a neighbour's link-local address.
import { addrToBytes, bytesToAddr } from './addr.js';
import type { Socket } from 'node:net';
import { socketFd } from './tcp.js';
import { fromNative, native, type NativeAddon, type NativeWatcher } from './native.js';

/** The addon's ICMPv6 entry points (kept here so native.ts stays the netlink/TCP surface). */
interface Icmp6Native {
  icmp6Open(netns: string | null, device: string): { fd: number; ifindex: number };
  icmp6Send(fd: number, dst: Buffer, ifindex: number, payload: Buffer): void;
  icmp6Watch(fd: number, cb: (payload: Buffer, source: Buffer, ifindex: number, hopLimit: number) => void): NativeWatcher;
  socketAddrs(fd: number): { local: Buffer | null; remote: Buffer | null; scope: number };
}

function icmp6(): NativeAddon & Icmp6Native {
  return native() as NativeAddon & Icmp6Native;
}

export interface Icmp6Packet {
  /** The ICMPv6 message (type, code, checksum, body); no IPv6 header on a raw ICMPv6 socket. */
  readonly payload: Buffer;
  /** Source address, without a zone. */
  readonly source: string;
  readonly ifindex: number;
  /** IPv6 hop limit of the received packet; -1 if the kernel did not say. */
  readonly hopLimit: number;
}

export interface Icmp6Socket {
  readonly device: string;
  readonly ifindex: number;
  /** Sends one ICMPv6 message out of the interface (hop limit 255; the kernel fills in the checksum). */
  send(destination: string, payload: Uint8Array): void;
  close(): void;
}

/**
 * Opens the socket on `device` (inside `netns` when given) and delivers every RS/RA received there.
 * Close it exactly once; `onPacket` is never called after close().
 */
export function openIcmp6(spec: { device: string; netns?: string }, onPacket: (p: Icmp6Packet) => void): Icmp6Socket {
  const n = icmp6();
  let opened: { fd: number; ifindex: number };
  try {
    opened = n.icmp6Open(spec.netns ?? null, spec.device);
  } catch (err) {
    throw fromNative(`raw ICMPv6 socket on ${spec.device}`, err);
  }
  const { fd, ifindex } = opened;
  let watcher: NativeWatcher | null = null;
  try {
    watcher = n.icmp6Watch(fd, (payload, src, idx, hopLimit) => {
      if (!watcher) return;
      try {
        onPacket({ payload, source: bytesToAddr(src), ifindex: idx, hopLimit });
      } catch (err) {
        // Never let a JS exception unwind through the addon's libuv callback: rethrow on a clean stack.
        process.nextTick(() => {
          throw err;
        });
      }
    });
  } catch (err) {
    n.closeFd(fd);
    throw fromNative('poll ICMPv6 socket', err);
  }
  return {
    device: spec.device,
    ifindex,
    send(destination: string, payload: Uint8Array): void {
      if (!watcher) return;
      try {
        n.icmp6Send(fd, addrToBytes(destination), ifindex, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength));
      } catch (err) {
        throw fromNative(`send ICMPv6 to ${destination}%${spec.device}`, err);
      }
    },
    close(): void {
      if (!watcher) return;
      watcher.stop();
      watcher = null;
      n.closeFd(fd);
    },
  };
}

/**
 * Local and remote address of a connected TCP socket, without a zone, and the IPv6 scope id (ifindex
 * of a link-local session, 0 otherwise). Node's `localAddress` / `remoteAddress` throw (ENXIO from
 * uv_if_indextoiid) for a link-local peer on an interface of another netns, so this asks the kernel.
 * Falls back to Node's getters when the addon is missing; null when unknown.
 */
export function socketAddresses(sock: Socket): { local: string | null; remote: string | null; scope: number } {
  const strip = (a: string | undefined): string | null => (a ? a.replace(/^::ffff:/, '').split('%')[0]! : null);
  let fromNode: { local: string | null; remote: string | null } | null = null;
  try {
    fromNode = { local: strip(sock.localAddress), remote: strip(sock.remoteAddress) };
  } catch {
    // link-local in another netns: ask the kernel below
  }
  // Node's text form is kept when it has one (v4-mapped addresses print as ::ffff:a.b.c.d there).
  if (fromNode && !/^fe[89ab][0-9a-f]:/i.test(fromNode.remote ?? '')) return { ...fromNode, scope: 0 };
  try {
    const r = icmp6().socketAddrs(socketFd(sock));
    const fmt = (b: Buffer | null): string | null => (b ? bytesToAddr(b) : null);
    return { local: fromNode?.local ?? fmt(r.local), remote: fromNode?.remote ?? fmt(r.remote), scope: r.scope };
  } catch {
    return { local: fromNode?.local ?? null, remote: fromNode?.remote ?? null, scope: 0 };
  }
}
