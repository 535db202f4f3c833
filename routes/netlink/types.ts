// Public value types of the netlink layer. Addresses are strings in the usual text form; prefixes are
// "addr/len". Everything here is plain data so it can cross the control socket and appear in logs.

export type Family = 4 | 6;

export const RouteType = { Unicast: 'unicast', Blackhole: 'blackhole', Unreachable: 'unreachable', Prohibit: 'prohibit' } as const;
export type RouteType = (typeof RouteType)[keyof typeof RouteType];

export const RouteScope = { Universe: 'universe', Link: 'link', Host: 'host' } as const;
export type RouteScope = (typeof RouteScope)[keyof typeof RouteScope];

/** One next hop. For a single-path route the route's only next hop; for ECMP one RTA_MULTIPATH entry. */
export interface NextHop {
  /** Gateway of the route's own family (RTA_GATEWAY). */
  gateway?: string;
  /**
   * IPv6 gateway for an IPv4 route (RTA_VIA, RFC 8950 / RFC 5549 style): set this instead of `gateway`.
   * Needs kernel >= 5.2.
   */
  via?: string;
  /** Output device: an interface name (resolved in the route's netns) or an ifindex. */
  dev?: string | number;
  /** ECMP weight 1..256 (rtnh_hops + 1). Default 1. */
  weight?: number;
  /** RTNH_F_ONLINK: the gateway is on-link even without a matching connected prefix. */
  onlink?: boolean;
}

/** A route as the caller wants it (and as a dump returns it). */
export interface Route {
  /** Destination prefix, "10.1.0.0/24" or "fd00::/64". */
  dst: string;
  /** Routing table id. Default 254 (main). */
  table?: number;
  /** rtm_protocol. Default UPLINK_RT_PROTO. */
  protocol?: number;
  /** RTA_PRIORITY. Default 0 for IPv4, 1024 for IPv6 (the kernel's own default). */
  metric?: number;
  /** Default: 'link' for a unicast route with only a device and no gateway, else 'universe'. */
  scope?: RouteScope;
  /** Default unicast. blackhole/unreachable/prohibit carry no next hops. */
  type?: RouteType;
  /** Preferred source (RTA_PREFSRC). */
  src?: string;
  /** Next hops; more than one makes an ECMP route (RTA_MULTIPATH). */
  nexthops?: NextHop[];
}

/** A route read back from the kernel: every field filled, devices as ifindex. */
export interface KernelRoute extends Required<Omit<Route, 'src' | 'nexthops'>> {
  family: Family;
  src?: string;
  nexthops: Array<NextHop & { dev?: number; weight: number }>;
}

export const RouteOpKind = { Add: 'add', Replace: 'replace', Delete: 'delete' } as const;
export type RouteOpKind = (typeof RouteOpKind)[keyof typeof RouteOpKind];

export interface RouteOp {
  op: RouteOpKind;
  route: Route;
}

/** Per-message failure in a batch, by index into the ops array. */
export interface BatchFailure {
  index: number;
  errno: number;
  errnoName: string;
  /** Netlink extended ack text (NLMSGERR_ATTR_MSG), when the kernel gave one. */
  message?: string;
}

export interface BatchResult {
  /** Number of ops the kernel acknowledged as done (deletes of missing routes count as done if missingOk). */
  ok: number;
  failures: BatchFailure[];
}

export interface DumpFilter {
  family?: Family;
  table?: number;
  protocol?: number;
}

export interface LinkStats {
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
  rxErrors: bigint;
  txErrors: bigint;
  rxDropped: bigint;
  txDropped: bigint;
}

export interface Link {
  index: number;
  name: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** IFF_LOWER_UP: carrier present. */
  lowerUp: boolean;
  operstate: number;
  kind?: string;
  stats?: LinkStats;
}

export interface VethSpec {
  /** Name of the end that stays in this handle's netns. */
  name: string;
  mtu?: number;
  mac?: string;
  /** Peer end: created directly inside `peerNetns` (a netns path) with its name/MTU/MAC set at creation. */
  peerName: string;
  peerNetns?: string;
  peerMtu?: number;
  peerMac?: string;
}

export interface LinkChange {
  name?: string;
  mtu?: number;
  up?: boolean;
  mac?: string;
}

export interface AddressSpec {
  dev: string | number;
  /** "10.0.0.1/32" or "fd00::1/128". */
  address: string;
  /** Point-to-point peer (IFA_ADDRESS) for an IPv4 /32 to a gateway, e.g. "169.254.1.1". */
  peer?: string;
  scope?: RouteScope;
  /** IFA_F_NODAD for IPv6 (default true for IPv6: pod addresses are unique by IPAM). */
  nodad?: boolean;
  /** IFA_F_NOPREFIXROUTE. */
  noPrefixRoute?: boolean;
}

export interface Address {
  index: number;
  family: Family;
  address: string;
  prefixLen: number;
  peer?: string;
  scope: number;
  flags: number;
}

export interface RouteEvent {
  action: 'new' | 'del';
  route: KernelRoute;
}

export interface TcpMd5Spec {
  /** Peer address the key applies to. */
  address: string;
  /** Key, up to 80 bytes (TCP_MD5SIG_MAXKEYLEN). An empty key removes the entry. */
  key: string | Buffer;
  /** Optional prefix length: one key for a whole subnet (TCP_MD5SIG_EXT, TCP_MD5SIG_FLAG_PREFIX). */
  prefixLen?: number;
}

export interface TcpSocketSpec {
  family: Family;
  /** Create the socket inside this netns (path). The socket stays in it for its whole life. */
  netns?: string;
  bind?: { address: string; port: number };
  md5?: TcpMd5Spec[];
  /** GTSM (RFC 5082): drop segments whose TTL/hop limit is below this. */
  minTtl?: number;
  /** Outgoing TTL / hop limit. */
  ttl?: number;
  device?: string;
}
