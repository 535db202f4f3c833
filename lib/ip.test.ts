// lib/ip.ts against two independent oracles: node:net isIP() for what parses, the ip-address package for
// values, RFC 5952 text and subnet membership.
import { isIP } from 'node:net';
import fc from 'fast-check';
import { Address4, Address6 } from 'ip-address';
import { describe, expect, it } from 'vitest';
import {
  IpFamily,
  MappedText,
  bigIntToBytes,
  bytesToBigInt,
  formatIpValue,
  formatNet,
  ipFamilyOf,
  ipToString,
  ipv6ToString,
  netContains,
  netSize,
  netsOverlap,
  parseIfaceAddr,
  parseIp,
  parseIpValue,
  parseIpv6,
  parseNet,
  stripZone,
  subnetAt,
  subnetCount,
  type IpNet,
} from './ip.js';

const bytes4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
// Mostly zero groups, so runs of zeros (and their ties) for "::" come up often.
const bytes16 = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0xffff), fc.integer({ min: 0, max: 0xffff })), { minLength: 8, maxLength: 8 })
  .map((g) => new Uint8Array(g.flatMap((x) => [x >> 8, x & 255])));
const anyBytes = fc.oneof(bytes4, bytes16);

// Text that is nearly an address: real ones, ones with extended IPv4 parts, and random strings over
// the characters an address is made of.
const nearAddress = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4Extended(),
  fc.ipV6().map((s) => s.toUpperCase()),
  fc.ipV6().chain((s) => fc.nat(s.length).map((i) => s.slice(0, i) + s.slice(i + 1))),
  fc.ipV6().chain((s) => fc.nat(s.length).map((i) => `${s.slice(0, i)}:${s.slice(i)}`)),
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF:.'), maxLength: 46 }),
);

function oracleText(b: Uint8Array): string {
  if (b.length === 4) return Address4.fromHex(Buffer.from(b).toString('hex')).correctForm();
  return Address6.fromByteArray([...b]).correctForm();
}

describe('lib/ip parse', () => {
  it('accepts exactly what node:net isIP accepts', () => {
    fc.assert(
      fc.property(nearAddress, (s) => {
        expect(ipFamilyOf(s)).toBe(isIP(s));
      }),
      { numRuns: 5000 },
    );
  });

  it('values agree with ip-address', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.ipV6()), (s) => {
        const v = parseIpValue(s);
        expect(v).not.toBeNull();
        const oracle = s.includes(':') ? new Address6(s).bigInt() : new Address4(s).bigInt();
        expect(v!.value).toBe(oracle);
      }),
    );
  });

  it('fixed cases', () => {
    expect(parseIpv6('1:2:3:4:5::1.2.3.4')).toEqual(new Uint8Array([0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 0, 1, 2, 3, 4]));
    expect(parseIpv6('1::2:3:4:5:6:7')?.[3]).toBe(0); // "::" for one group (RFC 4291 §2.2)
    for (const bad of ['', ':', ':::', '1:::2', '1::2::3', ':1::', '1:2:3:4:5:6:7:8::', '::1.2.3', '1.2.3.4::', '01.2.3.4', '256.1.1.1', '1:2:3:4:5:6:7:1.2.3.4']) {
      expect(parseIp(bad), bad).toBeNull();
    }
    expect(parseIp('fe80::1%eth0')).toBeNull();
    expect(stripZone('fe80::1%eth0')).toBe('fe80::1');
  });
});

describe('lib/ip round trips', () => {
  it('bytes -> text -> bytes, and the text is RFC 5952 as ip-address prints it', () => {
    fc.assert(
      fc.property(anyBytes, (b) => {
        const text = ipToString(b);
        expect(text).toBe(oracleText(b));
        expect(parseIp(text)).toEqual(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('bytes <-> bigint', () => {
    fc.assert(
      fc.property(anyBytes, (b) => {
        const family = b.length === 4 ? IpFamily.V4 : IpFamily.V6;
        const v = bytesToBigInt(b);
        expect(v).toBe(BigInt(`0x${Buffer.from(b).toString('hex')}`));
        expect(bigIntToBytes(family, v)).toEqual(b);
        expect(formatIpValue(family, v)).toBe(ipToString(b));
      }),
    );
  });

  it('text -> value -> text is canonical for every spelling', () => {
    fc.assert(
      fc.property(fc.ipV6(), (s) => {
        const v = parseIpValue(s)!;
        const out = formatIpValue(v.family, v.value);
        expect(out).toBe(new Address6(s).correctForm());
        expect(parseIpValue(out)).toEqual(v);
      }),
    );
  });

  it('IPv4-mapped prints dotted only when asked (RFC 5952 §5)', () => {
    const b = parseIp('::ffff:10.1.2.3')!;
    expect(ipv6ToString(b)).toBe('::ffff:a01:203');
    expect(ipv6ToString(b, 0, MappedText.Dotted)).toBe('::ffff:10.1.2.3');
    expect(ipv6ToString(parseIp('::fffe:10.1.2.3')!, 0, MappedText.Dotted)).toBe('::fffe:a01:203');
  });
});

const net = fc.oneof(
  fc.tuple(bytes4, fc.integer({ min: 0, max: 32 })),
  fc.tuple(bytes16, fc.integer({ min: 0, max: 128 })),
).map(([b, len]) => parseNet(`${ipToString(b)}/${len}`)!);

describe('lib/ip networks', () => {
  it('a parsed network contains the address it was written with, and agrees with ip-address', () => {
    fc.assert(
      fc.property(anyBytes, fc.nat(128), anyBytes, (b, l, other) => {
        const len = l % (b.length * 8 + 1);
        const text = `${ipToString(b)}/${len}`;
        const n = parseNet(text)!;
        const a = parseIfaceAddr(text)!;
        expect(netContains(n, a)).toBe(true);
        expect(formatNet(parseNet(formatNet(n))!)).toBe(formatNet(n));
        if (other.length !== b.length) {
          expect(netContains(n, parseIpValue(ipToString(other))!)).toBe(false);
          return;
        }
        const o = parseIpValue(ipToString(other))!;
        const oracle = b.length === 4 ? new Address4(ipToString(other)).isInSubnet(new Address4(text)) : new Address6(ipToString(other)).isInSubnet(new Address6(text));
        expect(netContains(n, o)).toBe(oracle);
        expect(netContains(n, o)).toBe(o.value >= n.base && o.value < n.base + netSize(n));
      }),
      { numRuns: 2000 },
    );
  });

  it('subnets tile their parent: inside it, disjoint from each other, none past the end', () => {
    fc.assert(
      fc.property(net, fc.nat(8), fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: 300n }), (n, extra, i, j) => {
        const bits = n.family === IpFamily.V4 ? 32 : 128;
        const prefix = Math.min(bits, n.prefix + extra);
        const count = subnetCount(n, prefix);
        const si = subnetAt(n, prefix, i);
        const sj = subnetAt(n, prefix, j);
        expect(si === null).toBe(i >= count);
        if (si === null || sj === null) return;
        expect(netContains(n, { family: n.family, value: si.base })).toBe(true);
        expect(netsOverlap(n, si)).toBe(true);
        expect(netsOverlap(si, sj)).toBe(i === j);
        expect(netsOverlap(sj, si)).toBe(i === j);
        expect(netSize(si) * count).toBe(netSize(n));
      }),
      { numRuns: 1000 },
    );
  });

  it('overlap is containment of one base in the other network', () => {
    fc.assert(
      fc.property(net, net, (a: IpNet, b: IpNet) => {
        const expected = a.family === b.family && (netContains(a, { family: b.family, value: b.base }) || netContains(b, { family: a.family, value: a.base }));
        expect(netsOverlap(a, b)).toBe(expected);
      }),
    );
  });

  it('CIDR text', () => {
    expect(formatNet(parseNet('10.1.2.3/24')!)).toBe('10.1.2.0/24');
    expect(formatNet(parseNet('2001:db8::1/0')!)).toBe('::/0');
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', '10.0.0.0/-1', '10.0.0.0/2a', '10.0.0.0/', 'x/24', '10.0.0.0/0024']) {
      expect(parseNet(bad), bad).toBeNull();
    }
    expect(parseIfaceAddr('10.0.0.1/31')).toEqual({ family: 4, value: 0x0a000001n, prefix: 31 });
    expect(subnetCount(parseNet('10.0.0.0/24')!, 23)).toBe(0n);
  });
});
