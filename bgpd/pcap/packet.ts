// Link layer -> IP -> TCP. Returns undefined for anything that is not a whole TCP segment over IPv4
// or IPv6 (ARP, ICMP, UDP, IP fragments, frames cut by the snaplen): those are not BGP.
import type { Frame } from './file.js';

export const LinkType = {
  Null: 0,
  Ethernet: 1,
  Raw: 101,
  LinuxSll: 113,
  Ipv4: 228,
  Ipv6: 229,
  LinuxSll2: 276,
} as const;

const EtherType = { Ipv4: 0x0800, Ipv6: 0x86dd, Vlan: 0x8100, QinQ: 0x88a8 } as const;
const IP_PROTO_TCP = 6;

export const TcpFlag = { Fin: 0x01, Syn: 0x02, Rst: 0x04, Psh: 0x08, Ack: 0x10 } as const;

export interface TcpSegment {
  readonly src: string;
  readonly dst: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: number;
  readonly flags: number;
  readonly payload: Uint8Array;
  readonly timestamp: number;
}

export function decodeFrame(frame: Frame): TcpSegment | undefined {
  const ip = networkLayer(frame);
  if (!ip) return undefined;
  const first = ip[0];
  if (first === undefined) return undefined;
  const version = first >> 4;
  if (version === 4) return ipv4(ip, frame.timestamp);
  if (version === 6) return ipv6(ip, frame.timestamp);
  return undefined;
}

function u16(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

function u32(b: Uint8Array, off: number): number {
  return (((b[off] ?? 0) << 24) | ((b[off + 1] ?? 0) << 16) | ((b[off + 2] ?? 0) << 8) | (b[off + 3] ?? 0)) >>> 0;
}

/** The IP packet inside the frame, or undefined for non-IP frames. */
function networkLayer(frame: Frame): Uint8Array | undefined {
  const d = frame.data;
  switch (frame.linkType) {
    case LinkType.Ethernet: {
      let off = 12;
      let type = u16(d, off);
      // 802.1Q / 802.1ad tags: skip each 4-byte tag.
      while ((type === EtherType.Vlan || type === EtherType.QinQ) && off + 6 <= d.length) {
        off += 4;
        type = u16(d, off);
      }
      if (d.length < off + 2) return undefined;
      return type === EtherType.Ipv4 || type === EtherType.Ipv6 ? d.subarray(off + 2) : undefined;
    }
    case LinkType.LinuxSll: {
      if (d.length < 16) return undefined;
      const type = u16(d, 14);
      return type === EtherType.Ipv4 || type === EtherType.Ipv6 ? d.subarray(16) : undefined;
    }
    case LinkType.LinuxSll2: {
      if (d.length < 20) return undefined;
      const type = u16(d, 0);
      return type === EtherType.Ipv4 || type === EtherType.Ipv6 ? d.subarray(20) : undefined;
    }
    case LinkType.Raw:
    case LinkType.Ipv4:
    case LinkType.Ipv6:
      return d;
    case LinkType.Null:
      // BSD loopback: a 4-byte address family in host byte order; the IP version nibble decides.
      return d.length > 4 ? d.subarray(4) : undefined;
    default:
      return undefined;
  }
}

function ipv4(p: Uint8Array, ts: number): TcpSegment | undefined {
  if (p.length < 20) return undefined;
  const ihl = ((p[0] ?? 0) & 0x0f) * 4;
  const total = u16(p, 2);
  const fragment = u16(p, 6);
  // More-fragments set or a non-zero offset: BGP speakers set DF, so fragments are not followed.
  if (fragment & 0x3fff) return undefined;
  if (p[9] !== IP_PROTO_TCP || ihl < 20 || total < ihl || total > p.length) return undefined;
  const src = `${p[12]}.${p[13]}.${p[14]}.${p[15]}`;
  const dst = `${p[16]}.${p[17]}.${p[18]}.${p[19]}`;
  return tcp(p.subarray(ihl, total), src, dst, ts);
}

// RFC 8200 §4: extension headers that may precede TCP and carry the standard (next, length) prefix.
const IPV6_EXT = new Set([0, 43, 60]);
const IPV6_FRAGMENT = 44;

function ipv6(p: Uint8Array, ts: number): TcpSegment | undefined {
  if (p.length < 40) return undefined;
  const payloadLength = u16(p, 4);
  if (40 + payloadLength > p.length) return undefined;
  let next = p[6] ?? 0;
  let off = 40;
  const end = 40 + payloadLength;
  while (IPV6_EXT.has(next)) {
    if (off + 2 > end) return undefined;
    const hdrLen = ((p[off + 1] ?? 0) + 1) * 8;
    next = p[off] ?? 0;
    off += hdrLen;
  }
  if (next === IPV6_FRAGMENT || next !== IP_PROTO_TCP || off > end) return undefined;
  return tcp(p.subarray(off, end), ipv6Text(p.subarray(8, 24)), ipv6Text(p.subarray(24, 40)), ts);
}

function tcp(t: Uint8Array, src: string, dst: string, timestamp: number): TcpSegment | undefined {
  if (t.length < 20) return undefined;
  const dataOffset = ((t[12] ?? 0) >> 4) * 4;
  if (dataOffset < 20 || dataOffset > t.length) return undefined;
  return {
    src,
    dst,
    srcPort: u16(t, 0),
    dstPort: u16(t, 2),
    seq: u32(t, 4),
    flags: t[13] ?? 0,
    payload: t.subarray(dataOffset),
    timestamp,
  };
}

/** RFC 5952 text form (lower case, longest zero run compressed). */
export function ipv6Text(a: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push(u16(a, i));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
