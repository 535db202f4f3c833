// Public API of bgpd/wire: the BGP message codec. Pure functions from bytes to typed messages and back;
// no sockets, timers or loggers. See DESIGN.md.
export * from './types.js';
export {
  WireError,
  toNotification,
  notificationName,
  moreSevere,
  ErrorCode,
  HeaderSubcode,
  OpenSubcode,
  UpdateSubcode,
  FsmSubcode,
  CeaseSubcode,
  RouteRefreshSubcode,
  WireErrorCode,
  type WireErrorCodeName,
  type WireErrorInit,
} from './errors.js';
export { frame, maxMessageLength } from './header.js';
export { decodeMessage, decodeHex, encodeMessage, type DecodeResult } from './message.js';
export { makeContext, negotiate, mirrorContext } from './context.js';
export {
  NlriList,
  NlriBuilder,
  familyKey,
  isPrefixFamily,
  parsePrefix,
  prefixToString,
  type NlriParse,
} from './nlri.js';
export {
  AS_TRANS,
  BGP_VERSION,
  buildOpen,
  findCapability,
  openAsn,
  openCapabilities,
  validateOpen,
  type OpenExpectations,
  type OpenInit,
} from './open.js';
export { decodeCapability, encodeCapabilityValue, capabilityCode } from './capabilities.js';
export {
  ATTRIBUTE_DESCRIPTORS,
  attributeTypeCode,
  attributesForReadvertisement,
  defaultFlags,
  descriptorByCode,
  withPartial,
  validateAttributes,
  type AttrDescriptor,
  type AttrFault,
} from './attributes.js';
export { asPathLength, asPathToString, mergeAs4Aggregator, mergeAs4Path } from './as-path.js';
export {
  WellKnownCommunity,
  communityToString,
  extendedCommunityToString,
  extendedCommunityView,
  largeCommunityToString,
  parseCommunity,
  routeTarget,
  type ExtendedCommunityView,
} from './communities.js';
export { encodeAttributes, type UpdateDecode } from './update.js';
export { ceaseNotification, shutdownCommunication } from './notification.js';
export { KEEPALIVE } from './keepalive.js';
export { endOfRib, isEndOfRib } from './eor.js';
export { packUpdates, packWithdrawals } from './pack.js';
export { messageToJson, attributeToJson, nlriToJson, nextHopToStrings, type Json } from './json.js';
export { fromHex, toHex, ipv4ToString, ipv6ToString, parseIpv4, parseIpv6 } from './addr.js';
export { forEachPrefix, prefixCount, type PrefixVisitor } from './walk.js';
