// OPEN (RFC 4271 §4.2) with capabilities (RFC 5492) and extended optional parameters (RFC 9072).
// Decoding checks what the message alone can show (RFC 4271 §6.2); checks against local configuration
// (expected peer AS, acceptable hold time beyond the 1/2 rule, role pairing) are the speaker's, with
// validateOpen's options as the shared implementation.
import { decodeCapabilityList, encodeCapabilityList } from './capabilities.js';
import { ErrorCode, OpenSubcode, WireError, WireErrorCode } from './errors.js';
import { badLength, finishMessage, startMessage } from './header.js';
import { ipv4ToString, parseIpv4OrThrow } from './addr.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';
import {
  MAX_MESSAGE_LENGTH,
  MessageType,
  OptionalParameterType,
  type Capability,
  type OpenMessage,
  type OptionalParameter,
} from './types.js';

export const BGP_VERSION = 4;
/** RFC 6793 §9: the 2-octet placeholder for a 4-octet ASN. */
export const AS_TRANS = 23456;

function openError(code: (typeof WireErrorCode)[keyof typeof WireErrorCode], subcode: number, msg: string, data?: Uint8Array): WireError {
  return new WireError(code, msg, { errorCode: ErrorCode.OpenMessage, subcode, ...(data ? { data } : {}) });
}

/** `body` = the message after the 19-byte header. */
export function decodeOpenBody(body: Uint8Array): OpenMessage | WireError {
  const r = new Reader(body);
  const version = r.u8();
  // RFC 4271 §6.2: an unsupported version is reported before anything else is looked at; the data is
  // the largest version we support.
  if (version !== BGP_VERSION) {
    return openError(WireErrorCode.UnsupportedVersion, OpenSubcode.UnsupportedVersionNumber, `BGP version ${version}`, Uint8Array.of(0, BGP_VERSION));
  }
  const myAs = r.u16();
  const holdTime = r.u16();
  const bgpIdRaw = r.bytes(4);
  const bgpId = ipv4ToString(bgpIdRaw);
  let optLen = r.u8();
  if (!r.ok) return badLength(body.length + 19);
  let extendedParameters = false;
  // RFC 9072 §2: a non-zero Non-Ext OP Len followed by Non-Ext OP Type 255 means the extended form,
  // whose real length is the following 2 octets.
  if (optLen !== 0 && r.has(1) && body[r.offset] === OptionalParameterType.ExtendedLength) {
    extendedParameters = true;
    r.u8();
    optLen = r.u16();
  }
  if (!r.ok || r.remaining !== optLen) return badLength(body.length + 19);
  const parameters: OptionalParameter[] = [];
  while (r.remaining > 0) {
    const type = r.u8();
    const len = extendedParameters ? r.u16() : r.u8();
    if (!r.ok || !r.has(len)) {
      return openError(WireErrorCode.MalformedOpen, 0, 'optional parameter overruns the OPEN');
    }
    const data = r.bytes(len);
    if (type === OptionalParameterType.Capabilities) {
      const caps = decodeCapabilityList(data);
      // RFC 4271 §6.2: a recognised but malformed optional parameter -> subcode 0 (Unspecific).
      if (caps === null) return openError(WireErrorCode.MalformedOpen, 0, 'malformed capabilities parameter');
      parameters.push({ kind: 'capabilities', capabilities: caps });
    } else {
      parameters.push({ kind: 'unknown', type, data });
    }
  }
  const open: OpenMessage = { type: MessageType.Open, version, myAs, holdTime, bgpId, extendedParameters, parameters };
  return validateOpen(open) ?? open;
}

export interface OpenExpectations {
  /** The configured peer ASN; compared with the 4-octet capability value when present (RFC 6793 §4.1). */
  readonly peerAs?: number;
}

/** RFC 4271 §6.2 checks, in the RFC's order. Returns null when acceptable. */
export function validateOpen(open: OpenMessage, expect: OpenExpectations = {}): WireError | null {
  if (open.version !== BGP_VERSION) {
    return openError(WireErrorCode.UnsupportedVersion, OpenSubcode.UnsupportedVersionNumber, `BGP version ${open.version}`, Uint8Array.of(0, BGP_VERSION));
  }
  for (const p of open.parameters) {
    // RFC 4271 §6.2: an optional parameter we do not recognise -> Unsupported Optional Parameter.
    if (p.kind === 'unknown') {
      return openError(WireErrorCode.UnsupportedOptionalParameter, OpenSubcode.UnsupportedOptionalParameter, `optional parameter ${p.type}`);
    }
  }
  const asn = openAsn(open);
  // RFC 7607 §2: AS 0 in My Autonomous System or in the 4-octet AS capability -> Bad Peer AS.
  if (open.myAs === 0 || asn === 0) return openError(WireErrorCode.BadPeerAs, OpenSubcode.BadPeerAs, 'peer AS 0');
  if (expect.peerAs !== undefined && asn !== expect.peerAs) {
    return openError(WireErrorCode.BadPeerAs, OpenSubcode.BadPeerAs, `peer AS ${asn}, expected ${expect.peerAs}`);
  }
  // RFC 4271 §6.2: hold time 1 or 2 seconds must be rejected.
  if (open.holdTime === 1 || open.holdTime === 2) {
    return openError(WireErrorCode.UnacceptableHoldTime, OpenSubcode.UnacceptableHoldTime, `hold time ${open.holdTime}`);
  }
  // RFC 6286 §2.2: the identifier is any non-zero 4-octet value.
  if (open.bgpId === '0.0.0.0') return openError(WireErrorCode.BadBgpIdentifier, OpenSubcode.BadBgpIdentifier, 'BGP identifier 0.0.0.0');
  return null;
}

export function encodeOpen(m: OpenMessage): Uint8Array {
  const params = new Writer(64);
  for (const p of m.parameters) {
    const value = new Writer(32);
    if (p.kind === 'capabilities') encodeCapabilityList(value, p.capabilities);
    else value.bytes(p.data);
    const v = value.finish();
    params.u8(p.kind === 'capabilities' ? OptionalParameterType.Capabilities : p.type);
    if (m.extendedParameters) params.u16(v.length);
    else params.u8(v.length);
    params.bytes(v);
  }
  const pb = params.finish();
  const w = startMessage(MessageType.Open, 29 + pb.length + 3);
  w.u8(m.version).u16(m.myAs).u16(m.holdTime).bytes(parseIpv4OrThrow(m.bgpId));
  if (m.extendedParameters) {
    // RFC 9072 §2: Non-Ext OP Len 255, Non-Ext OP Type 255, then the 2-octet length.
    w.u8(255).u8(OptionalParameterType.ExtendedLength).u16(pb.length);
  } else {
    w.u8(pb.length);
  }
  w.bytes(pb);
  return finishMessage(w, MAX_MESSAGE_LENGTH);
}

/** All capabilities of an OPEN in order, across parameters. */
export function openCapabilities(open: OpenMessage): Capability[] {
  const out: Capability[] = [];
  for (const p of open.parameters) if (p.kind === 'capabilities') out.push(...p.capabilities);
  return out;
}

export function findCapability<K extends Capability['kind']>(open: OpenMessage, kind: K): Extract<Capability, { kind: K }> | undefined {
  return openCapabilities(open).find((c): c is Extract<Capability, { kind: K }> => c.kind === kind);
}

/** The sender's ASN: the 4-octet AS capability value when present (RFC 6793 §4.1), else My AS. */
export function openAsn(open: OpenMessage): number {
  return findCapability(open, 'four-octet-as')?.asn ?? open.myAs;
}

export interface OpenInit {
  readonly asn: number;
  readonly holdTime: number;
  readonly bgpId: string;
  readonly capabilities: readonly Capability[];
}

/**
 * Builds an OPEN the usual way: all capabilities in one parameter, AS_TRANS in My AS when the ASN needs
 * 4 octets (RFC 6793 §4.1), and the RFC 9072 extended form only when the parameters exceed 255 octets.
 */
export function buildOpen(init: OpenInit): OpenMessage {
  const params: OptionalParameter[] = init.capabilities.length > 0 ? [{ kind: 'capabilities', capabilities: init.capabilities }] : [];
  const w = new Writer(64);
  encodeCapabilityList(w, init.capabilities);
  return {
    type: MessageType.Open,
    version: BGP_VERSION,
    myAs: init.asn > 0xffff ? AS_TRANS : init.asn,
    holdTime: init.holdTime,
    bgpId: init.bgpId,
    extendedParameters: w.length + 2 > 255,
    parameters: params,
  };
}
