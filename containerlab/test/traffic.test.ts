// The drills' gap figure, from ping -D output: the longest interval between replies that brackets
// lost sequence numbers, minus one send interval; loss at the end runs to the last probe sent.
import { describe, expect, it } from 'vitest';
import { parsePing } from '../traffic.js';

const reply = (t: number, seq: number): string => `[${(t / 1000).toFixed(6)}] 64 bytes from 10.244.1.2: icmp_seq=${seq} ttl=59 time=0.08 ms`;
const stats = (sent: number, rcvd: number): string => `--- 10.244.1.2 ping statistics ---\n${sent} packets transmitted, ${rcvd} received, ${Math.round((100 * (sent - rcvd)) / sent)}% packet loss, time 1000ms`;

describe('parsePing', () => {
  it('no loss: gap 0 even when one reply is late', () => {
    const out = [reply(1000, 1), reply(1010, 2), reply(1300, 3), reply(1310, 4), stats(4, 4)].join('\n');
    expect(parsePing('x', out)).toEqual({ target: 'x', sent: 4, received: 4, lost: 0, gapMs: 0, recovered: true });
  });

  it('a hole of lost sequence numbers: time between the bracketing replies minus one interval', () => {
    const out = [reply(1000, 1), reply(1010, 2), reply(1530, 50), reply(1540, 51), stats(51, 4)].join('\n');
    expect(parsePing('x', out)).toMatchObject({ lost: 47, gapMs: 510 });
  });

  it('the longest of several holes wins', () => {
    const out = [reply(1000, 1), reply(1100, 10), reply(1110, 11), reply(1410, 40), stats(40, 4)].join('\n');
    expect(parsePing('x', out).gapMs).toBe(290);
  });

  it('loss until the end counts to the last probe sent', () => {
    const out = [reply(1000, 1), reply(1010, 2), stats(102, 2)].join('\n');
    expect(parsePing('x', out)).toMatchObject({ lost: 100, gapMs: 1000, recovered: false });
  });

  // Issue 9: under CPU load ping sent ~60 probes/s, so 173 lost probes x 10 ms read as a 1.73 s gap
  // while the flow was in fact dead for the whole 3 s observation. With the stop time the gap runs
  // from the last reply to the stop, and the flow says it never recovered.
  it('loss until the end, with the stop time: measured to the stop, flagged as not recovered', () => {
    const out = [reply(1000, 1), reply(1016, 2), stats(175, 2)].join('\n');
    expect(parsePing('x', out, 4016)).toMatchObject({ lost: 173, gapMs: 3000, recovered: false });
  });
});
