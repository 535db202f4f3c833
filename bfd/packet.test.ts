// The codec against golden vectors (two captured from BIRD and FRR), both ways; a malformed-packet
// table annotated field by field with the §6.8.6 rule that discards it; and properties: any bytes
// decode to a packet or a typed drop, and decode(encode(p)) is p.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DropReason, State } from './constants.js';
import { decodePacket, encodePacket, type BfdPacket } from './packet.js';

interface Golden {
  name: string;
  hex: string;
  encodedHex?: string;
  decoded: Omit<BfdPacket, 'auth' | 'diagnostic' | 'state'> & { diagnostic: number; state: number; auth?: { type: number; data: string } };
}

const goldenFile = join(dirname(fileURLToPath(import.meta.url)), 'test', 'golden', 'packets.json');

function loadGolden(): Golden[] {
  // A missing or empty golden file fails the suite rather than passing with nothing checked.
  const vectors = (JSON.parse(readFileSync(goldenFile, 'utf8')) as { vectors: Golden[] }).vectors;
  if (vectors.length < 4) throw new Error(`${goldenFile}: expected at least 4 vectors, found ${vectors.length}`);
  return vectors;
}

const toPacket = (d: Golden['decoded']): BfdPacket => {
  const { auth, ...rest } = d;
  return { ...rest, state: d.state as State, ...(auth ? { auth: { type: auth.type, data: Buffer.from(auth.data, 'hex') } } : {}) };
};

describe('bfd packet golden vectors', () => {
  const vectors = loadGolden();
  it.each(vectors.map((v) => [v.name, v] as const))('%s decodes and encodes', (_name, v) => {
    const r = decodePacket(Buffer.from(v.hex, 'hex'));
    if (!r.ok) throw new Error(`${v.name}: dropped as ${r.reason}: ${r.detail}`);
    expect(r.packet).toEqual(toPacket(v.decoded));
    expect(encodePacket(r.packet).toString('hex')).toBe(v.encodedHex ?? v.hex);
  });
});

// A valid Down packet: version 1, state Down, mult 3, Length 24, my 0x1234, your 0.
const base = '20400318' + '00001234' + '00000000' + '000f4240' + '000f4240' + '00000000';
const withByte = (hex: string, index: number, value: number): string => {
  const b = Buffer.from(hex, 'hex');
  b[index] = value;
  return b.toString('hex');
};
const withWord = (hex: string, offset: number, value: number): string => {
  const b = Buffer.from(hex, 'hex');
  b.writeUInt32BE(value, offset);
  return b.toString('hex');
};

describe('bfd malformed packets (RFC 5880 §6.8.6)', () => {
  const cases: Array<[string, string, DropReason]> = [
    ['empty datagram', '', DropReason.Length],
    ['23 bytes: one short of the mandatory section', base.slice(0, 46), DropReason.Length],
    ['Vers 0 (byte 0 = 0x00)', withByte(base, 0, 0x00), DropReason.Version],
    ['Vers 2 (byte 0 = 0x40)', withByte(base, 0, 0x40), DropReason.Version],
    ['Vers 7 with diag 31 (byte 0 = 0xff)', withByte(base, 0, 0xff), DropReason.Version],
    ['Length 0', withByte(base, 3, 0), DropReason.Length],
    ['Length 23', withByte(base, 3, 23), DropReason.Length],
    ['Length 25 > 24-byte datagram', withByte(base, 3, 25), DropReason.Length],
    ['Length 255 > datagram', withByte(base, 3, 255), DropReason.Length],
    ['A bit with Length 24 (auth needs 26)', withByte(base, 1, 0x44), DropReason.Length],
    ['A bit, Auth Len 9 beyond Length 26', withByte(withByte(base, 1, 0x44), 3, 26) + '0109', DropReason.Length],
    ['A bit, Auth Len 1 (below its own 2 bytes)', withByte(withByte(base, 1, 0x44), 3, 26) + '0101', DropReason.Length],
    ['Detect Mult 0', withByte(base, 2, 0), DropReason.DetectMult],
    ['M bit (byte 1 = 0x41)', withByte(base, 1, 0x41), DropReason.Multipoint],
    ['My Discriminator 0', withWord(base, 4, 0), DropReason.MyDiscriminator],
    ['state Init, Your Discriminator 0', withByte(base, 1, 0x80), DropReason.YourDiscriminator],
    ['state Up, Your Discriminator 0', withByte(base, 1, 0xc0), DropReason.YourDiscriminator],
  ];
  it.each(cases)('%s -> dropped', (_name, hex, reason) => {
    const r = decodePacket(Buffer.from(hex, 'hex'));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe(reason);
  });

  it('accepts AdminDown with Your Discriminator 0 and the unchanged base packet', () => {
    expect(decodePacket(Buffer.from(withByte(base, 1, 0x00), 'hex')).ok).toBe(true);
    expect(decodePacket(Buffer.from(base, 'hex')).ok).toBe(true);
  });
});

const arbPacket: fc.Arbitrary<BfdPacket> = fc
  .record({
    diagnostic: fc.integer({ min: 0, max: 31 }),
    state: fc.constantFrom(State.AdminDown, State.Down, State.Init, State.Up),
    poll: fc.boolean(),
    final: fc.boolean(),
    cpi: fc.boolean(),
    demand: fc.boolean(),
    detectMult: fc.integer({ min: 1, max: 255 }),
    myDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    yourDiscriminator: fc.integer({ min: 1, max: 0xffffffff }),
    desiredMinTxUs: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinRxUs: fc.integer({ min: 0, max: 0xffffffff }),
    requiredMinEchoRxUs: fc.integer({ min: 0, max: 0xffffffff }),
    auth: fc.option(fc.record({ type: fc.integer({ min: 0, max: 255 }), data: fc.uint8Array({ minLength: 0, maxLength: 28 }) }), { nil: undefined }),
  })
  .map(({ auth, ...p }) => ({
    version: 1,
    multipoint: false,
    ...p,
    ...(auth ? { auth: { type: auth.type, data: Buffer.from(auth.data) } } : {}),
  }));

describe('bfd packet properties', () => {
  it('decode(encode(p)) equals p', () => {
    fc.assert(
      fc.property(arbPacket, (p) => {
        const r = decodePacket(encodePacket(p));
        expect(r.ok).toBe(true);
        if (r.ok) expect(r.packet).toEqual(p);
      }),
      { numRuns: 2000 },
    );
  });

  it('any bytes decode to a packet or a typed drop reason, never an exception', () => {
    const reasons = new Set<string>(Object.values(DropReason));
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
        const r = decodePacket(bytes);
        if (!r.ok) expect(reasons.has(r.reason)).toBe(true);
        else expect(r.packet.version).toBe(1);
      }),
      { numRuns: 5000 },
    );
  });

  it('a packet from bytes that passed decoding has a Length within the datagram', () => {
    fc.assert(
      fc.property(arbPacket, fc.uint8Array({ maxLength: 8 }), (p, tail) => {
        const bytes = Buffer.concat([encodePacket(p), Buffer.from(tail)]);
        const r = decodePacket(bytes);
        expect(r.ok).toBe(true);
        expect(bytes[3]).toBeLessThanOrEqual(bytes.length);
      }),
    );
  });
});
