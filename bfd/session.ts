// One BFD session's protocol state (RFC 5880 §6.8.1 variables) and its reactions to received packets,
// detection-timer expiry and configuration changes. It does no I/O itself: it tells a SessionIo which
// packet to transmit periodically, at what interval, and how long the detection time is; the native
// engine (or a test) carries that out. So the whole protocol logic runs under plain unit tests.
import { Diagnostic, DropReason, SLOW_TX_US, State } from './constants.js';
import { FsmEvent, recvEvent, transition, type Transition } from './fsm.js';
import { encodePacket, type BfdAuth, type BfdPacket } from './packet.js';

export interface SessionIo {
  /** Transmit `packet` every `intervalUs` (jittered per §6.8.7); 0 stops periodic transmission. */
  setTx(packet: Buffer, intervalUs: number, multOne: boolean): void;
  /** Transmit one packet now, outside the schedule (the Final of a Poll Sequence, §6.8.7). */
  sendNow(packet: Buffer): void;
  /** (Re)start the detection timer with this Detection Time; 0 disarms it. */
  setDetect(detectUs: number): void;
}

export interface SessionTimers {
  desiredMinTxUs: number;
  requiredMinRxUs: number;
  detectMult: number;
}

export interface StateChange {
  from: State;
  to: State;
  diagnostic: number;
}

export class BfdSession {
  state: State = State.Down;
  remoteState: State = State.Down;
  localDiag: number = Diagnostic.None;
  remoteDiscr = 0;
  /** §6.8.1: initialised to 1 so we transmit (slowly) before hearing the peer. */
  remoteMinRxUs = 1;
  remoteDesiredMinTxUs = 0;
  remoteDetectMult = 0;
  /** §6.8.3: a Poll Sequence is in progress (P set on our packets until a Final arrives). */
  polling = false;
  txIntervalUs = 0;
  detectUs = 0;
  /** The values timing actually uses; they lag the advertised ones while a poll is pending (§6.8.3). */
  private appliedTxUs: number;
  private appliedRxUs: number;
  private lastTx: { packet: Buffer; intervalUs: number } | undefined;

  constructor(
    readonly localDiscr: number,
    private timers: SessionTimers,
    private readonly io: SessionIo,
    private readonly onChange: (change: StateChange) => void,
    /** The auth section every packet carries (Simple Password, §6.7.2); undefined: no authentication. */
    readonly auth?: BfdAuth,
  ) {
    this.appliedTxUs = this.advertisedTxUs();
    this.appliedRxUs = timers.requiredMinRxUs;
  }

  get config(): Readonly<SessionTimers> {
    return this.timers;
  }

  start(): void {
    this.recompute();
  }

  /** §6.8.3: DesiredMinTxInterval is at least one second while the session is not Up. */
  advertisedTxUs(): number {
    return this.state === State.Up ? this.timers.desiredMinTxUs : Math.max(this.timers.desiredMinTxUs, SLOW_TX_US);
  }

  /**
   * A packet that passed decoding, GTSM, discriminator and authentication checks (§6.8.6). Returns a
   * drop reason when the session itself discards it.
   */
  receive(p: BfdPacket): DropReason | undefined {
    if (this.state === State.AdminDown) return DropReason.AdminDown;
    this.remoteDiscr = p.myDiscriminator;
    this.remoteState = p.state;
    this.remoteMinRxUs = p.requiredMinRxUs;
    this.remoteDesiredMinTxUs = p.desiredMinTxUs;
    this.remoteDetectMult = p.detectMult;
    if (p.final && this.polling) {
      // §6.8.3: the Final ends the Poll Sequence; deferred timer changes take effect now.
      this.polling = false;
    }
    const t = transition(this.state, recvEvent(p.state));
    if (t.next !== this.state) this.apply(t);
    else this.recompute();
    // The engine restarts the timer itself only for packets that carry our discriminator; one that
    // does not (the peer is Down and has not learned it) is still a valid reception (§6.8.6).
    if (p.yourDiscriminator === 0 && this.detectUs > 0) this.io.setDetect(this.detectUs);
    if (p.poll) {
      // §6.8.7: answer a Poll at once with a Final, never with both bits set.
      this.io.sendNow(this.build(true));
    }
    return undefined;
  }

  detectExpired(): void {
    if (this.state !== State.Init && this.state !== State.Up) return;
    // §6.8.1: bfd.RemoteDiscr is reset when the Detection Time expires.
    this.remoteDiscr = 0;
    this.apply(transition(this.state, FsmEvent.DetectTimerExpired));
  }

  adminDown(): void {
    this.apply(transition(this.state, FsmEvent.AdminDown));
  }

  adminUp(): void {
    this.apply(transition(this.state, FsmEvent.AdminUp));
  }

  /** New timers from configuration: §6.8.3 starts a Poll Sequence when the session is Up. */
  updateTimers(t: SessionTimers): void {
    const changed =
      t.desiredMinTxUs !== this.timers.desiredMinTxUs ||
      t.requiredMinRxUs !== this.timers.requiredMinRxUs ||
      t.detectMult !== this.timers.detectMult;
    this.timers = { ...t };
    if (changed && this.state === State.Up) this.polling = true;
    this.recompute();
  }

  /** The packet this session sends now (with F instead of P for a Final). */
  build(final = false): Buffer {
    return encodePacket({
      version: 1,
      diagnostic: this.localDiag,
      state: this.state,
      poll: this.polling && !final,
      final,
      cpi: false,
      demand: false,
      multipoint: false,
      detectMult: this.timers.detectMult,
      myDiscriminator: this.localDiscr,
      yourDiscriminator: this.remoteDiscr,
      desiredMinTxUs: this.advertisedTxUs(),
      requiredMinRxUs: this.timers.requiredMinRxUs,
      requiredMinEchoRxUs: 0,
      ...(this.auth ? { auth: this.auth } : {}),
    });
  }

  private apply(t: Transition): void {
    const from = this.state;
    if (t.diag !== undefined) this.localDiag = t.diag;
    if (t.next === from) {
      this.recompute();
      return;
    }
    this.state = t.next;
    if (t.next === State.Up && this.timers.desiredMinTxUs !== SLOW_TX_US) {
      // §6.8.3: leaving slow start changes DesiredMinTxInterval, which needs a Poll Sequence.
      this.polling = true;
    } else if (from === State.Up) {
      this.polling = false;
    }
    this.recompute();
    this.onChange({ from, to: t.next, diagnostic: this.localDiag });
  }

  private recompute(): void {
    const advertised = this.advertisedTxUs();
    // §6.8.3: while Up and polling, a larger DesiredMinTx and a smaller RequiredMinRx wait for the
    // Final; the opposite changes are safe at once.
    const deferring = this.polling && this.state === State.Up;
    if (!deferring || advertised < this.appliedTxUs) this.appliedTxUs = advertised;
    if (!deferring || this.timers.requiredMinRxUs > this.appliedRxUs) this.appliedRxUs = this.timers.requiredMinRxUs;
    // §6.8.7: never faster than the peer accepts; a RemoteMinRx of zero means "send nothing periodic".
    this.txIntervalUs = this.remoteMinRxUs === 0 ? 0 : Math.max(this.appliedTxUs, this.remoteMinRxUs);
    const packet = this.build();
    if (!this.lastTx || this.lastTx.intervalUs !== this.txIntervalUs || !this.lastTx.packet.equals(packet)) {
      this.lastTx = { packet, intervalUs: this.txIntervalUs };
      this.io.setTx(packet, this.txIntervalUs, this.timers.detectMult === 1);
    }
    // §6.8.4 (asynchronous mode): the remote's Detect Mult times the agreed interval, which is the
    // larger of our RequiredMinRx and the remote's last DesiredMinTx.
    const live = this.state === State.Init || this.state === State.Up;
    const detect = live && this.remoteDetectMult > 0 ? this.remoteDetectMult * Math.max(this.appliedRxUs, this.remoteDesiredMinTxUs) : 0;
    if (detect !== this.detectUs) {
      this.detectUs = detect;
      this.io.setDetect(detect);
    }
  }
}
