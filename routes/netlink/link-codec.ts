// RTM_*LINK, RTM_*ADDR and RTM_*NEIGH (proxy) encoding and decoding (linux/rtnetlink.h struct ifinfomsg,
// struct ifaddrmsg, struct ndmsg; linux/if_link.h IFLA_*; linux/veth.h VETH_INFO_PEER).
import { addrToBytes, bytesToAddr, bytesToMac, familyOf, macToBytes, parsePrefix } from './addr.js';
import { AF, IFA, IFA_F, IFF, IFLA, IFLA_INFO, NDA, NLM_F, NTF, NUD, RTM, RT_SCOPE, VETH_INFO } from './constants.js';
import { NlWriter, parseAttrs } from './wire.js';
import type { Address, AddressSpec, Link, LinkChange, LinkStats, VethSpec } from './types.js';

const IFINFOMSG_LEN = 16;
const IFADDRMSG_LEN = 8;
const NDMSG_LEN = 12;

function ifinfomsg(w: NlWriter, index: number, flags: number, change: number): void {
  w.u8(AF.UNSPEC).u8(0).u16(0).i32(index).u32(flags).u32(change);
}

/** A veth pair; the peer is created directly in the netns open at `peerNsFd` (IFLA_NET_NS_FD). */
export function encodeVeth(w: NlWriter, seq: number, spec: VethSpec, peerNsFd: number | undefined): void {
  const start = w.beginMsg(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq);
  ifinfomsg(w, 0, 0, 0);
  w.attrStr(IFLA.IFNAME, spec.name);
  if (spec.mtu !== undefined) w.attrU32(IFLA.MTU, spec.mtu);
  if (spec.mac) w.attr(IFLA.ADDRESS, macToBytes(spec.mac));
  const li = w.beginNest(IFLA.LINKINFO);
  w.attrStr(IFLA_INFO.KIND, 'veth');
  const data = w.beginNest(IFLA_INFO.DATA);
  const peer = w.beginNest(VETH_INFO.PEER);
  ifinfomsg(w, 0, 0, 0);
  w.attrStr(IFLA.IFNAME, spec.peerName);
  if (spec.peerMtu !== undefined || spec.mtu !== undefined) w.attrU32(IFLA.MTU, spec.peerMtu ?? spec.mtu ?? 1500);
  if (spec.peerMac) w.attr(IFLA.ADDRESS, macToBytes(spec.peerMac));
  if (peerNsFd !== undefined) w.attrU32(IFLA.NET_NS_FD, peerNsFd);
  w.endNest(peer);
  w.endNest(data);
  w.endNest(li);
  w.endMsg(start);
}

export function encodeSetLink(w: NlWriter, seq: number, index: number, c: LinkChange, nsFd?: number): void {
  const start = w.beginMsg(RTM.NEWLINK, NLM_F.REQUEST | NLM_F.ACK, seq);
  ifinfomsg(w, index, c.up ? IFF.UP : 0, c.up === undefined ? 0 : IFF.UP);
  if (c.name) w.attrStr(IFLA.IFNAME, c.name);
  if (c.mtu !== undefined) w.attrU32(IFLA.MTU, c.mtu);
  if (c.mac) w.attr(IFLA.ADDRESS, macToBytes(c.mac));
  if (nsFd !== undefined) w.attrU32(IFLA.NET_NS_FD, nsFd);
  w.endMsg(start);
}

export function encodeDelLink(w: NlWriter, seq: number, index: number): void {
  const start = w.beginMsg(RTM.DELLINK, NLM_F.REQUEST | NLM_F.ACK, seq);
  ifinfomsg(w, index, 0, 0);
  w.endMsg(start);
}

/** GETLINK by name (one reply) or, without a name, a dump of all links. */
export function encodeGetLink(w: NlWriter, seq: number, name?: string): void {
  const start = w.beginMsg(RTM.GETLINK, NLM_F.REQUEST | (name ? 0 : NLM_F.DUMP), seq);
  ifinfomsg(w, 0, 0, 0);
  if (name) w.attrStr(IFLA.IFNAME, name);
  w.endMsg(start);
}

function decodeStats(b: Buffer): LinkStats {
  const u = (i: number): bigint => b.readBigUInt64LE(i * 8);
  return {
    rxPackets: u(0),
    txPackets: u(1),
    rxBytes: u(2),
    txBytes: u(3),
    rxErrors: u(4),
    txErrors: u(5),
    rxDropped: u(6),
    txDropped: u(7),
  };
}

export function decodeLink(body: Buffer): Link | undefined {
  if (body.length < IFINFOMSG_LEN) return undefined;
  const index = body.readInt32LE(4);
  const flags = body.readUInt32LE(8);
  const a = parseAttrs(body, IFINFOMSG_LEN);
  const name = a.get(IFLA.IFNAME);
  const addr = a.get(IFLA.ADDRESS);
  const mtu = a.get(IFLA.MTU);
  const oper = a.get(IFLA.OPERSTATE);
  const link: Link = {
    index,
    name: name ? name.toString('utf8').replace(/\0.*$/, '') : '',
    mac: addr && addr.length === 6 ? bytesToMac(addr) : '',
    mtu: mtu ? mtu.readUInt32LE(0) : 0,
    up: (flags & IFF.UP) !== 0,
    lowerUp: (flags & IFF.LOWER_UP) !== 0,
    operstate: oper ? (oper[0] ?? 0) : 0,
  };
  const li = a.get(IFLA.LINKINFO);
  if (li) {
    const kind = parseAttrs(li).get(IFLA_INFO.KIND);
    if (kind) link.kind = kind.toString('utf8').replace(/\0.*$/, '');
  }
  const st = a.get(IFLA.STATS64);
  if (st && st.length >= 64) link.stats = decodeStats(st);
  return link;
}

const scopeNum = { universe: RT_SCOPE.UNIVERSE, link: RT_SCOPE.LINK, host: RT_SCOPE.HOST } as const;

export function encodeAddr(w: NlWriter, seq: number, op: 'add' | 'delete', s: AddressSpec, index: number): void {
  const p = parsePrefix(s.address);
  const flags = op === 'add' ? NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE : NLM_F.REQUEST | NLM_F.ACK;
  const start = w.beginMsg(op === 'add' ? RTM.NEWADDR : RTM.DELADDR, flags, seq);
  let ifaFlags = 0;
  if (p.family === 6 && (s.nodad ?? true)) ifaFlags |= IFA_F.NODAD;
  if (s.noPrefixRoute) ifaFlags |= IFA_F.NOPREFIXROUTE;
  w.u8(p.family === 4 ? AF.INET : AF.INET6).u8(p.len).u8(ifaFlags & 0xff).u8(scopeNum[s.scope ?? 'universe']);
  w.u32(index);
  // IFA_LOCAL is the interface's own address, IFA_ADDRESS the peer on point-to-point (if_addr.h).
  w.attr(IFA.LOCAL, p.addr);
  w.attr(IFA.ADDRESS, s.peer ? addrToBytes(s.peer) : p.addr);
  if (op === 'add') w.attrU32(IFA.FLAGS, ifaFlags);
  w.endMsg(start);
}

export function encodeGetAddr(w: NlWriter, seq: number): void {
  const start = w.beginMsg(RTM.GETADDR, NLM_F.REQUEST | NLM_F.DUMP, seq);
  w.u8(AF.UNSPEC).u8(0).u8(0).u8(0).u32(0);
  w.endMsg(start);
}

export function decodeAddr(body: Buffer): Address | undefined {
  if (body.length < IFADDRMSG_LEN) return undefined;
  const fam = body[0];
  if (fam !== AF.INET && fam !== AF.INET6) return undefined;
  const a = parseAttrs(body, IFADDRMSG_LEN);
  const local = a.get(IFA.LOCAL);
  const address = a.get(IFA.ADDRESS);
  const own = local ?? address;
  if (!own) return undefined;
  const fl = a.get(IFA.FLAGS);
  const out: Address = {
    index: body.readUInt32LE(4),
    family: fam === AF.INET ? 4 : 6,
    address: bytesToAddr(own),
    prefixLen: body[1] ?? 0,
    scope: body[3] ?? 0,
    flags: fl ? fl.readUInt32LE(0) : (body[2] ?? 0),
  };
  if (local && address && !local.equals(address)) out.peer = bytesToAddr(address);
  return out;
}

/** A proxy ARP/NDP entry (`ip neigh add proxy ADDR dev DEV`). */
export function encodeNeighProxy(w: NlWriter, seq: number, op: 'add' | 'delete', index: number, addr: string): void {
  const fam = familyOf(addr);
  const flags = op === 'add' ? NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE : NLM_F.REQUEST | NLM_F.ACK;
  const start = w.beginMsg(op === 'add' ? RTM.NEWNEIGH : RTM.DELNEIGH, flags, seq);
  w.u8(fam === 4 ? AF.INET : AF.INET6).u8(0).u16(0).i32(index).u16(NUD.PERMANENT).u8(NTF.PROXY).u8(0);
  w.attr(NDA.DST, addrToBytes(addr));
  w.endMsg(start);
}

/** A permanent neighbour entry (`ip neigh replace ADDR lladdr MAC dev DEV nud permanent`). */
export function encodeNeigh(w: NlWriter, seq: number, op: 'add' | 'delete', index: number, addr: string, mac?: string): void {
  const fam = familyOf(addr);
  const flags = op === 'add' ? NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.REPLACE : NLM_F.REQUEST | NLM_F.ACK;
  const start = w.beginMsg(op === 'add' ? RTM.NEWNEIGH : RTM.DELNEIGH, flags, seq);
  w.u8(fam === 4 ? AF.INET : AF.INET6).u8(0).u16(0).i32(index).u16(NUD.PERMANENT).u8(0).u8(0);
  w.attr(NDA.DST, addrToBytes(addr));
  if (mac) w.attr(NDA.LLADDR, macToBytes(mac));
  w.endMsg(start);
}

export { bytesToAddr, NDMSG_LEN };
