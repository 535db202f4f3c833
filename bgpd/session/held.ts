// A connection from the peer that arrives while our session with it is Established is one of two things:
//   - the peer's own dial that lost the race to ours: RFC 4271 §6.8 closes the new connection and the
//     session must not flap;
//   - the peer restarted and we have not seen the old connection die (a rebooted box sends no FIN):
//     RFC 4724 §4.2 wants the new session to replace the old one at once.
// Neither the time since Established nor the OPEN tells them apart: a speaker sets the Restart State bit
// (RFC 4724 §3) for its whole startup (FRR while its startup timer runs, restart-time after boot), which
// is exactly when collisions happen. The old connection does: in a restart nothing holds its far end any
// more, in a collision the peer still runs it. So we probe it with one KEEPALIVE and watch:
//   - it fails (the restarted peer's kernel answers the probe with a reset, RFC 9293 §3.10.7.1) -> restart;
//   - a message arrives on it after the new connection did (the peer still sends on it) -> collision;
//   - nothing arrives for two keepalive intervals (RFC 4271 §10: a live peer sends one per interval) ->
//     the old far end is gone without a reset (a firewall eating it): restart.
// The session stays Established throughout; only the held connection waits (the peer keeps it in
// OpenSent, whose hold time is minutes, §8.2.2). The failure case is seen by PeerSession's socket close
// handler; this object times the other two.

/** RFC 4271 §4.4: KEEPALIVE messages MUST NOT be sent more frequently than one per second. */
const MIN_KEEPALIVE_GAP_MS = 1000;

export interface HeldCheckOptions {
  /** Generation of the held connection. */
  readonly gen: number;
  /** Send one KEEPALIVE on the Established connection. */
  readonly probe: () => void;
  /** Milliseconds since our last KEEPALIVE on the Established connection. */
  readonly sinceLastKeepaliveMs: number;
  /** The negotiated keepalive interval (hold time / 3). */
  readonly keepaliveMs: number;
  /** A message arrived on the old connection: it is alive, the held one collided with it. */
  readonly onAlive: () => void;
  /** The old connection stayed silent: its far end is gone. */
  readonly onSilent: () => void;
}

export class HeldCheck {
  readonly gen: number;
  private readonly timers: NodeJS.Timeout[] = [];
  /** Messages already read in the turn the connection arrived predate it: evidence only from the next. */
  private armed = false;
  private done = false;

  constructor(private readonly o: HeldCheckOptions) {
    this.gen = o.gen;
    const wait = Math.max(0, MIN_KEEPALIVE_GAP_MS - o.sinceLastKeepaliveMs);
    if (wait === 0) o.probe();
    else this.later(wait, () => o.probe());
    this.later(2 * o.keepaliveMs, () => this.finish(o.onSilent));
    setImmediate(() => (this.armed = true));
  }

  /** A message was read on the Established connection. */
  messageIn(): void {
    if (this.armed) this.finish(this.o.onAlive);
  }

  cancel(): void {
    this.done = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      if (!this.done) fn();
    }, ms);
    t.unref();
    this.timers.push(t);
  }

  private finish(fn: () => void): void {
    if (this.done) return;
    this.cancel();
    fn();
  }
}
