// Netlink and rtnetlink numbers (linux/netlink.h, linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h,
// linux/neighbour.h). Kept as `as const` objects so call sites read as names, never bare numbers.

/**
 * Our route protocol number (rtm_protocol). Every route Uplink installs carries it and the reconciler
 * touches nothing else. Name it in /etc/iproute2/rt_protos.d/uplink.conf as "77 uplink" so `ip route`
 * prints "proto uplink".
 */
export const UPLINK_RT_PROTO = 77;
export const UPLINK_RT_PROTO_NAME = 'uplink';

export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

export const NLM_F = {
  REQUEST: 0x01,
  MULTI: 0x02,
  ACK: 0x04,
  ECHO: 0x08,
  DUMP_INTR: 0x10,
  ROOT: 0x100,
  MATCH: 0x200,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  // Flags on an NLMSG_ERROR ack.
  CAPPED: 0x100,
  ACK_TLVS: 0x200,
} as const;

/** Extended ack attributes (linux/netlink.h, NLMSGERR_ATTR_*). */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3 } as const;

export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  SETLINK: 19,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
  NEWNEIGH: 28,
  DELNEIGH: 29,
  GETNEIGH: 30,
} as const;

export const AF = { UNSPEC: 0, INET: 2, INET6: 10 } as const;

/** rtm_type. */
export const RTN = { UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5, BLACKHOLE: 6, UNREACHABLE: 7, PROHIBIT: 8 } as const;

/** rtm_scope. */
export const RT_SCOPE = { UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255 } as const;

export const RT_TABLE = { UNSPEC: 0, DEFAULT: 253, MAIN: 254, LOCAL: 255 } as const;

/** rtm_flags / rtnh_flags. */
export const RTNH_F = { DEAD: 1, PERVASIVE: 2, ONLINK: 4, OFFLOAD: 8, LINKDOWN: 16 } as const;
export const RTM_F = { NOTIFY: 0x100, CLONED: 0x200 } as const;

export const RTA = {
  UNSPEC: 0,
  DST: 1,
  SRC: 2,
  IIF: 3,
  OIF: 4,
  GATEWAY: 5,
  PRIORITY: 6,
  PREFSRC: 7,
  METRICS: 8,
  MULTIPATH: 9,
  FLOW: 11,
  CACHEINFO: 12,
  TABLE: 15,
  MARK: 16,
  PREF: 20,
  ENCAP_TYPE: 21,
  ENCAP: 22,
  EXPIRES: 23,
  VIA: 18,
  NH_ID: 30,
} as const;

export const IFLA = {
  ADDRESS: 1,
  BROADCAST: 2,
  IFNAME: 3,
  MTU: 4,
  LINK: 5,
  OPERSTATE: 16,
  LINKINFO: 18,
  NET_NS_PID: 19,
  NET_NS_FD: 28,
  STATS64: 23,
  GROUP: 27,
  CARRIER: 33,
  LINK_NETNSID: 37,
} as const;

export const IFLA_INFO = { KIND: 1, DATA: 2 } as const;
export const VETH_INFO = { PEER: 1 } as const;

/** ifi_flags (linux/if.h). */
export const IFF = { UP: 0x1, BROADCAST: 0x2, LOOPBACK: 0x8, POINTOPOINT: 0x10, RUNNING: 0x40, NOARP: 0x80, LOWER_UP: 0x10000 } as const;

export const IFA = { ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, ANYCAST: 5, CACHEINFO: 6, FLAGS: 8 } as const;
export const IFA_F = { SECONDARY: 0x01, NODAD: 0x02, PERMANENT: 0x80, NOPREFIXROUTE: 0x200 } as const;

export const NDA = { DST: 1, LLADDR: 2 } as const;
export const NTF = { PROXY: 0x08 } as const;
export const NUD = { PERMANENT: 0x80 } as const;

/** Multicast groups (bit numbers, linux/rtnetlink.h RTNLGRP_*). */
export const RTNLGRP = { LINK: 1, IPV4_IFADDR: 5, IPV4_ROUTE: 7, IPV6_IFADDR: 9, IPV6_ROUTE: 11 } as const;

/** Socket option numbers the BGP speaker needs (linux/in.h, linux/in6.h, linux/tcp.h, asm/socket.h). */
export const SOCKOPT = {
  SOL_SOCKET: 1,
  SO_BINDTODEVICE: 25,
  IPPROTO_IP: 0,
  IP_TTL: 2,
  IP_MINTTL: 21,
  IPPROTO_IPV6: 41,
  IPV6_UNICAST_HOPS: 16,
  IPV6_MINHOPCOUNT: 73,
  IPPROTO_TCP: 6,
  TCP_MD5SIG: 14,
  TCP_MD5SIG_EXT: 32,
} as const;
