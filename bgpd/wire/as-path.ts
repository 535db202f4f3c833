// AS_PATH / AS4_PATH segments (RFC 4271 §4.3, RFC 5065 §3, RFC 6793) and the RFC 6793 §4.2.3 merge.
import { Reader } from './reader.js';
import { Writer } from './writer.js';
import { AsPathSegmentType, type Aggregator, type AsPathSegment } from './types.js';
import { AS_TRANS } from './open.js';

/** Parses segments of `width` (2 or 4) octet ASNs; null when malformed (RFC 7606 §7.2). */
export function decodeSegments(data: Uint8Array, width: 2 | 4): AsPathSegment[] | null {
  const r = new Reader(data);
  const out: AsPathSegment[] = [];
  while (r.remaining > 0) {
    const type = r.u8();
    const count = r.u8();
    // RFC 7606 §7.2: unknown segment type, zero-length segment or an overrun make AS_PATH malformed.
    if (type < AsPathSegmentType.AsSet || type > AsPathSegmentType.AsConfedSet) return null;
    if (count === 0 || !r.has(count * width)) return null;
    const asns = new Array<number>(count);
    for (let i = 0; i < count; i++) asns[i] = width === 4 ? r.u32() : r.u16();
    out.push({ type, asns });
  }
  return r.ok ? out : null;
}

export function encodeSegments(w: Writer, segments: readonly AsPathSegment[], width: 2 | 4): void {
  for (const s of segments) {
    w.u8(s.type).u8(s.asns.length);
    for (const a of s.asns) {
      if (width === 4) w.u32(a);
      else w.u16(a);
    }
  }
}

/** RFC 4271 §9.1.2.2 a / RFC 5065 §5.3: path length: a set counts 1, confederation segments 0. */
export function asPathLength(segments: readonly AsPathSegment[]): number {
  let n = 0;
  for (const s of segments) {
    if (s.type === AsPathSegmentType.AsSequence) n += s.asns.length;
    else if (s.type === AsPathSegmentType.AsSet) n += 1;
  }
  return n;
}

/**
 * RFC 6793 §4.2.3: rebuild the real path from a 2-octet AS_PATH (with AS_TRANS placeholders) and the
 * AS4_PATH. If AS_PATH is shorter than AS4_PATH the AS4_PATH is ignored; otherwise the leading
 * (len(AS_PATH) - len(AS4_PATH)) ASNs of AS_PATH are kept and AS4_PATH appended.
 */
export function mergeAs4Path(asPath: readonly AsPathSegment[], as4Path: readonly AsPathSegment[] | undefined): AsPathSegment[] {
  if (as4Path === undefined) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  let need = asPathLength(asPath) - asPathLength(as4Path);
  if (need < 0) return asPath.map((s) => ({ type: s.type, asns: [...s.asns] }));
  const out: AsPathSegment[] = [];
  for (const s of asPath) {
    // Leading confederation segments count 0 and never appear in AS4_PATH (RFC 6793 §3), so they are
    // kept even when no ASN is needed from AS_PATH.
    const confed = s.type === AsPathSegmentType.AsConfedSequence || s.type === AsPathSegmentType.AsConfedSet;
    if (need <= 0 && !confed) break;
    if (s.type === AsPathSegmentType.AsSequence) {
      const take = Math.min(need, s.asns.length);
      out.push({ type: s.type, asns: s.asns.slice(0, take) });
      need -= take;
    } else {
      out.push({ type: s.type, asns: [...s.asns] });
      if (s.type === AsPathSegmentType.AsSet) need -= 1;
    }
  }
  for (const s of as4Path) {
    const last = out[out.length - 1];
    // Join sequences split only by the 2/4-octet boundary; a segment holds at most 255 ASNs.
    if (
      last !== undefined &&
      last.type === AsPathSegmentType.AsSequence &&
      s.type === AsPathSegmentType.AsSequence &&
      last.asns.length + s.asns.length <= 255
    ) {
      out[out.length - 1] = { type: last.type, asns: [...last.asns, ...s.asns] };
    } else {
      out.push({ type: s.type, asns: [...s.asns] });
    }
  }
  return out;
}

/**
 * RFC 6793 §4.2.3: when AGGREGATOR carries an ASN other than AS_TRANS, AS4_AGGREGATOR and AS4_PATH are
 * both ignored. Returns the effective aggregator and whether AS4_PATH may be merged.
 */
export function mergeAs4Aggregator(
  aggregator: Aggregator | undefined,
  as4Aggregator: Aggregator | undefined,
): { aggregator: Aggregator | undefined; useAs4Path: boolean } {
  if (aggregator !== undefined && aggregator.asn !== AS_TRANS) return { aggregator, useAs4Path: false };
  return { aggregator: as4Aggregator ?? aggregator, useAs4Path: true };
}

/** 'a b {c,d} (e f) [g]' in the usual show-bgp notation. */
export function asPathToString(segments: readonly AsPathSegment[]): string {
  return segments
    .map((s) => {
      const body = s.asns.join(s.type === AsPathSegmentType.AsSet || s.type === AsPathSegmentType.AsConfedSet ? ',' : ' ');
      switch (s.type) {
        case AsPathSegmentType.AsSet:
          return `{${body}}`;
        case AsPathSegmentType.AsConfedSequence:
          return `(${body})`;
        case AsPathSegmentType.AsConfedSet:
          return `[${body}]`;
        default:
          return body;
      }
    })
    .join(' ');
}
