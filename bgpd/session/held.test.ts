// session/held.ts with fake timers: a connection arriving while Established is decided by the old
// connection (a message on it = §6.8 collision; silence for two keepalive intervals = the peer restarted),
// and the probe KEEPALIVE keeps RFC 4271 §4.4's one-per-second limit.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeldCheck, type HeldCheckOptions } from './held.js';

function check(over: Partial<HeldCheckOptions> = {}): { h: HeldCheck; calls: string[] } {
  const calls: string[] = [];
  const h = new HeldCheck({
    gen: 7,
    probe: () => calls.push('probe'),
    sinceLastKeepaliveMs: 5000,
    keepaliveMs: 3000,
    onAlive: () => calls.push('alive'),
    onSilent: () => calls.push('silent'),
    ...over,
  });
  return { h, calls };
}

describe('HeldCheck', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('probes at once, and a message on the old connection after that means a collision (once)', () => {
    const { h, calls } = check();
    expect(calls).toEqual(['probe']);
    vi.advanceTimersByTime(1);
    h.messageIn();
    h.messageIn();
    vi.advanceTimersByTime(10_000);
    expect(calls).toEqual(['probe', 'alive']);
  });

  it('a message read in the same turn the connection arrived predates it: no verdict from it', () => {
    const { h, calls } = check();
    h.messageIn();
    expect(calls).toEqual(['probe']);
    vi.advanceTimersByTime(5999);
    expect(calls).toEqual(['probe']);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(['probe', 'silent']);
  });

  it('silence for two keepalive intervals means the peer restarted', () => {
    const { calls } = check({ keepaliveMs: 30_000 });
    vi.advanceTimersByTime(59_999);
    expect(calls).toEqual(['probe']);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(['probe', 'silent']);
  });

  it('the probe waits out the one-second KEEPALIVE spacing (RFC 4271 §4.4)', () => {
    const { calls } = check({ sinceLastKeepaliveMs: 300 });
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(699);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual(['probe']);
  });

  it('cancel stops everything (the held connection closed, or the old one failed first)', () => {
    const { h, calls } = check({ sinceLastKeepaliveMs: 0 });
    h.cancel();
    vi.advanceTimersByTime(60_000);
    h.messageIn();
    expect(calls).toEqual([]);
  });
});
