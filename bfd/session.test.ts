// BfdSession's protocol behaviour with no sockets: a recording SessionIo stands where the native engine
// would be (it only records the schedule the session asks for), packets are built with the codec.
import { describe, expect, it } from 'vitest';
import { Diagnostic, State } from './constants.js';
import { decodePacket, encodePacket, type BfdPacket } from './packet.js';
import { BfdSession, type SessionIo, type StateChange } from './session.js';

class RecordingIo implements SessionIo {
  tx: { packet: BfdPacket; intervalUs: number; multOne: boolean } | undefined;
  sent: BfdPacket[] = [];
  detects: number[] = [];
  setTx(packet: Buffer, intervalUs: number, multOne: boolean): void {
    this.tx = { packet: this.decode(packet), intervalUs, multOne };
  }
  sendNow(packet: Buffer): void {
    this.sent.push(this.decode(packet));
  }
  setDetect(detectUs: number): void {
    this.detects.push(detectUs);
  }
  get detect(): number {
    return this.detects.at(-1) ?? 0;
  }
  private decode(b: Buffer): BfdPacket {
    const r = decodePacket(b);
    if (!r.ok) throw new Error(`session built an invalid packet: ${r.reason}`);
    return r.packet;
  }
}

const OURS = 0x1111;
const THEIRS = 0x2222;

function peer(state: State, o: Partial<BfdPacket> = {}): BfdPacket {
  const p: BfdPacket = {
    version: 1, diagnostic: 0, state, poll: false, final: false, cpi: false, demand: false, multipoint: false,
    detectMult: 3, myDiscriminator: THEIRS, yourDiscriminator: state === State.Down ? 0 : OURS,
    desiredMinTxUs: 100_000, requiredMinRxUs: 100_000, requiredMinEchoRxUs: 0, ...o,
  };
  // Round-trip through the codec so the session only ever sees packets that could arrive.
  const r = decodePacket(encodePacket(p));
  if (!r.ok) throw new Error(r.reason);
  return r.packet;
}

function setup(t = { desiredMinTxUs: 50_000, requiredMinRxUs: 80_000, detectMult: 4 }) {
  const io = new RecordingIo();
  const changes: StateChange[] = [];
  const s = new BfdSession(OURS, t, io, (c) => changes.push(c));
  s.start();
  return { io, s, changes };
}

function up() {
  const x = setup();
  x.s.receive(peer(State.Down));
  x.s.receive(peer(State.Up));
  x.s.receive(peer(State.Up, { final: true }));
  return x;
}

describe('bfd session', () => {
  it('starts Down, sending slowly (1 s, §6.8.3) with no detection timer', () => {
    const { io, s } = setup();
    expect(s.state).toBe(State.Down);
    expect(io.tx?.packet).toMatchObject({ state: State.Down, myDiscriminator: OURS, yourDiscriminator: 0, desiredMinTxUs: 1_000_000, requiredMinRxUs: 80_000, detectMult: 4 });
    expect(io.tx?.intervalUs).toBe(1_000_000);
    expect(io.detect).toBe(0);
  });

  it('runs the three-way handshake Down -> Init -> Up and arms detection from negotiated values (§6.8.4)', () => {
    const { io, s, changes } = setup();
    s.receive(peer(State.Down));
    expect(s.state).toBe(State.Init);
    expect(s.remoteDiscr).toBe(THEIRS);
    // peer mult 3 x max(our rx 80 ms, peer tx 100 ms)
    expect(io.detect).toBe(300_000);
    expect(io.tx?.packet).toMatchObject({ state: State.Init, yourDiscriminator: THEIRS });
    s.receive(peer(State.Up));
    expect(s.state).toBe(State.Up);
    expect(changes).toEqual([
      { from: State.Down, to: State.Init, diagnostic: Diagnostic.None },
      { from: State.Init, to: State.Up, diagnostic: Diagnostic.None },
    ]);
    // Leaving slow start changes DesiredMinTx: a Poll Sequence (§6.8.3); tx = max(50, peer rx 100).
    expect(s.polling).toBe(true);
    expect(io.tx?.packet).toMatchObject({ state: State.Up, poll: true, desiredMinTxUs: 50_000 });
    expect(io.tx?.intervalUs).toBe(100_000);
  });

  it('ends the Poll Sequence on a Final', () => {
    const { io, s } = up();
    expect(s.polling).toBe(false);
    expect(io.tx?.packet.poll).toBe(false);
  });

  it('answers a Poll at once with a Final and without P (§6.8.7)', () => {
    const { io, s } = up();
    s.receive(peer(State.Up, { poll: true, desiredMinTxUs: 20_000 }));
    expect(io.sent.at(-1)).toMatchObject({ final: true, poll: false, state: State.Up });
    // The new remote DesiredMinTx changes our detection time: 3 x max(80, 20) ms.
    expect(io.detect).toBe(240_000);
  });

  it('goes Down with diag 1 on detection expiry, forgets the remote discriminator, slows down', () => {
    const { io, s, changes } = up();
    s.detectExpired();
    expect(s.state).toBe(State.Down);
    expect(changes.at(-1)).toEqual({ from: State.Up, to: State.Down, diagnostic: Diagnostic.ControlDetectionTimeExpired });
    expect(s.remoteDiscr).toBe(0);
    expect(io.detect).toBe(0);
    expect(io.tx?.packet).toMatchObject({ state: State.Down, diagnostic: 1, yourDiscriminator: 0, desiredMinTxUs: 1_000_000 });
    expect(io.tx?.intervalUs).toBe(1_000_000);
  });

  it('goes Down with diag 3 when the peer signals Down or AdminDown', () => {
    for (const remote of [State.Down, State.AdminDown]) {
      const { s, changes } = up();
      s.receive(peer(remote, { yourDiscriminator: OURS }));
      expect(changes.at(-1)).toEqual({ from: State.Up, to: State.Down, diagnostic: Diagnostic.NeighborSignaledSessionDown });
    }
  });

  it('defers a larger DesiredMinTx until the Final of its Poll Sequence (§6.8.3)', () => {
    const { io, s } = up();
    s.receive(peer(State.Up, { requiredMinRxUs: 10_000 }));
    expect(io.tx?.intervalUs).toBe(50_000);
    s.updateTimers({ desiredMinTxUs: 200_000, requiredMinRxUs: 80_000, detectMult: 4 });
    expect(s.polling).toBe(true);
    expect(io.tx?.packet).toMatchObject({ poll: true, desiredMinTxUs: 200_000 });
    expect(io.tx?.intervalUs).toBe(50_000);
    s.receive(peer(State.Up, { requiredMinRxUs: 10_000, final: true }));
    expect(io.tx?.intervalUs).toBe(200_000);
  });

  it('keeps the detection time until the Final when RequiredMinRx shrinks (§6.8.3)', () => {
    const { io, s } = up();
    s.receive(peer(State.Up, { desiredMinTxUs: 10_000 }));
    expect(io.detect).toBe(240_000);
    s.updateTimers({ desiredMinTxUs: 50_000, requiredMinRxUs: 20_000, detectMult: 4 });
    expect(io.detect).toBe(240_000);
    s.receive(peer(State.Up, { desiredMinTxUs: 10_000, final: true }));
    expect(io.detect).toBe(60_000);
  });

  it('stops periodic transmission when the peer asks for RequiredMinRx 0 (§6.8.7)', () => {
    const { io, s } = up();
    s.receive(peer(State.Up, { requiredMinRxUs: 0 }));
    expect(io.tx?.intervalUs).toBe(0);
  });

  it('asks for 75-90% jitter with a detect multiplier of 1 (§6.8.7)', () => {
    const { io } = setup({ desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 1 });
    expect(io.tx?.multOne).toBe(true);
  });

  it('discards packets while AdminDown and returns with AdminUp', () => {
    const { io, s, changes } = up();
    s.adminDown();
    expect(changes.at(-1)).toEqual({ from: State.Up, to: State.AdminDown, diagnostic: Diagnostic.AdministrativelyDown });
    expect(io.tx?.packet.state).toBe(State.AdminDown);
    expect(io.detect).toBe(0);
    expect(s.receive(peer(State.Up))).toBe('admin_down');
    expect(s.state).toBe(State.AdminDown);
    s.adminUp();
    expect(s.state).toBe(State.Down);
  });

  it('restarts detection for a valid packet without our discriminator (engine cannot match it)', () => {
    const { io, s } = setup();
    s.receive(peer(State.Down));
    const n = io.detects.length;
    s.receive(peer(State.Down));
    expect(io.detects.length).toBe(n + 1);
    expect(io.detect).toBe(300_000);
  });

  it('puts the configured Simple Password section on every packet it builds (§6.7.2)', () => {
    const io = new RecordingIo();
    const auth = { type: 1, data: Buffer.from('07736563726574', 'hex') };
    const s = new BfdSession(OURS, { desiredMinTxUs: 50_000, requiredMinRxUs: 50_000, detectMult: 3 }, io, () => undefined, auth);
    s.start();
    expect(io.tx?.packet.auth).toEqual(auth);
    expect(s.build(true).subarray(24).toString('hex')).toBe('010907736563726574');
  });
});
