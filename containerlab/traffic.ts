// Continuous traffic for the drills: `ping -D -i 0.01` from a pod to each target, run inside the
// pod's namespace. The gap of a flow is the time between the last reply before its longest loss and
// the first reply after it, from ping's own receive timestamps (-D), so scheduling delays of this
// process do not enter the figure. Several targets = several flows: ECMP hashes them over different
// ToRs (the kernel's L3 hash), so at least one usually crosses the element the drill breaks.
import { spawn, type ChildProcess } from 'node:child_process';

export interface FlowResult {
  target: string;
  sent: number;
  received: number;
  lost: number;
  /** Longest interval without a reply, minus the send interval (0 when nothing was lost). */
  gapMs: number;
  /** False when the flow had not come back when the traffic stopped (the gap is a lower bound). */
  recovered: boolean;
}

export const PING_INTERVAL_MS = 10;

/**
 * `stoppedAtMs` (Unix ms, when the flow was stopped): loss at the end is measured up to it. Without
 * it the trailing loss is counted as lost probes x the nominal interval, which under CPU load (ping
 * sends less often than every 10 ms) reported an outage that never ended as a ~1.8 s "gap" (issue 9).
 */
export function parsePing(target: string, out: string, stoppedAtMs?: number): FlowResult {
  const replies: Array<{ t: number; seq: number }> = [];
  for (const m of out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/gm)) replies.push({ t: Number(m[1]) * 1000, seq: Number(m[2]) });
  const stats = /(\d+) packets transmitted, (\d+) received/.exec(out);
  const sent = stats ? Number(stats[1]) : 0;
  const received = stats ? Number(stats[2]) : replies.length;
  let gapMs = 0;
  for (let i = 1; i < replies.length; i++) {
    // Only a jump in icmp_seq is loss; a long interval between consecutive replies is a slow reply.
    if (replies[i]!.seq - replies[i - 1]!.seq > 1) gapMs = Math.max(gapMs, replies[i]!.t - replies[i - 1]!.t - PING_INTERVAL_MS);
  }
  // Loss at the very end (traffic had not come back when we stopped) counts up to the last probe.
  const last = replies.at(-1);
  const recovered = !(last ? sent - last.seq > 1 : sent > 0);
  if (last && !recovered) gapMs = Math.max(gapMs, stoppedAtMs !== undefined ? stoppedAtMs - last.t : (sent - last.seq) * PING_INTERVAL_MS);
  if (!last && sent > 0) gapMs = sent * PING_INTERVAL_MS;
  return { target, sent, received, lost: Math.max(0, sent - received), gapMs: Math.round(gapMs), recovered };
}

export class Traffic {
  private readonly flows: Array<{ target: string; child: ChildProcess; out: string; exited: Promise<void> }> = [];

  /** Start one ping flow per target from the pod namespace `fromNetns`. */
  constructor(fromNetns: string, targets: string[]) {
    for (const target of targets) {
      const child = spawn('ip', ['netns', 'exec', fromNetns, 'ping', '-D', '-n', '-i', String(PING_INTERVAL_MS / 1000), '-W', '1', target], { stdio: ['ignore', 'pipe', 'pipe'] });
      const flow = { target, child, out: '', exited: new Promise<void>((r) => child.once('exit', () => r())) };
      child.stdout?.on('data', (d: Buffer) => {
        flow.out += d.toString();
      });
      this.flows.push(flow);
    }
  }

  /** SIGINT (ping prints its statistics) and parse every flow. */
  async stop(): Promise<FlowResult[]> {
    const stoppedAtMs = Date.now();
    for (const f of this.flows) if (f.child.exitCode === null && f.child.signalCode === null) f.child.kill('SIGINT');
    await Promise.all(this.flows.map((f) => f.exited));
    return this.flows.map((f) => parsePing(f.target, f.out, stoppedAtMs));
  }

  /** Kill without parsing (cleanup on error). */
  kill(): void {
    for (const f of this.flows) if (f.child.exitCode === null && f.child.signalCode === null) f.child.kill('SIGKILL');
  }
}
