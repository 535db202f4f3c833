// BGP unnumbered: learn the neighbour's IPv6 link-local address on an interface from its Router
// Advertisements, and send our own so the neighbour learns ours (FRR's `neighbor IFNAME interface`
// takes the peer address from RAs that zebra receives, RFC 5549/8950 deployments do the same).
//
// Only the ND subset we need: Router Solicitation (RFC 4861 §4.1) at start so a neighbour answers at
// once, Router Advertisement (§4.2) with Router Lifetime 0 (§6.2.3: we are not a default router, so the
// neighbour's kernel installs no default route through us), and the §6.1.2 validity checks on what we
// receive. The raw socket is routes/netlink `openIcmp6`; this file builds and parses the bytes.
//
// Ownership: one LinkLocalDiscovery per unnumbered PeerSession, started and stopped by the speaker.
// Everything runs on the event loop.
import type { Logger } from '../../lib/log.js';
import { openIcmp6, type Icmp6Packet, type Icmp6Socket } from '../../routes/netlink/index.js';

export const NdType = {
  RouterSolicitation: 133,
  RouterAdvertisement: 134,
} as const;

/** RFC 4291 §2.7.1 all-nodes and all-routers link-scope multicast groups. */
export const ALL_NODES = 'ff02::1';
export const ALL_ROUTERS = 'ff02::2';

/** RFC 4861 §4.1: type, code, checksum, 4 reserved octets (no source link-layer option). */
export function buildRouterSolicitation(): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = NdType.RouterSolicitation;
  return b;
}

export interface RouterAdvertisement {
  readonly curHopLimit: number;
  readonly managed: boolean;
  readonly other: boolean;
  readonly routerLifetimeS: number;
  readonly reachableTimeMs: number;
  readonly retransTimerMs: number;
}

/** RFC 4861 §4.2 header (16 octets, no options); the checksum is left 0 for the kernel to fill in. */
export function buildRouterAdvertisement(ra: Partial<RouterAdvertisement> = {}): Uint8Array {
  const b = new Uint8Array(16);
  const v = new DataView(b.buffer);
  b[0] = NdType.RouterAdvertisement;
  b[4] = ra.curHopLimit ?? 0;
  b[5] = (ra.managed ? 0x80 : 0) | (ra.other ? 0x40 : 0);
  v.setUint16(6, ra.routerLifetimeS ?? 0);
  v.setUint32(8, ra.reachableTimeMs ?? 0);
  v.setUint32(12, ra.retransTimerMs ?? 0);
  return b;
}

export type RaRejectReason = 'short' | 'not-ra' | 'bad-code' | 'hop-limit' | 'not-link-local';

/**
 * RFC 4861 §6.1.2 validity checks, then the fixed header. Options are not needed (we only want the
 * source address) and are not parsed. The kernel has verified the ICMPv6 checksum already.
 */
export function parseRouterAdvertisement(p: Pick<Icmp6Packet, 'payload' | 'source' | 'hopLimit'>): RouterAdvertisement | RaRejectReason {
  const b = p.payload;
  if (b.length < 1 || b[0] !== NdType.RouterAdvertisement) return 'not-ra';
  if (b.length < 16) return 'short';
  if (b[1] !== 0) return 'bad-code';
  // "The IP Hop Limit field has a value of 255, i.e., the packet could not possibly have been forwarded."
  if (p.hopLimit !== 255) return 'hop-limit';
  // "IP Source Address is a link-local address. Routers must use their link-local address as the source".
  if (!isLinkLocal(p.source)) return 'not-link-local';
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    curHopLimit: b[4]!,
    managed: (b[5]! & 0x80) !== 0,
    other: (b[5]! & 0x40) !== 0,
    routerLifetimeS: v.getUint16(6),
    reachableTimeMs: v.getUint32(8),
    retransTimerMs: v.getUint32(12),
  };
}

export function isLinkLocal(addr: string): boolean {
  // fe80::/10
  return /^fe[89ab][0-9a-f]:/i.test(addr);
}

export interface DiscoveryOptions {
  readonly device: string;
  readonly netns?: string;
  /** Seconds between our RAs; FRR's unnumbered default is 10, tests use less. */
  readonly intervalS?: number;
  readonly log: Logger;
  /** Called with the neighbour's link-local when it is first seen or changes. */
  readonly onNeighbor: (address: string) => void;
  /** The socket factory (routes/netlink openIcmp6); replaceable for unit tests of the state logic. */
  readonly open?: typeof openIcmp6;
}

/** Neighbour discovery on one interface for one unnumbered BGP peer. */
export class LinkLocalDiscovery {
  private sock: Icmp6Socket | null = null;
  private timer: ReturnType<typeof setInterval> | null = null;
  private current: string | null = null;
  readonly counters = { raIn: 0, rsIn: 0, raOut: 0, rsOut: 0, rejected: 0 };

  constructor(private readonly opts: DiscoveryOptions) {}

  /** The interface's ifindex in its netns, once started. */
  get ifindex(): number | null {
    return this.sock?.ifindex ?? null;
  }

  /** The neighbour's link-local address, once an RA has been seen. */
  get neighbor(): string | null {
    return this.current;
  }

  start(): void {
    if (this.sock) return;
    const open = this.opts.open ?? openIcmp6;
    this.sock = open({ device: this.opts.device, ...(this.opts.netns ? { netns: this.opts.netns } : {}) }, (p) => this.onPacket(p));
    // RFC 4861 §6.3.7: a solicitation makes routers on the link answer now instead of at their interval.
    this.send(ALL_ROUTERS, buildRouterSolicitation(), 'rsOut');
    this.advertise();
    this.timer = setInterval(() => this.advertise(), (this.opts.intervalS ?? 10) * 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sock?.close();
    this.sock = null;
  }

  private advertise(): void {
    this.send(ALL_NODES, buildRouterAdvertisement({ curHopLimit: 64 }), 'raOut');
  }

  private send(dst: string, bytes: Uint8Array, counter: 'raOut' | 'rsOut'): void {
    try {
      this.sock?.send(dst, bytes);
      this.counters[counter]++;
    } catch (err) {
      // The interface may be down for a moment; the next interval tries again.
      this.opts.log.debug({ device: this.opts.device, err: (err as Error).message }, 'ND send failed');
    }
  }

  private onPacket(p: Icmp6Packet): void {
    if (p.payload[0] === NdType.RouterSolicitation) {
      this.counters.rsIn++;
      // §6.2.6: answer a solicitation (multicast, like the periodic ones).
      if (p.hopLimit === 255) this.advertise();
      return;
    }
    const ra = parseRouterAdvertisement(p);
    if (typeof ra === 'string') {
      this.counters.rejected++;
      this.opts.log.debug({ device: this.opts.device, source: p.source, reason: ra }, 'RA ignored');
      return;
    }
    this.counters.raIn++;
    if (this.current === p.source) return;
    const prev = this.current;
    this.current = p.source;
    this.opts.log.info({ device: this.opts.device, neighbor: p.source, previous: prev }, 'unnumbered neighbour learned from RA');
    this.opts.onNeighbor(p.source);
  }
}

/**
 * Start discovery for an unnumbered peer, or null when the raw socket cannot be opened: the peer can
 * still come up if the neighbour connects to us, so this logs and carries on rather than failing.
 */
export function startDiscovery(opts: DiscoveryOptions, peer: string): LinkLocalDiscovery | null {
  const d = new LinkLocalDiscovery(opts);
  try {
    d.start();
    return d;
  } catch (err) {
    opts.log.error({ peer, device: opts.device, err: (err as Error).message }, 'neighbour discovery failed: unnumbered peer stays passive');
    return null;
  }
}
