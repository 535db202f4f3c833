// RTM_NEWROUTE / RTM_DELROUTE / RTM_GETROUTE encoding and route decoding (linux/rtnetlink.h: struct
// rtmsg, struct rtnexthop, struct rtvia).
import { addrToBytes, addrToBytesCached, bytesToAddr, formatPrefix, parsePrefix, parseV4, type Prefix } from './addr.js';
import { AF, NLM_F, RTA, RTM, RTM_F, RTN, RTNH_F, RT_SCOPE, RT_TABLE, UPLINK_RT_PROTO } from './constants.js';
import { NetlinkError, NetlinkErrorCode } from './errors.js';
import { NlWriter, parseAttrs } from './wire.js';
import type { Family, KernelRoute, NextHop, Route, RouteOpKind, RouteScope, RouteType } from './types.js';

const RTMSG_LEN = 12;
const RTNH_LEN = 8;

const typeNum: Record<RouteType, number> = {
  unicast: RTN.UNICAST,
  blackhole: RTN.BLACKHOLE,
  unreachable: RTN.UNREACHABLE,
  prohibit: RTN.PROHIBIT,
};
const typeName = new Map<number, RouteType>(Object.entries(typeNum).map(([k, v]) => [v, k as RouteType]));

const scopeNum: Record<RouteScope, number> = { universe: RT_SCOPE.UNIVERSE, link: RT_SCOPE.LINK, host: RT_SCOPE.HOST };

export function scopeName(n: number): RouteScope {
  if (n === RT_SCOPE.LINK) return 'link';
  if (n === RT_SCOPE.HOST) return 'host';
  return 'universe';
}

/** The kernel's default metric: 0 for IPv4, IP6_RT_PRIO_USER (1024) for IPv6. */
export function defaultMetric(family: Family): number {
  return family === 4 ? 0 : 1024;
}

/** Default scope: a device-only unicast route is link scope (like `ip route add X dev Y`). */
export function defaultScope(r: Route): RouteScope {
  if ((r.type ?? 'unicast') !== 'unicast') return 'universe';
  const nhs = r.nexthops ?? [];
  return nhs.length > 0 && nhs.every((n) => !n.gateway && !n.via) ? 'link' : 'universe';
}

export type DevResolver = (dev: string | number) => number;

function writeGateway(w: NlWriter, family: Family, nh: NextHop): void {
  if (nh.gateway) {
    const gw = addrToBytesCached(nh.gateway);
    if ((gw.length === 4 ? 4 : 6) !== family) {
      throw new NetlinkError(NetlinkErrorCode.Invalid, 'encode route', {
        detail: `gateway ${nh.gateway} is not IPv${family}; use "via" for an IPv6 next hop of an IPv4 route`,
      });
    }
    w.attr(RTA.GATEWAY, gw);
  } else if (nh.via) {
    // struct rtvia { __kernel_sa_family_t rtvia_family; __u8 rtvia_addr[]; } (RFC 8950 next hop).
    const a = addrToBytesCached(nh.via);
    const b = Buffer.alloc(2 + a.length);
    b.writeUInt16LE(a.length === 16 ? AF.INET6 : AF.INET, 0);
    a.copy(b, 2);
    w.attr(RTA.VIA, b);
  }
}

/** Appends one route request to `w` with sequence number `seq`. */
/** Destination prefix; IPv4 "a.b.c.d/n" takes an allocation-free path. */
function dstOf(dst: string): Prefix | { family: 4; v4: number; len: number } {
  const slash = dst.indexOf('/');
  const v4 = parseV4(dst, 0, slash < 0 ? dst.length : slash);
  if (v4 >= 0) {
    const len = slash < 0 ? 32 : Number(dst.slice(slash + 1));
    if (Number.isInteger(len) && len >= 0 && len <= 32) return { family: 4, v4, len };
  }
  return parsePrefix(dst);
}

export function encodeRoute(w: NlWriter, op: RouteOpKind, r: Route, seq: number, dev: DevResolver): void {
  const p = dstOf(r.dst);
  if ('v4' in p) encodeRouteTo(w, op, r, 4, p.v4, undefined, p.len, seq, dev);
  else encodeRouteTo(w, op, r, p.family, 0, p.addr, p.len, seq, dev);
}

/**
 * encodeRoute with the destination given apart (`r.dst` is not read): IPv4 as a host-order address
 * in `v4`, IPv6 as bytes in `addr`. Lets a caller holding prefixes as numbers (the reconciler's prefix
 * table) encode a route template at each destination without a Route object or text per route.
 */
export function encodeRouteTo(w: NlWriter, op: RouteOpKind, r: Route, family: Family, v4: number, addr: Buffer | undefined, len: number, seq: number, dev: DevResolver): void {
  const type = r.type ?? 'unicast';
  const table = r.table ?? RT_TABLE.MAIN;
  const nhs = type === 'unicast' ? (r.nexthops ?? []) : [];
  let flags = NLM_F.REQUEST | NLM_F.ACK;
  let msgType: number = RTM.NEWROUTE;
  if (op === 'add') flags |= NLM_F.CREATE | NLM_F.EXCL;
  else if (op === 'replace') flags |= NLM_F.CREATE | NLM_F.REPLACE;
  else msgType = RTM.DELROUTE;
  const start = w.beginMsg(msgType, flags, seq);
  w.u8(family === 4 ? AF.INET : AF.INET6).u8(len).u8(0).u8(0);
  w.u8(table < 256 ? table : RT_TABLE.UNSPEC);
  w.u8(r.protocol ?? UPLINK_RT_PROTO);
  // Delete matches any scope with RT_SCOPE_NOWHERE and any type with RTN_UNSPEC (fib_table_delete).
  if (op === 'delete') {
    w.u8(RT_SCOPE.NOWHERE).u8(RTN.UNSPEC);
  } else {
    w.u8(scopeNum[r.scope ?? defaultScope(r)]).u8(typeNum[type]);
  }
  const single = nhs.length === 1 ? nhs[0] : undefined;
  w.u32(single?.onlink && op !== 'delete' ? RTNH_F.ONLINK : 0);
  if (addr === undefined) w.attrBE32(RTA.DST, v4);
  else w.attr(RTA.DST, addr);
  w.attrU32(RTA.TABLE, table);
  w.attrU32(RTA.PRIORITY, r.metric ?? defaultMetric(family));
  if (op !== 'delete') {
    if (r.src) w.attr(RTA.PREFSRC, addrToBytes(r.src));
    if (single) {
      writeGateway(w, family, single);
      if (single.dev !== undefined) w.attrU32(RTA.OIF, dev(single.dev));
    } else if (nhs.length > 1) {
      const mp = w.beginNest(RTA.MULTIPATH, false);
      for (const nh of nhs) {
        // struct rtnexthop { u16 rtnh_len; u8 rtnh_flags; u8 rtnh_hops; s32 rtnh_ifindex; } + attrs.
        const at = w.offset;
        w.u16(0).u8(nh.onlink ? RTNH_F.ONLINK : 0).u8(Math.max(0, (nh.weight ?? 1) - 1));
        w.i32(nh.dev !== undefined ? dev(nh.dev) : 0);
        writeGateway(w, family, nh);
        w.patchU16(at, w.offset - at);
      }
      w.endNest(mp);
    }
  }
  w.endMsg(start);
}

/** RTM_GETROUTE dump request for one family (or both with AF_UNSPEC). */
export function encodeRouteDump(w: NlWriter, family: Family | undefined, seq: number): void {
  const start = w.beginMsg(RTM.GETROUTE, NLM_F.REQUEST | NLM_F.DUMP, seq);
  w.u8(family === 4 ? AF.INET : family === 6 ? AF.INET6 : AF.UNSPEC).zeros(RTMSG_LEN - 1);
  w.endMsg(start);
}

function decodeVia(b: Buffer): string | undefined {
  if (b.length < 2) return undefined;
  return bytesToAddr(b.subarray(2));
}

/** Decodes an RTM_NEWROUTE/RTM_DELROUTE body; undefined for route types we do not model (local...). */
export function decodeRoute(body: Buffer): KernelRoute | undefined {
  if (body.length < RTMSG_LEN) return undefined;
  const afam = body[0];
  if (afam !== AF.INET && afam !== AF.INET6) return undefined;
  const family: Family = afam === AF.INET ? 4 : 6;
  const dstLen = body[1] ?? 0;
  const type = typeName.get(body[7] ?? 0);
  const flags = body.readUInt32LE(8);
  if (!type || flags & RTM_F.CLONED) return undefined;
  const a = parseAttrs(body, RTMSG_LEN);
  const tableAttr = a.get(RTA.TABLE);
  const prio = a.get(RTA.PRIORITY);
  const route: KernelRoute = {
    family,
    dst: formatPrefix(family, a.get(RTA.DST), dstLen),
    table: tableAttr ? tableAttr.readUInt32LE(0) : (body[4] ?? 0),
    protocol: body[5] ?? 0,
    metric: prio ? prio.readUInt32LE(0) : 0,
    scope: scopeName(body[6] ?? 0),
    type,
    nexthops: [],
  };
  const src = a.get(RTA.PREFSRC);
  if (src) route.src = bytesToAddr(src);
  const mp = a.get(RTA.MULTIPATH);
  if (mp) {
    let off = 0;
    while (off + RTNH_LEN <= mp.length) {
      const len = mp.readUInt16LE(off);
      if (len < RTNH_LEN || off + len > mp.length) break;
      const nhFlags = mp[off + 2] ?? 0;
      const nh: KernelRoute['nexthops'][number] = { weight: (mp[off + 3] ?? 0) + 1 };
      const ifindex = mp.readInt32LE(off + 4);
      if (ifindex > 0) nh.dev = ifindex;
      if (nhFlags & RTNH_F.ONLINK) nh.onlink = true;
      const na = parseAttrs(mp.subarray(off, off + len), RTNH_LEN);
      const gw = na.get(RTA.GATEWAY);
      if (gw) nh.gateway = bytesToAddr(gw);
      const via = na.get(RTA.VIA);
      if (via) nh.via = decodeVia(via);
      route.nexthops.push(nh);
      off += (len + 3) & ~3;
    }
  } else {
    const gw = a.get(RTA.GATEWAY);
    const via = a.get(RTA.VIA);
    const oif = a.get(RTA.OIF);
    if (gw || via || oif) {
      const nh: KernelRoute['nexthops'][number] = { weight: 1 };
      if (gw) nh.gateway = bytesToAddr(gw);
      if (via) nh.via = decodeVia(via);
      if (oif) nh.dev = oif.readUInt32LE(0);
      if (flags & RTNH_F.ONLINK) nh.onlink = true;
      route.nexthops.push(nh);
    }
  }
  return route;
}
