// Every decode failure in bgpd/wire is a WireError carrying the NOTIFICATION it maps to (RFC 4271 §6)
// and the RFC 7606 §2 approach the receiver must take. One function, toNotification, turns any of them
// into the NOTIFICATION message, so no caller invents its own mapping (Holo's packet/error.rs, GoBGP's
// MessageError).
import { UplinkError } from '../../lib/errors.js';
import { ErrorAction, MessageType, type ErrorActionName, type NotificationMessage } from './types.js';

/** RFC 4271 §4.5 error codes, RFC 7313 §5 (7), RFC 9687 (8). */
export const ErrorCode = {
  MessageHeader: 1,
  OpenMessage: 2,
  UpdateMessage: 3,
  HoldTimerExpired: 4,
  FsmError: 5,
  Cease: 6,
  RouteRefreshMessage: 7,
  SendHoldTimerExpired: 8,
} as const;

/** RFC 4271 §6.1. */
export const HeaderSubcode = {
  ConnectionNotSynchronized: 1,
  BadMessageLength: 2,
  BadMessageType: 3,
} as const;

/** RFC 4271 §6.2, RFC 5492 §5 (7), RFC 9234 §4.2 (11). */
export const OpenSubcode = {
  UnsupportedVersionNumber: 1,
  BadPeerAs: 2,
  BadBgpIdentifier: 3,
  UnsupportedOptionalParameter: 4,
  UnacceptableHoldTime: 6,
  UnsupportedCapability: 7,
  RoleMismatch: 11,
} as const;

/** RFC 4271 §6.3. */
export const UpdateSubcode = {
  MalformedAttributeList: 1,
  UnrecognizedWellKnownAttribute: 2,
  MissingWellKnownAttribute: 3,
  AttributeFlagsError: 4,
  AttributeLengthError: 5,
  InvalidOriginAttribute: 6,
  InvalidNextHopAttribute: 8,
  OptionalAttributeError: 9,
  InvalidNetworkField: 10,
  MalformedAsPath: 11,
} as const;

/** RFC 6608 §4. */
export const FsmSubcode = {
  Unspecified: 0,
  UnexpectedMessageInOpenSent: 1,
  UnexpectedMessageInOpenConfirm: 2,
  UnexpectedMessageInEstablished: 3,
} as const;

/** RFC 4486 §4, RFC 8538 §3 (9), RFC 9384 (10). */
export const CeaseSubcode = {
  MaximumPrefixesReached: 1,
  AdministrativeShutdown: 2,
  PeerDeconfigured: 3,
  AdministrativeReset: 4,
  ConnectionRejected: 5,
  OtherConfigurationChange: 6,
  ConnectionCollisionResolution: 7,
  OutOfResources: 8,
  HardReset: 9,
  BfdDown: 10,
} as const;

/** RFC 7313 §5. */
export const RouteRefreshSubcode = { InvalidMessageLength: 1 } as const;

/** Stable string codes (UplinkError.code) for matching in callers and tests. */
export const WireErrorCode = {
  ConnectionNotSynchronized: 'BGP_CONNECTION_NOT_SYNCHRONIZED',
  BadMessageLength: 'BGP_BAD_MESSAGE_LENGTH',
  BadMessageType: 'BGP_BAD_MESSAGE_TYPE',
  UnsupportedVersion: 'BGP_OPEN_UNSUPPORTED_VERSION',
  BadPeerAs: 'BGP_OPEN_BAD_PEER_AS',
  BadBgpIdentifier: 'BGP_OPEN_BAD_BGP_IDENTIFIER',
  UnsupportedOptionalParameter: 'BGP_OPEN_UNSUPPORTED_OPTIONAL_PARAMETER',
  UnacceptableHoldTime: 'BGP_OPEN_UNACCEPTABLE_HOLD_TIME',
  MalformedOpen: 'BGP_OPEN_MALFORMED',
  MalformedAttributeList: 'BGP_UPDATE_MALFORMED_ATTRIBUTE_LIST',
  UnrecognizedWellKnownAttribute: 'BGP_UPDATE_UNRECOGNIZED_WELL_KNOWN_ATTRIBUTE',
  MissingWellKnownAttribute: 'BGP_UPDATE_MISSING_WELL_KNOWN_ATTRIBUTE',
  AttributeFlagsError: 'BGP_UPDATE_ATTRIBUTE_FLAGS_ERROR',
  AttributeLengthError: 'BGP_UPDATE_ATTRIBUTE_LENGTH_ERROR',
  InvalidOrigin: 'BGP_UPDATE_INVALID_ORIGIN',
  InvalidNextHop: 'BGP_UPDATE_INVALID_NEXT_HOP',
  OptionalAttributeError: 'BGP_UPDATE_OPTIONAL_ATTRIBUTE_ERROR',
  InvalidNetworkField: 'BGP_UPDATE_INVALID_NETWORK_FIELD',
  MalformedAsPath: 'BGP_UPDATE_MALFORMED_AS_PATH',
  DuplicateAttribute: 'BGP_UPDATE_DUPLICATE_ATTRIBUTE',
  MalformedNotification: 'BGP_NOTIFICATION_MALFORMED',
  RouteRefreshLength: 'BGP_ROUTE_REFRESH_INVALID_LENGTH',
  EncodeError: 'BGP_ENCODE_ERROR',
} as const;
export type WireErrorCodeName = (typeof WireErrorCode)[keyof typeof WireErrorCode];

export interface WireErrorInit {
  /** NOTIFICATION error code (RFC 4271 §4.5). */
  readonly errorCode: number;
  readonly subcode: number;
  /** NOTIFICATION data field. */
  readonly data?: Uint8Array;
  readonly action?: ErrorActionName;
  /** The attribute type code concerned, for UPDATE errors. */
  readonly attrType?: number;
  /** The AFI/SAFI concerned, for MP_REACH/MP_UNREACH errors (afi-safi-disable). */
  readonly family?: { readonly afi: number; readonly safi: number };
  readonly cause?: unknown;
}

/**
 * The base error class of bgpd/wire. `code` is the stable string (UplinkError convention); the
 * NOTIFICATION code is `errorCode` because UplinkError already owns the name `code`.
 */
export class WireError extends UplinkError {
  readonly errorCode: number;
  readonly subcode: number;
  readonly data: Uint8Array;
  readonly action: ErrorActionName;
  readonly attrType: number | undefined;
  readonly family: { readonly afi: number; readonly safi: number } | undefined;

  constructor(code: WireErrorCodeName, message: string, init: WireErrorInit) {
    super(code, message, init.cause === undefined ? undefined : { cause: init.cause });
    this.errorCode = init.errorCode;
    this.subcode = init.subcode;
    this.data = init.data ?? new Uint8Array(0);
    this.action = init.action ?? ErrorAction.SessionReset;
    this.attrType = init.attrType;
    this.family = init.family;
  }
}

/** RFC 7606 §2: the order of severity used to pick one action for a whole UPDATE. */
const SEVERITY: Record<ErrorActionName, number> = {
  'session-reset': 4,
  'afi-safi-disable': 3,
  'treat-as-withdraw': 2,
  'attribute-discard': 1,
};

export function moreSevere(a: ErrorActionName | null, b: ErrorActionName): ErrorActionName {
  if (a === null) return b;
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** The one mapping from a decode error to the NOTIFICATION the speaker sends (RFC 4271 §6). */
export function toNotification(err: WireError): NotificationMessage {
  return { type: MessageType.Notification, code: err.errorCode, subcode: err.subcode, data: err.data };
}

/** Human names for NOTIFICATION codes/subcodes (for logs and uplinkctl). */
export function notificationName(code: number, subcode: number): string {
  const tables: Record<number, [string, Record<string, number>]> = {
    [ErrorCode.MessageHeader]: ['MessageHeaderError', HeaderSubcode],
    [ErrorCode.OpenMessage]: ['OpenMessageError', OpenSubcode],
    [ErrorCode.UpdateMessage]: ['UpdateMessageError', UpdateSubcode],
    [ErrorCode.HoldTimerExpired]: ['HoldTimerExpired', {}],
    [ErrorCode.FsmError]: ['FiniteStateMachineError', FsmSubcode],
    [ErrorCode.Cease]: ['Cease', CeaseSubcode],
    [ErrorCode.RouteRefreshMessage]: ['RouteRefreshMessageError', RouteRefreshSubcode],
    [ErrorCode.SendHoldTimerExpired]: ['SendHoldTimerExpired', {}],
  };
  const t = tables[code];
  if (t === undefined) return `Unknown(${code})/${subcode}`;
  const sub = Object.entries(t[1]).find(([, v]) => v === subcode)?.[0];
  return `${t[0]}/${sub ?? String(subcode)}`;
}
