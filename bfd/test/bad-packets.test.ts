// Hostile and broken BFD packets sent over a real veth from another namespace (python3's socket
// module, so the TTL is set per packet with IP_TTL) are dropped and counted by rule, and the session
// keeps working: a well-formed packet sent afterwards still moves it Down -> Init.
import { describe, expect, it } from 'vitest';
import { registry } from '../../lib/metrics.js';
import { isRoot } from '../../test/harness/netns.js';
import { waitFor } from '../../test/harness/peers/common.js';
import { useBfdFixture } from './fixture.js';

const A = '10.77.2.1';
const B = '10.77.2.2';

// A BFD Control packet, field by field (RFC 5880 §4.1); `total` truncates the datagram.
function pkt(o: { ver?: number; sta?: number; flags?: number; mult?: number; len?: number; my?: number; your?: number; total?: number } = {}): string {
  const b = Buffer.alloc(24);
  b[0] = (o.ver ?? 1) << 5;
  b[1] = ((o.sta ?? 1) << 6) | (o.flags ?? 0);
  b[2] = o.mult ?? 3;
  b[3] = o.len ?? 24;
  b.writeUInt32BE(o.my ?? 0x1234, 4);
  b.writeUInt32BE(o.your ?? 0, 8);
  b.writeUInt32BE(1_000_000, 12);
  b.writeUInt32BE(1_000_000, 16);
  return b.subarray(0, o.total ?? 24).toString('hex');
}

// Sends each "ttl:hex" datagram from B's namespace to our single-hop port.
const SENDER = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 49200))
for arg in sys.argv[3:]:
    ttl, hexdata = arg.split(':')
    s.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, int(ttl))
    s.sendto(bytes.fromhex(hexdata), (sys.argv[2], 3784))
`;

const fx = useBfdFixture();

async function metricValue(reason: string): Promise<number> {
  const m = (await registry.getSingleMetric('uplink_bfd_dropped_packets_total')?.get())?.values ?? [];
  return m.find((v) => v.labels.reason === reason)?.value ?? 0;
}

describe.skipIf(!isRoot)('bfd malformed packets', () => {
  it('drops and counts each bad packet by reason, then still accepts a good one', async () => {
    const { a, b } = fx.pair(`${A}/30`, `${B}/30`);
    const mgr = fx.manager(a);
    const key = mgr.addSession({ peer: B, interface: 'eth0', minTxMs: 100, minRxMs: 100, multiplier: 3 });
    const ttlBefore = await metricValue('ttl');

    const bad: Array<[string, string]> = [
      ['255', pkt({ ver: 0 })], // version 0
      ['255', pkt({ ver: 2 })], // version 2
      ['255', pkt({ len: 20 })], // Length field below 24
      ['255', pkt({ len: 40 })], // Length beyond the datagram
      ['255', pkt({ total: 16 })], // truncated datagram
      ['255', pkt({ flags: 0x04, len: 24 })], // A bit with a 24-byte Length (needs 26)
      ['255', pkt({ mult: 0 })], // Detect Mult 0
      ['255', pkt({ flags: 0x01 })], // Multipoint
      ['255', pkt({ my: 0 })], // My Discriminator 0
      ['255', pkt({ sta: 3, your: 0 })], // Up with Your Discriminator 0
      ['255', pkt({ your: 0xdeadbeef })], // nobody's discriminator
      ['64', pkt()], // a fine packet, but from beyond the link (GTSM, RFC 5881 §5)
      ['254', pkt()],
    ];
    b.exec('python3', ['-c', SENDER, B, A, ...bad.map(([t, h]) => `${t}:${h}`)]);

    const s = await waitFor('all bad packets counted', () => {
      const info = mgr.session(key)!;
      const total = Object.values(info.counters.dropped).reduce((x, y) => x + (y ?? 0), 0);
      const unmatched = Object.values(mgr.unmatchedDrops()).reduce((x, y) => x + (y ?? 0), 0);
      return total + unmatched >= bad.length ? info : undefined;
    }, { timeoutMs: 5_000 });
    expect(s.counters.dropped).toEqual({
      version: 2,
      length: 4,
      detect_mult: 1,
      multipoint: 1,
      my_discriminator: 1,
      your_discriminator: 1,
      ttl: 2,
    });
    expect(mgr.unmatchedDrops()).toEqual({ no_session: 1 });
    expect(s.state).toBe('Down');
    expect(s.counters.packetsIn).toBe(0);
    expect((await metricValue('ttl')) - ttlBefore).toBe(2);

    // The session survived all of it: a well-formed Down packet with TTL 255 moves it to Init (§6.8.6).
    b.exec('python3', ['-c', SENDER, B, A, `255:${pkt({ my: 0x4242 })}`]);
    const init = await waitFor('session Init', () => (mgr.session(key)?.state === 'Init' ? mgr.session(key) : undefined), { timeoutMs: 5_000 });
    expect(init.remoteDiscriminator).toBe(0x4242);
    expect(init.counters.packetsIn).toBe(1);
  });
});
