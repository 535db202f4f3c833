// Adj-RIB-Out packing: one attribute set + many prefixes -> as few UPDATEs as fit the negotiated
// maximum (4096, or 65535 with RFC 8654). The attribute section is encoded once; prefixes are copied
// as wire bytes between precomputed entry offsets, so there is no object per prefix.
import { encodeAttribute } from './attributes.js';
import { maxMessageLength } from './header.js';
import { NlriList, familyKey } from './nlri.js';
import { Writer } from './writer.js';
import { Afi, AttrFlag, AttrType, HEADER_LENGTH, MessageType, Safi, type PathAttribute, type WireContext } from './types.js';

function header(out: Uint8Array, length: number): void {
  out.fill(0xff, 0, 16);
  out[16] = length >>> 8;
  out[17] = length & 255;
  out[18] = MessageType.Update;
}

function encodeList(attrs: readonly PathAttribute[], ctx: WireContext): Uint8Array {
  const w = new Writer(128);
  for (const a of attrs) encodeAttribute(w, a, ctx);
  return w.finish();
}

/** Splits entries [0, count) into runs whose byte size fits `space`. */
function chunks(nlri: NlriList, space: number): { offsets: Uint32Array; runs: [number, number][] } {
  const offsets = nlri.entryOffsets();
  const runs: [number, number][] = [];
  let from = 0;
  while (from < nlri.count) {
    let to = from;
    while (to < nlri.count && offsets[to + 1]! - offsets[from]! <= space) to++;
    if (to === from) throw new RangeError('a single prefix does not fit in an UPDATE with these attributes');
    runs.push([from, to]);
    from = to;
  }
  return { offsets, runs };
}

function checkAddPath(nlri: NlriList, ctx: WireContext): void {
  if (nlri.addPath !== ctx.addPathSend.has(familyKey(nlri.afi, nlri.safi))) {
    throw new RangeError(`NLRI add-path=${nlri.addPath} does not match the negotiated add-path send for ${familyKey(nlri.afi, nlri.safi)}`);
  }
}

/**
 * Packs announcements. IPv4 unicast without an MP_REACH_NLRI in `attrs` goes in the classic NLRI field
 * (RFC 4271 §4.3); anything else needs an MP_REACH_NLRI template in `attrs` (afi, safi, next hop; its
 * own NLRI is ignored) and the prefixes go inside it (RFC 4760 §3), which is always written with the
 * Extended Length bit so one attribute can hold a full message worth of prefixes.
 */
export function packUpdates(attrs: readonly PathAttribute[], nlri: NlriList, ctx: WireContext): Uint8Array[] {
  if (nlri.count === 0) return [];
  checkAddPath(nlri, ctx);
  const max = maxMessageLength(ctx, MessageType.Update);
  const mpIndex = attrs.findIndex((a) => a.kind === 'mp-reach');
  if (mpIndex < 0) {
    if (nlri.afi !== Afi.Ipv4 || nlri.safi !== Safi.Unicast) throw new RangeError('non-IPv4-unicast NLRI needs an MP_REACH_NLRI template');
    const section = encodeList(attrs, ctx);
    const base = HEADER_LENGTH + 4 + section.length;
    const { offsets, runs } = chunks(nlri, max - base);
    return runs.map(([from, to]) => {
      const n = offsets[to]! - offsets[from]!;
      const out = new Uint8Array(base + n);
      header(out, out.length);
      out[19] = 0;
      out[20] = 0;
      out[21] = section.length >>> 8;
      out[22] = section.length & 255;
      out.set(section, 23);
      out.set(nlri.bytes.subarray(offsets[from]!, offsets[to]!), base);
      return out;
    });
  }
  const mp = attrs[mpIndex]!;
  if (mp.kind !== 'mp-reach') throw new Error('unreachable');
  if (mp.afi !== nlri.afi || mp.safi !== nlri.safi) throw new RangeError('MP_REACH_NLRI template family differs from the NLRI');
  const pre = encodeList(attrs.slice(0, mpIndex), ctx);
  const post = encodeList(attrs.slice(mpIndex + 1), ctx);
  // flags, type, 2-byte length, AFI, SAFI, next hop length, next hop, reserved.
  const mpHead = 4 + 4 + mp.nextHop.length + 1;
  const base = HEADER_LENGTH + 4 + pre.length + mpHead + post.length;
  const { offsets, runs } = chunks(nlri, Math.min(max - base, 0xffff - (mpHead - 4)));
  return runs.map(([from, to]) => {
    const n = offsets[to]! - offsets[from]!;
    const out = new Uint8Array(base + n);
    header(out, out.length);
    const aLen = pre.length + mpHead + n + post.length;
    out[21] = aLen >>> 8;
    out[22] = aLen & 255;
    let o = 23;
    out.set(pre, o);
    o += pre.length;
    out[o++] = (mp.flags | AttrFlag.ExtendedLength) & 0xff;
    out[o++] = AttrType.MpReachNlri;
    const vLen = mpHead - 4 + n;
    out[o++] = vLen >>> 8;
    out[o++] = vLen & 255;
    out[o++] = mp.afi >>> 8;
    out[o++] = mp.afi & 255;
    out[o++] = mp.safi;
    out[o++] = mp.nextHop.length;
    out.set(mp.nextHop, o);
    o += mp.nextHop.length;
    out[o++] = mp.reserved;
    out.set(nlri.bytes.subarray(offsets[from]!, offsets[to]!), o);
    o += n;
    out.set(post, o);
    return out;
  });
}

/** Packs withdrawals: IPv4 unicast in the Withdrawn Routes field, others in MP_UNREACH_NLRI. */
export function packWithdrawals(nlri: NlriList, ctx: WireContext): Uint8Array[] {
  if (nlri.count === 0) return [];
  checkAddPath(nlri, ctx);
  const max = maxMessageLength(ctx, MessageType.Update);
  if (nlri.afi === Afi.Ipv4 && nlri.safi === Safi.Unicast) {
    const base = HEADER_LENGTH + 4;
    const { offsets, runs } = chunks(nlri, max - base);
    return runs.map(([from, to]) => {
      const n = offsets[to]! - offsets[from]!;
      const out = new Uint8Array(base + n);
      header(out, out.length);
      out[19] = n >>> 8;
      out[20] = n & 255;
      out.set(nlri.bytes.subarray(offsets[from]!, offsets[to]!), 21);
      out[21 + n] = 0;
      out[22 + n] = 0;
      return out;
    });
  }
  const mpHead = 4 + 3;
  const base = HEADER_LENGTH + 4 + mpHead;
  const { offsets, runs } = chunks(nlri, Math.min(max - base, 0xffff - 3));
  return runs.map(([from, to]) => {
    const n = offsets[to]! - offsets[from]!;
    const out = new Uint8Array(base + n);
    header(out, out.length);
    const aLen = mpHead + n;
    out[21] = aLen >>> 8;
    out[22] = aLen & 255;
    out[23] = AttrFlag.Optional | AttrFlag.ExtendedLength;
    out[24] = AttrType.MpUnreachNlri;
    out[25] = (n + 3) >>> 8;
    out[26] = (n + 3) & 255;
    out[27] = nlri.afi >>> 8;
    out[28] = nlri.afi & 255;
    out[29] = nlri.safi;
    out.set(nlri.bytes.subarray(offsets[from]!, offsets[to]!), 30);
    return out;
  });
}
