// Unit tests of the helpers the speaker and the RIB call: framing a stream, negotiation, NLRI walking,
// packing, End-of-RIB, the AS4 merge, shutdown communication and re-advertisement flags.
import { describe, expect, it } from 'vitest';
import {
  AS_TRANS,
  AttrFlag,
  CeaseSubcode,
  NlriBuilder,
  NlriList,
  attributesForReadvertisement,
  buildOpen,
  ceaseNotification,
  decodeMessage,
  encodeMessage,
  endOfRib,
  familyKey,
  frame,
  isEndOfRib,
  makeContext,
  mergeAs4Aggregator,
  mergeAs4Path,
  negotiate,
  packUpdates,
  packWithdrawals,
  parseIpv6,
  ipv6ToString,
  shutdownCommunication,
  validateOpen,
  validateAttributes,
  forEachPrefix,
  prefixCount,
  KEEPALIVE,
  messageToJson,
  type PathAttribute,
  type UpdateMessage,
} from './index.js';
import { GOLDEN } from './test/golden-vectors.js';

const ctx4 = makeContext({ fourOctetAs: true });

describe('frame', () => {
  it('cuts a stream into messages and asks for more on partial input', () => {
    const ka = encodeMessage(KEEPALIVE, ctx4);
    const stream = new Uint8Array([...ka, ...ka, ...ka.subarray(0, 10)]);
    expect(frame(stream, 0, ctx4)).toEqual({ kind: 'message', length: 19, type: 4 });
    expect(frame(stream, 19, ctx4)).toEqual({ kind: 'message', length: 19, type: 4 });
    expect(frame(stream, 38, ctx4)).toEqual({ kind: 'need-more', needed: 19 });
    const update = encodeMessage(endOfRib({ afi: 2, safi: 1 }), ctx4);
    expect(frame(update.subarray(0, 20), 0, ctx4)).toEqual({ kind: 'need-more', needed: update.length });
  });
  it('fails fast on a bad marker before 19 bytes arrive', () => {
    const f = frame(Uint8Array.of(0xff, 0xff, 0x00), 0, ctx4);
    expect(f.kind === 'error' && [f.error.errorCode, f.error.subcode]).toEqual([1, 1]);
  });
  it('allows 65535-byte UPDATEs only with extended message (RFC 8654), never OPENs', () => {
    const head = (len: number, type: number): Uint8Array => Uint8Array.of(...new Array<number>(16).fill(0xff), len >>> 8, len & 255, type);
    expect(frame(head(5000, 2), 0, ctx4).kind).toBe('error');
    expect(frame(head(5000, 2), 0, { extendedMessage: true })).toEqual({ kind: 'need-more', needed: 5000 });
    expect(frame(head(5000, 1), 0, { extendedMessage: true }).kind).toBe('error');
  });
});

describe('negotiate', () => {
  const local = buildOpen({
    asn: 4200000000,
    holdTime: 90,
    bgpId: '10.0.0.1',
    capabilities: [
      { kind: 'four-octet-as', asn: 4200000000 },
      { kind: 'extended-message' },
      { kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 3 }, { afi: 2, safi: 1, mode: 1 }] },
      { kind: 'extended-next-hop', families: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
    ],
  });
  it('buildOpen puts AS_TRANS in My AS for a 4-octet ASN (RFC 6793 §4.1)', () => {
    expect(local.myAs).toBe(AS_TRANS);
    expect(validateOpen(local)).toBeNull();
  });
  it('needs both sides for 4-octet AS, extended message and ENH; add-path by direction', () => {
    const remote = buildOpen({
      asn: 65001,
      holdTime: 90,
      bgpId: '10.0.0.2',
      capabilities: [
        { kind: 'four-octet-as', asn: 65001 },
        { kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 2 }, { afi: 2, safi: 1, mode: 2 }] },
      ],
    });
    const c = negotiate(local, remote);
    expect(c.fourOctetAs).toBe(true);
    expect(c.extendedMessage).toBe(false);
    expect([...c.extendedNextHop]).toEqual([]);
    expect([...c.addPathReceive].sort()).toEqual(['1/1', '2/1']);
    expect([...c.addPathSend]).toEqual([]);
    const r2 = { ...remote, parameters: [] };
    expect(negotiate(local, r2).fourOctetAs).toBe(false);
  });
  it('validateOpen compares the expected peer AS with the 4-octet capability value', () => {
    expect(validateOpen(local, { peerAs: 4200000000 })).toBeNull();
    expect(validateOpen(local, { peerAs: 65000 })?.subcode).toBe(2);
  });
});

describe('NlriList', () => {
  it('walks IPv4 prefixes without objects, masking host bits', () => {
    const l = NlriList.parse(Uint8Array.of(24, 10, 1, 2, 17, 10, 1, 0xff, 0), 1, 1, false);
    if (!l.ok) throw new Error(l.problem);
    expect(l.list.count).toBe(3);
    const seen: string[] = [];
    l.list.forEachIpv4((a, len, id) => seen.push(`${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}#${id}`));
    expect(seen).toEqual(['10.1.2.0/24#0', '10.1.128.0/17#0', '0.0.0.0/0#0']);
    expect(l.list.toStrings()).toEqual(['10.1.2.0/24', '10.1.128.0/17', '0.0.0.0/0']);
  });
  it('reads path identifiers with add-path and rejects over-long prefixes', () => {
    const l = NlriList.parse(Uint8Array.of(0, 0, 1, 0, 32, 1, 2, 3, 4), 1, 1, true);
    if (!l.ok) throw new Error(l.problem);
    expect(l.list.toArray()).toEqual([{ afi: 1, addr: Uint8Array.of(1, 2, 3, 4), length: 32, pathId: 256 }]);
    expect(NlriList.parse(Uint8Array.of(33, 1, 2, 3, 4, 5), 1, 1, false)).toEqual({ ok: false, problem: 'prefix-too-long' });
    expect(NlriList.parse(Uint8Array.of(129), 2, 1, false)).toEqual({ ok: false, problem: 'prefix-too-long' });
  });
  it('NlriBuilder and text round trip, IPv6 text per RFC 5952', () => {
    const b = new NlriBuilder(2, 1, false);
    b.add(parseIpv6('2001:db8::')!, 32).add(parseIpv6('::ffff:10.0.0.0')!, 104);
    expect(b.build().toStrings()).toEqual(['2001:db8::/32', '::ffff:10.0.0.0/104']);
    expect(ipv6ToString(parseIpv6('2001:0:0:1:0:0:0:1')!)).toBe('2001:0:0:1::1');
  });
});

function v4Many(n: number): NlriList {
  const b = new NlriBuilder(1, 1, false);
  for (let i = 0; i < n; i++) b.addIpv4(((10 << 24) | (i << 8)) >>> 0, 24);
  return b.build();
}

const attrs: PathAttribute[] = [
  { kind: 'origin', flags: AttrFlag.Transitive, origin: 0 },
  { kind: 'as-path', flags: AttrFlag.Transitive, segments: [{ type: 2, asns: [4200000000, 65000] }] },
  { kind: 'next-hop', flags: AttrFlag.Transitive, nextHop: '10.0.0.1' },
  { kind: 'communities', flags: AttrFlag.Optional | AttrFlag.Transitive, communities: [0xfde80001] },
];

describe('packUpdates / packWithdrawals', () => {
  it('packs 2000 IPv4 /24s into the fewest 4096-byte UPDATEs, every prefix exactly once', () => {
    const nlri = v4Many(2000);
    const msgs = packUpdates(attrs, nlri, ctx4);
    const per = Math.floor((4096 - 23 - 39) / 4);
    expect(msgs.length).toBe(Math.ceil(2000 / per));
    const got: string[] = [];
    for (const m of msgs) {
      expect(m.length).toBeLessThanOrEqual(4096);
      const r = decodeMessage(m, ctx4);
      if (!r.ok) throw r.error;
      expect(r.action).toBeNull();
      const u = r.message as UpdateMessage;
      expect(u.attributes).toEqual(attrs);
      got.push(...u.nlri.toStrings());
    }
    expect(got).toEqual(nlri.toStrings());
  });
  it('uses 65535-byte UPDATEs with extended message', () => {
    const c = makeContext({ fourOctetAs: true, extendedMessage: true });
    expect(packUpdates(attrs, v4Many(2000), c).length).toBe(1);
  });
  it('packs IPv6 into MP_REACH with the template next hop, and withdrawals into MP_UNREACH', () => {
    const b = new NlriBuilder(2, 1, true);
    for (let i = 0; i < 600; i++) b.add(Uint8Array.of(0x20, 0x01, 0x0d, 0xb8, i >> 8, i & 255), 48, i);
    const nlri = b.build();
    const c = makeContext({ fourOctetAs: true, addPathSend: new Set([familyKey(2, 1)]), addPathReceive: new Set([familyKey(2, 1)]) });
    const mp: PathAttribute = { kind: 'mp-reach', flags: AttrFlag.Optional, afi: 2, safi: 1, nextHop: parseIpv6('2001:db8::1')!, reserved: 0, nlri: NlriList.empty(2, 1) };
    const msgs = packUpdates([attrs[0]!, attrs[1]!, mp, attrs[3]!], nlri, c);
    expect(msgs.length).toBeGreaterThan(1);
    let n = 0;
    for (const m of msgs) {
      const r = decodeMessage(m, c);
      if (!r.ok) throw r.error;
      const u = r.message as UpdateMessage;
      const reach = u.attributes[2]!;
      expect(reach.kind === 'mp-reach' && ipv6ToString(reach.nextHop)).toBe('2001:db8::1');
      if (reach.kind === 'mp-reach') n += reach.nlri.count;
      expect(u.attributes[3]).toEqual(attrs[3]);
    }
    expect(n).toBe(600);
    const w = packWithdrawals(nlri, c);
    let wn = 0;
    for (const m of w) {
      const r = decodeMessage(m, c);
      if (!r.ok) throw r.error;
      const a = (r.message as UpdateMessage).attributes[0]!;
      if (a.kind === 'mp-unreach') wn += a.withdrawn.count;
    }
    expect(wn).toBe(600);
  });
  it('refuses NLRI whose add-path form does not match the session', () => {
    expect(() => packUpdates(attrs, v4Many(3), makeContext({ addPathSend: new Set([familyKey(1, 1)]) }))).toThrow(RangeError);
  });
});

describe('End-of-RIB', () => {
  it('builds and recognises markers for IPv4 and MP families', () => {
    for (const f of [{ afi: 1, safi: 1 }, { afi: 2, safi: 1 }, { afi: 1, safi: 128 }]) {
      const r = decodeMessage(encodeMessage(endOfRib(f), ctx4), ctx4);
      if (!r.ok) throw r.error;
      expect(isEndOfRib(r.message as UpdateMessage)).toEqual(f);
    }
  });
});

describe('RFC 6793 §4.2.3 merge', () => {
  it('replaces the trailing AS_TRANS part of AS_PATH with AS4_PATH', () => {
    expect(mergeAs4Path([{ type: 2, asns: [65001, AS_TRANS, 100, AS_TRANS] }], [{ type: 2, asns: [4200000000, 100, 4200000001] }])).toEqual([
      { type: 2, asns: [65001, 4200000000, 100, 4200000001] },
    ]);
  });
  it('ignores an AS4_PATH longer than AS_PATH and keeps leading confederation segments', () => {
    expect(mergeAs4Path([{ type: 2, asns: [1] }], [{ type: 2, asns: [2, 3] }])).toEqual([{ type: 2, asns: [1] }]);
    expect(mergeAs4Path([{ type: 3, asns: [7] }, { type: 2, asns: [AS_TRANS] }], [{ type: 2, asns: [4200000000] }])).toEqual([
      { type: 3, asns: [7] },
      { type: 2, asns: [4200000000] },
    ]);
    expect(mergeAs4Path([{ type: 2, asns: [5, 6] }, { type: 1, asns: [8, 9] }], [{ type: 1, asns: [4200000000] }])).toEqual([
      { type: 2, asns: [5, 6] },
      { type: 1, asns: [4200000000] },
    ]);
  });
  it('ignores AS4_AGGREGATOR and AS4_PATH when AGGREGATOR is not AS_TRANS', () => {
    expect(mergeAs4Aggregator({ asn: 65000, address: '1.1.1.1' }, { asn: 4200000000, address: '1.1.1.1' })).toEqual({
      aggregator: { asn: 65000, address: '1.1.1.1' },
      useAs4Path: false,
    });
    expect(mergeAs4Aggregator({ asn: AS_TRANS, address: '1.1.1.1' }, { asn: 4200000000, address: '1.1.1.1' }).aggregator?.asn).toBe(4200000000);
  });
});

describe('shutdown communication (RFC 9003)', () => {
  it('encodes and decodes UTF-8 text, truncating to 255 octets on a character boundary', () => {
    const n = ceaseNotification(CeaseSubcode.AdministrativeShutdown, 'maintenance – back soon');
    expect(shutdownCommunication(n)).toBe('maintenance – back soon');
    const long = ceaseNotification(CeaseSubcode.AdministrativeReset, 'é'.repeat(200));
    expect(long.data[0]).toBe(254);
    expect(shutdownCommunication(long)).toBe('é'.repeat(127));
    expect(shutdownCommunication({ ...n, data: Uint8Array.of(5, 0x61) })).toBeNull();
    expect(shutdownCommunication({ ...n, subcode: CeaseSubcode.PeerDeconfigured })).toBeNull();
  });
});

describe('re-advertisement', () => {
  it('sets Partial on unknown optional transitive attributes and drops unknown non-transitive ones', () => {
    const out = attributesForReadvertisement([
      attrs[0]!,
      { kind: 'unknown', flags: AttrFlag.Optional | AttrFlag.Transitive, typeCode: 99, data: Uint8Array.of(1) },
      { kind: 'unknown', flags: AttrFlag.Optional, typeCode: 98, data: Uint8Array.of(2) },
    ]);
    expect(out).toEqual([attrs[0], { kind: 'unknown', flags: AttrFlag.Optional | AttrFlag.Transitive | AttrFlag.Partial, typeCode: 99, data: Uint8Array.of(1) }]);
  });
});

describe('UPDATE result exposes the attribute section bytes as a view', () => {
  it('attributeBytes aliases the input buffer (no copy)', () => {
    const bytes = packUpdates(attrs, v4Many(3), ctx4)[0]!;
    const r = decodeMessage(bytes, ctx4);
    if (!r.ok) throw r.error;
    expect(r.attributeBytes!.buffer).toBe(bytes.buffer);
    expect(r.attributeBytes!.byteOffset).toBe(23);
  });
});

describe('forEachPrefix', () => {
  it('visits withdrawals then announcements across classic and MP fields', () => {
    const u: UpdateMessage = {
      type: 2,
      withdrawn: NlriList.fromPrefixes(1, 1, ['10.9.0.0/16']),
      attributes: [
        { kind: 'mp-unreach', flags: AttrFlag.Optional, afi: 2, safi: 1, withdrawn: NlriList.fromPrefixes(2, 1, ['2001:db8:9::/48']) },
        { kind: 'mp-reach', flags: AttrFlag.Optional, afi: 2, safi: 1, nextHop: parseIpv6('2001:db8::1')!, reserved: 0, nlri: NlriList.fromPrefixes(2, 1, ['2001:db8:1::/48']) },
      ],
      nlri: NlriList.fromPrefixes(1, 1, ['10.1.0.0/16']),
    };
    const seen: string[] = [];
    forEachPrefix(u, (ann, afi, _safi, b, off, len) => seen.push(`${ann ? '+' : '-'}${afi}:${b[off]}/${len}`));
    expect(seen).toEqual(['-1:10/16', '-2:32/48', '+2:32/48', '+1:10/16']);
    expect(prefixCount(u)).toEqual({ announced: 2, withdrawn: 2 });
  });
});

describe('messageToJson (logs, uplinkctl decode)', () => {
  it('renders prefixes, communities, next hops and shutdown text by name', () => {
    const ipv4 = GOLDEN.find((v) => v.name.startsWith('UPDATE IPv4 with every'))!;
    const j = JSON.stringify(messageToJson(ipv4.decoded));
    for (const s of ['"192.0.2.0/24"', '"no-export"', '"65000:100"', '"target:65000:100"', '"65000:1:2"', '"65000 4200000000 {65001}"', '"203.0.113.1/32"']) {
      expect(j).toContain(s);
    }
    const v6 = GOLDEN.find((v) => v.name.includes('link-local'))!;
    expect(JSON.stringify(messageToJson(v6.decoded))).toContain('["2001:db8::1","fe80::1"]');
    expect(messageToJson(ceaseNotification(CeaseSubcode.AdministrativeShutdown, 'bye'))).toMatchObject({
      name: 'Cease/AdministrativeShutdown',
      shutdownCommunication: 'bye',
    });
  });
});

describe('validateAttributes (locally built attributes)', () => {
  it('flags an undefined ORIGIN and a martian NEXT_HOP with the decoder’s subcodes', () => {
    const bad: PathAttribute[] = [
      { kind: 'origin', flags: AttrFlag.Transitive, origin: 7 },
      { kind: 'next-hop', flags: AttrFlag.Transitive, nextHop: '0.0.0.0' },
      attrs[1]!,
    ];
    expect(validateAttributes(bad, ctx4).map((f) => f.subcode)).toEqual([6, 8]);
    expect(validateAttributes(attrs, ctx4)).toEqual([]);
  });
});
