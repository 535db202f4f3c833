// Capture file formats: classic libpcap and pcapng. Yields link-layer frames with their link type and
// timestamp; knows nothing about IP or TCP.
// References: draft-ietf-opsawg-pcap (libpcap format), draft-ietf-opsawg-pcapng (pcapng blocks).
import { PcapError, PcapErrorCode } from './errors.js';

export interface Frame {
  /** LINKTYPE_* value (1 Ethernet, 113 Linux SLL, 276 Linux SLL2, 101 raw IP, ...). */
  readonly linkType: number;
  /** Seconds since the epoch, with sub-second precision. */
  readonly timestamp: number;
  /** The captured bytes (may be shorter than the packet on the wire when a snaplen cut it). */
  readonly data: Uint8Array;
  /** Length of the packet on the wire. */
  readonly originalLength: number;
}

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;

export function readFrames(file: Uint8Array): Frame[] {
  if (file.length < 4) throw new PcapError(PcapErrorCode.Truncated, 'file shorter than a magic number', 0);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const be = view.getUint32(0, false);
  if (be === PCAPNG_SHB) return readPcapng(file, view);
  const le = view.getUint32(0, true);
  if (be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) return readPcap(file, view, false, be === PCAP_MAGIC_NS);
  if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS) return readPcap(file, view, true, le === PCAP_MAGIC_NS);
  throw new PcapError(PcapErrorCode.UnknownFormat, `not a pcap or pcapng file (magic 0x${be.toString(16).padStart(8, '0')})`, 0);
}

function readPcap(file: Uint8Array, view: DataView, little: boolean, nanos: boolean): Frame[] {
  if (file.length < 24) throw new PcapError(PcapErrorCode.Truncated, 'pcap global header cut short', 0);
  // The link type is the low 16 bits; the upper bits may hold FCS information (pcap "LinkType" field).
  const linkType = view.getUint32(20, little) & 0xffff;
  const divisor = nanos ? 1e9 : 1e6;
  const frames: Frame[] = [];
  let off = 24;
  while (off < file.length) {
    if (off + 16 > file.length) throw new PcapError(PcapErrorCode.Truncated, 'pcap record header cut short', off);
    const sec = view.getUint32(off, little);
    const frac = view.getUint32(off + 4, little);
    const incl = view.getUint32(off + 8, little);
    const orig = view.getUint32(off + 12, little);
    if (incl > 0x4000000) throw new PcapError(PcapErrorCode.Corrupt, `record length ${incl} is implausible`, off);
    if (off + 16 + incl > file.length) throw new PcapError(PcapErrorCode.Truncated, 'pcap record data cut short', off);
    frames.push({ linkType, timestamp: sec + frac / divisor, data: file.subarray(off + 16, off + 16 + incl), originalLength: orig });
    off += 16 + incl;
  }
  return frames;
}

interface Interface {
  linkType: number;
  /** Timestamp units per second (if_tsresol, default 10^6). */
  unitsPerSecond: number;
}

function readPcapng(file: Uint8Array, view: DataView): Frame[] {
  const frames: Frame[] = [];
  let interfaces: Interface[] = [];
  let little = true;
  let off = 0;
  while (off < file.length) {
    if (off + 12 > file.length) throw new PcapError(PcapErrorCode.Truncated, 'pcapng block header cut short', off);
    const typeBe = view.getUint32(off, false);
    if (typeBe === PCAPNG_SHB) {
      // Each section header fixes the byte order of the section that follows it.
      if (view.getUint32(off + 8, true) === PCAPNG_BYTE_ORDER) little = true;
      else if (view.getUint32(off + 8, false) === PCAPNG_BYTE_ORDER) little = false;
      else throw new PcapError(PcapErrorCode.Corrupt, 'pcapng section header with a bad byte-order magic', off);
      interfaces = [];
    }
    const type = view.getUint32(off, little);
    const len = view.getUint32(off + 4, little);
    if (len < 12 || len % 4 !== 0) throw new PcapError(PcapErrorCode.Corrupt, `pcapng block length ${len} is invalid`, off);
    if (off + len > file.length) throw new PcapError(PcapErrorCode.Truncated, 'pcapng block cut short', off);
    if (view.getUint32(off + len - 4, little) !== len) {
      throw new PcapError(PcapErrorCode.Corrupt, 'pcapng block trailing length does not match', off);
    }
    const body = off + 8;
    const bodyEnd = off + len - 4;
    switch (type) {
      case 1: {
        // Interface Description Block.
        if (bodyEnd - body < 8) throw new PcapError(PcapErrorCode.Corrupt, 'interface description block too short', off);
        interfaces.push({ linkType: view.getUint16(body, little), unitsPerSecond: tsResolution(file, view, body + 8, bodyEnd, little) });
        break;
      }
      case 6: {
        // Enhanced Packet Block.
        if (bodyEnd - body < 20) throw new PcapError(PcapErrorCode.Corrupt, 'enhanced packet block too short', off);
        const ifc = interfaces[view.getUint32(body, little)];
        if (!ifc) throw new PcapError(PcapErrorCode.Corrupt, 'packet refers to an undeclared interface', off);
        const ts = view.getUint32(body + 4, little) * 2 ** 32 + view.getUint32(body + 8, little);
        const cap = view.getUint32(body + 12, little);
        const orig = view.getUint32(body + 16, little);
        if (body + 20 + cap > bodyEnd) throw new PcapError(PcapErrorCode.Corrupt, 'packet data longer than its block', off);
        frames.push({ linkType: ifc.linkType, timestamp: ts / ifc.unitsPerSecond, data: file.subarray(body + 20, body + 20 + cap), originalLength: orig });
        break;
      }
      case 3: {
        // Simple Packet Block: no interface id (always interface 0) and no timestamp.
        const ifc = interfaces[0];
        if (!ifc) throw new PcapError(PcapErrorCode.Corrupt, 'simple packet block before any interface', off);
        const orig = view.getUint32(body, little);
        const cap = Math.min(orig, bodyEnd - body - 4);
        frames.push({ linkType: ifc.linkType, timestamp: 0, data: file.subarray(body + 4, body + 4 + cap), originalLength: orig });
        break;
      }
      case 2: {
        // Obsolete Packet Block (still written by old tools): 2-byte interface id and drops count.
        if (bodyEnd - body < 20) throw new PcapError(PcapErrorCode.Corrupt, 'packet block too short', off);
        const ifc = interfaces[view.getUint16(body, little)];
        if (!ifc) throw new PcapError(PcapErrorCode.Corrupt, 'packet refers to an undeclared interface', off);
        const ts = view.getUint32(body + 4, little) * 2 ** 32 + view.getUint32(body + 8, little);
        const cap = view.getUint32(body + 12, little);
        const orig = view.getUint32(body + 16, little);
        if (body + 20 + cap > bodyEnd) throw new PcapError(PcapErrorCode.Corrupt, 'packet data longer than its block', off);
        frames.push({ linkType: ifc.linkType, timestamp: ts / ifc.unitsPerSecond, data: file.subarray(body + 20, body + 20 + cap), originalLength: orig });
        break;
      }
      default:
        // Name resolution, statistics, custom blocks: nothing we need.
        break;
    }
    off += len;
  }
  return frames;
}

/** if_tsresol (option 9): high bit clear = 10^-n seconds, set = 2^-n seconds. Default 10^-6. */
function tsResolution(file: Uint8Array, view: DataView, start: number, end: number, little: boolean): number {
  let off = start;
  while (off + 4 <= end) {
    const code = view.getUint16(off, little);
    const len = view.getUint16(off + 2, little);
    if (code === 0) break;
    if (code === 9 && len >= 1) {
      const v = file[off + 4] ?? 6;
      return v & 0x80 ? 2 ** (v & 0x7f) : 10 ** v;
    }
    off += 4 + ((len + 3) & ~3);
  }
  return 1e6;
}
