// One configured (or dynamic) neighbour: its FSM, its TCP connection, the negotiated capabilities and the
// translation between wire messages and RIB calls. Socket events become FSM events (RFC 4271 §8.1.4);
// FSM actions come back through FsmHost. Collisions (§6.8) are resolved here because this object sees
// both connections. The parts with their own rules live beside it: connection.ts (TCP, dialling, the §6.8
// tie-break), open.ts (OPEN checks, negotiated families), graceful-restart.ts (RFC 4724), route-refresh.ts
// (RFC 2918/7313), max-prefix.ts (RFC 4486), inbound.ts (messages as FSM events), peer-stats.ts
// (counters, flaps, metrics throttle), rib-info.ts (how the Rib sees the session).
//
// Ownership: the speaker owns PeerSessions; a PeerSession owns its sockets and its Fsm. Everything runs
// on the event loop; socket callbacks check the connection generation so a late event from a closed
// socket never reaches the current FSM.
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log.js';
import { CeaseSubcode, ErrorCode, HeaderSubcode, MessageType, buildOpen, decodeMessage, encodeMessage, familyKey, frame, makeContext, negotiate, openAsn, openCapabilities, toNotification } from '../wire/index.js';
import type { Capability, Message, NotificationMessage, OpenMessage, UpdateMessage, RouteRefreshMessage, WireContext, ErrorActionName } from '../wire/index.js';
import { Fsm, type FsmHost, type Notification } from '../fsm/fsm.js';
import { Event, State, type EventName, type StateName } from '../fsm/table.js';
import type { PeerConfig, FamilyName } from '../config.js';
import type { OutboundBatch, Rib } from '../rib/rib.js';
import { encodeBatch } from './convert.js';
import { applyUpdate } from './update-in.js';
import { localCapabilities } from './capabilities.js';
import { peerMetrics } from '../metrics.js';
import { socketAddresses } from '../../routes/netlink/index.js';
import { startDiscovery, type LinkLocalDiscovery } from './unnumbered.js';
import { closeConn, detach, dial, writeRaw, type AbortDial, type Conn, type Direction } from './connection.js';
import { Collisions, type CollisionHost } from './collision.js';
import { PeerGracefulRestart, grNegotiated } from './graceful-restart.js';
import { PeerRouteRefresh, RefreshSubtype, routeRefreshMessage } from './route-refresh.js';
import { MetricsThrottle, errorRecord, newCounters, pushFlap } from './peer-stats.js';
import { checkOpen, negotiatedFamilies } from './open.js';
import { checkMaxPrefix } from './max-prefix.js';
import { sessionRibInfo, type RibPeerInfo } from './rib-info.js';
import { countUpdateIn, decodeErrorEvent, notificationEvent } from './inbound.js';

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

export type { FlapRecord, LastError, Counters, LocalSettings } from './types.js';
import type { FlapRecord, LastError, Counters, LocalSettings } from './types.js';

export class PeerSession implements FsmHost {
  readonly fsm: Fsm;
  readonly ribId: number;
  private conn: Conn | null = null;
  /** The second connection of a §6.8 collision, or of a restarted peer (collision.ts). */
  private readonly collisions: Collisions;
  private gen = 0;
  /** Our latest connect attempt (initiateTcp), to tell a late completion of an old one. */
  private connectAttempt = 0;
  /** Our connect in progress (initiateTcp), withdrawn once the peer's OPEN arrived on its own connection. */
  private abortDial: AbortDial | null = null;
  /** The Established connection is being replaced by a restarted peer's: restart at once, no backoff. */
  private takingOver = false;
  private lastKeepaliveOutAt = 0;
  ctx: WireContext = makeContext();
  localOpen: OpenMessage | null = null;
  remoteOpen: OpenMessage | null = null;
  families: FamilyName[] = [];
  readonly counters: Counters = newCounters();
  readonly flaps: FlapRecord[] = [];
  lastError: LastError | null = null;
  private lastDropReason: string | null = null;
  private readonly gr: PeerGracefulRestart;
  private readonly refresh: PeerRouteRefresh;
  private readonly metrics = new MetricsThrottle(this);
  private maxPrefixWarned = new Set<FamilyName>();
  private readonly messageInListeners: ((m: UpdateMessage | RouteRefreshMessage) => void)[] = [];
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
    this.gr = new PeerGracefulRestart(this, deps);
    this.refresh = new PeerRouteRefresh(deps.rib, () => this.ribId);
    this.collisions = new Collisions(this.collisionHost());
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

  ribInfo(): RibPeerInfo {
    return sessionRibInfo(this.cfg, {
      localAs: this.cfg.localAs ?? this.deps.local().asn,
      remoteAs: this.peerAs(),
      remoteAddress: this.remoteAddress,
      localAddress: this.localAddress,
      routerId: this.remoteOpen?.bgpId,
      ctx: this.ctx,
    });
  }

  // ------------------------------------------------------------------------------------------------
  // Admin

  start(): void {
    const device = this.cfg.interface;
    if (device && !this.discovery) {
      const { netns, raIntervalS, log } = this.deps;
      const opts = { device, ...(netns ? { netns } : {}), ...(raIntervalS ? { intervalS: raIntervalS } : {}), log };
      this.discovery = startDiscovery({ ...opts, onNeighbor: (addr) => this.setNeighborAddress(addr) }, this.name);
    }
    if (!this.cfg.shutdown) this.fsm.start();
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
    this.withdrawDial();
    this.collisions.dispose();
    closeConn(this.conn);
    this.conn = null;
    this.gr.clearStaleTimer();
    this.metrics.cancel();
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
      closeConn(this.conn);
      this.conn = this.attach(sock, 'incoming');
      this.fsm.fire(Event.TcpConnectionConfirmed);
      return;
    }
    this.collisions.incoming(sock);
  }

  private attach(sock: Socket, dir: Direction, pending = false): Conn {
    const c: Conn = { sock, gen: ++this.gen, dir, buf: Buffer.alloc(0), sentOpen: false };
    this.deps.log.debug({ peer: this.name, dir, pending, state: this.fsm.state, gen: c.gen }, 'bgp connection');
    sock.setNoDelay(true);
    sock.on('data', (d: Buffer) => (pending && this.collisions.isPending(c) ? this.collisions.onHeldData(c, d) : this.onData(c, d)));
    sock.on('error', (err) => this.onSockClosed(c, err));
    sock.on('close', () => this.onSockClosed(c, null));
    if (!pending) {
      this.collisions.newSessionConnection();
      // socketAddresses: Node's getters throw for a link-local peer whose interface is in another netns.
      const addrs = socketAddresses(sock);
      this.localAddress = addrs.local;
      if (!this.cfg.address && addrs.remote) this.remoteAddress = addrs.remote;
      this.deps.rib.updatePeer(this.ribId, this.ribInfo());
    }
    return c;
  }

  private onSockClosed(c: Conn, err: Error | null): void {
    if (this.collisions.closed(c) || this.conn?.gen !== c.gen) return;
    this.lastDropReason = err ? err.message : 'connection closed by peer';
    if (this.collisions.sessionFailed(c, this.lastDropReason)) return;
    this.conn = null;
    this.fsm.fire(Event.TcpConnectionFails);
  }

  /** The seam collision.ts works through (see CollisionHost). */
  private collisionHost(): CollisionHost {
    const self = this; // the getters below read the session's current values
    return {
      get name() {
        return self.name;
      },
      log: this.deps.log,
      fsm: this.fsm,
      get conn() {
        return self.conn;
      },
      get ctx() {
        return self.ctx;
      },
      get routerId() {
        return self.deps.local().routerId;
      },
      get lastKeepaliveOutAt() {
        return self.lastKeepaliveOutAt;
      },
      attach: (sock, dir, held) => this.attach(sock, dir, held),
      sendKeepalive: () => this.sendKeepalive(),
      adopt: (c, dump) => this.adopt(c, dump),
      dropForTakeover: (old, why) => {
        this.conn = null;
        closeConn(old);
        this.lastDropReason = `peer reconnected: ${why}`;
        this.takingOver = true;
        this.fsm.fire(Event.TcpConnectionFails);
        this.takingOver = false;
      },
      resume: () => {
        if (this.conn) this.onData(this.conn, Buffer.alloc(0));
      },
    };
  }

  /** Carry on with the second connection `c`; `dump` drops the current one first (§6.8, Event 23). */
  private adopt(c: Conn, dump: boolean): void {
    if (dump) this.fsm.fire(Event.OpenCollisionDump);
    detach(c.sock);
    const rest = c.buf;
    this.conn = this.attach(c.sock, c.dir);
    this.conn.sentOpen = c.sentOpen;
    if (dump) this.fsm.fire(Event.ManualStart_with_PassiveTcpEstablishment);
    this.fsm.fire(Event.TcpConnectionConfirmed);
    if (rest.length) this.onData(this.conn, rest);
  }

  /** Give up our connect in progress, if any (see onOpen). */
  private withdrawDial(): void {
    this.abortDial?.();
    this.abortDial = null;
    this.connectAttempt++;
  }

  initiateTcp(): void {
    // Unnumbered: no neighbour yet means no connect; the ConnectRetry timer brings us back here, and
    // setNeighborAddress restarts at once when an RA arrives.
    const host = this.cfg.address ?? (this.cfg.interface ? this.remoteAddress : '');
    if (!host) return;
    const gen = this.gen + 1;
    const attempt = ++this.connectAttempt;
    const onConnected = (sock: Socket): void => {
      if (attempt === this.connectAttempt) this.abortDial = null;
      const st = this.fsm.state;
      if (attempt === this.connectAttempt && this.conn?.dir === 'incoming' && !this.collisions.hasPending && this.localOpen && (st === State.OpenSent || st === State.OpenConfirm)) {
        // §6.8: the peer's connection arrived while ours was being set up and we took it.
        this.collisions.ourDial(sock, encodeMessage(this.localOpen, this.ctx));
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
      if (attempt === this.connectAttempt) this.abortDial = null;
      if (this.gen + 1 !== gen || this.conn) return;
      this.lastDropReason = err.message;
      this.fsm.fire(Event.TcpConnectionFails);
    };
    this.abortDial?.();
    this.abortDial = dial({ cfg: this.cfg, host, netns: this.deps.netns, timeoutMs: this.fsm.opts.connectRetryMs }, onConnected, onFailed);
  }

  dropTcp(): void {
    closeConn(this.conn);
    this.conn = null;
  }

  // ------------------------------------------------------------------------------------------------
  // Sending

  private send(bytes: Uint8Array): void {
    if (!this.conn) return;
    this.counters.messagesOut++;
    writeRaw(this.conn.sock, bytes);
  }

  private capabilities(): Capability[] {
    const local = this.deps.local();
    if (this.cfg.gracefulRestart) this.gr.sentRestarting = local.restarting;
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
    this.lastKeepaliveOutAt = Date.now();
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
    const markers = this.refresh.takeMarkers();
    // RFC 7313 §4: Beginning- and End-of-Route-Refresh around a re-advertisement we were asked for.
    for (const m of markers) this.send(encodeMessage(routeRefreshMessage(m.afi, m.safi, RefreshSubtype.BeginningOfRouteRefresh), this.ctx));
    let msgs: Uint8Array[];
    try {
      msgs = encodeBatch(batch, this.ctx, this.families);
    } catch (err) {
      // As on receive: a bug costs this session, never the daemon. Reset after the RIB's pass (this
      // runs inside it); the next Established sends the whole table again.
      this.deps.log.error({ peer: this.name, err: (err as Error).stack }, 'internal error encoding UPDATEs: session reset');
      setImmediate(() => this.fsm.fire(Event.AutomaticStop, { code: ErrorCode.Cease, subcode: CeaseSubcode.OutOfResources, data: new Uint8Array(0) }));
      return;
    }
    for (const m of msgs) {
      this.counters.updatesOut++;
      this.send(m);
    }
    for (const m of markers) this.send(encodeMessage(routeRefreshMessage(m.afi, m.safi, RefreshSubtype.EndOfRouteRefresh), this.ctx));
    this.metrics.soon();
  }

  /** Ask the peer to resend its routes (soft reset in), or re-apply import policy when it cannot. */
  requestRefresh(): void {
    if (this.fsm.state !== State.Established) return;
    const requests = this.refresh.requests(this.remoteOpen, this.families);
    if (!requests) {
      this.deps.rib.reimport(this.ribId);
      return;
    }
    for (const m of requests) this.send(encodeMessage(m, this.ctx));
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
    if (!this.collisions.reading) {
      c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
      return;
    }
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    let off = 0;
    while (this.conn?.gen === c.gen) {
      const f = frame(c.buf, off, this.ctx);
      if (f.kind === 'need-more') break;
      if (f.kind === 'error') {
        this.fsm.fire(Event.BGPHeaderErr, toNotification(f.error));
        return;
      }
      // The peer's OPEN may have to wait until a colliding connection is gone (Collisions.deferOpen).
      if (f.type === MessageType.Open && this.collisions.deferOpen()) break;
      const bytes = c.buf.subarray(off, off + f.length);
      off += f.length;
      this.counters.messagesIn++;
      this.collisions.messageIn();
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
      if (type === MessageType.Update) this.deps.log.warn({ peer: this.name, err: r.error.message, code: r.error.code }, 'malformed UPDATE: session reset (RFC 7606)');
      return this.fsm.fire(decodeErrorEvent(type, r.error.errorCode, this.fsm.state === State.Established), toNotification(r.error));
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
        return this.fsm.fire(notificationEvent(m));
      }
      case MessageType.Update:
        countUpdateIn(this.counters, r.action);
        if (r.errors.length) {
          this.deps.log.warn({ peer: this.name, action: r.action, errors: r.errors.map((e) => e.message) }, 'UPDATE error handled without reset (RFC 7606)');
        }
        return this.fsm.fire(Event.UpdateMsg, { update: m, action: r.action });
      case MessageType.RouteRefresh:
        this.counters.routeRefreshIn++;
        if (this.fsm.state !== State.Established) return this.fsm.fire(Event.UpdateMsg, null);
        return this.refresh.received(this.remoteOpen, m.afi, m.safi, m.subtype);
    }
  }

  private onOpen(open: OpenMessage): void {
    const local = this.deps.local();
    const err = checkOpen(open, { peerAs: this.cfg.asn, asRange: this.deps.asRange, localAs: this.cfg.localAs ?? local.asn, routerId: local.routerId });
    if (err) return this.fsm.fire(Event.BGPOpenMsgErr, toNotification(err));
    // The peer's OPEN on its own connection: our connect still in progress is moot. Left alone, its SYN
    // (retransmitted 1 s, 3 s later, RFC 6298 §2.1) reaches a peer that is Established by then, and FRR
    // (bgp_accept, NSF mode) and BIRD (bgp_incoming_connection, gr_ready) take any connection accepted
    // while Established for a restart of ours and drop the session. Withdrawn before our KEEPALIVE, it
    // is never accepted. Safe against a peer doing the same: it withdraws only a connection on which it
    // has not received our OPEN, and the one we keep carries its OPEN.
    if (this.conn?.dir === 'incoming') this.withdrawDial();
    this.remoteOpen = open;
    this.fsm.setPeerHoldTime(open.holdTime);
    if (this.localOpen) this.ctx = negotiate(this.localOpen, open);
    this.deps.rib.updatePeer(this.ribId, this.ribInfo());
    this.fsm.fire(this.fsm.delayOpenTimerRunning ? Event.BGPOpen_with_DelayOpenTimer_running : Event.BGPOpen);
  }

  processUpdate(data: unknown): void {
    const { update, action } = data as { update: UpdateMessage; action: ErrorActionName | null };
    const r = applyUpdate(this.deps.rib, this.ribId, update, action);
    if (r.eor) {
      this.gr.endOfRib(r.eor);
      this.deps.onEndOfRibProgress?.(this);
      return;
    }
    if (r.announced) this.checkMaxPrefix();
    this.metrics.soon();
  }

  private checkMaxPrefix(): void {
    for (const v of checkMaxPrefix(this.cfg, this.deps.rib.counts(this.ribId).received, this.maxPrefixWarned)) {
      if (v.kind === 'warn') {
        this.counters.maxPrefixWarnings++;
        this.deps.log.warn({ peer: this.name, family: v.family, count: v.count, limit: v.limit }, 'max-prefix exceeded (warn only)');
      } else this.fsm.autoStop(v.notification, v.restartAfterMs);
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
      const graceful = grNegotiated(this.cfg, this.remoteOpen) && event === Event.TcpConnectionFails;
      pushFlap(this.flaps, { at: new Date().toISOString(), from, event, error: this.lastError?.text ?? this.lastDropReason });
      peerMetrics.flap(this);
      this.deps.rib.peerDown(this.ribId, graceful);
      if (graceful) this.gr.startStaleTimer();
      else this.gr.clearStaleTimer();
      // A graceful drop, or a restarted peer already redialled: restart at once, no flap backoff.
      if (graceful || this.takingOver) this.fsm.expectPeerBack();
    }
    if (to === State.Idle) {
      this.ctx = makeContext();
      this.remoteOpen = null;
      this.localOpen = null;
      this.deps.onIdle?.(this);
    }
  }

  private onEstablished(): void {
    const remote = this.remoteOpen!;
    const caps = openCapabilities(remote);
    this.families = negotiatedFamilies(this.cfg.families, caps);
    this.gr.reset();
    this.maxPrefixWarned.clear();
    this.lastDropReason = null;
    const info = this.ribInfo();
    this.deps.rib.updatePeer(this.ribId, info);
    if (this.families.includes('ipv4') && !info.localNextHop.ipv4 && !info.extendedNextHop) {
      // The export rules send no IPv4 route without a next hop the peer can take (rib/export.ts):
      // say why here, once per session, instead of leaving on-call to wonder at an empty Adj-RIB-Out.
      this.deps.log.warn({ peer: this.name }, 'IPv4 negotiated over an IPv6 session without extended next hop (RFC 8950) and without nextHopIpv4: no IPv4 route can be advertised to this peer');
    }
    this.gr.dropUnpreservedStale(caps);
    this.deps.rib.peerUp(this.ribId, this.families);
    if (this.gr.sentRestarting) this.deps.log.info({ peer: this.name }, 'sent graceful-restart R bit: peer keeps our routes until our End-of-RIB');
    this.deps.onEndOfRibProgress?.(this);
  }

  /**
   * RFC 4724 §4.1: whether this peer still holds up a restarting speaker's route selection. Done once
   * Established and End-of-RIB arrived for every negotiated family; peers without the Graceful
   * Restart capability, or restarting themselves (R bit), are not waited for.
   */
  selectionDeferralDone(): boolean {
    if (this.fsm.state !== State.Established || !this.remoteOpen) return false;
    return this.gr.deferralDone(this.remoteOpen);
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

  private recordError(direction: 'sent' | 'received', n: NotificationMessage): void {
    this.lastError = errorRecord(direction, n);
    peerMetrics.lastError(this, n.code, n.subcode);
  }

  /** Header-error helper kept for the raw-peer tests' expectations. */
  static readonly HeaderSubcode = HeaderSubcode;
  static familyKey = familyKey;
}
