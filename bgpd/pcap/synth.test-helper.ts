// Test-only: builds capture files from TCP payload chunks, so the reader can be checked on link types,
// file formats and segment orders that a live capture on a veth never produces.
import { LinkType } from './packet.js';

export interface SynthSegment {
  fromClient: boolean;
  /** Offset of `data` in its direction's byte stream. */
  offset: number;
  data: Uint8Array;
  syn?: boolean;
}

const CLIENT_ISN = 0xfffffff0; // wraps around 2^32 within the first bytes (RFC 9293 §3.4 arithmetic)
const SERVER_ISN = 1000;

function ipv4Header(src: number[], dst: number[], payloadLen: number): Uint8Array {
  const h = new Uint8Array(20);
  const total = 20 + payloadLen;
  h.set([0x45, 0, total >> 8, total & 255, 0, 0, 0x40, 0, 64, 6, 0, 0, ...src, ...dst]);
  return h;
}

function ipv6Header(src: Uint8Array, dst: Uint8Array, payloadLen: number): Uint8Array {
  const h = new Uint8Array(40);
  h[0] = 0x60;
  h[4] = payloadLen >> 8;
  h[5] = payloadLen & 255;
  h[6] = 6;
  h[7] = 64;
  h.set(src, 8);
  h.set(dst, 24);
  return h;
}

function tcpHeader(sport: number, dport: number, seq: number, flags: number): Uint8Array {
  const t = new Uint8Array(20);
  const v = new DataView(t.buffer);
  v.setUint16(0, sport);
  v.setUint16(2, dport);
  v.setUint32(4, seq >>> 0);
  t[12] = 5 << 4;
  t[13] = flags;
  return t;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function packet(seg: SynthSegment, family: 4 | 6): Uint8Array {
  const [sport, dport] = seg.fromClient ? [40000, 179] : [179, 40000];
  const isn = seg.fromClient ? CLIENT_ISN : SERVER_ISN;
  const seq = seg.syn ? isn : isn + 1 + seg.offset;
  const tcp = concat(tcpHeader(sport, dport, seq, seg.syn ? 0x02 : 0x18), seg.data);
  if (family === 4) {
    const a = [10, 9, 0, 1];
    const b = [10, 9, 0, 2];
    return concat(ipv4Header(seg.fromClient ? a : b, seg.fromClient ? b : a, tcp.length), tcp);
  }
  const a = new Uint8Array(16);
  a.set([0xfd, 0, 0, 9], 0);
  a[15] = 1;
  const b = a.slice();
  b[15] = 2;
  return concat(ipv6Header(seg.fromClient ? a : b, seg.fromClient ? b : a, tcp.length), tcp);
}

export function linkFrame(ip: Uint8Array, linkType: number): Uint8Array {
  const etherType = (ip[0]! >> 4) === 4 ? 0x0800 : 0x86dd;
  switch (linkType) {
    case LinkType.Ethernet:
      return concat(new Uint8Array([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, etherType >> 8, etherType & 255]), ip);
    case LinkType.LinuxSll: {
      const h = new Uint8Array(16);
      h[14] = etherType >> 8;
      h[15] = etherType & 255;
      return concat(h, ip);
    }
    case LinkType.LinuxSll2: {
      const h = new Uint8Array(20);
      h[0] = etherType >> 8;
      h[1] = etherType & 255;
      return concat(h, ip);
    }
    default:
      return ip;
  }
}

export function pcapFile(frames: Uint8Array[], linkType: number, littleEndian = true): Uint8Array {
  const head = new Uint8Array(24);
  const hv = new DataView(head.buffer);
  hv.setUint32(0, 0xa1b2c3d4, littleEndian);
  hv.setUint16(4, 2, littleEndian);
  hv.setUint16(6, 4, littleEndian);
  hv.setUint32(16, 65535, littleEndian);
  hv.setUint32(20, linkType, littleEndian);
  const recs = frames.map((f, i) => {
    const r = new Uint8Array(16);
    const v = new DataView(r.buffer);
    v.setUint32(0, 1_700_000_000 + i, littleEndian);
    v.setUint32(4, 500, littleEndian);
    v.setUint32(8, f.length, littleEndian);
    v.setUint32(12, f.length, littleEndian);
    return concat(r, f);
  });
  return concat(head, ...recs);
}

function block(type: number, body: Uint8Array): Uint8Array {
  const pad = (4 - (body.length % 4)) % 4;
  const len = 12 + body.length + pad;
  const b = new Uint8Array(len);
  const v = new DataView(b.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, len, true);
  b.set(body, 8);
  v.setUint32(len - 4, len, true);
  return b;
}

export function pcapngFile(frames: Uint8Array[], linkType: number): Uint8Array {
  const shb = new Uint8Array(16);
  const sv = new DataView(shb.buffer);
  sv.setUint32(0, 0x1a2b3c4d, true);
  sv.setUint16(4, 1, true);
  sv.setBigInt64(8, -1n, true);
  const idb = new Uint8Array(8);
  new DataView(idb.buffer).setUint16(0, linkType, true);
  const epbs = frames.map((f, i) => {
    const h = new Uint8Array(20);
    const v = new DataView(h.buffer);
    const ts = BigInt(1_700_000_000 + i) * 1_000_000n;
    v.setUint32(4, Number(ts >> 32n), true);
    v.setUint32(8, Number(ts & 0xffffffffn), true);
    v.setUint32(12, f.length, true);
    v.setUint32(16, f.length, true);
    return block(6, concat(h, f));
  });
  return concat(block(0x0a0d0d0a, shb), block(1, idb), ...epbs);
}
