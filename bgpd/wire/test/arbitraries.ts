// fast-check generators for well-formed messages, shared by the property tests and the fuzzer's seed
// set. They generate only values the codec keeps in typed form (e.g. unknown capabilities never use a
// known code), so decode(encode(m)) must equal m exactly.
import fc from 'fast-check';
import {
  Afi,
  AttrFlag,
  CapabilityCode,
  MessageType,
  NlriList,
  Safi,
  encodeCapabilityValue,
  type AsPathSegment,
  type Capability,
  type KeepaliveMessage,
  type NotificationMessage,
  type OpenMessage,
  type OptionalParameter,
  type PathAttribute,
  type Prefix,
  type RouteRefreshMessage,
  type UpdateMessage,
} from '../index.js';

const KNOWN_CAPS = new Set<number>(Object.values(CapabilityCode));
const u8 = fc.integer({ min: 0, max: 255 });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (max: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ maxLength: max }).map((b) => new Uint8Array(b));
const afiSafi = fc.record({ afi: fc.constantFrom(1, 2, 25, 16388), safi: fc.constantFrom(1, 2, 4, 70, 128, 133) });
const hostAscii = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789-.'.split('')), maxLength: 20 });

export const capabilityArb: fc.Arbitrary<Capability> = fc.oneof(
  afiSafi.map((f): Capability => ({ kind: 'multiprotocol', ...f })),
  fc.constant<Capability>({ kind: 'route-refresh' }),
  fc.constant<Capability>({ kind: 'route-refresh-cisco' }),
  fc.constant<Capability>({ kind: 'enhanced-route-refresh' }),
  fc.constant<Capability>({ kind: 'extended-message' }),
  fc.integer({ min: 1, max: 0xffffffff }).map((asn): Capability => ({ kind: 'four-octet-as', asn })),
  fc
    .record({
      restarting: fc.boolean(),
      notification: fc.boolean(),
      restartTime: fc.integer({ min: 0, max: 4095 }),
      families: fc.array(fc.record({ afi: u16, safi: u8, forwarding: fc.boolean() }), { maxLength: 4 }),
    })
    .map((g): Capability => ({ kind: 'graceful-restart', ...g })),
  fc
    .array(fc.record({ afi: u16, safi: u8, flags: u8, staleTime: fc.integer({ min: 0, max: 0xffffff }) }), { maxLength: 4 })
    .map((families): Capability => ({ kind: 'long-lived-graceful-restart', families })),
  fc.array(fc.record({ afi: u16, safi: u8, mode: fc.integer({ min: 1, max: 3 }) }), { maxLength: 4 }).map((families): Capability => ({ kind: 'add-path', families })),
  fc.array(fc.record({ afi: u16, safi: u16, nextHopAfi: u16 }), { maxLength: 4 }).map((families): Capability => ({ kind: 'extended-next-hop', families })),
  fc.record({ hostname: hostAscii, domain: hostAscii }).map((f): Capability => ({ kind: 'fqdn', ...f })),
  fc.integer({ min: 0, max: 255 }).map((role): Capability => ({ kind: 'role', role })),
  fc
    .record({ code: u8.filter((c) => !KNOWN_CAPS.has(c)), data: bytes(16) })
    .map((u): Capability => ({ kind: 'unknown', code: u.code, data: u.data })),
);

function paramsLength(params: readonly (readonly Capability[])[]): number {
  let n = 0;
  for (const caps of params) {
    n += 2;
    for (const c of caps) n += 2 + encodeCapabilityValue(c).length;
  }
  return n;
}

export const openArb: fc.Arbitrary<OpenMessage> = fc
  .record({
    myAs: fc.integer({ min: 1, max: 0xffff }),
    holdTime: u16.filter((h) => h !== 1 && h !== 2),
    bgpId: fc.ipV4().filter((a) => a !== '0.0.0.0'),
    extendedParameters: fc.boolean(),
    params: fc.array(fc.array(capabilityArb, { maxLength: 5 }), { maxLength: 3 }),
  })
  .map(
    (o): OpenMessage => ({
      type: MessageType.Open,
      version: 4,
      myAs: o.myAs,
      holdTime: o.holdTime,
      bgpId: o.bgpId,
      // The 1-octet form only holds 255 octets of parameters: beyond that RFC 9072's form is required.
      extendedParameters: o.extendedParameters || paramsLength(o.params) > 255,
      parameters: o.params.map((capabilities): OptionalParameter => ({ kind: 'capabilities', capabilities })),
    }),
  );

function prefixArb(afi: number): fc.Arbitrary<Prefix> {
  const width = afi === Afi.Ipv6 ? 16 : 4;
  return fc.record({ addr: fc.uint8Array({ minLength: width, maxLength: width }), length: fc.integer({ min: 0, max: width * 8 }) }).map(({ addr, length }) => {
    const a = new Uint8Array(addr);
    // Host bits zero, as a real speaker sends them (the codec keeps whatever it receives).
    for (let i = 0; i < width; i++) {
      const bits = Math.max(0, Math.min(8, length - i * 8));
      a[i] = a[i]! & ((0xff << (8 - bits)) & 0xff);
    }
    return { afi, addr: a, length };
  });
}

export function nlriArb(afi: number, safi: number, addPath: boolean, max: number): fc.Arbitrary<NlriList> {
  return fc
    .array(fc.tuple(prefixArb(afi), u32), { maxLength: max })
    .map((ps) => NlriList.fromPrefixes(afi, safi, ps.map(([p, id]) => (addPath ? { ...p, pathId: id } : p)), addPath));
}

const segmentArb = (asMax: number): fc.Arbitrary<AsPathSegment> =>
  fc.record({ type: fc.integer({ min: 1, max: 4 }), asns: fc.array(fc.integer({ min: 0, max: asMax }), { minLength: 1, maxLength: 8 }) });

const flagsArb = (base: number): fc.Arbitrary<number> =>
  fc.record({ partial: fc.boolean(), ext: fc.boolean() }).map((f) => base | (f.partial ? AttrFlag.Partial : 0) | (f.ext ? AttrFlag.ExtendedLength : 0));

const T = AttrFlag.Transitive;
const O = AttrFlag.Optional;
const OT = O | T;
const addr = fc.ipV4();
const hostV4 = fc.ipV4().filter((a) => {
  const first = Number(a.split('.')[0]);
  return a !== '0.0.0.0' && first < 224;
});

/** Every attribute kind (one arbitrary each), for a session of the given AS width. */
export function attributeArbs(fourOctetAs: boolean, ipv6AddPath: boolean): fc.Arbitrary<PathAttribute>[] {
  const asMax = fourOctetAs ? 0xffffffff : 0xffff;
  return [
    fc.record({ flags: flagsArb(T), origin: fc.integer({ min: 0, max: 2 }) }).map((a): PathAttribute => ({ kind: 'origin', ...a })),
    fc.record({ flags: flagsArb(T), segments: fc.array(segmentArb(asMax), { maxLength: 4 }) }).map((a): PathAttribute => ({ kind: 'as-path', ...a })),
    fc.record({ flags: flagsArb(T), nextHop: hostV4 }).map((a): PathAttribute => ({ kind: 'next-hop', ...a })),
    fc.record({ flags: flagsArb(O), value: u32 }).map((a): PathAttribute => ({ kind: 'med', ...a })),
    fc.record({ flags: flagsArb(T), value: u32 }).map((a): PathAttribute => ({ kind: 'local-pref', ...a })),
    flagsArb(T).map((flags): PathAttribute => ({ kind: 'atomic-aggregate', flags })),
    fc.record({ flags: flagsArb(OT), asn: fc.integer({ min: 0, max: asMax }), address: addr }).map((a): PathAttribute => ({ kind: 'aggregator', ...a })),
    fc.record({ flags: flagsArb(OT), communities: fc.array(u32, { minLength: 1, maxLength: 8 }) }).map((a): PathAttribute => ({ kind: 'communities', ...a })),
    fc.record({ flags: flagsArb(O), originatorId: addr }).map((a): PathAttribute => ({ kind: 'originator-id', ...a })),
    fc.record({ flags: flagsArb(O), clusterIds: fc.array(addr, { minLength: 1, maxLength: 4 }) }).map((a): PathAttribute => ({ kind: 'cluster-list', ...a })),
    fc
      .record({ flags: flagsArb(OT), communities: fc.array(fc.uint8Array({ minLength: 8, maxLength: 8 }).map((b) => new Uint8Array(b)), { minLength: 1, maxLength: 4 }) })
      .map((a): PathAttribute => ({ kind: 'extended-communities', ...a })),
    fc.record({ flags: flagsArb(OT), segments: fc.array(segmentArb(0xffffffff).map((s) => ({ ...s, type: s.type <= 2 ? s.type : 2 })), { maxLength: 3 }) }).map((a): PathAttribute => ({ kind: 'as4-path', ...a })),
    fc.record({ flags: flagsArb(OT), asn: u32, address: addr }).map((a): PathAttribute => ({ kind: 'as4-aggregator', ...a })),
    fc.record({ flags: flagsArb(OT), communities: fc.array(fc.tuple(u32, u32, u32), { minLength: 1, maxLength: 4 }) }).map((a): PathAttribute => ({ kind: 'large-communities', ...a })),
    fc.record({ flags: flagsArb(OT), asn: u32 }).map((a): PathAttribute => ({ kind: 'only-to-customer', ...a })),
    fc
      .record({ flags: flagsArb(O), nh: fc.constantFrom(16, 32), nlri: nlriArb(Afi.Ipv6, Safi.Unicast, ipv6AddPath, 10) })
      .chain(({ flags, nh, nlri }) =>
        fc.uint8Array({ minLength: nh, maxLength: nh }).map((h): PathAttribute => ({ kind: 'mp-reach', flags, afi: 2, safi: 1, nextHop: new Uint8Array(h), reserved: 0, nlri })),
      ),
    fc.record({ flags: flagsArb(O), withdrawn: nlriArb(Afi.Ipv6, Safi.Unicast, ipv6AddPath, 10) }).map((a): PathAttribute => ({ kind: 'mp-unreach', afi: 2, safi: 1, ...a })),
    fc
      .record({ flags: fc.constantFrom(O, OT, OT | AttrFlag.Partial, O | AttrFlag.ExtendedLength), typeCode: fc.integer({ min: 36, max: 254 }), data: bytes(40) })
      .map((a): PathAttribute => ({ kind: 'unknown', ...a })),
  ];
}

export function updateArb(fourOctetAs: boolean, v4AddPath: boolean, v6AddPath: boolean): fc.Arbitrary<UpdateMessage> {
  return fc
    .record({
      attrs: fc.subarray(attributeArbs(fourOctetAs, v6AddPath)),
      withdrawn: nlriArb(Afi.Ipv4, Safi.Unicast, v4AddPath, 30),
      nlri: nlriArb(Afi.Ipv4, Safi.Unicast, v4AddPath, 30),
      seed: fc.integer(),
    })
    .chain(({ attrs, withdrawn, nlri }) =>
      fc.tuple(...attrs).chain((list) =>
        fc.shuffledSubarray(list, { minLength: list.length, maxLength: list.length }).map(
          (ordered): UpdateMessage => ({ type: MessageType.Update, withdrawn, attributes: ordered, nlri }),
        ),
      ),
    );
}

export const notificationArb: fc.Arbitrary<NotificationMessage> = fc
  .record({ code: u8, subcode: u8, data: bytes(64) })
  .map((n) => ({ type: MessageType.Notification, ...n }));

export const routeRefreshArb: fc.Arbitrary<RouteRefreshMessage> = fc
  .record({ afi: u16, safi: u8, subtype: u8, orf: bytes(32) })
  .map((r) => ({ type: MessageType.RouteRefresh, ...r, orf: r.subtype === 1 || r.subtype === 2 ? new Uint8Array(0) : r.orf }));

export const keepaliveArb: fc.Arbitrary<KeepaliveMessage> = fc.constant({ type: MessageType.Keepalive });
