// The path attribute table: one descriptor per attribute type drives decode, encode, validation and the
// RFC 7606 outcome, as BIRD's attrs.c does. The UPDATE parser (update.ts) owns the framing of the
// attribute section (lengths, duplicates, missing attributes); a descriptor only sees one value.
import { decodeSegments, encodeSegments } from './as-path.js';
import { ipv4ToString, parseIpv4OrThrow } from './addr.js';
import { UpdateSubcode } from './errors.js';
import { NlriList, familyKey, isPrefixFamily } from './nlri.js';
import { Reader, view } from './reader.js';
import { Writer } from './writer.js';
import {
  Afi,
  AttrFlag,
  AttrType,
  ErrorAction,
  type ErrorActionName,
  type PathAttribute,
  type PathAttributeKind,
  type WireContext,
} from './types.js';

/** Why one attribute value is unacceptable, and what RFC 7606 says to do about it. */
export interface AttrFault {
  readonly fault: string;
  readonly subcode: number;
  readonly action: ErrorActionName;
}

type KnownKind = Exclude<PathAttributeKind, 'unknown' | 'malformed'>;
type AttrOf<K extends PathAttributeKind> = Extract<PathAttribute, { kind: K }>;

export interface AttrDescriptor {
  readonly typeCode: number;
  readonly kind: KnownKind;
  readonly name: string;
  /** The Optional and Transitive bits this attribute must carry (RFC 4271 §5, RFC 7606 §3(c)). */
  readonly flags: number;
  /** RFC 7606 approach when the value is malformed (§7.x per attribute). */
  readonly onMalformed: ErrorActionName;
  decode(data: Uint8Array, flags: number, ctx: WireContext): PathAttribute | AttrFault;
  encode(a: PathAttribute, w: Writer, ctx: WireContext): void;
  /**
   * Semantic checks (e.g. a martian NEXT_HOP) for attributes built locally; null when acceptable.
   * `decode` already applies the same checks to received bytes.
   */
  validate(a: PathAttribute, ctx: WireContext): AttrFault | null;
}

const WELL_KNOWN = AttrFlag.Transitive;
const OPT_TRANS = AttrFlag.Optional | AttrFlag.Transitive;
const OPT_NONTRANS = AttrFlag.Optional;

function fault(fault: string, subcode: number, action: ErrorActionName): AttrFault {
  return { fault, subcode, action };
}

const lengthFault = (name: string, action: ErrorActionName): AttrFault =>
  fault(`${name}: bad length`, UpdateSubcode.AttributeLengthError, action);

function def<K extends KnownKind>(d: {
  typeCode: number;
  kind: K;
  name: string;
  flags: number;
  onMalformed: ErrorActionName;
  decode(data: Uint8Array, flags: number, ctx: WireContext): AttrOf<K> | AttrFault;
  encode(a: AttrOf<K>, w: Writer, ctx: WireContext): void;
  validate?(a: AttrOf<K>, ctx: WireContext): AttrFault | null;
}): AttrDescriptor {
  const check = (a: PathAttribute): AttrOf<K> => {
    if (a.kind !== d.kind) throw new Error(`descriptor ${d.kind} given ${a.kind} (bug)`);
    return a as AttrOf<K>;
  };
  return {
    typeCode: d.typeCode,
    kind: d.kind,
    name: d.name,
    flags: d.flags,
    onMalformed: d.onMalformed,
    decode: d.decode,
    encode: (a, w, ctx) => d.encode(check(a), w, ctx),
    validate: (a, ctx) => (d.validate ? d.validate(check(a), ctx) : null),
  };
}

function u32List(data: Uint8Array): number[] {
  const r = new Reader(data);
  const out = new Array<number>(data.length >> 2);
  for (let i = 0; i < out.length; i++) out[i] = r.u32();
  return out;
}

function ipv4List(data: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < data.length; i += 4) out.push(ipv4ToString(data, i));
  return out;
}

/** RFC 4271 §6.3 / RFC 7606 §7.3: a NEXT_HOP that can never be a next hop. */
function martianIpv4(b: Uint8Array): boolean {
  const first = b[0]!;
  const zero = first === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0;
  // 0.0.0.0, multicast 224/4 and the class E / limited broadcast range 240/4.
  return zero || first >= 224;
}

/** RFC 4760 §3 / RFC 7606 §7.11 / RFC 8950 §3: next hop lengths we accept per NLRI family. */
function nextHopLengthOk(afi: number, safi: number, len: number, ctx: WireContext): boolean {
  if (afi === Afi.Ipv6) return len === 16 || len === 32;
  if (afi === Afi.Ipv4) {
    if (len === 4) return true;
    return ctx.extendedNextHop.has(familyKey(afi, safi)) && (len === 16 || len === 32);
  }
  return true;
}

function mpFault(what: string, ctx: WireContext): AttrFault {
  // RFC 7606 §7.11 / §5.3: the NLRI cannot be located reliably, so neither treat-as-withdraw nor
  // attribute-discard is possible: session reset, or AFI/SAFI disable when configured.
  return fault(what, UpdateSubcode.OptionalAttributeError, ctx.afiSafiDisable ? ErrorAction.AfiSafiDisable : ErrorAction.SessionReset);
}

const DESCRIPTORS: readonly AttrDescriptor[] = [
  // RFC 4271 §5.1.1, RFC 7606 §7.1: malformed ORIGIN -> treat-as-withdraw.
  def({
    typeCode: AttrType.Origin,
    kind: 'origin',
    name: 'ORIGIN',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) => {
      if (d.length !== 1) return lengthFault('ORIGIN', ErrorAction.TreatAsWithdraw);
      if (d[0]! > 2) return fault('ORIGIN: undefined value', UpdateSubcode.InvalidOriginAttribute, ErrorAction.TreatAsWithdraw);
      return { kind: 'origin', flags, origin: d[0]! };
    },
    encode: (a, w) => void w.u8(a.origin),
    validate: (a) => (a.origin > 2 ? fault('ORIGIN: undefined value', UpdateSubcode.InvalidOriginAttribute, ErrorAction.TreatAsWithdraw) : null),
  }),
  // RFC 4271 §5.1.2, RFC 6793 §4 (ASN width from the session), RFC 7606 §7.2 -> treat-as-withdraw.
  def({
    typeCode: AttrType.AsPath,
    kind: 'as-path',
    name: 'AS_PATH',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags, ctx) => {
      const segments = decodeSegments(d, ctx.fourOctetAs ? 4 : 2);
      return segments === null
        ? fault('AS_PATH: malformed segment', UpdateSubcode.MalformedAsPath, ErrorAction.TreatAsWithdraw)
        : { kind: 'as-path', flags, segments };
    },
    encode: (a, w, ctx) => encodeSegments(w, a.segments, ctx.fourOctetAs ? 4 : 2),
  }),
  // RFC 4271 §5.1.3, RFC 7606 §7.3 -> treat-as-withdraw.
  def({
    typeCode: AttrType.NextHop,
    kind: 'next-hop',
    name: 'NEXT_HOP',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) => {
      if (d.length !== 4) return lengthFault('NEXT_HOP', ErrorAction.TreatAsWithdraw);
      if (martianIpv4(d)) return fault(`NEXT_HOP: invalid address ${ipv4ToString(d)}`, UpdateSubcode.InvalidNextHopAttribute, ErrorAction.TreatAsWithdraw);
      return { kind: 'next-hop', flags, nextHop: ipv4ToString(d) };
    },
    encode: (a, w) => void w.bytes(parseIpv4OrThrow(a.nextHop)),
    validate: (a) =>
      martianIpv4(parseIpv4OrThrow(a.nextHop))
        ? fault(`NEXT_HOP: invalid address ${a.nextHop}`, UpdateSubcode.InvalidNextHopAttribute, ErrorAction.TreatAsWithdraw)
        : null,
  }),
  // RFC 4271 §5.1.4, RFC 7606 §7.4 -> treat-as-withdraw.
  def({
    typeCode: AttrType.Med,
    kind: 'med',
    name: 'MULTI_EXIT_DISC',
    flags: OPT_NONTRANS,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) => (d.length !== 4 ? lengthFault('MED', ErrorAction.TreatAsWithdraw) : { kind: 'med', flags, value: new Reader(d).u32() }),
    encode: (a, w) => void w.u32(a.value),
  }),
  // RFC 4271 §5.1.5, RFC 7606 §7.5 -> treat-as-withdraw (ignoring it from eBGP is the speaker's).
  def({
    typeCode: AttrType.LocalPref,
    kind: 'local-pref',
    name: 'LOCAL_PREF',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) =>
      d.length !== 4 ? lengthFault('LOCAL_PREF', ErrorAction.TreatAsWithdraw) : { kind: 'local-pref', flags, value: new Reader(d).u32() },
    encode: (a, w) => void w.u32(a.value),
  }),
  // RFC 4271 §5.1.6, RFC 7606 §7.6 -> attribute-discard.
  def({
    typeCode: AttrType.AtomicAggregate,
    kind: 'atomic-aggregate',
    name: 'ATOMIC_AGGREGATE',
    flags: WELL_KNOWN,
    onMalformed: ErrorAction.AttributeDiscard,
    decode: (d, flags) => (d.length !== 0 ? lengthFault('ATOMIC_AGGREGATE', ErrorAction.AttributeDiscard) : { kind: 'atomic-aggregate', flags }),
    encode: () => undefined,
  }),
  // RFC 4271 §5.1.7, RFC 6793 §4 (6 or 8 octets by session), RFC 7606 §7.7 -> attribute-discard.
  def({
    typeCode: AttrType.Aggregator,
    kind: 'aggregator',
    name: 'AGGREGATOR',
    flags: OPT_TRANS,
    onMalformed: ErrorAction.AttributeDiscard,
    decode: (d, flags, ctx) => {
      const w = ctx.fourOctetAs ? 4 : 2;
      if (d.length !== w + 4) return lengthFault('AGGREGATOR', ErrorAction.AttributeDiscard);
      const r = new Reader(d);
      const asn = w === 4 ? r.u32() : r.u16();
      return { kind: 'aggregator', flags, asn, address: ipv4ToString(d, w) };
    },
    encode: (a, w, ctx) => {
      if (ctx.fourOctetAs) w.u32(a.asn);
      else w.u16(a.asn);
      w.bytes(parseIpv4OrThrow(a.address));
    },
  }),
  // RFC 1997, RFC 7606 §7.8 -> treat-as-withdraw.
  def({
    typeCode: AttrType.Communities,
    kind: 'communities',
    name: 'COMMUNITIES',
    flags: OPT_TRANS,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) =>
      d.length === 0 || d.length % 4 !== 0
        ? lengthFault('COMMUNITIES', ErrorAction.TreatAsWithdraw)
        : { kind: 'communities', flags, communities: u32List(d) },
    encode: (a, w) => {
      for (const c of a.communities) w.u32(c);
    },
  }),
  // RFC 4456 §8, RFC 7606 §7.9 -> treat-as-withdraw.
  def({
    typeCode: AttrType.OriginatorId,
    kind: 'originator-id',
    name: 'ORIGINATOR_ID',
    flags: OPT_NONTRANS,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) =>
      d.length !== 4 ? lengthFault('ORIGINATOR_ID', ErrorAction.TreatAsWithdraw) : { kind: 'originator-id', flags, originatorId: ipv4ToString(d) },
    encode: (a, w) => void w.bytes(parseIpv4OrThrow(a.originatorId)),
  }),
  // RFC 4456 §8, RFC 7606 §7.10 -> treat-as-withdraw.
  def({
    typeCode: AttrType.ClusterList,
    kind: 'cluster-list',
    name: 'CLUSTER_LIST',
    flags: OPT_NONTRANS,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) =>
      d.length === 0 || d.length % 4 !== 0
        ? lengthFault('CLUSTER_LIST', ErrorAction.TreatAsWithdraw)
        : { kind: 'cluster-list', flags, clusterIds: ipv4List(d) },
    encode: (a, w) => {
      for (const id of a.clusterIds) w.bytes(parseIpv4OrThrow(id));
    },
  }),
  // RFC 4760 §3; errors per RFC 7606 §7.11 (see mpFault).
  def({
    typeCode: AttrType.MpReachNlri,
    kind: 'mp-reach',
    name: 'MP_REACH_NLRI',
    flags: OPT_NONTRANS,
    onMalformed: ErrorAction.SessionReset,
    decode: (d, flags, ctx) => {
      const r = new Reader(d);
      const afi = r.u16();
      const safi = r.u8();
      const nhLen = r.u8();
      const nextHop = r.bytes(nhLen);
      const reserved = r.u8();
      if (!r.ok) return mpFault('MP_REACH_NLRI: truncated before NLRI', ctx);
      const rest = r.rest();
      if (!isPrefixFamily(afi, safi)) {
        // Unknown family, carried through opaque (RFC 4760 §7 lets us ignore families not negotiated).
        return { kind: 'mp-reach', flags, afi, safi, nextHop, reserved, nlri: NlriList.opaque(afi, safi, rest) };
      }
      if (!nextHopLengthOk(afi, safi, nhLen, ctx)) return mpFault(`MP_REACH_NLRI: next hop length ${nhLen}`, ctx);
      const parsed = NlriList.parse(rest, afi, safi, ctx.addPathReceive.has(familyKey(afi, safi)));
      if (!parsed.ok) return mpFault(`MP_REACH_NLRI: NLRI ${parsed.problem}`, ctx);
      return { kind: 'mp-reach', flags, afi, safi, nextHop, reserved, nlri: parsed.list };
    },
    encode: (a, w) => void w.u16(a.afi).u8(a.safi).u8(a.nextHop.length).bytes(a.nextHop).u8(a.reserved).bytes(a.nlri.bytes),
  }),
  def({
    typeCode: AttrType.MpUnreachNlri,
    kind: 'mp-unreach',
    name: 'MP_UNREACH_NLRI',
    flags: OPT_NONTRANS,
    onMalformed: ErrorAction.SessionReset,
    decode: (d, flags, ctx) => {
      const r = new Reader(d);
      const afi = r.u16();
      const safi = r.u8();
      if (!r.ok) return mpFault('MP_UNREACH_NLRI: truncated', ctx);
      const rest = r.rest();
      if (!isPrefixFamily(afi, safi)) return { kind: 'mp-unreach', flags, afi, safi, withdrawn: NlriList.opaque(afi, safi, rest) };
      const parsed = NlriList.parse(rest, afi, safi, ctx.addPathReceive.has(familyKey(afi, safi)));
      if (!parsed.ok) return mpFault(`MP_UNREACH_NLRI: NLRI ${parsed.problem}`, ctx);
      return { kind: 'mp-unreach', flags, afi, safi, withdrawn: parsed.list };
    },
    encode: (a, w) => void w.u16(a.afi).u8(a.safi).bytes(a.withdrawn.bytes),
  }),
  // RFC 4360 §2, RFC 7606 §7.14 -> treat-as-withdraw.
  def({
    typeCode: AttrType.ExtendedCommunities,
    kind: 'extended-communities',
    name: 'EXTENDED_COMMUNITIES',
    flags: OPT_TRANS,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) => {
      if (d.length === 0 || d.length % 8 !== 0) return lengthFault('EXTENDED_COMMUNITIES', ErrorAction.TreatAsWithdraw);
      const communities: Uint8Array[] = [];
      for (let i = 0; i < d.length; i += 8) communities.push(view(d, i, i + 8));
      return { kind: 'extended-communities', flags, communities };
    },
    encode: (a, w) => {
      for (const c of a.communities) {
        if (c.length !== 8) throw new RangeError('extended community must be 8 bytes');
        w.bytes(c);
      }
    },
  }),
  // RFC 6793 §6: a malformed AS4_PATH is discarded and the session continues (attribute-discard).
  def({
    typeCode: AttrType.As4Path,
    kind: 'as4-path',
    name: 'AS4_PATH',
    flags: OPT_TRANS,
    onMalformed: ErrorAction.AttributeDiscard,
    decode: (d, flags) => {
      const segments = decodeSegments(d, 4);
      return segments === null
        ? fault('AS4_PATH: malformed segment', UpdateSubcode.MalformedAsPath, ErrorAction.AttributeDiscard)
        : { kind: 'as4-path', flags, segments };
    },
    encode: (a, w) => encodeSegments(w, a.segments, 4),
  }),
  // RFC 6793 §6: malformed AS4_AGGREGATOR -> attribute-discard.
  def({
    typeCode: AttrType.As4Aggregator,
    kind: 'as4-aggregator',
    name: 'AS4_AGGREGATOR',
    flags: OPT_TRANS,
    onMalformed: ErrorAction.AttributeDiscard,
    decode: (d, flags) =>
      d.length !== 8
        ? lengthFault('AS4_AGGREGATOR', ErrorAction.AttributeDiscard)
        : { kind: 'as4-aggregator', flags, asn: new Reader(d).u32(), address: ipv4ToString(d, 4) },
    encode: (a, w) => void w.u32(a.asn).bytes(parseIpv4OrThrow(a.address)),
  }),
  // RFC 8092 §5 -> treat-as-withdraw (length 0 or not a multiple of 12).
  def({
    typeCode: AttrType.LargeCommunities,
    kind: 'large-communities',
    name: 'LARGE_COMMUNITY',
    flags: OPT_TRANS,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) => {
      if (d.length === 0 || d.length % 12 !== 0) return lengthFault('LARGE_COMMUNITY', ErrorAction.TreatAsWithdraw);
      const v = u32List(d);
      const communities: [number, number, number][] = [];
      for (let i = 0; i < v.length; i += 3) communities.push([v[i]!, v[i + 1]!, v[i + 2]!]);
      return { kind: 'large-communities', flags, communities };
    },
    encode: (a, w) => {
      for (const c of a.communities) w.u32(c[0]).u32(c[1]).u32(c[2]);
    },
  }),
  // RFC 9234 §5: ONLY_TO_CUSTOMER, 4 octets; a wrong length is treat-as-withdraw (RFC 7606 default).
  def({
    typeCode: AttrType.OnlyToCustomer,
    kind: 'only-to-customer',
    name: 'ONLY_TO_CUSTOMER',
    flags: OPT_TRANS,
    onMalformed: ErrorAction.TreatAsWithdraw,
    decode: (d, flags) =>
      d.length !== 4 ? lengthFault('ONLY_TO_CUSTOMER', ErrorAction.TreatAsWithdraw) : { kind: 'only-to-customer', flags, asn: new Reader(d).u32() },
    encode: (a, w) => void w.u32(a.asn),
  }),
];

const BY_CODE: (AttrDescriptor | undefined)[] = new Array<AttrDescriptor | undefined>(256);
const BY_KIND = new Map<PathAttributeKind, AttrDescriptor>();
for (const d of DESCRIPTORS) {
  BY_CODE[d.typeCode] = d;
  BY_KIND.set(d.kind, d);
}

export function descriptorByCode(code: number): AttrDescriptor | undefined {
  return BY_CODE[code];
}

export function descriptorByKind(kind: PathAttributeKind): AttrDescriptor | undefined {
  return BY_KIND.get(kind);
}

export const ATTRIBUTE_DESCRIPTORS = DESCRIPTORS;

export function attributeTypeCode(a: PathAttribute): number {
  if (a.kind === 'unknown' || a.kind === 'malformed') return a.typeCode;
  const d = BY_KIND.get(a.kind);
  if (d === undefined) throw new Error(`no descriptor for ${a.kind} (bug)`);
  return d.typeCode;
}

/** Default flags for an attribute we originate (RFC 4271 §5; Extended Length left to the encoder). */
export function defaultFlags(kind: KnownKind): number {
  const d = BY_KIND.get(kind);
  if (d === undefined) throw new Error(`no descriptor for ${kind} (bug)`);
  return d.flags;
}

/**
 * Encodes one attribute (flags, type, length, value). The Extended Length bit is kept as given; when the
 * value needs more than 255 octets it is set regardless (RFC 4271 §4.3).
 */
export function encodeAttribute(w: Writer, a: PathAttribute, ctx: WireContext): void {
  const code = attributeTypeCode(a);
  const start = w.length;
  const ext = (a.flags & AttrFlag.ExtendedLength) !== 0;
  w.u8(a.flags & 0xff).u8(code);
  const lenAt = w.reserve(ext ? 2 : 1);
  const valueStart = w.length;
  if (a.kind === 'unknown' || a.kind === 'malformed') w.bytes(a.data);
  else BY_KIND.get(a.kind)!.encode(a, w, ctx);
  const len = w.length - valueStart;
  if (ext) {
    w.patchU16(lenAt, len);
  } else if (len <= 255) {
    w.patchU8(lenAt, len);
  } else {
    // Rare: the value outgrew one length octet, so rewrite it with Extended Length set.
    const value = w.copy(valueStart, w.length);
    w.truncate(start);
    w.u8((a.flags | AttrFlag.ExtendedLength) & 0xff).u8(code).u16(value.length).bytes(value);
  }
}

/**
 * Runs each known attribute's semantic check (the same rules `decode` applies to received bytes) on an
 * attribute list built locally, e.g. by export policy, before it is sent.
 */
export function validateAttributes(attrs: readonly PathAttribute[], ctx: WireContext): AttrFault[] {
  const out: AttrFault[] = [];
  for (const a of attrs) {
    if (a.kind === 'unknown' || a.kind === 'malformed') continue;
    const f = BY_KIND.get(a.kind)?.validate(a, ctx);
    if (f) out.push(f);
  }
  return out;
}

/**
 * RFC 4271 §5 / §9.1.3: before re-advertising, an unrecognised optional transitive attribute gets the
 * Partial bit; an unrecognised optional non-transitive one is dropped. Known attributes pass unchanged.
 */
export function attributesForReadvertisement(attrs: readonly PathAttribute[]): PathAttribute[] {
  const out: PathAttribute[] = [];
  for (const a of attrs) {
    if (a.kind !== 'unknown') {
      out.push(a);
      continue;
    }
    if ((a.flags & AttrFlag.Transitive) === 0) continue;
    out.push(withPartial(a));
  }
  return out;
}

export function withPartial<A extends PathAttribute>(a: A): A {
  return { ...a, flags: a.flags | AttrFlag.Partial };
}
