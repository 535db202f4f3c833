// Community value helpers: RFC 1997 well-known names, RFC 4360 extended community typed view,
// RFC 8092 large communities. Values stay in wire form in the attributes; these are views.
import { ipv4ToString } from './addr.js';

/** RFC 1997 §3, RFC 3765, RFC 8326, RFC 7611, RFC 7999, draft-ietf-idr-long-lived-gr. */
export const WellKnownCommunity = {
  GracefulShutdown: 0xffff0000,
  AcceptOwn: 0xffff0001,
  LlgrStale: 0xffff0006,
  NoLlgr: 0xffff0007,
  Blackhole: 0xffff029a,
  NoExport: 0xffffff01,
  NoAdvertise: 0xffffff02,
  NoExportSubconfed: 0xffffff03,
  NoPeer: 0xffffff04,
} as const;

const WELL_KNOWN_NAMES: ReadonlyMap<number, string> = new Map([
  [WellKnownCommunity.GracefulShutdown, 'graceful-shutdown'],
  [WellKnownCommunity.AcceptOwn, 'accept-own'],
  [WellKnownCommunity.LlgrStale, 'llgr-stale'],
  [WellKnownCommunity.NoLlgr, 'no-llgr'],
  [WellKnownCommunity.Blackhole, 'blackhole'],
  [WellKnownCommunity.NoExport, 'no-export'],
  [WellKnownCommunity.NoAdvertise, 'no-advertise'],
  [WellKnownCommunity.NoExportSubconfed, 'no-export-subconfed'],
  [WellKnownCommunity.NoPeer, 'no-peer'],
]);

/** 'no-export' for well-known values, 'asn:value' otherwise. */
export function communityToString(c: number): string {
  return WELL_KNOWN_NAMES.get(c) ?? `${c >>> 16}:${c & 0xffff}`;
}

/** 'asn:value' or a well-known name -> 32-bit value; null when not understood. */
export function parseCommunity(text: string): number | null {
  for (const [v, n] of WELL_KNOWN_NAMES) if (n === text) return v;
  const m = /^(\d+):(\d+)$/.exec(text);
  if (m === null) return null;
  const hi = Number(m[1]);
  const lo = Number(m[2]);
  if (hi > 0xffff || lo > 0xffff) return null;
  return ((hi << 16) | lo) >>> 0;
}

export type ExtendedCommunityView =
  | { readonly kind: 'route-target' | 'route-origin'; readonly global: string; readonly local: number }
  | { readonly kind: 'other'; readonly type: number; readonly subtype: number };

/**
 * RFC 4360 §4 / RFC 5668: route target (subtype 2) and route origin (subtype 3) for the 2-octet AS,
 * IPv4 and 4-octet AS specific types (transitive or not); anything else as type/subtype.
 */
export function extendedCommunityView(v: Uint8Array): ExtendedCommunityView {
  const type = v[0]! & 0xbf; // ignore the transitive bit (RFC 4360 §2)
  const subtype = v[1]!;
  if ((subtype === 2 || subtype === 3) && (type === 0x00 || type === 0x01 || type === 0x02)) {
    const kind = subtype === 2 ? 'route-target' : 'route-origin';
    if (type === 0x00) return { kind, global: String((v[2]! << 8) | v[3]!), local: u32(v, 4) };
    if (type === 0x01) return { kind, global: ipv4ToString(v, 2), local: (v[6]! << 8) | v[7]! };
    return { kind, global: String(u32(v, 2)), local: (v[6]! << 8) | v[7]! };
  }
  return { kind: 'other', type: v[0]!, subtype };
}

/** 'target:65000:1', 'origin:10.0.0.1:5' or the hex value. */
export function extendedCommunityToString(v: Uint8Array): string {
  const view = extendedCommunityView(v);
  if (view.kind === 'other') return `0x${Array.from(v, (b) => b.toString(16).padStart(2, '0')).join('')}`;
  return `${view.kind === 'route-target' ? 'target' : 'origin'}:${view.global}:${view.local}`;
}

/** Builds a transitive 2-octet-AS or 4-octet-AS route target (RFC 4360 §4, RFC 5668 §2). */
export function routeTarget(asn: number, local: number): Uint8Array {
  const v = new Uint8Array(8);
  if (asn <= 0xffff) {
    v[0] = 0x00;
    v[1] = 0x02;
    v[2] = asn >>> 8;
    v[3] = asn & 255;
    v[4] = local >>> 24;
    v[5] = (local >>> 16) & 255;
    v[6] = (local >>> 8) & 255;
    v[7] = local & 255;
  } else {
    v[0] = 0x02;
    v[1] = 0x02;
    v[2] = asn >>> 24;
    v[3] = (asn >>> 16) & 255;
    v[4] = (asn >>> 8) & 255;
    v[5] = asn & 255;
    v[6] = (local >>> 8) & 255;
    v[7] = local & 255;
  }
  return v;
}

export function largeCommunityToString(c: readonly [number, number, number]): string {
  return `${c[0]}:${c[1]}:${c[2]}`;
}

function u32(b: Uint8Array, off: number): number {
  return ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
}
