// One configured (or dynamic) neighbour: its FSM, its TCP connection, the negotiated capabilities and the
// translation between wire messages and RIB calls. Socket events become FSM events (RFC 4271 §8.1.4);
// FSM actions come back through FsmHost. Collisions (§6.8) are resolved here because this object sees
// both connections.
//
// Ownership: the speaker owns PeerSessions; a PeerSession owns its sockets and its Fsm. Everything runs
// on the event loop; socket callbacks check the connection generation so a late event from a closed
// socket never reaches the current FSM.
import { Socket, connect as netConnect, isIP } from 'node:net';
import type { Logger } from '../../lib/log.js';
import {
  Afi,
  CapabilityCode,
  CeaseSubcode,
  ErrorAction,
  ErrorCode,
  HeaderSubcode,
  MessageType,
  OpenSubcode,
  Safi,
  WireError,
  WireErrorCode,
  buildOpen,
  decodeMessage,
  encodeMessage,
  familyKey,
  findCapability,
  frame,
  makeContext,
  negotiate,
  notificationName,
  openAsn,
  openCapabilities,
  shutdownCommunication,
  toNotification,
  validateOpen,
  type Capability,
  type Message,
  type NotificationMessage,
  type OpenMessage,
  type UpdateMessage,
  type RouteRefreshMessage,
  type WireContext,
  type ErrorActionName,
} from '../wire/index.js';
import { Fsm, type FsmHost, type Notification } from '../fsm/fsm.js';
import { Event, State, type EventName, type StateName } from '../fsm/table.js';
import type { PeerConfig, FamilyName } from '../config.js';
import type { OutboundBatch, Rib } from '../rib/rib.js';
import { encodeBatch } from './convert.js';
import { applyUpdate } from './update-in.js';
import { FAMILY_AFI, localCapabilities } from './capabilities.js';
import { peerMetrics } from '../metrics.js';
import { connectTcp, nativeAvailable, socketAddresses, type TcpSocketSpec } from '../../routes/netlink/index.js';
import { LinkLocalDiscovery } from './unnumbered.js';

export interface LocalSettings {
  readonly asn: number;
  readonly routerId: string;
  readonly connectRetryS: number;
  readonly restartTimeS: number;
  readonly staleTimeS: number;
  /** We are restarting (RFC 4724 §3 R bit) and kept our forwarding state (F bit). */
  readonly restarting: boolean;
}

export interface PeerSessionDeps {
  readonly rib: Rib;
  readonly local: () => LocalSettings;
  readonly log: Logger;
  /** For dynamic peers: the accepted AS range instead of one ASN. */
  readonly asRange?: readonly [number, number];
  readonly onIdle?: (p: PeerSession) => void;
  /** Create sockets inside this network namespace (path), e.g. a test namespace or a VRF-like netns. */
  readonly netns?: string;
  /** Seconds between our Router Advertisements on an unnumbered peer's interface (default 10). */
  readonly raIntervalS?: number;
  /** Session Established, or an End-of-RIB arrived: a restarting speaker re-checks its deferral. */
  readonly onEndOfRibProgress?: (p: PeerSession) => void;
}

export type { FlapRecord, LastError, Counters } from './types.js';
import type { FlapRecord, LastError, Counters } from './types.js';

/** Cadence of the per-peer counter and prefix-gauge refresh while UPDATEs stream in (see refreshMetricsSoon). */
const METRICS_THROTTLE_MS = 100;

type Direction = 'outgoing' | 'incoming';

interface Conn {
  readonly sock: Socket;
  readonly gen: number;
  readonly dir: Direction;
  buf: Buffer;
  /** Our OPEN already went out on this connection (a §6.8 collision candidate we dialled). */
  sentOpen: boolean;
}


export class PeerSession implements FsmHost {
  readonly fsm: Fsm;
  readonly ribId: number;
  private conn: Conn | null = null;
  /** An incoming connection that arrived while ours was in OpenSent/OpenConfirm (§6.8). */
  private pending: Conn | null = null;
  private gen = 0;
  /** Our latest connect attempt (initiateTcp), to tell a late completion of an old one. */
  private connectAttempt = 0;
  ctx: WireContext = makeContext();
  localOpen: OpenMessage | null = null;
  remoteOpen: OpenMessage | null = null;
  families: FamilyName[] = [];
  readonly counters: Counters = {
    messagesIn: 0, messagesOut: 0, updatesIn: 0, updatesOut: 0, notificationsIn: 0, notificationsOut: 0,
    keepalivesIn: 0, keepalivesOut: 0, routeRefreshIn: 0, treatAsWithdraw: 0, attributeDiscard: 0,
  };
  readonly flaps: FlapRecord[] = [];
  lastError: LastError | null = null;
  private lastDropReason: string | null = null;
  private grStaleTimer: ReturnType<typeof setTimeout> | null = null;
  private metricsTimer: ReturnType<typeof setTimeout> | null = null;
  private eorReceived = new Set<FamilyName>();
  private maxPrefixWarned = new Set<FamilyName>();
  private refreshMarkers: { afi: number; safi: number }[] = [];
  private readonly messageInListeners: ((m: UpdateMessage | RouteRefreshMessage) => void)[] = [];
  private sentRestarting = false;
  remoteAddress: string;
  localAddress: string | null = null;
  /** Unnumbered peers: neighbour discovery on cfg.interface (RAs in and out). */
  private discovery: LinkLocalDiscovery | null = null;

  constructor(
    public cfg: PeerConfig,
    private readonly deps: PeerSessionDeps,
  ) {
    this.remoteAddress = cfg.address ?? '';
    const local = deps.local();
    this.fsm = new Fsm(this, {
      connectRetryMs: local.connectRetryS * 1000,
      holdTimeS: cfg.holdTime,
      delayOpenMs: cfg.delayOpenS * 1000,
      // Unnumbered peers connect actively once an RA names the neighbour (initiateTcp waits until then).
      passive: cfg.passive || (cfg.address === undefined && cfg.interface === undefined),
    });
    this.ribId = deps.rib.addPeer(this.ribInfo());
  }

  get name(): string {
    return this.cfg.name;
  }

  get ebgp(): boolean {
    return this.peerAs() !== (this.cfg.localAs ?? this.deps.local().asn);
  }

  private peerAs(): number {
    return this.remoteOpen ? openAsn(this.remoteOpen) : this.cfg.asn;
  }

  ribInfo(): Parameters<Rib['addPeer']>[0] {
    const local = this.deps.local();
    const localAs = this.cfg.localAs ?? local.asn;
    const la = this.localAddress;
    const v6 = la && la.includes(':') ? la : this.cfg.nextHopIpv6;
    return {
      name: this.cfg.name,
      address: this.remoteAddress,
      routerId: this.remoteOpen?.bgpId ?? '0.0.0.0',
      localAs,
      remoteAs: this.peerAs(),
      ebgp: this.peerAs() !== localAs,
      rrClient: this.cfg.routeReflectorClient,
      igpMetric: this.cfg.igpMetric,
      allowasIn: this.cfg.allowasIn,
      localNextHop: {
        ...(la && !la.includes(':') ? { ipv4: la } : this.cfg.nextHopIpv4 ? { ipv4: this.cfg.nextHopIpv4 } : {}),
        ...(v6 && !v6.toLowerCase().startsWith('fe80') ? { ipv6: v6 } : {}),
        ...(v6 && v6.toLowerCase().startsWith('fe80') ? { ipv6LinkLocal: v6.split('%')[0]! } : {}),
      },
      nextHopSelf: this.cfg.nextHopSelf,
      ...(this.cfg.interface ? { interface: this.cfg.interface } : {}),
      mraiMs: this.cfg.mraiS * 1000,
      // RFC 7911 §4: we send several paths only where we offered Send and the peer Receive.
      addPathSend: this.cfg.families.filter((f) => this.ctx.addPathSend.has(familyKey(FAMILY_AFI[f], Safi.Unicast))),
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Admin

  start(): void {
    if (this.cfg.interface && !this.discovery) this.startDiscovery(this.cfg.interface);
    if (!this.cfg.shutdown) this.fsm.start();
  }

  private startDiscovery(device: string): void {
    const d = new LinkLocalDiscovery({
      device,
      ...(this.deps.netns ? { netns: this.deps.netns } : {}),
      ...(this.deps.raIntervalS ? { intervalS: this.deps.raIntervalS } : {}),
      log: this.deps.log,
      onNeighbor: (addr) => this.setNeighborAddress(addr),
    });
    try {
      d.start();
      this.discovery = d;
    } catch (err) {
      // Without the raw socket the peer can still come up if the neighbour connects to us.
      this.deps.log.error({ peer: this.name, device, err: (err as Error).message }, 'neighbour discovery failed: unnumbered peer stays passive');
    }
  }

  /** Unnumbered peers: ifindex of cfg.interface in the session's netns (null before discovery starts). */
  get interfaceIndex(): number | null {
    return this.discovery?.ifindex ?? null;
  }

  /**
   * The unnumbered neighbour's link-local address, learned from an RA. A new address means a new
   * neighbour (or a renumbered one): drop whatever session we had and connect to it.
   */
  setNeighborAddress(addr: string): void {
    if (this.remoteAddress === addr) return;
    this.remoteAddress = addr;
    this.deps.rib.updatePeer(this.ribId, this.ribInfo());
    // Idle: stopped by the operator (stays down) or waiting to restart (will dial the new address).
    if (this.cfg.shutdown || this.fsm.state === State.Idle) return;
    const connectedTo = this.conn ? socketAddresses(this.conn.sock).remote : null;
    if (connectedTo === addr) return; // the neighbour reached us first; that session is the right one
    this.fsm.reset('unnumbered neighbour address changed');
  }

  stop(message = ''): void {
    this.fsm.stop(message);
  }

  /** Process exit for a graceful restart (RFC 4724 §4.1): close without NOTIFICATION, routes stay with the peer. */
  abandon(): void {
    this.discovery?.stop();
    this.discovery = null;
    this.fsm.dispose();
    this.closeConn(this.pending);
    this.closeConn(this.conn);
    this.pending = null;
    this.conn = null;
    this.clearGrTimer();
    if (this.metricsTimer) clearTimeout(this.metricsTimer);
    this.metricsTimer = null;
  }

  dispose(): void {
    this.abandon();
    this.deps.rib.removePeer(this.ribId);
  }

  // ------------------------------------------------------------------------------------------------
  // Connections

  /** A TCP connection the speaker accepted from this peer's address. */
  acceptIncoming(sock: Socket): void {
    const st = this.fsm.state;
    if (this.cfg.shutdown || st === State.Idle) {
      sock.destroy();
      return;
    }
    if (st === State.Connect || st === State.Active) {
      // Our own connect (if any) has not completed: take the peer's connection instead (§8.2.2 Event 17).
      this.closeConn(this.conn);
      this.conn = this.attach(sock, 'incoming');
      this.fsm.fire(Event.TcpConnectionConfirmed);
      return;
    }
    if (st === State.Established && this.grNegotiated() && !this.pending) {
      // RFC 4724 §4.2: a restarted peer may reconnect before we notice the old connection die (no FIN
      // from a box that rebooted). Hold the connection until its OPEN (onPendingData): a real new
      // session replaces the old one, a stray collision connection closes without one.
      this.pending = this.attach(sock, 'incoming', true);
      return;
    }
    if (st === State.Established || this.pending) {
      // §6.8: a connection colliding with an Established one is closed. The peer may reset it first:
      // without a listener that ECONNRESET would be an uncaught 'error' event.
      sock.on('error', () => sock.destroy());
      this.writeRaw(sock, encodeMessage({ type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution, data: new Uint8Array(0) }, this.ctx));
      sock.end();
      setTimeout(() => sock.destroy(), 1000).unref();
      return;
    }
    // OpenSent/OpenConfirm: keep it until its OPEN tells us the peer's BGP Identifier.
    this.pending = this.attach(sock, 'incoming', true);
  }

  private attach(sock: Socket, dir: Direction, pending = false): Conn {
    const c: Conn = { sock, gen: ++this.gen, dir, buf: Buffer.alloc(0), sentOpen: false };
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => (pending && this.pending?.gen === c.gen ? this.onPendingData(c, d) : this.onData(c, d)));
    sock.on('error', (err) => this.onSockClosed(c, err));
    sock.on('close', () => this.onSockClosed(c, null));
    if (!pending) {
      // socketAddresses: Node's getters throw for a link-local peer whose interface is in another netns.
      const addrs = socketAddresses(sock);
      this.localAddress = addrs.local;
      if (!this.cfg.address && addrs.remote) this.remoteAddress = addrs.remote;
      this.deps.rib.updatePeer(this.ribId, this.ribInfo());
    }
    return c;
  }

  private onSockClosed(c: Conn, err: Error | null): void {
    if (this.pending?.gen === c.gen) {
      this.pending = null;
      return;
    }
    if (this.conn?.gen !== c.gen) return;
    this.lastDropReason = err ? err.message : 'connection closed by peer';
    this.conn = null;
    this.fsm.fire(Event.TcpConnectionFails);
  }

  private closeConn(c: Conn | null): void {
    if (!c) return;
    c.sock.removeAllListeners('data');
    c.sock.end();
    // Give the kernel a moment to send what we wrote (a NOTIFICATION), then make sure it is gone.
    setTimeout(() => c.sock.destroy(), 500).unref();
  }

  initiateTcp(): void {
    // Unnumbered: no neighbour yet means no connect; the ConnectRetry timer brings us back here, and
    // setNeighborAddress restarts at once when an RA arrives.
    const host = this.cfg.address ?? (this.cfg.interface ? this.remoteAddress : '');
    if (!host) return;
    const gen = this.gen + 1;
    const attempt = ++this.connectAttempt;
    const family = isIP(host) === 6 ? 6 : 4;
    const device = this.cfg.address ? undefined : this.cfg.interface;
    const needOptions = Boolean(this.cfg.password || this.cfg.ttlSecurity || this.cfg.multihop || this.deps.netns || device);
    const onConnected = (sock: Socket): void => {
      const st = this.fsm.state;
      if (attempt === this.connectAttempt && this.conn?.dir === 'incoming' && !this.pending && this.localOpen && (st === State.OpenSent || st === State.OpenConfirm)) {
        // §6.8: the peer's connection arrived while ours was being set up and we took it. The peer may
        // have done the same with ours; closing ours here would leave both sides on connections the
        // other just closed. Keep both until the peer's OPEN on this one lets the BGP Identifiers decide.
        this.pending = this.attach(sock, 'outgoing', true);
        this.pending.sentOpen = true;
        this.writeRaw(sock, encodeMessage(this.localOpen, this.ctx));
        return;
      }
      if (this.gen + 1 !== gen || this.conn || st !== State.Connect) {
        sock.destroy();
        return;
      }
      this.conn = this.attach(sock, 'outgoing');
      this.fsm.fire(Event.TcpConnectionConfirmed);
    };
    const onFailed = (err: Error): void => {
      if (this.gen + 1 !== gen || this.conn) return;
      this.lastDropReason = err.message;
      this.fsm.fire(Event.TcpConnectionFails);
    };
    if (needOptions && nativeAvailable()) {
      const spec: TcpSocketSpec = {
        family,
        ...(this.deps.netns ? { netns: this.deps.netns } : {}),
        // A link-local destination needs its interface (RFC 4291 §2.5.6); the kernel takes the scope
        // from the bound device when the address carries none.
        ...(device ? { device } : {}),
        ...(this.cfg.localAddress ? { bind: { address: this.cfg.localAddress, port: 0 } } : {}),
        ...(this.cfg.password ? { md5: [{ address: host, key: this.cfg.password }] } : {}),
        // RFC 5082 §3: send with TTL 255, accept only 255 - (hops - 1).
        ...(this.cfg.ttlSecurity ? { ttl: 255, minTtl: 256 - this.cfg.ttlSecurity } : {}),
        ...(this.cfg.multihop ? { ttl: this.cfg.multihop } : {}),
      };
      connectTcp({ ...spec, host, port: this.cfg.port, timeoutMs: this.fsm.opts.connectRetryMs }).then(onConnected, onFailed);
      return;
    }
    const sock = netConnect({ host, port: this.cfg.port, ...(this.cfg.localAddress ? { localAddress: this.cfg.localAddress } : {}) });
    sock.once('connect', () => {
      sock.removeAllListeners('error');
      onConnected(sock);
    });
    sock.once('error', (err) => {
      sock.destroy();
      onFailed(err);
    });
  }

  dropTcp(): void {
    this.closeConn(this.conn);
    this.conn = null;
  }

  // ------------------------------------------------------------------------------------------------
  // Sending

  private writeRaw(sock: Socket, bytes: Uint8Array): void {
    if (!sock.destroyed && sock.writable) sock.write(bytes);
  }

  private send(bytes: Uint8Array): void {
    if (!this.conn) return;
    this.counters.messagesOut++;
    this.writeRaw(this.conn.sock, bytes);
  }

  private capabilities(): Capability[] {
    const local = this.deps.local();
    if (this.cfg.gracefulRestart) this.sentRestarting = local.restarting;
    return localCapabilities(this.cfg, local);
  }

  sendOpen(): void {
    const local = this.deps.local();
    this.localOpen = buildOpen({ asn: this.cfg.localAs ?? local.asn, holdTime: this.cfg.holdTime, bgpId: local.routerId, capabilities: this.capabilities() });
    // An adopted collision candidate we dialled carries our OPEN already (a second one is an FSM error).
    if (this.conn?.sentOpen) return;
    this.send(encodeMessage(this.localOpen, this.ctx));
    if (this.conn) this.conn.sentOpen = true;
  }

  sendKeepalive(): void {
    this.counters.keepalivesOut++;
    this.send(encodeMessage({ type: MessageType.Keepalive }, this.ctx));
  }

  sendNotification(n: Notification): void {
    this.counters.notificationsOut++;
    const msg: NotificationMessage = { type: MessageType.Notification, ...n };
    this.recordError('sent', msg);
    this.send(encodeMessage(msg, this.ctx));
  }

  /** RIB output for this peer: encode (packed, many prefixes per UPDATE) and write. */
  sendBatch(batch: OutboundBatch): void {
    if (this.fsm.state !== State.Established) return;
    const markers = this.refreshMarkers;
    this.refreshMarkers = [];
    // RFC 7313 §4: Beginning- and End-of-Route-Refresh around a re-advertisement we were asked for.
    for (const m of markers) this.send(encodeMessage({ type: MessageType.RouteRefresh, afi: m.afi, safi: m.safi, subtype: 1, orf: new Uint8Array(0) }, this.ctx));
    const msgs = encodeBatch(batch, this.ctx, this.families);
    for (const m of msgs) {
      this.counters.updatesOut++;
      this.send(m);
    }
    for (const m of markers) this.send(encodeMessage({ type: MessageType.RouteRefresh, afi: m.afi, safi: m.safi, subtype: 2, orf: new Uint8Array(0) }, this.ctx));
    this.refreshMetricsSoon();
  }

  /** Ask the peer to resend its routes (soft reset in), or re-apply import policy when it cannot. */
  requestRefresh(): void {
    if (this.fsm.state !== State.Established) return;
    const rr = this.remoteOpen && openCapabilities(this.remoteOpen).some((c) => c.kind === 'route-refresh');
    if (!rr) {
      this.deps.rib.reimport(this.ribId);
      return;
    }
    for (const f of this.families) this.send(encodeMessage({ type: MessageType.RouteRefresh, afi: FAMILY_AFI[f], safi: Safi.Unicast, subtype: 0, orf: new Uint8Array(0) }, this.ctx));
  }

  /** Observe UPDATE and ROUTE-REFRESH messages as received, before loop checks and policy (explain's probe). */
  onMessageIn(listener: (m: UpdateMessage | RouteRefreshMessage) => void): () => void {
    this.messageInListeners.push(listener);
    return () => {
      const i = this.messageInListeners.indexOf(listener);
      if (i >= 0) this.messageInListeners.splice(i, 1);
    };
  }

  // ------------------------------------------------------------------------------------------------
  // Receiving

  private onData(c: Conn, d: Buffer): void {
    if (this.conn?.gen !== c.gen) return;
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    let off = 0;
    while (this.conn?.gen === c.gen) {
      const f = frame(c.buf, off, this.ctx);
      if (f.kind === 'need-more') break;
      if (f.kind === 'error') {
        this.fsm.fire(Event.BGPHeaderErr, toNotification(f.error));
        return;
      }
      const bytes = c.buf.subarray(off, off + f.length);
      off += f.length;
      this.counters.messagesIn++;
      try {
        this.dispatch(bytes);
      } catch (err) {
        // A bug must cost one session, never the daemon: reset it and keep serving the others.
        this.deps.log.error({ peer: this.name, err: (err as Error).stack }, 'internal error handling a message: session reset');
        this.fsm.fire(Event.AutomaticStop, { code: ErrorCode.Cease, subcode: CeaseSubcode.OutOfResources, data: new Uint8Array(0) });
        return;
      }
    }
    if (this.conn?.gen === c.gen) c.buf = off >= c.buf.length ? Buffer.alloc(0) : Buffer.from(c.buf.subarray(off));
  }

  private dispatch(bytes: Uint8Array): void {
    const r = decodeMessage(bytes, this.ctx);
    const type = bytes[18];
    if (!r.ok) {
      const n = toNotification(r.error);
      if (type === MessageType.Open) return this.fsm.fire(Event.BGPOpenMsgErr, n);
      if (type === MessageType.Update) {
        this.deps.log.warn({ peer: this.name, err: r.error.message, code: r.error.code }, 'malformed UPDATE: session reset (RFC 7606)');
        return this.fsm.fire(Event.UpdateMsgErr, n);
      }
      if (r.error.errorCode === ErrorCode.MessageHeader) return this.fsm.fire(Event.BGPHeaderErr, n);
      // A malformed NOTIFICATION or ROUTE-REFRESH: report it as the codec says (RFC 7313 §5).
      return this.fsm.fire(this.fsm.state === State.Established ? Event.UpdateMsgErr : Event.BGPHeaderErr, n);
    }
    const m: Message = r.message;
    if (m.type === MessageType.Update || m.type === MessageType.RouteRefresh) for (const l of this.messageInListeners) l(m);
    switch (m.type) {
      case MessageType.Open:
        return this.onOpen(m);
      case MessageType.Keepalive:
        this.counters.keepalivesIn++;
        return this.fsm.fire(Event.KeepAliveMsg);
      case MessageType.Notification: {
        this.counters.notificationsIn++;
        this.recordError('received', m);
        const verErr = m.code === ErrorCode.OpenMessage && m.subcode === OpenSubcode.UnsupportedVersionNumber;
        return this.fsm.fire(verErr ? Event.NotifMsgVerErr : Event.NotifMsg);
      }
      case MessageType.Update:
        this.counters.updatesIn++;
        if (r.action === ErrorAction.TreatAsWithdraw || r.action === ErrorAction.AfiSafiDisable) this.counters.treatAsWithdraw++;
        if (r.action === ErrorAction.AttributeDiscard) this.counters.attributeDiscard++;
        if (r.errors.length) {
          this.deps.log.warn({ peer: this.name, action: r.action, errors: r.errors.map((e) => e.message) }, 'UPDATE error handled without reset (RFC 7606)');
        }
        return this.fsm.fire(Event.UpdateMsg, { update: m, action: r.action });
      case MessageType.RouteRefresh:
        this.counters.routeRefreshIn++;
        if (this.fsm.state !== State.Established) return this.fsm.fire(Event.UpdateMsg, null);
        return this.onRouteRefresh(m.afi, m.safi, m.subtype);
    }
  }

  private onOpen(open: OpenMessage): void {
    const err = this.checkOpen(open);
    if (err) return this.fsm.fire(Event.BGPOpenMsgErr, toNotification(err));
    this.remoteOpen = open;
    this.fsm.setPeerHoldTime(open.holdTime);
    if (this.localOpen) this.ctx = negotiate(this.localOpen, open);
    this.deps.rib.updatePeer(this.ribId, this.ribInfo());
    this.fsm.fire(this.fsm.delayOpenTimerRunning ? Event.BGPOpen_with_DelayOpenTimer_running : Event.BGPOpen);
  }

  private checkOpen(open: OpenMessage): WireError | null {
    const range = this.deps.asRange;
    const err = validateOpen(open, range ? {} : { peerAs: this.cfg.asn });
    if (err) return err;
    const asn = openAsn(open);
    if (range && (asn < range[0] || asn > range[1])) {
      return new WireError(WireErrorCode.BadPeerAs, `peer AS ${asn} outside ${range[0]}-${range[1]}`, { errorCode: ErrorCode.OpenMessage, subcode: OpenSubcode.BadPeerAs });
    }
    const local = this.deps.local();
    // RFC 6286 §2.2: within an AS the identifiers must differ.
    if (asn === (this.cfg.localAs ?? local.asn) && open.bgpId === local.routerId) {
      return new WireError(WireErrorCode.BadBgpIdentifier, `peer uses our BGP identifier ${open.bgpId}`, { errorCode: ErrorCode.OpenMessage, subcode: OpenSubcode.BadBgpIdentifier });
    }
    // RFC 4271 §4.2: hold time 1 or 2 already rejected by validateOpen; 0 is allowed.
    return null;
  }

  /** Bytes on a colliding incoming connection: wait for its OPEN, then apply §6.8. */
  private onPendingData(c: Conn, d: Buffer): void {
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    const f = frame(c.buf, 0, this.ctx);
    if (f.kind === 'need-more') return;
    if (f.kind === 'error' || f.type !== MessageType.Open) {
      this.closeConn(c);
      this.pending = null;
      return;
    }
    const r = decodeMessage(c.buf.subarray(0, f.length), makeContext());
    if (!r.ok || r.message.type !== MessageType.Open) {
      this.closeConn(c);
      this.pending = null;
      return;
    }
    if (c.dir === 'incoming' && this.fsm.state === State.Established && this.grNegotiated()) {
      // The peer opened a new session while ours is Established: it restarted (RFC 4724 §4.2). The old
      // connection failed (its routes stay stale) and the new one carries on, as FRR does.
      this.deps.log.info({ peer: this.name }, 'OPEN on a new connection from a graceful-restart peer while Established: the peer restarted');
      this.pending = null;
      const old = this.conn;
      this.conn = null;
      this.closeConn(old);
      this.lastDropReason = 'peer reconnected (graceful restart)';
      this.fsm.fire(Event.TcpConnectionFails);
      c.sock.removeAllListeners('data');
      c.sock.removeAllListeners('error');
      c.sock.removeAllListeners('close');
      const rest = c.buf;
      this.conn = this.attach(c.sock, 'incoming');
      this.fsm.fire(Event.TcpConnectionConfirmed);
      this.onData(this.conn, rest);
      return;
    }
    const local = this.deps.local();
    const loser = localIdGreater(local.routerId, r.message.bgpId) ? 'incoming' : 'outgoing';
    const current = this.conn;
    if (!current || current.dir === loser || this.fsm.state === State.Established) {
      // The existing connection loses: dump it (Cease/7) and carry on with the new one.
      if (this.fsm.state === State.Established || (current && current.dir !== loser)) {
        this.sendOn(c.sock, { type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution, data: new Uint8Array(0) });
        this.closeConn(c);
        this.pending = null;
        return;
      }
      this.pending = null;
      this.fsm.fire(Event.OpenCollisionDump);
      c.sock.removeAllListeners('data');
      c.sock.removeAllListeners('error');
      c.sock.removeAllListeners('close');
      const rest = c.buf;
      this.conn = this.attach(c.sock, c.dir);
      this.conn.sentOpen = c.sentOpen;
      this.fsm.fire(Event.ManualStart_with_PassiveTcpEstablishment);
      this.fsm.fire(Event.TcpConnectionConfirmed);
      this.onData(this.conn, rest);
      return;
    }
    // The new connection loses (§6.8: close the connection initiated by the lower identifier).
    this.sendOn(c.sock, { type: MessageType.Notification, code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution, data: new Uint8Array(0) });
    this.closeConn(c);
    this.pending = null;
  }

  private sendOn(sock: Socket, m: Message): void {
    this.writeRaw(sock, encodeMessage(m, this.ctx));
  }

  processUpdate(data: unknown): void {
    const { update, action } = data as { update: UpdateMessage; action: ErrorActionName | null };
    const r = applyUpdate(this.deps.rib, this.ribId, update, action);
    if (r.eor) {
      this.eorReceived.add(r.eor);
      // RFC 4724 §4.2: End-of-RIB ends the stale period for the family.
      this.deps.rib.sweepStale(this.ribId, r.eor);
      if (this.families.every((f) => this.eorReceived.has(f))) this.clearGrTimer();
      this.deps.onEndOfRibProgress?.(this);
      return;
    }
    if (r.announced) this.checkMaxPrefix();
    this.refreshMetricsSoon();
  }

  /**
   * Update counters and the six prefix gauges at most every METRICS_THROTTLE_MS: a full table arrives
   * as hundreds of UPDATEs a second, and a scrape needs no per-message precision. Trailing, so the
   * last value always lands.
   */
  private refreshMetricsSoon(): void {
    if (this.metricsTimer) return;
    this.metricsTimer = setTimeout(() => {
      this.metricsTimer = null;
      peerMetrics.sync(this);
      peerMetrics.prefixes(this);
    }, METRICS_THROTTLE_MS);
    this.metricsTimer.unref();
  }

  private checkMaxPrefix(): void {
    const counts = this.deps.rib.counts(this.ribId).received;
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const mp = this.cfg.maxPrefix[fam];
      if (!mp || counts[fam] <= mp.limit) continue;
      if (mp.action === 'warn') {
        if (!this.maxPrefixWarned.has(fam)) this.deps.log.warn({ peer: this.name, family: fam, count: counts[fam], limit: mp.limit }, 'max-prefix exceeded (warn only)');
        this.maxPrefixWarned.add(fam);
        continue;
      }
      // RFC 4486 §4: Cease / Maximum Number of Prefixes Reached, data = AFI, SAFI, upper bound.
      const l = mp.limit;
      const data = Uint8Array.of(0, FAMILY_AFI[fam], Safi.Unicast, l >>> 24, (l >>> 16) & 255, (l >>> 8) & 255, l & 255);
      this.fsm.autoStop({ code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumPrefixesReached, data }, mp.action === 'restart' ? mp.restartAfterS * 1000 : null);
      return;
    }
  }

  private onRouteRefresh(afi: number, safi: number, subtype: number): void {
    if (subtype === 0) {
      // RFC 7313 §4: answer with BoRR/EoRR when the peer supports enhanced route refresh.
      const enhanced = this.remoteOpen && findCapability(this.remoteOpen, 'enhanced-route-refresh');
      if (enhanced) this.refreshMarkers.push({ afi, safi });
      this.deps.rib.reexport(this.ribId);
    } else if (subtype === 1) {
      // RFC 7313 §4.2: BoRR marks the peer's routes stale; EoRR removes those not re-advertised.
      this.deps.rib.markStale(this.ribId, afi === Afi.Ipv6 ? 'ipv6' : 'ipv4');
    } else if (subtype === 2) {
      this.deps.rib.sweepStale(this.ribId, afi === Afi.Ipv6 ? 'ipv6' : 'ipv4');
    }
  }

  // ------------------------------------------------------------------------------------------------
  // State changes

  releaseResources(): void {
    // Route removal happens on leaving Established (stateChanged), where the graceful-restart decision
    // is made; earlier states hold no routes.
  }

  stateChanged(from: StateName, to: StateName, event: EventName): void {
    this.deps.log.info({ peer: this.name, from, to, event }, 'bgp state');
    peerMetrics.state(this, to);
    if (to === State.Established) this.onEstablished();
    if (from === State.Established) {
      const graceful = this.grNegotiated() && event === Event.TcpConnectionFails;
      this.flaps.push({ at: new Date().toISOString(), from, event, error: this.lastError?.text ?? this.lastDropReason });
      if (this.flaps.length > 20) this.flaps.shift();
      peerMetrics.flap(this);
      this.deps.rib.peerDown(this.ribId, graceful);
      if (graceful) {
        this.startGrTimer();
        this.fsm.expectPeerBack();
      } else this.clearGrTimer();
    }
    if (to === State.Idle) {
      this.ctx = makeContext();
      this.remoteOpen = null;
      this.localOpen = null;
      this.deps.onIdle?.(this);
    }
  }

  private grNegotiated(): boolean {
    return Boolean(this.cfg.gracefulRestart && this.remoteOpen && findCapability(this.remoteOpen, 'graceful-restart'));
  }

  private onEstablished(): void {
    const remote = this.remoteOpen!;
    const caps = openCapabilities(remote);
    const mp = caps.filter((c): c is Extract<Capability, { kind: 'multiprotocol' }> => c.kind === 'multiprotocol');
    // RFC 4760 §8: a peer without Multiprotocol capabilities speaks IPv4 unicast only.
    const theirs = mp.length ? new Set(mp.filter((c) => c.safi === Safi.Unicast).map((c) => (c.afi === Afi.Ipv6 ? 'ipv6' : 'ipv4'))) : new Set(['ipv4']);
    this.families = this.cfg.families.filter((f) => theirs.has(f));
    this.eorReceived.clear();
    this.maxPrefixWarned.clear();
    this.lastDropReason = null;
    this.deps.rib.updatePeer(this.ribId, this.ribInfo());
    this.dropUnpreservedStale(caps);
    this.deps.rib.peerUp(this.ribId, this.families);
    if (this.sentRestarting) this.deps.log.info({ peer: this.name }, 'sent graceful-restart R bit: peer keeps our routes until our End-of-RIB');
    void CapabilityCode;
    this.deps.onEndOfRibProgress?.(this);
  }

  /**
   * RFC 4724 §4.1: whether this peer still holds up a restarting speaker's route selection. Done once
   * Established and End-of-RIB arrived for every negotiated family; peers without the Graceful
   * Restart capability, or restarting themselves (R bit), are not waited for.
   */
  selectionDeferralDone(): boolean {
    if (this.fsm.state !== State.Established || !this.remoteOpen) return false;
    const gr = findCapability(this.remoteOpen, 'graceful-restart');
    if (!gr || gr.restarting) return true;
    return this.families.every((f) => this.eorReceived.has(f));
  }

  /**
   * RFC 4724 §4.2: on re-establishment, stale routes survive only for the families the peer lists in
   * its new Graceful Restart capability with the Forwarding State bit set; without the capability
   * (or with graceful restart off on our side) every stale route goes at once.
   */
  private dropUnpreservedStale(caps: readonly Capability[]): void {
    if (this.deps.rib.staleCount(this.ribId) === 0) return;
    const gr = this.cfg.gracefulRestart ? caps.find((c): c is Extract<Capability, { kind: 'graceful-restart' }> => c.kind === 'graceful-restart') : undefined;
    for (const fam of ['ipv4', 'ipv6'] as const) {
      const kept = gr?.families.some((f) => f.afi === FAMILY_AFI[fam] && f.safi === Safi.Unicast && f.forwarding) ?? false;
      if (kept && this.families.includes(fam)) continue;
      const n = this.deps.rib.sweepStale(this.ribId, fam);
      if (n) this.deps.log.info({ peer: this.name, family: fam, routes: n }, 'peer came back without forwarding state for the family: stale routes removed (RFC 4724 §4.2)');
    }
  }

  /**
   * BFD (RFC 5880) says the forwarding path to this peer failed. Established: close with Cease/BFD Down
   * (RFC 9384 §2) and withdraw the peer's routes now, so the FIB moves to the other next hops (RFC 5882
   * §4.3). Not Established: nothing to close. Routes kept stale by graceful restart stay: BFD shares
   * fate with the peer's control plane (FRR's bfdd restarts with its bgpd), so a BFD failure after the
   * session already dropped is the restart itself (RFC 5882 §4.3.1), and the stale timer bounds it.
   */
  bfdDown(): boolean {
    if (this.fsm.state !== State.Established) return false;
    this.lastDropReason = 'BFD down';
    this.fsm.fire(Event.AutomaticStop, { code: ErrorCode.Cease, subcode: CeaseSubcode.BfdDown, data: new Uint8Array(0) });
    return true;
  }

  private startGrTimer(): void {
    this.clearGrTimer();
    const gr = this.remoteOpen ? findCapability(this.remoteOpen, 'graceful-restart') : undefined;
    const local = this.deps.local();
    // RFC 4724 §4.2: the peer has Restart Time to come back; after that, or our stale limit once it is
    // back without End-of-RIB, the stale routes go.
    const ms = ((gr?.restartTime ?? local.restartTimeS) + local.staleTimeS) * 1000;
    this.grStaleTimer = setTimeout(() => {
      this.grStaleTimer = null;
      this.deps.rib.sweepStale(this.ribId);
    }, ms);
    this.grStaleTimer.unref();
  }

  private clearGrTimer(): void {
    if (this.grStaleTimer) clearTimeout(this.grStaleTimer);
    this.grStaleTimer = null;
  }

  private recordError(direction: 'sent' | 'received', n: NotificationMessage): void {
    const comm = n.code === ErrorCode.Cease ? shutdownCommunication(n) : null;
    this.lastError = {
      at: new Date().toISOString(),
      direction,
      code: n.code,
      subcode: n.subcode,
      text: `${notificationName(n.code, n.subcode)}${comm ? `: ${comm}` : ''}`,
    };
    peerMetrics.lastError(this, n.code, n.subcode);
  }

  /** Header-error helper kept for the raw-peer tests' expectations. */
  static readonly HeaderSubcode = HeaderSubcode;
  static familyKey = familyKey;
}

function localIdGreater(local: string, remote: string): boolean {
  const n = (s: string): number => s.split('.').reduce((a, o) => a * 256 + Number(o), 0);
  return n(local) > n(remote);
}
