// The typed shape of every BGP message this codec reads and writes. Data only: no behaviour lives here
// except the `as const` code tables, so the speaker, the RIB and `uplinkctl decode` can import types
// without pulling in the codec.
//
// Conventions:
//  - Every byte field is a plain Uint8Array (a view into the received buffer where possible, never a
//    Node Buffer), so `decode(encode(m))` deep-equals `m` with vitest's toEqual.
//  - Addresses are dotted/colon strings where the value is per message (next hop, identifiers); prefixes
//    stay in wire form inside an NlriList (see nlri.ts) because there can be thousands per message.
//  - Attributes and capabilities keep their flags and order so a well-formed message from a real peer
//    re-encodes byte for byte.
import type { NlriList } from './nlri.js';

// ---------------------------------------------------------------------------------------------------
// Families

/** Address Family Identifiers (IANA "Address Family Numbers"). */
export const Afi = { Ipv4: 1, Ipv6: 2, L2vpn: 25, BgpLs: 16388 } as const;
/** Subsequent AFI (IANA "SAFI Values"). */
export const Safi = {
  Unicast: 1,
  Multicast: 2,
  MplsLabel: 4,
  Mvpn: 5,
  Vpls: 65,
  Evpn: 70,
  BgpLs: 71,
  SrPolicy: 73,
  Mup: 85,
  MplsVpn: 128,
  RouteTarget: 132,
  FlowSpec: 133,
  FlowSpecVpn: 134,
} as const;

export interface Family {
  readonly afi: number;
  readonly safi: number;
}
/** `${afi}/${safi}`, e.g. '1/1' for IPv4 unicast: usable as a Set/Map key. */
export type FamilyKey = `${number}/${number}`;

/** One prefix in object form (allocates; the hot path uses NlriList.forEach instead). */
export interface Prefix {
  readonly afi: number;
  /** Prefix bits, left-aligned: 4 bytes for IPv4, 16 for IPv6; bits beyond `length` are zero. */
  readonly addr: Uint8Array;
  readonly length: number;
  /** RFC 7911 path identifier, present only when the NLRI carries add-path identifiers. */
  readonly pathId?: number;
}

// ---------------------------------------------------------------------------------------------------
// Decode context: what the session negotiated (RFC 4271 §4.2 + capabilities). Never a global.

export interface WireContext {
  /** RFC 6793: both sides sent capability 65, so AS_PATH/AGGREGATOR carry 4-octet ASNs. */
  readonly fourOctetAs: boolean;
  /** RFC 8654: both sides sent capability 6; max message length 65535 instead of 4096. */
  readonly extendedMessage: boolean;
  /** RFC 7911: families whose received NLRI carry a 4-byte path identifier. */
  readonly addPathReceive: ReadonlySet<FamilyKey>;
  /** RFC 7911: families for which we may send path identifiers (used by packUpdates). */
  readonly addPathSend: ReadonlySet<FamilyKey>;
  /** RFC 8950: NLRI families (e.g. '1/1') for which an IPv6 next hop was negotiated. */
  readonly extendedNextHop: ReadonlySet<FamilyKey>;
  /**
   * RFC 7606 §5.3 / RFC 4760 §7: when an MP_REACH/MP_UNREACH NLRI cannot be parsed the speaker may
   * either reset the session or disable the AFI/SAFI. Default false = session reset.
   */
  readonly afiSafiDisable?: boolean;
}

// ---------------------------------------------------------------------------------------------------
// Messages (RFC 4271 §4)

export const MessageType = {
  Open: 1,
  Update: 2,
  Notification: 3,
  Keepalive: 4,
  RouteRefresh: 5,
} as const;
export type MessageTypeCode = (typeof MessageType)[keyof typeof MessageType];

/** RFC 4271 §4.1 header is 19 bytes; max message 4096, RFC 8654 raises it to 65535. */
export const HEADER_LENGTH = 19;
export const MAX_MESSAGE_LENGTH = 4096;
export const MAX_EXTENDED_MESSAGE_LENGTH = 65535;

export type Message =
  | OpenMessage
  | UpdateMessage
  | NotificationMessage
  | KeepaliveMessage
  | RouteRefreshMessage;

export interface KeepaliveMessage {
  readonly type: typeof MessageType.Keepalive;
}

export interface NotificationMessage {
  readonly type: typeof MessageType.Notification;
  readonly code: number;
  readonly subcode: number;
  readonly data: Uint8Array;
}

/** RFC 7313 §3: the former Reserved octet is the message subtype. */
export const RouteRefreshSubtype = { Normal: 0, BoRR: 1, EoRR: 2 } as const;

export interface RouteRefreshMessage {
  readonly type: typeof MessageType.RouteRefresh;
  readonly afi: number;
  readonly safi: number;
  readonly subtype: number;
  /** Anything after the 4 fixed bytes (RFC 5291 ORF entries for subtype 0), kept raw. */
  readonly orf: Uint8Array;
}

// ---------------------------------------------------------------------------------------------------
// OPEN (RFC 4271 §4.2, RFC 5492 capabilities, RFC 9072 extended optional parameters)

export interface OpenMessage {
  readonly type: typeof MessageType.Open;
  readonly version: number;
  /** The 2-octet "My Autonomous System" field (AS_TRANS 23456 when the real ASN needs 4 octets). */
  readonly myAs: number;
  readonly holdTime: number;
  /** Dotted quad. */
  readonly bgpId: string;
  /** RFC 9072: optional parameters use the extended (2-byte length) encoding. */
  readonly extendedParameters: boolean;
  readonly parameters: readonly OptionalParameter[];
}

export const OptionalParameterType = { Capabilities: 2, ExtendedLength: 255 } as const;

export type OptionalParameter =
  | { readonly kind: 'capabilities'; readonly capabilities: readonly Capability[] }
  /** Any other parameter type (e.g. the deprecated authentication parameter 1), kept raw. */
  | { readonly kind: 'unknown'; readonly type: number; readonly data: Uint8Array };

export const CapabilityCode = {
  Multiprotocol: 1,
  RouteRefresh: 2,
  ExtendedNextHop: 5,
  ExtendedMessage: 6,
  Role: 9,
  GracefulRestart: 64,
  FourOctetAs: 65,
  AddPath: 69,
  EnhancedRouteRefresh: 70,
  LongLivedGracefulRestart: 71,
  Fqdn: 73,
  RouteRefreshCisco: 128,
} as const;

/** RFC 9234 §4.1 role values. */
export const BgpRole = { Provider: 0, RouteServer: 1, RouteServerClient: 2, Customer: 3, Peer: 4 } as const;

/** RFC 7911 §4 Send/Receive field. */
export const AddPathMode = { Receive: 1, Send: 2, Both: 3 } as const;

export interface GracefulRestartFamily {
  readonly afi: number;
  readonly safi: number;
  /** RFC 4724 §3 F bit: forwarding state was preserved for this family. */
  readonly forwarding: boolean;
}

export interface LlgrFamily {
  readonly afi: number;
  readonly safi: number;
  /** Flags octet; 0x80 = F (forwarding state preserved). */
  readonly flags: number;
  /** Long-lived stale time in seconds (24 bits). */
  readonly staleTime: number;
}

/**
 * A capability in typed form. Decoding only produces the typed form when re-encoding it gives back the
 * same bytes; anything else (bad length, reserved bits set) becomes `unknown` so it still round-trips.
 */
export type Capability =
  | { readonly kind: 'multiprotocol'; readonly afi: number; readonly safi: number }
  | { readonly kind: 'route-refresh' }
  | { readonly kind: 'route-refresh-cisco' }
  | { readonly kind: 'enhanced-route-refresh' }
  | { readonly kind: 'four-octet-as'; readonly asn: number }
  | {
      readonly kind: 'graceful-restart';
      /** R bit (RFC 4724 §3): the sender has restarted. */
      readonly restarting: boolean;
      /** N bit (RFC 8538 §2): the sender supports graceful NOTIFICATION. */
      readonly notification: boolean;
      readonly restartTime: number;
      readonly families: readonly GracefulRestartFamily[];
    }
  | { readonly kind: 'long-lived-graceful-restart'; readonly families: readonly LlgrFamily[] }
  | {
      readonly kind: 'add-path';
      readonly families: readonly { readonly afi: number; readonly safi: number; readonly mode: number }[];
    }
  | { readonly kind: 'extended-message' }
  | {
      readonly kind: 'extended-next-hop';
      readonly families: readonly { readonly afi: number; readonly safi: number; readonly nextHopAfi: number }[];
    }
  | { readonly kind: 'fqdn'; readonly hostname: string; readonly domain: string }
  | { readonly kind: 'role'; readonly role: number }
  | { readonly kind: 'unknown'; readonly code: number; readonly data: Uint8Array };

export type CapabilityKind = Capability['kind'];

// ---------------------------------------------------------------------------------------------------
// UPDATE (RFC 4271 §4.3) and path attributes

export interface UpdateMessage {
  readonly type: typeof MessageType.Update;
  /** IPv4 unicast withdrawn routes (RFC 4271 §4.3). */
  readonly withdrawn: NlriList;
  /** In wire order; duplicates already removed per RFC 7606 §3(g). */
  readonly attributes: readonly PathAttribute[];
  /** IPv4 unicast NLRI. */
  readonly nlri: NlriList;
}

/** RFC 4271 §4.3 attribute flag bits. */
export const AttrFlag = {
  Optional: 0x80,
  Transitive: 0x40,
  Partial: 0x20,
  ExtendedLength: 0x10,
} as const;

export const AttrType = {
  Origin: 1,
  AsPath: 2,
  NextHop: 3,
  Med: 4,
  LocalPref: 5,
  AtomicAggregate: 6,
  Aggregator: 7,
  Communities: 8,
  OriginatorId: 9,
  ClusterList: 10,
  MpReachNlri: 14,
  MpUnreachNlri: 15,
  ExtendedCommunities: 16,
  As4Path: 17,
  As4Aggregator: 18,
  LargeCommunities: 32,
  OnlyToCustomer: 35,
} as const;

export const Origin = { Igp: 0, Egp: 1, Incomplete: 2 } as const;

/** RFC 4271 §4.3 + RFC 5065 §3 segment types. */
export const AsPathSegmentType = { AsSet: 1, AsSequence: 2, AsConfedSequence: 3, AsConfedSet: 4 } as const;

export interface AsPathSegment {
  readonly type: number;
  readonly asns: readonly number[];
}

export interface Aggregator {
  readonly asn: number;
  readonly address: string;
}

interface AttrBase {
  /** The flags octet as received (or to send), including Partial and Extended Length. */
  readonly flags: number;
}

export type PathAttribute =
  | (AttrBase & { readonly kind: 'origin'; readonly origin: number })
  | (AttrBase & { readonly kind: 'as-path'; readonly segments: readonly AsPathSegment[] })
  | (AttrBase & { readonly kind: 'next-hop'; readonly nextHop: string })
  | (AttrBase & { readonly kind: 'med'; readonly value: number })
  | (AttrBase & { readonly kind: 'local-pref'; readonly value: number })
  | (AttrBase & { readonly kind: 'atomic-aggregate' })
  | (AttrBase & { readonly kind: 'aggregator' } & Aggregator)
  /** RFC 1997: each community as an unsigned 32-bit number (ASN << 16 | value). */
  | (AttrBase & { readonly kind: 'communities'; readonly communities: readonly number[] })
  | (AttrBase & { readonly kind: 'originator-id'; readonly originatorId: string })
  | (AttrBase & { readonly kind: 'cluster-list'; readonly clusterIds: readonly string[] })
  | (AttrBase & MpReach)
  | (AttrBase & MpUnreach)
  /** RFC 4360: 8-byte values, raw. See communities.ts extendedCommunityView for a typed view. */
  | (AttrBase & { readonly kind: 'extended-communities'; readonly communities: readonly Uint8Array[] })
  | (AttrBase & { readonly kind: 'as4-path'; readonly segments: readonly AsPathSegment[] })
  | (AttrBase & { readonly kind: 'as4-aggregator' } & Aggregator)
  /** RFC 8092: [global administrator, local data 1, local data 2]. */
  | (AttrBase & {
      readonly kind: 'large-communities';
      readonly communities: readonly (readonly [number, number, number])[];
    })
  | (AttrBase & { readonly kind: 'only-to-customer'; readonly asn: number })
  /** An attribute this codec does not know: carried through byte-exact. */
  | (AttrBase & { readonly kind: 'unknown'; readonly typeCode: number; readonly data: Uint8Array })
  /**
   * A known attribute whose value failed validation with treat-as-withdraw (RFC 7606): kept raw so the
   * message still round-trips; the decode result carries the error.
   */
  | (AttrBase & { readonly kind: 'malformed'; readonly typeCode: number; readonly data: Uint8Array });

export type PathAttributeKind = PathAttribute['kind'];

export interface MpReach {
  readonly kind: 'mp-reach';
  readonly afi: number;
  readonly safi: number;
  /** Raw next hop (RFC 4760 §3): for IPv6 unicast 16 = global, 32 = global + link-local. */
  readonly nextHop: Uint8Array;
  /** The Reserved octet (RFC 4760 §3, formerly SNPA count); kept for byte-exact re-encode. */
  readonly reserved: number;
  /** Prefixes; for families this codec does not parse, an opaque NlriList carried through. */
  readonly nlri: NlriList;
}

export interface MpUnreach {
  readonly kind: 'mp-unreach';
  readonly afi: number;
  readonly safi: number;
  readonly withdrawn: NlriList;
}

// ---------------------------------------------------------------------------------------------------
// Errors (RFC 4271 §6, RFC 7606)

/** RFC 7606 §2 approaches, most severe first. */
export const ErrorAction = {
  SessionReset: 'session-reset',
  AfiSafiDisable: 'afi-safi-disable',
  TreatAsWithdraw: 'treat-as-withdraw',
  AttributeDiscard: 'attribute-discard',
} as const;
export type ErrorActionName = (typeof ErrorAction)[keyof typeof ErrorAction];

// ---------------------------------------------------------------------------------------------------
// Framing

export type FrameResult =
  /** A whole message of `length` bytes starts at the offset. */
  | { readonly kind: 'message'; readonly length: number; readonly type: number }
  /** At least `needed` bytes (from the offset) are required before a decision can be made. */
  | { readonly kind: 'need-more'; readonly needed: number }
  | { readonly kind: 'error'; readonly error: import('./errors.js').WireError };
