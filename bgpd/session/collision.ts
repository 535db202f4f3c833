// RFC 4271 §6.8 for one neighbour: the second connection. PeerSession owns the session's connection;
// this object owns the other one the peer (or our own late dial) opened while the session was past
// Connect/Active, until it is closed or becomes the session's connection:
//   - OpenSent/OpenConfirm: held until its OPEN names the peer's BGP Identifier, then the connection
//     initiated by the lower identifier is closed with Cease/7 (RFC 4486 §4);
//   - Established: a collision or a restarted peer; held.ts decides from the old connection
//     (RFC 4724 §4.2), and the session stays up until it has.
// It also holds back the peer's OPEN on the session's connection while a colliding connection is still
// open (see deferOpen). Everything runs on the event loop; closed sockets are told apart by generation.
import type { Socket } from 'node:net';
import type { Logger } from '../../lib/log.js';
import { MessageType, decodeMessage, encodeMessage, frame, makeContext, type WireContext } from '../wire/index.js';
import type { Fsm } from '../fsm/fsm.js';
import { State } from '../fsm/table.js';
import { COLLISION_CEASE, closeConn, collisionLoser, writeRaw, type Conn, type Direction } from './connection.js';
import { HeldCheck } from './held.js';

/** What the collision logic needs of its PeerSession. */
export interface CollisionHost {
  readonly name: string;
  readonly log: Logger;
  readonly fsm: Fsm;
  /** The session's connection. */
  readonly conn: Conn | null;
  readonly ctx: WireContext;
  readonly routerId: string;
  /** When our last KEEPALIVE went out (ms epoch). */
  readonly lastKeepaliveOutAt: number;
  /** Listen on a socket; `held` routes its bytes to onHeldData. */
  attach(sock: Socket, dir: Direction, held: boolean): Conn;
  sendKeepalive(): void;
  /** Make `c` the session's connection; `dump` first drops the current one (Event 23 OpenCollisionDump). */
  adopt(c: Conn, dump: boolean): void;
  /** The Established connection `old` goes down as a TCP failure: a restarted peer's new one follows. */
  dropForTakeover(old: Conn, why: string): void;
  /** Read the session connection's buffered bytes again (an OPEN held back by deferOpen). */
  resume(): void;
}

/** An OPEN held back by deferOpen is read after this long at the latest. */
const OPEN_DEFER_MAX_MS = 1000;

export class Collisions {
  /** The second connection, if any. */
  private pending: Conn | null = null;
  /** Set while `pending` arrived in Established and the old connection has not decided yet. */
  private held: HeldCheck | null = null;
  /** A connection we closed by §6.8 whose far end has not closed yet. */
  private refusing: Conn | null = null;
  private openDeferred: NodeJS.Timeout | null = null;

  constructor(private readonly h: CollisionHost) {}

  /** Whether `c` is the second connection (its bytes go to onHeldData). */
  isPending(c: Conn): boolean {
    return this.pending?.gen === c.gen;
  }

  get hasPending(): boolean {
    return this.pending !== null;
  }

  /** An incoming connection while OpenSent, OpenConfirm or Established. */
  incoming(sock: Socket): void {
    const { fsm, conn } = this.h;
    if (fsm.state === State.Established && !this.pending && conn) {
      // Either the peer's own dial that lost the race to ours (§6.8: the new connection is closed), or
      // a restarted peer whose old connection we have not seen die (RFC 4724 §4.2; a rebooted box sends
      // no FIN). Neither the time since Established nor the OPEN tells them apart (a peer sets the R bit
      // for its whole startup, FRR for restart-time after boot, which is when collisions happen). The
      // old connection does: held.ts probes it and decides; until then the session is untouched.
      const c = (this.pending = this.h.attach(sock, 'incoming', true));
      this.held = new HeldCheck({
        gen: c.gen,
        probe: () => this.h.sendKeepalive(),
        sinceLastKeepaliveMs: Date.now() - this.h.lastKeepaliveOutAt,
        keepaliveMs: Math.max(1, Math.floor(fsm.holdTimeS / 3)) * 1000,
        onAlive: () => this.heldLost(),
        onSilent: () => this.takeOver(conn, 'no message on the old connection for two keepalive intervals'),
      });
      return;
    }
    if (fsm.state === State.Established || this.pending) {
      // §6.8: a connection colliding with an Established one is closed. The peer may reset it first:
      // without a listener that ECONNRESET would be an uncaught 'error' event.
      sock.on('error', () => sock.destroy());
      writeRaw(sock, encodeMessage(COLLISION_CEASE, this.h.ctx));
      sock.end();
      setTimeout(() => sock.destroy(), 1000).unref();
      return;
    }
    // OpenSent/OpenConfirm: keep it until its OPEN tells us the peer's BGP Identifier.
    this.pending = this.h.attach(sock, 'incoming', true);
  }

  /**
   * Our dial completed while the session runs on the peer's connection (OpenSent/OpenConfirm). The peer
   * may have taken ours too; closing it here would leave both sides on connections the other just
   * closed. Keep both until the peer's OPEN on this one lets the BGP Identifiers decide.
   */
  ourDial(sock: Socket, open: Uint8Array): void {
    const c = (this.pending = this.h.attach(sock, 'outgoing', true));
    c.sentOpen = true;
    writeRaw(sock, open);
  }

  /** A socket closed. True when it was the second (or a refused) connection, handled here. */
  closed(c: Conn): boolean {
    if (this.refusing?.gen === c.gen) {
      this.refusing = null;
      this.resumeOpen();
      return true;
    }
    if (this.pending?.gen !== c.gen) return false;
    this.pending = null;
    this.clearHeld();
    this.resumeOpen();
    return true;
  }

  /** The session's connection failed. True when a held connection takes over (the peer restarted). */
  sessionFailed(c: Conn, reason: string): boolean {
    if (!this.held || !this.pending) return false;
    this.takeOver(c, `old connection failed (${reason})`);
    return true;
  }

  /** A message was read on the session's connection: evidence for held.ts. */
  messageIn(): void {
    this.held?.messageIn();
  }

  /**
   * Whether the peer's OPEN at the head of the session's connection must wait. Our KEEPALIVE answering
   * it makes the peer Established on this connection; while the other connection of a §6.8 collision is
   * still open at the peer, FRR 8.4 then deletes that stub with a Cease that stops the Established
   * session too (bgp_establish, "Deleting stub connection"). So the OPEN waits, unread, until that
   * connection is closed (a few ms, at most 1 s); the peer waits in OpenConfirm for up to its hold
   * time (§8.2.2).
   */
  deferOpen(): boolean {
    if (this.openDeferred) return true;
    if (this.h.fsm.state !== State.OpenSent || !(this.pending || this.refusing)) return false;
    this.openDeferred = setTimeout(() => this.resumeOpen(), OPEN_DEFER_MAX_MS);
    return true;
  }

  /** Bytes arrive on the session's connection: keep them unread while an OPEN waits. */
  get reading(): boolean {
    return this.openDeferred === null;
  }

  /** A new session connection: an OPEN held back on the previous one is moot. */
  newSessionConnection(): void {
    if (this.openDeferred) clearTimeout(this.openDeferred);
    this.openDeferred = null;
  }

  /** Bytes on the second connection: wait for its OPEN, then apply §6.8. */
  onHeldData(c: Conn, d: Buffer): void {
    c.buf = c.buf.length ? Buffer.concat([c.buf, d]) : d;
    const f = frame(c.buf, 0, this.h.ctx);
    if (f.kind === 'need-more') return;
    const r = f.kind === 'message' && f.type === MessageType.Open ? decodeMessage(c.buf.subarray(0, f.length), makeContext()) : null;
    if (!r?.ok || r.message.type !== MessageType.Open) {
      closeConn(c);
      this.pending = null;
      this.clearHeld();
      return;
    }
    // Held while Established: its OPEN stays buffered for takeOver(); held.ts decides, not the OPEN.
    if (this.held?.gen === c.gen) return;
    const { fsm, conn } = this.h;
    const loser = collisionLoser(this.h.routerId, r.message.bgpId);
    // Established wins over any newer connection (§6.8); otherwise the lower identifier's dial loses.
    if (fsm.state === State.Established || (conn && conn.dir !== loser)) return this.refuse(c);
    // The session's connection loses: dump it (Cease/7) and carry on with this one.
    this.pending = null;
    this.h.adopt(c, true);
  }

  dispose(): void {
    this.newSessionConnection();
    this.clearHeld();
    closeConn(this.pending);
    this.pending = null;
  }

  /**
   * The held connection is the peer's new session: the old one failed (a restarted peer's kernel resets
   * it when our probe arrives, RFC 9293 §3.10.7.1) or stayed silent past two keepalive intervals. The old
   * session goes down as a TCP failure (routes kept stale when graceful restart was negotiated, RFC 4724
   * §4.2) and the held connection carries on at once, as FRR and BIRD do for a restarted peer.
   */
  private takeOver(old: Conn, why: string): void {
    const c = this.pending;
    this.clearHeld();
    if (!c || this.h.conn?.gen !== old.gen) return;
    this.h.log.info({ peer: this.h.name, why }, 'new connection from the peer while Established: the peer restarted');
    this.pending = null;
    this.h.dropForTakeover(old, why);
    this.h.adopt(c, false);
  }

  /** The old connection proved alive: the held one collided with it, §6.8 closes the new connection. */
  private heldLost(): void {
    const c = this.pending;
    this.clearHeld();
    if (c) this.refuse(c);
  }

  /** §6.8: the second connection loses: Cease/Connection Collision Resolution, then close. */
  private refuse(c: Conn): void {
    writeRaw(c.sock, encodeMessage(COLLISION_CEASE, this.h.ctx));
    closeConn(c);
    this.pending = null;
    this.refusing = c;
  }

  private resumeOpen(): void {
    if (this.openDeferred === null) return;
    this.newSessionConnection();
    this.h.resume();
  }

  private clearHeld(): void {
    this.held?.cancel();
    this.held = null;
  }
}
