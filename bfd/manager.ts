// BfdManager: the sessions of one network namespace. It owns one native engine (one thread, see
// native/bfd/engine.h), turns configuration into BfdSessions, runs every received datagram through the
// checks of RFC 5880 §6.8.6 / RFC 5881 §5 in order, and reports state changes as `state` events.
//
// Ownership: the engine thread owns sockets and timers; everything here runs on the event loop. A
// session's protocol state changes only in BfdSession, called from onNative() or the public methods.
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { logger, type Logger } from '../lib/log.js';
import { addrToBytes, bytesToAddr } from './addr.js';
import { AuthType, BFD_PORT_SINGLE_HOP, DropReason, State, diagnosticName, stateName, type StateName } from './constants.js';
import { BfdError, BfdErrorCode } from './errors.js';
import { detections, droppedPackets, sessionState, stateChanges } from './metrics.js';
import { loadNative, type NativeBfdIo, type NativeEvent, type NativeRxEvent } from './native.js';
import { decodePacket, type BfdAuth } from './packet.js';
import { BfdSession, type StateChange } from './session.js';

/** Per-peer defaults when BGP enables `bfd` without timers: 300 ms x 3 (issue 9). */
export const BFD_DEFAULTS = { minTxMs: 300, minRxMs: 300, multiplier: 3 } as const;

export interface BfdManagerOptions {
  /** Path of the network namespace the sockets live in (e.g. /var/run/netns/x); default: ours. */
  netns?: string;
  log?: Logger;
}

export interface BfdSessionConfig {
  peer: string;
  /** Source address; default: chosen by the kernel's routing. */
  local?: string;
  /** Single-hop sessions may be bound to an interface (SO_BINDTODEVICE; required for link-local peers). */
  interface?: string;
  /** RFC 5883 multihop (UDP 4784, no GTSM), e.g. for eBGP multihop peers. */
  multihop?: boolean;
  minTxMs?: number;
  minRxMs?: number;
  multiplier?: number;
  /** RFC 5880 §6.7.2 Simple Password (1-16 bytes); both ends must use the same key id and password. */
  auth?: { type: 'simple'; keyId: number; password: string };
}

export interface BfdStateEvent {
  /** The session key addSession() returned. */
  key: string;
  peer: string;
  interface?: string;
  multihop: boolean;
  from: StateName;
  to: StateName;
  /** bfd.LocalDiag after the change, e.g. "ControlDetectionTimeExpired". */
  diagnostic: string;
  /**
   * True when a session that was Up lost its peer: detection time expired or the peer signalled Down.
   * False for a peer that went AdminDown (RFC 5882 §3.2: not a failure). BGP tears down on true.
   */
  failed: boolean;
  /** Date.now() when the change was processed. */
  at: number;
  /**
   * For a detection-time expiry: when the engine thread detected it (Date.now() scale). `at` minus
   * this is the hop to the event loop, which a busy main thread stretches.
   */
  detectedAt?: number;
}

export interface BfdSessionInfo {
  key: string;
  peer: string;
  local?: string;
  interface?: string;
  multihop: boolean;
  state: StateName;
  remoteState: StateName;
  localDiscriminator: number;
  remoteDiscriminator: number;
  localDiagnostic: string;
  polling: boolean;
  sourcePort: number;
  configured: { minTxMs: number; minRxMs: number; multiplier: number };
  remote: { desiredMinTxMs: number; requiredMinRxMs: number; multiplier: number };
  /** Negotiated: our transmit interval (§6.8.7), the receive interval and Detection Time (§6.8.4). */
  negotiated: { txIntervalMs: number; rxIntervalMs: number; detectionTimeMs: number };
  counters: {
    packetsIn: number;
    packetsOut: number;
    txErrors: number;
    dropped: Partial<Record<DropReason, number>>;
    stateChanges: number;
  };
  lastDownReason?: string;
  lastDownAt?: number;
  lastUpAt?: number;
}

interface Entry {
  id: number;
  key: string;
  cfg: BfdSessionConfig;
  session: BfdSession;
  srcPort: number;
  packetsIn: number;
  dropped: Partial<Record<DropReason, number>>;
  stateChanges: number;
  lastDownReason?: string;
  lastDownAt?: number;
  lastUpAt?: number;
}

function authSection(cfg: BfdSessionConfig): BfdAuth | undefined {
  if (!cfg.auth) return undefined;
  const pw = Buffer.from(cfg.auth.password, 'utf8');
  const keyId = cfg.auth.keyId;
  // §4.2: a Simple Password is 1 to 16 bytes; the Key ID is one byte.
  if (cfg.auth.type !== 'simple' || pw.length < 1 || pw.length > 16 || !Number.isInteger(keyId) || keyId < 0 || keyId > 255) {
    throw new BfdError(BfdErrorCode.InvalidConfig, 'auth: only { type: "simple", keyId 0-255, password of 1-16 bytes } is supported');
  }
  return { type: AuthType.SimplePassword, data: Buffer.concat([Buffer.from([keyId]), pw]) };
}

/** The auth section as it sits on the wire after the mandatory header (type, len, key id, password). */
function encodeAuthSection(a: BfdAuth): Buffer {
  return Buffer.concat([Buffer.from([a.type, 2 + a.data.length]), a.data]);
}

export function sessionKey(cfg: Pick<BfdSessionConfig, 'peer' | 'interface' | 'multihop'>): string {
  return `${cfg.peer}${cfg.interface ? `%${cfg.interface}` : ''}${cfg.multihop ? '/multihop' : ''}`;
}

const msToUs = (ms: number): number => Math.round(ms * 1000);
const usToMs = (us: number): number => us / 1000;

export class BfdManager extends EventEmitter {
  private readonly io: NativeBfdIo;
  private readonly log: Logger;
  private readonly byId = new Map<number, Entry>();
  private readonly byKey = new Map<string, Entry>();
  private readonly discs = new Set<number>();
  private readonly droppedNoSession: Partial<Record<DropReason, number>> = {};
  private nextId = 1;
  /** Engine time (µs) of the expiry being processed, read by changed(). */
  private expiryUs: number | undefined;
  private closed = false;

  constructor(private readonly opts: BfdManagerOptions = {}) {
    super();
    this.log = opts.log ?? logger('bfd');
    const { BfdIo } = loadNative();
    this.io = new BfdIo((ev) => this.onNative(ev));
  }

  override on(event: 'state', listener: (e: BfdStateEvent) => void): this {
    return super.on(event, listener);
  }

  override once(event: 'state', listener: (e: BfdStateEvent) => void): this {
    return super.once(event, listener);
  }

  /** Calls `cb` whenever the session for `peer` that was Up goes down (the BGP teardown hook). */
  onPeerFailure(peer: string, cb: (e: BfdStateEvent) => void): () => void {
    const l = (e: BfdStateEvent): void => {
      if (e.failed && e.peer === peer) cb(e);
    };
    this.on('state', l);
    return () => this.off('state', l);
  }

  addSession(cfg: BfdSessionConfig): string {
    if (this.closed) throw new BfdError(BfdErrorCode.Closed, 'BfdManager is closed');
    const key = sessionKey(cfg);
    if (this.byKey.has(key)) throw new BfdError(BfdErrorCode.DuplicateSession, `BFD session ${key} exists`);
    const timers = this.timers(cfg);
    const peer = addrToBytes(cfg.peer);
    if (!peer) throw new BfdError(BfdErrorCode.InvalidConfig, `peer ${cfg.peer} is not an IP address`);
    const local = cfg.local === undefined ? null : addrToBytes(cfg.local);
    if (local === undefined || (local && local.length !== peer.length)) {
      throw new BfdError(BfdErrorCode.InvalidConfig, `local ${cfg.local} is not an address of the peer's family`);
    }
    if (cfg.multihop && cfg.interface) throw new BfdError(BfdErrorCode.InvalidConfig, 'a multihop session has no interface');
    const auth = authSection(cfg);
    const id = this.nextId++;
    const disc = this.newDiscriminator();
    let opened: { srcPort: number };
    try {
      opened = this.io.open(id, {
        netns: this.opts.netns ?? null,
        peer,
        local,
        ifname: cfg.interface ?? null,
        multihop: cfg.multihop ?? false,
        localDisc: disc,
        auth: auth ? encodeAuthSection(auth) : null,
      });
    } catch (err) {
      this.discs.delete(disc);
      const e = err as { syscall?: string; message?: string };
      throw new BfdError(BfdErrorCode.Socket, `BFD session ${key}: ${e.syscall ?? 'open'}: ${e.message}`, { cause: err });
    }
    const entry: Entry = {
      id,
      key,
      cfg: { ...cfg },
      srcPort: opened.srcPort,
      packetsIn: 0,
      dropped: {},
      stateChanges: 0,
      session: new BfdSession(
        disc,
        timers,
        {
          setTx: (packet, intervalUs, multOne) => this.io.setTx(id, packet, intervalUs, multOne),
          sendNow: (packet) => {
            this.io.sendNow(id, packet);
          },
          setDetect: (detectUs) => this.io.setDetect(id, detectUs),
        },
        (c) => this.changed(entry, c),
        auth,
      ),
    };
    this.byId.set(id, entry);
    this.byKey.set(key, entry);
    sessionState.set({ peer: key }, State.Down);
    entry.session.start();
    this.log.info({ peer: key, discriminator: disc, srcPort: opened.srcPort }, 'bfd session added');
    return key;
  }

  /** Change a session's timers; when it is Up this runs a Poll Sequence (RFC 5880 §6.8.3). */
  updateSession(key: string, t: Pick<BfdSessionConfig, 'minTxMs' | 'minRxMs' | 'multiplier'>): void {
    const e = this.entry(key);
    e.cfg = { ...e.cfg, ...t };
    e.session.updateTimers(this.timers(e.cfg));
  }

  /**
   * Remove a session. It first goes AdminDown and tells the peer so (§6.8.16), so the peer does not
   * mistake the removal for a failure. Takes the key addSession() returned, or a peer address that
   * has exactly one session. Returns false when there was no such session.
   */
  removeSession(keyOrPeer: string): boolean {
    const byPeer = [...this.byKey.values()].filter((x) => x.cfg.peer === keyOrPeer);
    const e = this.byKey.get(keyOrPeer) ?? (byPeer.length === 1 ? byPeer[0] : undefined);
    if (!e) return false;
    e.session.adminDown();
    this.io.sendNow(e.id, e.session.build());
    this.io.close(e.id);
    this.byId.delete(e.id);
    this.byKey.delete(e.key);
    this.discs.delete(e.session.localDiscr);
    sessionState.remove({ peer: e.key });
    this.log.info({ peer: e.key }, 'bfd session removed');
    return true;
  }

  sessions(): BfdSessionInfo[] {
    return [...this.byKey.values()].map((e) => this.info(e));
  }

  session(key: string): BfdSessionInfo | undefined {
    const e = this.byKey.get(key);
    return e && this.info(e);
  }

  /** Drops of packets that matched no session, by reason. */
  unmatchedDrops(): Partial<Record<DropReason, number>> {
    return { ...this.droppedNoSession };
  }

  /** The engine's transmit log of a session (bench and tests): due and actual send times in µs. */
  txLog(key: string): { due: Float64Array; sent: Float64Array; count: number } {
    const log = this.io.txLog(this.entry(key).id);
    if (!log) throw new BfdError(BfdErrorCode.NoSuchSession, `no BFD session ${key}`);
    return log;
  }

  /** The engine thread's scheduling ("fifo" = SCHED_FIFO, "nice", "normal"), for `uplinkctl show bfd`. */
  engineScheduling(): string {
    return this.io.sched();
  }

  close(): void {
    if (this.closed) return;
    for (const key of [...this.byKey.keys()]) this.removeSession(key);
    this.closed = true;
    this.io.stop();
  }

  private entry(key: string): Entry {
    const e = this.byKey.get(key);
    if (!e) throw new BfdError(BfdErrorCode.NoSuchSession, `no BFD session ${key}`);
    return e;
  }

  private timers(cfg: BfdSessionConfig): { desiredMinTxUs: number; requiredMinRxUs: number; detectMult: number } {
    const minTxMs = cfg.minTxMs ?? BFD_DEFAULTS.minTxMs;
    const minRxMs = cfg.minRxMs ?? BFD_DEFAULTS.minRxMs;
    const multiplier = cfg.multiplier ?? BFD_DEFAULTS.multiplier;
    // Intervals travel as 32-bit microseconds (§4.1); below 1 ms a JS-configured timer makes no sense.
    if (!(minTxMs >= 1 && minTxMs <= 4_000_000) || !(minRxMs >= 1 && minRxMs <= 4_000_000)) {
      throw new BfdError(BfdErrorCode.InvalidConfig, `intervals must be 1..4000000 ms (got tx ${minTxMs}, rx ${minRxMs})`);
    }
    if (!Number.isInteger(multiplier) || multiplier < 1 || multiplier > 255) {
      throw new BfdError(BfdErrorCode.InvalidConfig, `multiplier must be 1..255 (got ${multiplier})`);
    }
    return { desiredMinTxUs: msToUs(minTxMs), requiredMinRxUs: msToUs(minRxMs), detectMult: multiplier };
  }

  private newDiscriminator(): number {
    // §6.8.1: nonzero and unique per system; random so a restarted agent does not reuse old values.
    for (;;) {
      const d = randomInt(1, 2 ** 32 - 1);
      if (!this.discs.has(d)) {
        this.discs.add(d);
        return d;
      }
    }
  }

  private onNative(ev: NativeEvent): void {
    if (this.closed) return;
    const e = this.byId.get(ev.id);
    if (ev.kind === 'expire') {
      if (e) {
        if (e.session.state === State.Init || e.session.state === State.Up) detections.inc({ peer: e.key });
        this.expiryUs = ev.tUs;
        try {
          e.session.detectExpired();
        } finally {
          this.expiryUs = undefined;
        }
      }
      return;
    }
    this.receive(ev, e);
  }

  private receive(ev: NativeRxEvent, e: Entry | undefined): void {
    // RFC 5881 §5 (GTSM): single-hop packets must arrive with TTL / hop limit 255. Checked first: a
    // packet from further away is not from our neighbour, whatever it claims.
    if (ev.localPort === BFD_PORT_SINGLE_HOP && ev.ttl !== 255) return this.drop(e, DropReason.Ttl, ev, `ttl ${ev.ttl}`);
    const d = decodePacket(ev.data);
    if (!d.ok) return this.drop(e, d.reason, ev, d.detail);
    if (!e) return this.drop(e, DropReason.NoSession, ev, `your discriminator ${d.packet.yourDiscriminator}`);
    // §6.8.6: the A bit must match the configuration; §6.7.2: type, key id and password must match.
    const want = e.session.auth;
    const got = d.packet.auth;
    if (!want !== !got || (want && got && (got.type !== want.type || !got.data.equals(want.data)))) {
      return this.drop(e, DropReason.Auth, ev, got ? `auth type ${got.type} not accepted` : 'no authentication section');
    }
    e.packetsIn++;
    const dropped = e.session.receive(d.packet);
    if (dropped) this.drop(e, dropped, ev, 'session AdminDown');
  }

  private drop(e: Entry | undefined, reason: DropReason, ev: NativeRxEvent, detail: string): void {
    droppedPackets.inc({ reason });
    const bucket = e ? e.dropped : this.droppedNoSession;
    bucket[reason] = (bucket[reason] ?? 0) + 1;
    this.log.debug({ reason, detail, src: bytesToAddr(ev.src), srcPort: ev.srcPort, peer: e?.key }, 'bfd packet dropped');
  }

  private changed(e: Entry, c: StateChange): void {
    const from = stateName(c.from);
    const to = stateName(c.to);
    const diagnostic = diagnosticName(c.diagnostic);
    e.stateChanges++;
    const now = Date.now();
    if (c.to === State.Up) e.lastUpAt = now;
    if (c.to === State.Down || c.to === State.AdminDown) {
      e.lastDownReason = diagnostic;
      e.lastDownAt = now;
    }
    sessionState.set({ peer: e.key }, c.to);
    stateChanges.inc({ peer: e.key, to });
    const event: BfdStateEvent = {
      key: e.key,
      peer: e.cfg.peer,
      multihop: e.cfg.multihop ?? false,
      from,
      to,
      diagnostic,
      // RFC 5882 §3.2: a peer that went AdminDown is not a failure; its clients must not react.
      failed: c.from === State.Up && c.to === State.Down && e.session.remoteState !== State.AdminDown,
      at: now,
      ...(this.expiryUs !== undefined ? { detectedAt: Math.round(now - (this.io.nowUs() - this.expiryUs) / 1000) } : {}),
      ...(e.cfg.interface ? { interface: e.cfg.interface } : {}),
    };
    this.log.info({ peer: e.key, from, to, diagnostic }, 'bfd session state');
    this.emit('state', event);
  }

  private info(e: Entry): BfdSessionInfo {
    const s = e.session;
    const c = this.io.counters(e.id) ?? { tx: 0, txErrors: 0 };
    const rxUs = s.remoteDetectMult > 0 ? s.detectUs / s.remoteDetectMult : 0;
    return {
      key: e.key,
      peer: e.cfg.peer,
      ...(e.cfg.local ? { local: e.cfg.local } : {}),
      ...(e.cfg.interface ? { interface: e.cfg.interface } : {}),
      multihop: e.cfg.multihop ?? false,
      state: stateName(s.state),
      remoteState: stateName(s.remoteState),
      localDiscriminator: s.localDiscr,
      remoteDiscriminator: s.remoteDiscr,
      localDiagnostic: diagnosticName(s.localDiag),
      polling: s.polling,
      sourcePort: e.srcPort,
      configured: {
        minTxMs: usToMs(s.config.desiredMinTxUs),
        minRxMs: usToMs(s.config.requiredMinRxUs),
        multiplier: s.config.detectMult,
      },
      remote: {
        desiredMinTxMs: usToMs(s.remoteDesiredMinTxUs),
        requiredMinRxMs: usToMs(s.remoteMinRxUs),
        multiplier: s.remoteDetectMult,
      },
      negotiated: { txIntervalMs: usToMs(s.txIntervalUs), rxIntervalMs: usToMs(rxUs), detectionTimeMs: usToMs(s.detectUs) },
      counters: {
        packetsIn: e.packetsIn,
        packetsOut: c.tx,
        txErrors: c.txErrors,
        dropped: { ...e.dropped },
        stateChanges: e.stateChanges,
      },
      ...(e.lastDownReason ? { lastDownReason: e.lastDownReason, lastDownAt: e.lastDownAt } : {}),
      ...(e.lastUpAt ? { lastUpAt: e.lastUpAt } : {}),
    };
  }
}
