// Pure codec tests: address text, route encode/decode round trips, attribute framing. No kernel.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addrToBytes, bytesToAddr, canonicalPrefix, parseV4 } from './addr.js';
import { NetlinkErrorCode } from './errors.js';
import { loadNativeFrom } from './native.js';
import { decodeRoute, encodeRoute } from './route-codec.js';
import type { Route } from './types.js';
import { NlWriter, messages } from './wire.js';

const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((t) => t.join('.'));
const v6bytes = fc.uint8Array({ minLength: 16, maxLength: 16 });

describe('addresses', () => {
  it('IPv4 text <-> bytes round trips, and the fast parser agrees', () => {
    fc.assert(
      fc.property(v4, (a) => {
        expect(bytesToAddr(addrToBytes(a))).toBe(a);
        expect(parseV4(a)).toBe(addrToBytes(a).readUInt32BE(0));
      }),
    );
    for (const bad of ['1.2.3', '1.2.3.4.5', '01.2.3.4', '256.1.1.1', '1..2.3', 'a.b.c.d', '']) expect(parseV4(bad)).toBe(-1);
  });

  it('IPv6 formatting is RFC 5952 canonical (checked against WHATWG URL) and round trips', () => {
    fc.assert(
      fc.property(v6bytes, (b) => {
        const text = bytesToAddr(Buffer.from(b));
        expect(`[${text}]`).toBe(new URL(`http://[${text}]/`).hostname);
        expect(addrToBytes(text).equals(Buffer.from(b))).toBe(true);
      }),
    );
    expect(bytesToAddr(addrToBytes('2001:DB8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(canonicalPrefix('FD00:0::/64')).toBe('fd00::/64');
    expect(canonicalPrefix('10.1.0.0/16')).toBe('10.1.0.0/16');
  });
});

const nexthop4 = fc.record(
  { gateway: v4, dev: fc.integer({ min: 1, max: 1000 }), weight: fc.integer({ min: 1, max: 256 }), onlink: fc.boolean() },
  { requiredKeys: ['gateway'] },
);

const route4: fc.Arbitrary<Route> = fc.record({
  dst: fc.tuple(v4, fc.integer({ min: 0, max: 32 })).map(([a, l]) => {
    const n = l === 0 ? 0 : (addrToBytes(a).readUInt32BE(0) & (~0 << (32 - l))) >>> 0;
    return `${bytesToAddr(Buffer.from([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]))}/${l}`;
  }),
  table: fc.integer({ min: 1, max: 100_000 }),
  metric: fc.nat(100_000),
  protocol: fc.integer({ min: 1, max: 255 }),
  type: fc.constantFrom('unicast' as const, 'blackhole' as const, 'unreachable' as const),
  nexthops: fc.array(nexthop4, { minLength: 1, maxLength: 4 }),
});

describe('route codec', () => {
  it('decode(encode(route)) gives the route back (IPv4, single path and multipath)', () => {
    fc.assert(
      fc.property(route4, (r) => {
        const w = new NlWriter(64);
        encodeRoute(w, 'replace', r, 7, (d) => Number(d));
        const [m, extra] = [...messages(w.finish())];
        expect(extra).toBeUndefined();
        expect(m?.seq).toBe(7);
        const k = decodeRoute(m?.body ?? Buffer.alloc(0));
        expect(k).toBeDefined();
        expect(k).toMatchObject({ family: 4, dst: r.dst, table: r.table, metric: r.metric, protocol: r.protocol, type: r.type });
        const nhs = r.type === 'unicast' ? (r.nexthops ?? []) : [];
        expect(k?.nexthops.length).toBe(nhs.length);
        nhs.forEach((nh, i) => {
          const got = k?.nexthops[i];
          expect(got?.gateway).toBe(nh.gateway);
          expect(got?.dev).toBe(nh.dev);
          expect(got?.onlink ?? false).toBe(nh.onlink ?? false);
          if (nhs.length > 1) expect(got?.weight).toBe(nh.weight ?? 1);
        });
      }),
    );
  });

  it('IPv4 via IPv6 (RTA_VIA) and IPv6 multipath round trip', () => {
    const w = new NlWriter(64);
    encodeRoute(w, 'replace', { dst: '10.1.0.0/24', nexthops: [{ via: 'fe80::1', dev: 3 }] }, 1, (d) => Number(d));
    encodeRoute(w, 'add', { dst: 'fd00:1::/64', nexthops: [{ gateway: 'fd00::1', dev: 2, weight: 2 }, { gateway: 'fd00::2', dev: 3 }] }, 2, (d) => Number(d));
    const [a, b] = [...messages(w.finish())].map((m) => decodeRoute(m.body));
    expect(a?.nexthops).toEqual([{ via: 'fe80::1', dev: 3, weight: 1 }]);
    expect(b).toMatchObject({ family: 6, dst: 'fd00:1::/64', metric: 1024 });
    expect(b?.nexthops).toEqual([
      { gateway: 'fd00::1', dev: 2, weight: 2 },
      { gateway: 'fd00::2', dev: 3, weight: 1 },
    ]);
  });

  it('refuses an IPv6 gateway on an IPv4 route (that needs RTA_VIA)', () => {
    expect(() => encodeRoute(new NlWriter(), 'add', { dst: '10.0.0.0/8', nexthops: [{ gateway: 'fd00::1' }] }, 1, Number)).toThrow(/via/);
  });
});

describe('native addon loading', () => {
  it('a missing addon is a typed error that says how to build it', () => {
    try {
      loadNativeFrom('/nonexistent/uplink_netlink.node');
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: NetlinkErrorCode.NotBuilt });
      expect((err as Error).message).toMatch(/run npm ci \(needs g\+\+, make, python3/);
    }
  });
});
