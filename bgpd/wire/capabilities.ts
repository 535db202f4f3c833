// OPEN capabilities (RFC 5492). Each known code has a value decoder and encoder; a decoded capability
// is only kept in typed form if encoding it again yields the received bytes, otherwise it is kept raw
// as `unknown`. That makes re-encoding byte-exact by construction and keeps odd-but-harmless peers
// (a reserved bit set, a trailing byte) working, as RFC 5492 §3 asks us to ignore what we do not
// understand rather than fail the session.
import { Reader, view } from './reader.js';
import { Writer } from './writer.js';
import { CapabilityCode, type Capability } from './types.js';

type Decoder = (r: Reader) => Capability | null;

const utf8 = new TextDecoder('utf-8', { fatal: true });

const DECODERS: Record<number, Decoder> = {
  // RFC 4760 §8: AFI (2), Reserved (1), SAFI (1).
  [CapabilityCode.Multiprotocol]: (r) => {
    const afi = r.u16();
    r.u8();
    const safi = r.u8();
    return { kind: 'multiprotocol', afi, safi };
  },
  [CapabilityCode.RouteRefresh]: () => ({ kind: 'route-refresh' }),
  [CapabilityCode.RouteRefreshCisco]: () => ({ kind: 'route-refresh-cisco' }),
  [CapabilityCode.EnhancedRouteRefresh]: () => ({ kind: 'enhanced-route-refresh' }),
  [CapabilityCode.ExtendedMessage]: () => ({ kind: 'extended-message' }),
  // RFC 6793 §3.
  [CapabilityCode.FourOctetAs]: (r) => ({ kind: 'four-octet-as', asn: r.u32() }),
  // RFC 4724 §3: flags (4 bits: R, N, 2 reserved) + restart time (12 bits), then AFI/SAFI/flags triples.
  [CapabilityCode.GracefulRestart]: (r) => {
    const v = r.u16();
    const families: { afi: number; safi: number; forwarding: boolean }[] = [];
    while (r.remaining > 0) {
      const afi = r.u16();
      const safi = r.u8();
      const flags = r.u8();
      families.push({ afi, safi, forwarding: (flags & 0x80) !== 0 });
    }
    return {
      kind: 'graceful-restart',
      restarting: (v & 0x8000) !== 0,
      notification: (v & 0x4000) !== 0,
      restartTime: v & 0x0fff,
      families,
    };
  },
  // draft-ietf-idr-long-lived-gr §3: AFI (2), SAFI (1), flags (1), stale time (3).
  [CapabilityCode.LongLivedGracefulRestart]: (r) => {
    const families: { afi: number; safi: number; flags: number; staleTime: number }[] = [];
    while (r.remaining > 0) {
      const afi = r.u16();
      const safi = r.u8();
      const flags = r.u8();
      families.push({ afi, safi, flags, staleTime: r.u24() });
    }
    return { kind: 'long-lived-graceful-restart', families };
  },
  // RFC 7911 §4: AFI (2), SAFI (1), Send/Receive (1).
  [CapabilityCode.AddPath]: (r) => {
    const families: { afi: number; safi: number; mode: number }[] = [];
    while (r.remaining > 0) families.push({ afi: r.u16(), safi: r.u8(), mode: r.u8() });
    return { kind: 'add-path', families };
  },
  // RFC 8950 §4: NLRI AFI (2), NLRI SAFI (2), Nexthop AFI (2).
  [CapabilityCode.ExtendedNextHop]: (r) => {
    const families: { afi: number; safi: number; nextHopAfi: number }[] = [];
    while (r.remaining > 0) families.push({ afi: r.u16(), safi: r.u16(), nextHopAfi: r.u16() });
    return { kind: 'extended-next-hop', families };
  },
  // draft-walton-bgp-hostname-capability §3: hostname length + hostname, domain length + domain.
  [CapabilityCode.Fqdn]: (r) => {
    const hostname = r.bytes(r.u8());
    const domain = r.bytes(r.u8());
    try {
      return { kind: 'fqdn', hostname: utf8.decode(hostname), domain: utf8.decode(domain) };
    } catch {
      return null;
    }
  },
  // RFC 9234 §4.1: one octet.
  [CapabilityCode.Role]: (r) => ({ kind: 'role', role: r.u8() }),
};

/** Decodes one capability value; never fails (falls back to `unknown`). */
export function decodeCapability(code: number, data: Uint8Array): Capability {
  const dec = DECODERS[code];
  if (dec !== undefined) {
    const r = new Reader(data);
    const cap = dec(r);
    if (cap !== null && r.ok && r.remaining === 0) {
      const again = encodeCapabilityValue(cap);
      if (sameBytes(again, data)) return cap;
    }
  }
  return { kind: 'unknown', code, data };
}

export function capabilityCode(c: Capability): number {
  switch (c.kind) {
    case 'multiprotocol':
      return CapabilityCode.Multiprotocol;
    case 'route-refresh':
      return CapabilityCode.RouteRefresh;
    case 'route-refresh-cisco':
      return CapabilityCode.RouteRefreshCisco;
    case 'enhanced-route-refresh':
      return CapabilityCode.EnhancedRouteRefresh;
    case 'four-octet-as':
      return CapabilityCode.FourOctetAs;
    case 'graceful-restart':
      return CapabilityCode.GracefulRestart;
    case 'long-lived-graceful-restart':
      return CapabilityCode.LongLivedGracefulRestart;
    case 'add-path':
      return CapabilityCode.AddPath;
    case 'extended-message':
      return CapabilityCode.ExtendedMessage;
    case 'extended-next-hop':
      return CapabilityCode.ExtendedNextHop;
    case 'fqdn':
      return CapabilityCode.Fqdn;
    case 'role':
      return CapabilityCode.Role;
    case 'unknown':
      return c.code;
  }
}

export function encodeCapabilityValue(c: Capability): Uint8Array {
  const w = new Writer(16);
  switch (c.kind) {
    case 'multiprotocol':
      w.u16(c.afi).u8(0).u8(c.safi);
      break;
    case 'route-refresh':
    case 'route-refresh-cisco':
    case 'enhanced-route-refresh':
    case 'extended-message':
      break;
    case 'four-octet-as':
      w.u32(c.asn);
      break;
    case 'graceful-restart':
      w.u16((c.restarting ? 0x8000 : 0) | (c.notification ? 0x4000 : 0) | c.restartTime);
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.forwarding ? 0x80 : 0);
      break;
    case 'long-lived-graceful-restart':
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.flags).u24(f.staleTime);
      break;
    case 'add-path':
      for (const f of c.families) w.u16(f.afi).u8(f.safi).u8(f.mode);
      break;
    case 'extended-next-hop':
      for (const f of c.families) w.u16(f.afi).u16(f.safi).u16(f.nextHopAfi);
      break;
    case 'fqdn': {
      const h = new TextEncoder().encode(c.hostname);
      const d = new TextEncoder().encode(c.domain);
      w.u8(h.length).bytes(h).u8(d.length).bytes(d);
      break;
    }
    case 'role':
      w.u8(c.role);
      break;
    case 'unknown':
      w.bytes(c.data);
      break;
  }
  return w.finish();
}

/** Capability TLVs (RFC 5492 §4: code, length, value) inside one Capabilities optional parameter. */
export function decodeCapabilityList(data: Uint8Array): Capability[] | null {
  const r = new Reader(data);
  const out: Capability[] = [];
  while (r.remaining > 0) {
    const code = r.u8();
    const len = r.u8();
    if (!r.ok || !r.has(len)) return null;
    out.push(decodeCapability(code, r.bytes(len)));
  }
  return r.ok ? out : null;
}

export function encodeCapabilityList(w: Writer, caps: readonly Capability[]): void {
  for (const c of caps) {
    const v = encodeCapabilityValue(c);
    w.u8(capabilityCode(c)).u8(v.length).bytes(v);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export { sameBytes, view };
