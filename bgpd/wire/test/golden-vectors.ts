// Hand-written golden vectors: {name, hex, decoded, ctx}. The hex is written field by field from the
// RFCs (comments give each field); `decoded` is the typed message we expect. golden.test.ts checks both
// directions: decode(hex) equals decoded, encode(decoded) equals hex.
import {
  Afi,
  AttrFlag,
  MessageType,
  NlriList,
  Safi,
  familyKey,
  makeContext,
  type Message,
  type WireContext,
} from '../index.js';

export interface GoldenVector {
  readonly name: string;
  readonly hex: string;
  readonly decoded: Message;
  readonly ctx: WireContext;
}

/** Marker + length + type + body; the body is what the vectors spell out. */
export function msg(type: number, ...body: string[]): string {
  const b = body.join('').replace(/\s+/g, '');
  const len = 19 + b.length / 2;
  return 'ff'.repeat(16) + len.toString(16).padStart(4, '0') + type.toString(16).padStart(2, '0') + b;
}

/** An UPDATE body from its three sections, lengths computed. */
export function updateBody(withdrawn: string, attrs: string, nlri: string): string {
  const w = withdrawn.replace(/\s+/g, '');
  const a = attrs.replace(/\s+/g, '');
  const n = nlri.replace(/\s+/g, '');
  const l = (x: string): string => (x.length / 2).toString(16).padStart(4, '0');
  return l(w) + w + l(a) + a + n;
}

const T = AttrFlag.Transitive;
const O = AttrFlag.Optional;
const OT = O | T;

export const ctx4 = makeContext({ fourOctetAs: true });
export const ctx2 = makeContext({ fourOctetAs: false });
const v4 = (...p: string[]): NlriList => NlriList.fromPrefixes(Afi.Ipv4, Safi.Unicast, p);
const v6 = (...p: string[]): NlriList => NlriList.fromPrefixes(Afi.Ipv6, Safi.Unicast, p);
const none = NlriList.empty();
const bytes = (hex: string): Uint8Array => Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));

export const GOLDEN: readonly GoldenVector[] = [
  {
    name: 'KEEPALIVE (RFC 4271 §4.4)',
    hex: msg(4),
    decoded: { type: MessageType.Keepalive },
    ctx: ctx4,
  },
  {
    name: 'NOTIFICATION Hold Timer Expired 4/0',
    hex: msg(3, '04', '00'),
    decoded: { type: MessageType.Notification, code: 4, subcode: 0, data: new Uint8Array(0) },
    ctx: ctx4,
  },
  {
    name: 'NOTIFICATION Cease/Administrative Shutdown with RFC 9003 text "bye"',
    // code 6, subcode 2, length 3, "bye"
    hex: msg(3, '06', '02', '03', '627965'),
    decoded: { type: MessageType.Notification, code: 6, subcode: 2, data: bytes('03627965') },
    ctx: ctx4,
  },
  {
    name: 'NOTIFICATION Cease/Administrative Reset with UTF-8 text "é"',
    hex: msg(3, '06', '04', '02', 'c3a9'),
    decoded: { type: MessageType.Notification, code: 6, subcode: 4, data: bytes('02c3a9') },
    ctx: ctx4,
  },
  {
    name: 'NOTIFICATION UPDATE/Malformed AS_PATH with data',
    hex: msg(3, '03', '0b', '400200'),
    decoded: { type: MessageType.Notification, code: 3, subcode: 11, data: bytes('400200') },
    ctx: ctx4,
  },
  {
    name: 'ROUTE-REFRESH IPv4 unicast (RFC 2918)',
    // AFI 1, subtype 0, SAFI 1
    hex: msg(5, '0001', '00', '01'),
    decoded: { type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 0, orf: new Uint8Array(0) },
    ctx: ctx4,
  },
  {
    name: 'ROUTE-REFRESH BoRR IPv6 unicast (RFC 7313 §3)',
    hex: msg(5, '0002', '01', '01'),
    decoded: { type: MessageType.RouteRefresh, afi: 2, safi: 1, subtype: 1, orf: new Uint8Array(0) },
    ctx: ctx4,
  },
  {
    name: 'ROUTE-REFRESH EoRR IPv4 unicast (RFC 7313 §3)',
    hex: msg(5, '0001', '02', '01'),
    decoded: { type: MessageType.RouteRefresh, afi: 1, safi: 1, subtype: 2, orf: new Uint8Array(0) },
    ctx: ctx4,
  },
  {
    name: 'OPEN with every supported capability, grouped over three parameters',
    hex: msg(
      1,
      '04', // version 4
      '5ba0', // My AS = AS_TRANS 23456 (RFC 6793 §4.1)
      '00b4', // hold time 180
      '0a000001', // BGP identifier 10.0.0.1
      '57', // optional parameters length 87
      // parameter 1: capabilities, 18 octets
      '02 12',
      '01 04 0001 00 01', // multiprotocol IPv4 unicast (RFC 4760 §8)
      '01 04 0002 00 01', // multiprotocol IPv6 unicast
      '02 00', // route refresh (RFC 2918)
      '80 00', // route refresh, pre-standard Cisco code 128
      '46 00', // enhanced route refresh (RFC 7313)
      // parameter 2: capabilities, 59 octets
      '02 3b',
      '41 04 fa56ea00', // 4-octet AS 4200000000 (RFC 6793)
      '40 06 c078 0001 01 80', // GR: R+N, restart 120 s; IPv4 unicast with F bit (RFC 4724)
      '47 07 0001 01 80 000e10', // LLGR: IPv4 unicast, F, stale 3600 s
      '45 08 0001 01 03 0002 01 01', // add-path: IPv4 send+receive, IPv6 receive (RFC 7911)
      '06 00', // extended message (RFC 8654)
      '05 06 0001 0001 0002', // extended next hop: IPv4 unicast over IPv6 (RFC 8950)
      '49 0b 05 6e6f646531 04 636f7270', // FQDN "node1" "corp"
      '09 01 03', // BGP role Customer (RFC 9234)
      // parameter 3: capabilities, one unknown capability 254 kept raw
      '02 04 fe 02 abcd',
    ),
    decoded: {
      type: MessageType.Open,
      version: 4,
      myAs: 23456,
      holdTime: 180,
      bgpId: '10.0.0.1',
      extendedParameters: false,
      parameters: [
        {
          kind: 'capabilities',
          capabilities: [
            { kind: 'multiprotocol', afi: 1, safi: 1 },
            { kind: 'multiprotocol', afi: 2, safi: 1 },
            { kind: 'route-refresh' },
            { kind: 'route-refresh-cisco' },
            { kind: 'enhanced-route-refresh' },
          ],
        },
        {
          kind: 'capabilities',
          capabilities: [
            { kind: 'four-octet-as', asn: 4200000000 },
            { kind: 'graceful-restart', restarting: true, notification: true, restartTime: 120, families: [{ afi: 1, safi: 1, forwarding: true }] },
            { kind: 'long-lived-graceful-restart', families: [{ afi: 1, safi: 1, flags: 0x80, staleTime: 3600 }] },
            { kind: 'add-path', families: [{ afi: 1, safi: 1, mode: 3 }, { afi: 2, safi: 1, mode: 1 }] },
            { kind: 'extended-message' },
            { kind: 'extended-next-hop', families: [{ afi: 1, safi: 1, nextHopAfi: 2 }] },
            { kind: 'fqdn', hostname: 'node1', domain: 'corp' },
            { kind: 'role', role: 3 },
          ],
        },
        { kind: 'capabilities', capabilities: [{ kind: 'unknown', code: 254, data: bytes('abcd') }] },
      ],
    },
    ctx: ctx4,
  },
  {
    name: 'OPEN with RFC 9072 extended optional parameters',
    hex: msg(
      1,
      '04 fde8 005a c0000201', // version 4, AS 65000, hold 90, id 192.0.2.1
      'ff', // Non-Ext OP Len 255
      'ff', // Non-Ext OP Type 255: extended form follows
      '000b', // Extended Opt. Parm. Length 11
      '02 0008', // capabilities parameter, 2-octet length 8
      '01 04 0001 00 01', // multiprotocol IPv4 unicast
      '02 00', // route refresh
    ),
    decoded: {
      type: MessageType.Open,
      version: 4,
      myAs: 65000,
      holdTime: 90,
      bgpId: '192.0.2.1',
      extendedParameters: true,
      parameters: [{ kind: 'capabilities', capabilities: [{ kind: 'multiprotocol', afi: 1, safi: 1 }, { kind: 'route-refresh' }] }],
    },
    ctx: ctx4,
  },
  {
    name: 'OPEN with a malformed known capability kept raw (GR with a stray byte)',
    hex: msg(1, '04 fde8 00b4 0a000001', '07', '02 05', '40 03 0078 00'),
    decoded: {
      type: MessageType.Open,
      version: 4,
      myAs: 65000,
      holdTime: 180,
      bgpId: '10.0.0.1',
      extendedParameters: false,
      parameters: [{ kind: 'capabilities', capabilities: [{ kind: 'unknown', code: 64, data: bytes('007800') }] }],
    },
    ctx: ctx4,
  },
  {
    name: 'UPDATE IPv4 with every IPv4 attribute (4-octet AS session)',
    hex: msg(
      2,
      updateBody(
        '18 c00002', // withdrawn 192.0.2.0/24
        [
          '40 01 01 00', // ORIGIN IGP
          '40 02 10 02 02 0000fde8 fa56ea00 01 01 0000fde9', // AS_PATH: SEQ(65000 4200000000) SET{65001}
          '40 03 04 c0000201', // NEXT_HOP 192.0.2.1
          '80 04 04 00000064', // MED 100
          '40 05 04 000000c8', // LOCAL_PREF 200
          '40 06 00', // ATOMIC_AGGREGATE
          'c0 07 08 0000fde8 c0000202', // AGGREGATOR 65000 192.0.2.2 (4-octet form)
          'c0 08 08 ffffff01 fde80064', // COMMUNITIES no-export 65000:100
          '80 09 04 0a000001', // ORIGINATOR_ID 10.0.0.1
          '80 0a 08 0a000002 0a000003', // CLUSTER_LIST 10.0.0.2 10.0.0.3
          'c0 10 08 0002fde800000064', // EXTENDED_COMMUNITIES target:65000:100
          'c0 20 0c 0000fde8 00000001 00000002', // LARGE_COMMUNITY 65000:1:2
          'c0 23 04 0000fde8', // ONLY_TO_CUSTOMER 65000
          'e0 63 02 beef', // unknown optional transitive 99, Partial set, carried through
        ].join(''),
        '18 c63364 20 cb007101 00', // 198.51.100.0/24 203.0.113.1/32 0.0.0.0/0
      ),
    ),
    decoded: {
      type: MessageType.Update,
      withdrawn: v4('192.0.2.0/24'),
      attributes: [
        { kind: 'origin', flags: T, origin: 0 },
        { kind: 'as-path', flags: T, segments: [{ type: 2, asns: [65000, 4200000000] }, { type: 1, asns: [65001] }] },
        { kind: 'next-hop', flags: T, nextHop: '192.0.2.1' },
        { kind: 'med', flags: O, value: 100 },
        { kind: 'local-pref', flags: T, value: 200 },
        { kind: 'atomic-aggregate', flags: T },
        { kind: 'aggregator', flags: OT, asn: 65000, address: '192.0.2.2' },
        { kind: 'communities', flags: OT, communities: [0xffffff01, 0xfde80064] },
        { kind: 'originator-id', flags: O, originatorId: '10.0.0.1' },
        { kind: 'cluster-list', flags: O, clusterIds: ['10.0.0.2', '10.0.0.3'] },
        { kind: 'extended-communities', flags: OT, communities: [bytes('0002fde800000064')] },
        { kind: 'large-communities', flags: OT, communities: [[65000, 1, 2]] },
        { kind: 'only-to-customer', flags: OT, asn: 65000 },
        { kind: 'unknown', flags: OT | AttrFlag.Partial, typeCode: 99, data: bytes('beef') },
      ],
      nlri: v4('198.51.100.0/24', '203.0.113.1/32', '0.0.0.0/0'),
    },
    ctx: ctx4,
  },
  {
    name: 'UPDATE 2-octet session: AS_TRANS in AS_PATH/AGGREGATOR, AS4_PATH, AS4_AGGREGATOR, confed segment',
    hex: msg(
      2,
      updateBody(
        '',
        [
          '40 01 01 02', // ORIGIN INCOMPLETE
          '40 02 0c 03 01 fde9 02 03 5ba0 0064 5ba0', // AS_PATH: CONFED_SEQ(65001) SEQ(23456 100 23456)
          '40 03 04 0a000001', // NEXT_HOP 10.0.0.1
          'c0 07 06 5ba0 0a000001', // AGGREGATOR AS_TRANS 10.0.0.1 (2-octet form)
          'c0 11 0e 02 03 fa56ea00 00000064 fa56ea01', // AS4_PATH SEQ(4200000000 100 4200000001)
          'c0 12 08 fa56ea00 0a000001', // AS4_AGGREGATOR 4200000000 10.0.0.1
        ].join(''),
        '10 0a00', // 10.0.0.0/16
      ),
    ),
    decoded: {
      type: MessageType.Update,
      withdrawn: none,
      attributes: [
        { kind: 'origin', flags: T, origin: 2 },
        { kind: 'as-path', flags: T, segments: [{ type: 3, asns: [65001] }, { type: 2, asns: [23456, 100, 23456] }] },
        { kind: 'next-hop', flags: T, nextHop: '10.0.0.1' },
        { kind: 'aggregator', flags: OT, asn: 23456, address: '10.0.0.1' },
        { kind: 'as4-path', flags: OT, segments: [{ type: 2, asns: [4200000000, 100, 4200000001] }] },
        { kind: 'as4-aggregator', flags: OT, asn: 4200000000, address: '10.0.0.1' },
      ],
      nlri: v4('10.0.0.0/16'),
    },
    ctx: ctx2,
  },
  {
    name: 'UPDATE IPv6 MP_REACH, global next hop (16 octets)',
    hex: msg(
      2,
      updateBody(
        '',
        [
          '40 01 01 00',
          '40 02 00', // empty AS_PATH (iBGP)
          '80 0e 21 0002 01 10 20010db8000000000000000000000001 00', // AFI 2 SAFI 1, NH 2001:db8::1, reserved
          '20 20010db8 30 20010db80001', // 2001:db8::/32 2001:db8:1::/48
        ].join(''),
        '',
      ),
    ),
    decoded: {
      type: MessageType.Update,
      withdrawn: none,
      attributes: [
        { kind: 'origin', flags: T, origin: 0 },
        { kind: 'as-path', flags: T, segments: [] },
        {
          kind: 'mp-reach',
          flags: O,
          afi: 2,
          safi: 1,
          nextHop: bytes('20010db8000000000000000000000001'),
          reserved: 0,
          nlri: v6('2001:db8::/32', '2001:db8:1::/48'),
        },
      ],
      nlri: none,
    },
    ctx: ctx4,
  },
  {
    name: 'UPDATE IPv6 MP_REACH, global + link-local next hop (32 octets), Extended Length flag kept',
    hex: msg(
      2,
      updateBody(
        '',
        [
          '40 01 01 00',
          '40 02 06 02 01 0000fde8', // SEQ(65000)
          '90 0e 002e 0002 01 20', // Optional + Extended Length, 2-octet length 46; NH length 32
          '20010db8000000000000000000000001 fe800000000000000000000000000001 00',
          '40 20010db800020000', // 2001:db8:2::/64
        ].join(''),
        '',
      ),
    ),
    decoded: {
      type: MessageType.Update,
      withdrawn: none,
      attributes: [
        { kind: 'origin', flags: T, origin: 0 },
        { kind: 'as-path', flags: T, segments: [{ type: 2, asns: [65000] }] },
        {
          kind: 'mp-reach',
          flags: O | AttrFlag.ExtendedLength,
          afi: 2,
          safi: 1,
          nextHop: bytes('20010db8000000000000000000000001fe800000000000000000000000000001'),
          reserved: 0,
          nlri: v6('2001:db8:2::/64'),
        },
      ],
      nlri: none,
    },
    ctx: ctx4,
  },
  {
    name: 'UPDATE IPv6 MP_UNREACH',
    hex: msg(2, updateBody('', '80 0f 0a 0002 01 30 20010db80001', '')),
    decoded: {
      type: MessageType.Update,
      withdrawn: none,
      attributes: [{ kind: 'mp-unreach', flags: O, afi: 2, safi: 1, withdrawn: v6('2001:db8:1::/48') }],
      nlri: none,
    },
    ctx: ctx4,
  },
  {
    name: 'UPDATE IPv4 NLRI with IPv6 next hop (RFC 8950, extended next hop negotiated)',
    hex: msg(
      2,
      updateBody('', ['40 01 01 00', '40 02 00', '80 0e 19 0001 01 10 20010db8000000000000000000000001 00', '18 c0a800'].join(''), ''),
    ),
    decoded: {
      type: MessageType.Update,
      withdrawn: none,
      attributes: [
        { kind: 'origin', flags: T, origin: 0 },
        { kind: 'as-path', flags: T, segments: [] },
        {
          kind: 'mp-reach',
          flags: O,
          afi: 1,
          safi: 1,
          nextHop: bytes('20010db8000000000000000000000001'),
          reserved: 0,
          nlri: v4('192.168.0.0/24'),
        },
      ],
      nlri: none,
    },
    ctx: makeContext({ fourOctetAs: true, extendedNextHop: new Set([familyKey(1, 1)]) }),
  },
  {
    name: 'UPDATE IPv4 with add-path path identifiers (RFC 7911 §3)',
    hex: msg(
      2,
      updateBody(
        '00000007 18 0a0200', // withdrawn path 7 10.2.0.0/24
        ['40 01 01 00', '40 02 00', '40 03 04 0a000001'].join(''),
        '00000001 18 0a0100 00000002 18 0a0100', // path 1 and path 2 of 10.1.0.0/24
      ),
    ),
    decoded: {
      type: MessageType.Update,
      withdrawn: NlriList.fromPrefixes(1, 1, [{ afi: 1, addr: bytes('0a020000'), length: 24, pathId: 7 }], true),
      attributes: [
        { kind: 'origin', flags: T, origin: 0 },
        { kind: 'as-path', flags: T, segments: [] },
        { kind: 'next-hop', flags: T, nextHop: '10.0.0.1' },
      ],
      nlri: NlriList.fromPrefixes(
        1,
        1,
        [
          { afi: 1, addr: bytes('0a010000'), length: 24, pathId: 1 },
          { afi: 1, addr: bytes('0a010000'), length: 24, pathId: 2 },
        ],
        true,
      ),
    },
    ctx: makeContext({ fourOctetAs: true, addPathReceive: new Set([familyKey(1, 1)]) }),
  },
  {
    name: 'UPDATE VPNv4 (AFI 1 SAFI 128): unknown family carried through opaque',
    hex: msg(
      2,
      updateBody(
        '',
        ['40 01 01 00', '40 02 00', '80 0e 13 0001 80 0c 0000000000000000 0a000001 00', 'abcd'].join(''),
        '',
      ),
    ),
    decoded: {
      type: MessageType.Update,
      withdrawn: none,
      attributes: [
        { kind: 'origin', flags: T, origin: 0 },
        { kind: 'as-path', flags: T, segments: [] },
        {
          kind: 'mp-reach',
          flags: O,
          afi: 1,
          safi: 128,
          nextHop: bytes('00000000000000000a000001'),
          reserved: 0,
          nlri: NlriList.opaque(1, 128, bytes('abcd')),
        },
      ],
      nlri: none,
    },
    ctx: ctx4,
  },
  {
    name: 'End-of-RIB IPv4 unicast (RFC 4724 §2): empty UPDATE',
    hex: msg(2, '0000', '0000'),
    decoded: { type: MessageType.Update, withdrawn: none, attributes: [], nlri: none },
    ctx: ctx4,
  },
  {
    name: 'End-of-RIB IPv6 unicast: MP_UNREACH with no NLRI',
    hex: msg(2, updateBody('', '80 0f 03 0002 01', '')),
    decoded: {
      type: MessageType.Update,
      withdrawn: none,
      attributes: [{ kind: 'mp-unreach', flags: O, afi: 2, safi: 1, withdrawn: NlriList.empty(2, 1) }],
      nlri: none,
    },
    ctx: ctx4,
  },
  {
    name: 'UPDATE AS_PATH with Extended Length on a short value, kept for byte-exact re-encode',
    hex: msg(2, updateBody('', ['40 01 01 00', '50 02 0006 02 01 0000fde8', '40 03 04 0a000001'].join(''), '08 0a')),
    decoded: {
      type: MessageType.Update,
      withdrawn: none,
      attributes: [
        { kind: 'origin', flags: T, origin: 0 },
        { kind: 'as-path', flags: T | AttrFlag.ExtendedLength, segments: [{ type: 2, asns: [65000] }] },
        { kind: 'next-hop', flags: T, nextHop: '10.0.0.1' },
      ],
      nlri: v4('10.0.0.0/8'),
    },
    ctx: ctx4,
  },
];

export { Afi, Safi };
