// One BGP connection's finite state machine (RFC 4271 §8). It owns the timers and counters of §8.1 and
// runs the actions named by the table (table.ts); everything that touches a socket goes through
// FsmHost, so the whole machine runs in tests with no sockets and vitest fake timers.
//
// Concurrency: single-threaded; `fire` is re-entrant only through RestartAutomatically, which queues
// the follow-up event so each transition completes (actions and entry actions) before the next starts.
import { ErrorCode, CeaseSubcode } from '../wire/errors.js';
import { BgpError, BgpErrorCode } from '../errors.js';
import {
  Action,
  Event,
  State,
  fsmErrorSubcode,
  lookup,
  type ActionName,
  type EventName,
  type Guard,
  type StateName,
} from './table.js';

export interface Notification {
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

export interface FsmHost {
  initiateTcp(): void;
  dropTcp(): void;
  sendOpen(): void;
  sendKeepalive(): void;
  sendNotification(n: Notification): void;
  /** Established left or resources released: the owner flushes routes (or marks them stale, GR). */
  releaseResources(): void;
  processUpdate(data: unknown): void;
  stateChanged(from: StateName, to: StateName, event: EventName): void;
}

export interface FsmOptions {
  /** §8.1.1 ConnectRetryTime; default 30 s (FRR's value; the RFC suggests 120). */
  readonly connectRetryMs?: number;
  /** The hold time we offer in OPEN, seconds (§4.2, 0 or >= 3). */
  readonly holdTimeS?: number;
  /** §8.1.1 DelayOpen; 0 = off. */
  readonly delayOpenMs?: number;
  /** §8.1.1 PassiveTcpEstablishment: wait for the peer to connect. */
  readonly passive?: boolean;
  /** Idle hold time after the first failure; doubled on every further failure (DampPeerOscillations). */
  readonly idleHoldMs?: number;
  readonly idleHoldMaxMs?: number;
  /** A session up this long resets the backoff: the peer is not flapping any more. */
  readonly stableMs?: number;
  /** Restart automatically after falling back to Idle (unless stopped by the admin). */
  readonly autoRestart?: boolean;
}

/** §8.2.2: "sets the HoldTimer to a large value ... 4 minutes is suggested". */
export const LARGE_HOLD_MS = 4 * 60_000;

export interface FsmSnapshot {
  readonly state: StateName;
  readonly connectRetryCounter: number;
  readonly negotiatedHoldS: number;
  readonly keepaliveS: number;
  readonly idleHoldMs: number;
  readonly lastEvent: EventName | null;
  readonly establishedAt: number | null;
}

type TimerName = 'connectRetry' | 'hold' | 'keepalive' | 'delayOpen' | 'idleHold' | 'stable';

export class Fsm {
  private st: StateName = State.Idle;
  private readonly timers = new Map<TimerName, ReturnType<typeof setTimeout>>();
  private connectRetryCounter = 0;
  private negotiatedHoldS: number;
  private idleHoldMs: number;
  private adminUp = false;
  private lastEvent: EventName | null = null;
  private establishedAt: number | null = null;
  private readonly queue: { event: EventName; data: unknown }[] = [];
  private running = false;
  /** The NOTIFICATION carried by the event being processed (SendEventNotification). */
  private eventNotification: Notification | null = null;
  private shutdownMessage = '';
  /** idleHoldMs before the last DampPeerOscillations step, so expectPeerBack() can take it back. */
  private idleHoldBeforeDamp: number | null = null;
  /** Set by expectPeerBack() while leaving Established: the automatic restart skips the IdleHoldTimer. */
  private restartAtOnce = false;
  /** Set by autoStop(): the pause before the automatic restart, taken instead of the next damping step. */
  private restartAfterMs: number | null = null;
  readonly opts: Required<FsmOptions>;

  constructor(
    private readonly host: FsmHost,
    opts: FsmOptions = {},
  ) {
    this.opts = {
      connectRetryMs: opts.connectRetryMs ?? 30_000,
      holdTimeS: opts.holdTimeS ?? 90,
      delayOpenMs: opts.delayOpenMs ?? 0,
      passive: opts.passive ?? false,
      idleHoldMs: opts.idleHoldMs ?? 1_000,
      idleHoldMaxMs: opts.idleHoldMaxMs ?? 120_000,
      stableMs: opts.stableMs ?? 60_000,
      autoRestart: opts.autoRestart ?? true,
    };
    this.negotiatedHoldS = this.opts.holdTimeS;
    this.idleHoldMs = 0;
  }

  get state(): StateName {
    return this.st;
  }

  get holdTimeS(): number {
    return this.negotiatedHoldS;
  }

  snapshot(): FsmSnapshot {
    return {
      state: this.st,
      connectRetryCounter: this.connectRetryCounter,
      negotiatedHoldS: this.negotiatedHoldS,
      keepaliveS: Math.floor(this.negotiatedHoldS / 3),
      idleHoldMs: this.idleHoldMs,
      lastEvent: this.lastEvent,
      establishedAt: this.establishedAt,
    };
  }

  /** Admin start: ManualStart (active or passive per configuration). */
  start(): void {
    this.adminUp = true;
    this.fire(this.opts.passive ? Event.ManualStart_with_PassiveTcpEstablishment : Event.ManualStart);
  }

  /** Admin stop with an RFC 9003 shutdown communication (sent only from OpenSent on). */
  stop(message = ''): void {
    this.adminUp = false;
    this.shutdownMessage = message;
    this.fire(Event.ManualStop);
  }

  /**
   * AutomaticStop (§8.1.2 Event 8) with the NOTIFICATION to send, e.g. max-prefix. `restartAfterMs`
   * null keeps the peer down until an admin start; otherwise the next start waits that long.
   */
  autoStop(n: Notification, restartAfterMs: number | null): void {
    if (restartAfterMs === null) this.adminUp = false;
    else this.restartAfterMs = restartAfterMs;
    this.fire(Event.AutomaticStop, n);
  }

  /**
   * RFC 4724 §4.2 (helper): the session was lost because the peer restarts, and the peer is expected
   * back within its Restart Time. That is not an oscillation: take back this drop's damping step and
   * restart at once instead of waiting out the IdleHoldTimer in Idle, where the restarted peer's
   * connection would be refused. A peer that comes back late is missing when the restarted speaker
   * ends its selection deferral (§4.1; FRR ends it once every peer that is up sent End-of-RIB), and
   * that speaker's End-of-RIB then makes its other peers drop our routes. Call from
   * FsmHost.stateChanged on leaving Established.
   */
  expectPeerBack(): void {
    if (this.idleHoldBeforeDamp !== null) this.idleHoldMs = this.idleHoldBeforeDamp;
    this.idleHoldBeforeDamp = null;
    this.restartAtOnce = true;
  }

  /** Admin hard reset: drop and start again at once (no backoff). */
  reset(message = ''): void {
    this.stop(message);
    this.idleHoldMs = 0;
    this.start();
  }

  /**
   * Before firing BGPOpen the owner sets the negotiated hold time: §4.2 "the smaller of its configured
   * Hold Time and the Hold Time received in the OPEN message".
   */
  setPeerHoldTime(peerHoldS: number): void {
    this.negotiatedHoldS = Math.min(this.opts.holdTimeS, peerHoldS);
  }

  /** The owner's check for which OPEN event to fire (§8.1.4 Event 19 vs 20). */
  get delayOpenTimerRunning(): boolean {
    return this.timers.has('delayOpen');
  }

  fire(event: EventName, data?: unknown): void {
    this.queue.push({ event, data });
    if (this.running) return;
    this.running = true;
    try {
      for (let next = this.queue.shift(); next; next = this.queue.shift()) this.step(next.event, next.data);
    } finally {
      this.running = false;
    }
  }

  private step(event: EventName, data: unknown): void {
    this.lastEvent = event;
    const cell = lookup(this.st, event);
    if (cell === null) return;
    const row = cell.find((r) => r.guard === undefined || this.guard(r.guard));
    if (!row) throw new BgpError(BgpErrorCode.ImpossibleState, `no FSM row for ${this.st} x ${event}`);
    this.eventNotification = isNotification(data) ? data : null;
    const from = this.st;
    for (const a of row.actions) this.run(a, event, data);
    this.st = row.next;
    if (from !== row.next) this.enter(row.next, from, event);
  }

  private guard(g: Guard): boolean {
    switch (g) {
      case 'DelayOpen':
        return this.opts.delayOpenMs > 0;
      case 'NoDelayOpen':
        return this.opts.delayOpenMs <= 0;
      case 'DelayOpenTimerRunning':
        return this.timers.has('delayOpen');
      case 'DelayOpenTimerStopped':
        return !this.timers.has('delayOpen');
    }
  }

  /** Entry actions, in one place (OpenBGPD's change_state). */
  private enter(to: StateName, from: StateName, event: EventName): void {
    if (from === State.Idle) this.stopTimer('idleHold');
    if (from === State.Established) {
      this.establishedAt = null;
      this.stopTimer('stable');
    }
    switch (to) {
      case State.Idle:
        // §8.2.2: in Idle no timer runs, except the IdleHoldTimer of an automatic restart below.
        for (const t of [...this.timers.keys()]) this.stopTimer(t);
        this.negotiatedHoldS = this.opts.holdTimeS;
        break;
      case State.Established:
        this.establishedAt = Date.now();
        // A session that stays up resets the flap backoff (RFC 4271 §8.1.1 DampPeerOscillations).
        this.startTimer('stable', this.opts.stableMs, () => {
          this.idleHoldMs = 0;
          this.connectRetryCounter = 0;
        });
        break;
      default:
        break;
    }
    this.restartAtOnce = false;
    this.host.stateChanged(from, to, event);
    const atOnce = this.restartAtOnce;
    this.restartAtOnce = false;
    if (to === State.Idle && this.adminUp && this.opts.autoRestart) {
      const passive = this.opts.passive;
      const damped = passive ? Event.AutomaticStart_with_DampPeerOscillations_and_PassiveTcpEstablishment : Event.AutomaticStart_with_DampPeerOscillations;
      const undamped = passive ? Event.AutomaticStart_with_PassiveTcpEstablishment : Event.AutomaticStart;
      this.queue.push({ event: atOnce ? undamped : damped, data: undefined });
    }
  }

  private run(a: ActionName, event: EventName, data: unknown): void {
    switch (a) {
      case Action.InitializeResources:
        return;
      case Action.ReleaseResources:
        return this.host.releaseResources();
      case Action.InitiateTcp:
        return this.host.initiateTcp();
      case Action.DropTcp:
        return this.host.dropTcp();
      case Action.StartConnectRetryTimer:
        return this.startTimer('connectRetry', this.opts.connectRetryMs, () => this.fire(Event.ConnectRetryTimer_Expires));
      case Action.StopConnectRetryTimer:
        return this.stopTimer('connectRetry');
      case Action.StartDelayOpenTimer:
        return this.startTimer('delayOpen', this.opts.delayOpenMs, () => this.fire(Event.DelayOpenTimer_Expires));
      case Action.StopDelayOpenTimer:
        return this.stopTimer('delayOpen');
      case Action.StartHoldTimerLarge:
        return this.startTimer('hold', LARGE_HOLD_MS, () => this.fire(Event.HoldTimer_Expires));
      case Action.StartHoldTimerNegotiated:
      case Action.RestartHoldTimer:
        // §4.2: a hold time of zero means neither KEEPALIVEs nor the HoldTimer are used.
        if (this.negotiatedHoldS === 0) return this.stopTimer('hold');
        return this.startTimer('hold', this.negotiatedHoldS * 1000, () => this.fire(Event.HoldTimer_Expires));
      case Action.StartKeepaliveTimer:
        if (this.negotiatedHoldS === 0) return this.stopTimer('keepalive');
        // §4.4: one third of the hold time.
        return this.startTimer('keepalive', Math.max(1, Math.floor(this.negotiatedHoldS / 3)) * 1000, () =>
          this.fire(Event.KeepaliveTimer_Expires),
        );
      case Action.StartIdleHoldTimer:
        // Never below the base: a refused connect must not spin (Connect x TcpConnectionFails skips damping).
        return this.startTimer('idleHold', Math.max(this.idleHoldMs, this.opts.idleHoldMs), () => this.fire(Event.IdleHoldTimer_Expires));
      case Action.ZeroConnectRetryCounter:
        this.connectRetryCounter = 0;
        return;
      case Action.IncrementConnectRetryCounter:
        this.connectRetryCounter++;
        return;
      case Action.DampPeerOscillations:
        // Exponential backoff: 0 on a clean first start, then idleHoldMs, doubling up to the maximum.
        this.idleHoldBeforeDamp = this.idleHoldMs;
        // After an AutomaticStop with a restart interval (max-prefix `restart`), that interval is the
        // IdleHoldTime (§8.1.1): not doubled like an oscillation step, but never below the backoff
        // already reached.
        if (this.restartAfterMs !== null) {
          this.idleHoldMs = Math.max(this.idleHoldMs, this.restartAfterMs);
          this.restartAfterMs = null;
          return;
        }
        this.idleHoldMs = this.idleHoldMs === 0 ? this.opts.idleHoldMs : Math.min(this.idleHoldMs * 2, this.opts.idleHoldMaxMs);
        return;
      case Action.SendOpen:
        return this.host.sendOpen();
      case Action.SendKeepalive:
        return this.host.sendKeepalive();
      case Action.SendCeaseAdminShutdown:
        // An automatic stop may carry its own Cease (e.g. RFC 4486 Maximum Number of Prefixes Reached).
        if (this.eventNotification) return this.host.sendNotification(this.eventNotification);
        return this.host.sendNotification({
          code: ErrorCode.Cease,
          subcode: CeaseSubcode.AdministrativeShutdown,
          data: shutdownCommunication(this.shutdownMessage),
        });
      case Action.SendCeaseCollision:
        return this.host.sendNotification({ code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution, data: new Uint8Array(0) });
      case Action.SendHoldTimerExpired:
        return this.host.sendNotification({ code: ErrorCode.HoldTimerExpired, subcode: 0, data: new Uint8Array(0) });
      case Action.SendFsmError:
        return this.host.sendNotification({ code: ErrorCode.FsmError, subcode: fsmErrorSubcode(this.st), data: new Uint8Array(0) });
      case Action.SendEventNotification:
        if (!this.eventNotification) throw new BgpError(BgpErrorCode.ImpossibleState, `${event} fired without a NOTIFICATION`);
        return this.host.sendNotification(this.eventNotification);
      case Action.ProcessUpdate:
        return this.host.processUpdate(data);
      case Action.RestartAutomatically:
        if (!this.adminUp) return;
        this.queue.push({
          event: this.opts.passive ? Event.AutomaticStart_with_PassiveTcpEstablishment : Event.AutomaticStart,
          data: undefined,
        });
        return;
    }
  }

  private startTimer(name: TimerName, ms: number, fn: () => void): void {
    this.stopTimer(name);
    const t = setTimeout(() => {
      this.timers.delete(name);
      fn();
    }, ms);
    // Timers never keep the process alive on their own; the sockets and the agent do.
    if (typeof t === 'object' && t !== null && 'unref' in t) t.unref();
    this.timers.set(name, t);
  }

  private stopTimer(name: TimerName): void {
    const t = this.timers.get(name);
    if (t !== undefined) clearTimeout(t);
    this.timers.delete(name);
  }

  /** Timer names currently running (for tests and introspection). */
  runningTimers(): TimerName[] {
    return [...this.timers.keys()];
  }

  /** Stop every timer and forget the admin state (speaker shutdown). */
  dispose(): void {
    this.adminUp = false;
    for (const t of [...this.timers.keys()]) this.stopTimer(t);
  }
}

function isNotification(x: unknown): x is Notification {
  return typeof x === 'object' && x !== null && 'code' in x && 'subcode' in x && 'data' in x;
}

/** RFC 9003 §2: length octet + UTF-8 text, at most 255 octets, cut on a character boundary. */
export function shutdownCommunication(message: string): Uint8Array {
  if (!message) return new Uint8Array(0);
  let bytes = new TextEncoder().encode(message);
  if (bytes.length > 255) {
    let cut = 255;
    while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
    bytes = bytes.subarray(0, cut);
  }
  const out = new Uint8Array(bytes.length + 1);
  out[0] = bytes.length;
  out.set(bytes, 1);
  return out;
}

/**
 * RFC 4271 §6.8 connection collision: the connection opened by the speaker with the higher BGP
 * Identifier survives. Identifiers compare as unsigned 32-bit integers. Returns which connection to
 * close: the one we initiated ('outgoing') or the one the peer initiated ('incoming').
 */
export function collisionLoser(localId: string, remoteId: string): 'outgoing' | 'incoming' {
  return idToNumber(localId) > idToNumber(remoteId) ? 'incoming' : 'outgoing';
}

function idToNumber(id: string): number {
  const p = id.split('.').map(Number);
  return (((p[0] ?? 0) << 24) | ((p[1] ?? 0) << 16) | ((p[2] ?? 0) << 8) | (p[3] ?? 0)) >>> 0;
}
