import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Fsm, collisionLoser, shutdownCommunication, type FsmHost, type Notification } from './fsm.js';
import { ALL_EVENTS, ALL_STATES, Event, State, lookup, type EventName, type StateName } from './table.js';
import { CeaseSubcode, ErrorCode, FsmSubcode } from '../wire/errors.js';

class RecordingHost implements FsmHost {
  log: string[] = [];
  notifications: Notification[] = [];
  transitions: [StateName, StateName, EventName][] = [];
  initiateTcp(): void { this.log.push('connect'); }
  dropTcp(): void { this.log.push('drop'); }
  sendOpen(): void { this.log.push('open'); }
  sendKeepalive(): void { this.log.push('keepalive'); }
  sendNotification(n: Notification): void { this.log.push(`notify ${n.code}/${n.subcode}`); this.notifications.push(n); }
  releaseResources(): void { this.log.push('release'); }
  processUpdate(): void { this.log.push('update'); }
  stateChanged(from: StateName, to: StateName, ev: EventName): void { this.transitions.push([from, to, ev]); }
}

/** Drive a fresh FSM to `target` with the usual events. */
function driveTo(fsm: Fsm, target: StateName, peerHold = 90): void {
  fsm.start();
  if (target === State.Connect) return;
  fsm.fire(Event.TcpConnectionConfirmed);
  if (target === State.OpenSent) return;
  fsm.setPeerHoldTime(peerHold);
  fsm.fire(Event.BGPOpen);
  if (target === State.OpenConfirm) return;
  fsm.fire(Event.KeepAliveMsg);
}

describe('FSM transition table (RFC 4271 §8.2.2)', () => {
  it('has a cell for every state x event, and Idle ignores everything but starts and IdleHold', () => {
    for (const s of ALL_STATES) for (const e of ALL_EVENTS) expect(() => lookup(s, e)).not.toThrow();
    expect(lookup(State.Idle, Event.UpdateMsg)).toBeNull();
    expect(lookup(State.Idle, Event.ManualStop)).toBeNull();
    expect(lookup(State.Idle, Event.ManualStart)?.[0]?.next).toBe(State.Connect);
  });
  it('every non-Idle state goes to Idle on TcpConnectionFails or NotifMsg unless the RFC says Active', () => {
    expect(lookup(State.OpenSent, Event.TcpConnectionFails)?.[0]?.next).toBe(State.Active);
    expect(lookup(State.Established, Event.NotifMsg)?.[0]?.next).toBe(State.Idle);
    expect(lookup(State.OpenConfirm, Event.TcpConnectionFails)?.[0]?.next).toBe(State.Idle);
  });
});

describe('Fsm with fake timers', () => {
  let host: RecordingHost;
  beforeEach(() => {
    vi.useFakeTimers();
    host = new RecordingHost();
  });
  afterEach(() => vi.useRealTimers());

  it('active open reaches Established, sends KEEPALIVEs every hold/3 and expires the hold timer', () => {
    const fsm = new Fsm(host, { holdTimeS: 90, autoRestart: false });
    driveTo(fsm, State.Established, 30);
    expect(fsm.state).toBe(State.Established);
    expect(fsm.holdTimeS).toBe(30); // §4.2 the smaller of the two
    expect(host.log).toEqual(['connect', 'open', 'keepalive']);
    host.log = [];
    vi.advanceTimersByTime(10_000);
    expect(host.log).toEqual(['keepalive']);
    fsm.fire(Event.KeepAliveMsg); // at t=10s: hold restarts, expires at t=40s
    vi.advanceTimersByTime(29_000);
    expect(fsm.state).toBe(State.Established);
    vi.advanceTimersByTime(1_000);
    expect(fsm.state).toBe(State.Idle);
    expect(host.notifications.at(-1)).toMatchObject({ code: ErrorCode.HoldTimerExpired, subcode: 0 });
    expect(host.log).toContain('release');
    expect(fsm.runningTimers()).toEqual([]);
  });

  it('hold time zero runs neither KEEPALIVE nor hold timers (§4.2)', () => {
    const fsm = new Fsm(host, { holdTimeS: 90, autoRestart: false });
    driveTo(fsm, State.Established, 0);
    expect(fsm.runningTimers().filter((t) => t === 'hold' || t === 'keepalive')).toEqual([]);
  });

  it('waits the large hold timer (4 min) in OpenSent, then HoldTimerExpired', () => {
    const fsm = new Fsm(host, { autoRestart: false });
    driveTo(fsm, State.OpenSent);
    vi.advanceTimersByTime(239_000);
    expect(fsm.state).toBe(State.OpenSent);
    vi.advanceTimersByTime(1_000);
    expect(fsm.state).toBe(State.Idle);
    expect(host.notifications[0]?.code).toBe(ErrorCode.HoldTimerExpired);
  });

  it('ConnectRetryTimer retries the connection in Connect', () => {
    const fsm = new Fsm(host, { connectRetryMs: 5_000, autoRestart: false });
    fsm.start();
    expect(host.log).toEqual(['connect']);
    vi.advanceTimersByTime(5_000);
    expect(fsm.state).toBe(State.Connect);
    expect(host.log).toEqual(['connect', 'drop', 'connect']);
  });

  it('passive start waits in Active and sends OPEN when the peer connects', () => {
    const fsm = new Fsm(host, { passive: true, autoRestart: false });
    fsm.start();
    expect(fsm.state).toBe(State.Active);
    expect(host.log).toEqual([]);
    fsm.fire(Event.TcpConnectionConfirmed);
    expect(fsm.state).toBe(State.OpenSent);
    expect(host.log).toEqual(['open']);
  });

  it('DelayOpen: holds our OPEN until the timer fires, or answers a peer OPEN at once (Event 20)', () => {
    const a = new Fsm(host, { delayOpenMs: 3_000, autoRestart: false });
    a.start();
    a.fire(Event.TcpConnectionConfirmed);
    expect(a.state).toBe(State.Connect);
    expect(a.delayOpenTimerRunning).toBe(true);
    expect(host.log).toEqual(['connect']);
    vi.advanceTimersByTime(3_000);
    expect(a.state).toBe(State.OpenSent);
    expect(host.log).toEqual(['connect', 'open']);

    const h2 = new RecordingHost();
    const b = new Fsm(h2, { delayOpenMs: 3_000, autoRestart: false });
    b.start();
    b.fire(Event.TcpConnectionConfirmed);
    b.setPeerHoldTime(90);
    b.fire(Event.BGPOpen_with_DelayOpenTimer_running);
    expect(b.state).toBe(State.OpenConfirm);
    expect(h2.log).toEqual(['connect', 'open', 'keepalive']);
    expect(b.delayOpenTimerRunning).toBe(false);
  });

  it('DelayOpen: TCP failure while the DelayOpenTimer runs goes to Active (§8.2.2 Connect Event 18)', () => {
    const fsm = new Fsm(host, { delayOpenMs: 3_000, autoRestart: false });
    fsm.start();
    fsm.fire(Event.TcpConnectionConfirmed);
    fsm.fire(Event.TcpConnectionFails);
    expect(fsm.state).toBe(State.Active);
  });

  it('unexpected messages send the RFC 6608 FSM error naming the state', () => {
    const cases: [StateName, EventName, number][] = [
      [State.OpenSent, Event.KeepAliveMsg, FsmSubcode.UnexpectedMessageInOpenSent],
      [State.OpenSent, Event.UpdateMsg, FsmSubcode.UnexpectedMessageInOpenSent],
      [State.OpenConfirm, Event.UpdateMsg, FsmSubcode.UnexpectedMessageInOpenConfirm],
      [State.OpenConfirm, Event.BGPOpen, FsmSubcode.UnexpectedMessageInOpenConfirm],
      [State.Established, Event.BGPOpen, FsmSubcode.UnexpectedMessageInEstablished],
    ];
    for (const [state, ev, sub] of cases) {
      const h = new RecordingHost();
      const fsm = new Fsm(h, { autoRestart: false });
      driveTo(fsm, state);
      expect(fsm.state).toBe(state);
      fsm.fire(ev);
      expect(fsm.state, `${state} x ${ev}`).toBe(State.Idle);
      expect(h.notifications.at(-1), `${state} x ${ev}`).toMatchObject({ code: ErrorCode.FsmError, subcode: sub });
    }
  });

  it('UPDATE errors send the codec NOTIFICATION carried by the event', () => {
    const fsm = new Fsm(host, { autoRestart: false });
    driveTo(fsm, State.Established);
    fsm.fire(Event.UpdateMsg, { any: 1 });
    expect(host.log.at(-1)).toBe('update');
    fsm.fire(Event.UpdateMsgErr, { code: 3, subcode: 11, data: new Uint8Array([1]) });
    expect(fsm.state).toBe(State.Idle);
    expect(host.notifications.at(-1)).toMatchObject({ code: 3, subcode: 11 });
  });

  it('admin shutdown sends Cease/AdministrativeShutdown with the RFC 9003 communication', () => {
    const fsm = new Fsm(host);
    driveTo(fsm, State.Established);
    fsm.stop('maintenance: rack 4');
    expect(fsm.state).toBe(State.Idle);
    const n = host.notifications.at(-1)!;
    expect(n.code).toBe(ErrorCode.Cease);
    expect(n.subcode).toBe(CeaseSubcode.AdministrativeShutdown);
    expect(n.data[0]).toBe('maintenance: rack 4'.length);
    expect(new TextDecoder().decode(n.data.subarray(1))).toBe('maintenance: rack 4');
    vi.advanceTimersByTime(600_000);
    expect(fsm.state).toBe(State.Idle); // no automatic restart after an admin stop
  });

  it('RFC 9003 communication is cut to 255 octets on a character boundary', () => {
    const c = shutdownCommunication('é'.repeat(200));
    expect(c[0]).toBe(254);
    expect(new TextDecoder('utf-8', { fatal: true }).decode(c.subarray(1))).toBe('é'.repeat(127));
  });

  it('flapping peer: idle hold time backs off exponentially, and a stable session resets it', () => {
    const fsm = new Fsm(host, { idleHoldMs: 1_000, idleHoldMaxMs: 8_000, stableMs: 60_000 });
    const holds: number[] = [];
    driveTo(fsm, State.Established);
    for (let i = 0; i < 5; i++) {
      fsm.fire(Event.NotifMsg); // peer drops us
      expect(fsm.state).toBe(State.Idle);
      holds.push(fsm.snapshot().idleHoldMs);
      const before = host.log.filter((l) => l === 'connect').length;
      vi.advanceTimersByTime(holds[i]! - 1);
      expect(host.log.filter((l) => l === 'connect').length).toBe(before);
      vi.advanceTimersByTime(1);
      expect(fsm.state).toBe(State.Connect); // restarted after exactly the hold time
      fsm.fire(Event.TcpConnectionConfirmed);
      fsm.setPeerHoldTime(90);
      fsm.fire(Event.BGPOpen);
      fsm.fire(Event.KeepAliveMsg);
    }
    expect(holds).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
    vi.advanceTimersByTime(60_000); // stable for stableMs (keepalives sent; hold refreshed below)
    fsm.fire(Event.KeepAliveMsg);
    expect(fsm.snapshot().idleHoldMs).toBe(0);
    fsm.fire(Event.NotifMsg);
    expect(fsm.snapshot().idleHoldMs).toBe(1_000);
  });

  it('AutomaticStop with a restart interval (max-prefix restart): back after exactly that interval, not doubled', () => {
    const fsm = new Fsm(host, { idleHoldMs: 1_000, idleHoldMaxMs: 120_000 });
    driveTo(fsm, State.Established);
    const connects = (): number => host.log.filter((l) => l === 'connect').length;
    for (let i = 0; i < 2; i++) {
      fsm.autoStop({ code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumPrefixesReached, data: new Uint8Array(7) }, 3_000);
      expect(fsm.state).toBe(State.Idle);
      expect(host.notifications.at(-1)).toMatchObject({ code: ErrorCode.Cease, subcode: CeaseSubcode.MaximumPrefixesReached });
      const before = connects();
      vi.advanceTimersByTime(2_999);
      expect(connects()).toBe(before);
      vi.advanceTimersByTime(1);
      expect(fsm.state).toBe(State.Connect);
      fsm.fire(Event.TcpConnectionConfirmed);
      fsm.setPeerHoldTime(90);
      fsm.fire(Event.BGPOpen);
      fsm.fire(Event.KeepAliveMsg);
    }
    // An ordinary flap afterwards backs off from there.
    fsm.fire(Event.NotifMsg);
    expect(fsm.snapshot().idleHoldMs).toBe(6_000);
  });

  it('graceful-restart drop (expectPeerBack): no damping step, restart at once instead of refusing in Idle', () => {
    class GrHost extends RecordingHost {
      fsm: Fsm | null = null;
      override stateChanged(from: StateName, to: StateName, ev: EventName): void {
        super.stateChanged(from, to, ev);
        if (from === State.Established && ev === Event.TcpConnectionFails) this.fsm!.expectPeerBack();
      }
    }
    const h = new GrHost();
    const fsm = new Fsm(h, { idleHoldMs: 1_000, idleHoldMaxMs: 8_000 });
    h.fsm = fsm;
    driveTo(fsm, State.Established);
    fsm.fire(Event.NotifMsg); // an ordinary drop: damped
    expect(fsm.snapshot().idleHoldMs).toBe(1_000);
    vi.advanceTimersByTime(1_000);
    fsm.fire(Event.TcpConnectionConfirmed);
    fsm.setPeerHoldTime(90);
    fsm.fire(Event.BGPOpen);
    fsm.fire(Event.KeepAliveMsg);
    const connects = h.log.filter((l) => l === 'connect').length;
    fsm.fire(Event.TcpConnectionFails); // the peer restarts: same turn, we are connecting again
    expect(fsm.state).toBe(State.Connect);
    expect(h.log.filter((l) => l === 'connect').length).toBe(connects + 1);
    expect(fsm.snapshot().idleHoldMs).toBe(1_000); // the damping step was taken back
    expect(fsm.runningTimers()).not.toContain('idleHold');
    // The flag is one-shot: the next ordinary drop is damped again.
    fsm.fire(Event.TcpConnectionConfirmed);
    fsm.fire(Event.BGPOpen);
    fsm.fire(Event.KeepAliveMsg);
    fsm.fire(Event.NotifMsg);
    expect(fsm.state).toBe(State.Idle);
    expect(fsm.snapshot().idleHoldMs).toBe(2_000);
  });

  it('connection collision: the connection from the higher BGP Identifier survives (§6.8)', () => {
    expect(collisionLoser('10.0.0.2', '10.0.0.1')).toBe('incoming');
    expect(collisionLoser('10.0.0.1', '10.0.0.2')).toBe('outgoing');
    // Compared as unsigned 32-bit numbers, not strings.
    expect(collisionLoser('9.0.0.1', '10.0.0.1')).toBe('outgoing');
    expect(collisionLoser('200.0.0.1', '10.0.0.1')).toBe('incoming');
    // Two FSMs of one peer: the loser gets OpenCollisionDump and sends Cease/7.
    const hOut = new RecordingHost();
    const hIn = new RecordingHost();
    const out = new Fsm(hOut, { autoRestart: false });
    const inc = new Fsm(hIn, { passive: true, autoRestart: false });
    driveTo(out, State.OpenConfirm);
    inc.start();
    inc.fire(Event.TcpConnectionConfirmed);
    const loser = collisionLoser('10.0.0.1', '10.0.0.2') === 'outgoing' ? out : inc;
    loser.fire(Event.OpenCollisionDump);
    expect(out.state).toBe(State.Idle);
    expect(hOut.notifications.at(-1)).toMatchObject({ code: ErrorCode.Cease, subcode: CeaseSubcode.ConnectionCollisionResolution });
    expect(inc.state).toBe(State.OpenSent);
  });
});

describe('Connect x TcpConnectionFails (deliberate deviation)', () => {
  it('falls back to Active and retries on the ConnectRetryTimer, accepting the peer meanwhile', () => {
    vi.useFakeTimers();
    try {
      const host = new RecordingHost();
      const fsm = new Fsm(host, { connectRetryMs: 2_000, autoRestart: false });
      fsm.start();
      fsm.fire(Event.TcpConnectionFails);
      expect(fsm.state).toBe(State.Active);
      fsm.fire(Event.TcpConnectionConfirmed); // the peer connects to us
      expect(fsm.state).toBe(State.OpenSent);
      const f2 = new Fsm(new RecordingHost(), { connectRetryMs: 2_000, autoRestart: false });
      f2.start();
      f2.fire(Event.TcpConnectionFails);
      vi.advanceTimersByTime(2_000);
      expect(f2.state).toBe(State.Connect);
    } finally {
      vi.useRealTimers();
    }
  });
});
