// UPDATE (RFC 4271 §4.3) with the revised error handling of RFC 7606. The parser never gives up on the
// NLRI when RFC 7606 allows the session to survive: the result carries the full message (prefixes of
// every family) plus the single most severe action, so the speaker can withdraw what it must.
//
// Outcome vocabulary (greppable, RFC 7606 §2): session-reset | afi-safi-disable | treat-as-withdraw |
// attribute-discard. Section-level framing errors are listed here; per-attribute ones in attributes.ts.
import { descriptorByCode, encodeAttribute } from './attributes.js';
import { ErrorCode, UpdateSubcode, WireError, WireErrorCode, moreSevere } from './errors.js';
import { finishMessage, maxMessageLength, startMessage } from './header.js';
import { NlriList, familyKey } from './nlri.js';
import { view } from './reader.js';
import { Writer } from './writer.js';
import {
  Afi,
  AttrFlag,
  AttrType,
  ErrorAction,
  MessageType,
  Safi,
  type ErrorActionName,
  type PathAttribute,
  type UpdateMessage,
  type WireContext,
} from './types.js';

export type UpdateDecode =
  | {
      readonly ok: true;
      readonly message: UpdateMessage;
      /** The most severe RFC 7606 action required, null when the UPDATE is clean. */
      readonly action: ErrorActionName | null;
      readonly errors: readonly WireError[];
      /** The raw path attribute section: a view into the input for interning by bytes. */
      readonly attributeBytes: Uint8Array;
    }
  | { readonly ok: false; readonly error: WireError };

function updateError(code: (typeof WireErrorCode)[keyof typeof WireErrorCode], subcode: number, msg: string, init: { action: ErrorActionName; data?: Uint8Array; attrType?: number; family?: { afi: number; safi: number } }): WireError {
  return new WireError(code, msg, { errorCode: ErrorCode.UpdateMessage, subcode, ...init });
}

const MP_CODES = new Set<number>([AttrType.MpReachNlri, AttrType.MpUnreachNlri]);

function subcodeToCode(subcode: number): (typeof WireErrorCode)[keyof typeof WireErrorCode] {
  switch (subcode) {
    case UpdateSubcode.AttributeFlagsError:
      return WireErrorCode.AttributeFlagsError;
    case UpdateSubcode.AttributeLengthError:
      return WireErrorCode.AttributeLengthError;
    case UpdateSubcode.InvalidOriginAttribute:
      return WireErrorCode.InvalidOrigin;
    case UpdateSubcode.InvalidNextHopAttribute:
      return WireErrorCode.InvalidNextHop;
    case UpdateSubcode.MalformedAsPath:
      return WireErrorCode.MalformedAsPath;
    case UpdateSubcode.OptionalAttributeError:
      return WireErrorCode.OptionalAttributeError;
    default:
      return WireErrorCode.MalformedAttributeList;
  }
}

/** `body` = the message after the 19-byte header. */
export function decodeUpdateBody(body: Uint8Array, ctx: WireContext): UpdateDecode {
  const end = body.length;
  // RFC 4271 §6.3 (kept by RFC 7606 §4): the two section lengths must fit the message, else
  // Malformed Attribute List and session reset.
  if (end < 4) return { ok: false, error: updateError(WireErrorCode.MalformedAttributeList, UpdateSubcode.MalformedAttributeList, 'UPDATE shorter than its length fields', { action: ErrorAction.SessionReset }) };
  const wLen = (body[0]! << 8) | body[1]!;
  if (2 + wLen + 2 > end) {
    return { ok: false, error: updateError(WireErrorCode.MalformedAttributeList, UpdateSubcode.MalformedAttributeList, `withdrawn routes length ${wLen} overruns the UPDATE`, { action: ErrorAction.SessionReset }) };
  }
  const aStart = 2 + wLen + 2;
  const aLen = (body[aStart - 2]! << 8) | body[aStart - 1]!;
  if (aStart + aLen > end) {
    return { ok: false, error: updateError(WireErrorCode.MalformedAttributeList, UpdateSubcode.MalformedAttributeList, `total path attribute length ${aLen} overruns the UPDATE`, { action: ErrorAction.SessionReset }) };
  }
  const v4AddPath = ctx.addPathReceive.has(familyKey(Afi.Ipv4, Safi.Unicast));
  // RFC 7606 §5.3: withdrawn routes or NLRI that cannot be parsed -> session reset.
  const wParsed = NlriList.parse(view(body, 2, 2 + wLen), Afi.Ipv4, Safi.Unicast, v4AddPath);
  if (!wParsed.ok) return { ok: false, error: nlriError('withdrawn routes', wParsed.problem) };
  const nParsed = NlriList.parse(view(body, aStart + aLen, end), Afi.Ipv4, Safi.Unicast, v4AddPath);
  if (!nParsed.ok) return { ok: false, error: nlriError('NLRI', nParsed.problem) };
  const attributeBytes = view(body, aStart, aStart + aLen);

  const attributes: PathAttribute[] = [];
  const errors: WireError[] = [];
  let action: ErrorActionName | null = null;
  const note = (e: WireError): void => {
    errors.push(e);
    action = moreSevere(action, e.action);
  };
  const seen = new Uint8Array(256);
  let off = 0;
  const a = attributeBytes;
  while (off < a.length) {
    const flags = a[off]!;
    const hdr = flags & AttrFlag.ExtendedLength ? 4 : 3;
    if (off + hdr > a.length) {
      // RFC 7606 §4 case 2: too few octets left for an attribute header -> treat-as-withdraw; the Total
      // Path Attribute Length still locates the NLRI.
      note(updateError(WireErrorCode.MalformedAttributeList, UpdateSubcode.MalformedAttributeList, 'trailing bytes shorter than an attribute header', { action: ErrorAction.TreatAsWithdraw }));
      break;
    }
    const code = a[off + 1]!;
    const len = hdr === 4 ? (a[off + 2]! << 8) | a[off + 3]! : a[off + 2]!;
    const vStart = off + hdr;
    if (vStart + len > a.length) {
      // RFC 7606 §4 case 1: the last attribute overruns the section -> treat-as-withdraw; but if it is
      // MP_REACH/MP_UNREACH its NLRI is lost, which RFC 7606 §5.3 makes a session reset.
      const isMp = MP_CODES.has(code);
      note(updateError(isMp ? WireErrorCode.OptionalAttributeError : WireErrorCode.AttributeLengthError, isMp ? UpdateSubcode.OptionalAttributeError : UpdateSubcode.AttributeLengthError, `attribute ${code} length ${len} overruns the attribute section`, { action: isMp ? ErrorAction.SessionReset : ErrorAction.TreatAsWithdraw, attrType: code, data: view(a, off, a.length) }));
      if (isMp) return { ok: false, error: errors[errors.length - 1]! };
      break;
    }
    const data = view(a, vStart, vStart + len);
    const whole = view(a, off, vStart + len);
    off = vStart + len;
    if (seen[code]) {
      // RFC 7606 §3(g): a repeated MP_REACH/MP_UNREACH -> session reset; any other repeat: keep the first.
      if (MP_CODES.has(code)) {
        return { ok: false, error: updateError(WireErrorCode.MalformedAttributeList, UpdateSubcode.MalformedAttributeList, `duplicate attribute ${code}`, { action: ErrorAction.SessionReset, attrType: code }) };
      }
      note(updateError(WireErrorCode.DuplicateAttribute, UpdateSubcode.MalformedAttributeList, `duplicate attribute ${code} discarded`, { action: ErrorAction.AttributeDiscard, attrType: code }));
      continue;
    }
    seen[code] = 1;
    const desc = descriptorByCode(code);
    if (desc === undefined) {
      if ((flags & AttrFlag.Optional) === 0) {
        // RFC 4271 §6.3: an unrecognised well-known attribute; data = the attribute. RFC 7606 does
        // not soften this one.
        return { ok: false, error: updateError(WireErrorCode.UnrecognizedWellKnownAttribute, UpdateSubcode.UnrecognizedWellKnownAttribute, `unrecognized well-known attribute ${code}`, { action: ErrorAction.SessionReset, attrType: code, data: whole }) };
      }
      // RFC 4271 §5: unknown optional attribute, carried through byte-exact.
      attributes.push({ kind: 'unknown', flags, typeCode: code, data });
      continue;
    }
    if ((flags & (AttrFlag.Optional | AttrFlag.Transitive)) !== desc.flags) {
      // RFC 7606 §3(c): flags conflicting with the type -> treat-as-withdraw. The value is still decoded
      // below so MP_REACH/MP_UNREACH prefixes are known to the speaker.
      note(updateError(WireErrorCode.AttributeFlagsError, UpdateSubcode.AttributeFlagsError, `${desc.name}: flags 0x${flags.toString(16)}`, { action: ErrorAction.TreatAsWithdraw, attrType: code, data: whole }));
    }
    const decoded = desc.decode(data, flags, ctx);
    if (!('fault' in decoded)) {
      attributes.push(decoded);
      continue;
    }
    const p = decoded;
    const err = updateError(subcodeToCode(p.subcode), p.subcode, p.fault, {
      action: p.action,
      attrType: code,
      data: whole,
      ...(MP_CODES.has(code) && data.length >= 3 ? { family: { afi: (data[0]! << 8) | data[1]!, safi: data[2]! } } : {}),
    });
    if (p.action === ErrorAction.SessionReset || p.action === ErrorAction.AfiSafiDisable) return { ok: false, error: err };
    note(err);
    if (p.action === ErrorAction.TreatAsWithdraw) {
      // Keep the value raw so the message still re-encodes; the prefixes will be withdrawn anyway.
      attributes.push({ kind: 'malformed', flags, typeCode: code, data });
    }
  }

  const message: UpdateMessage = { type: MessageType.Update, withdrawn: wParsed.list, attributes, nlri: nParsed.list };
  // RFC 7606 §3(d) / RFC 4271 §6.3: mandatory well-known attributes, only when the UPDATE announces.
  const mpReach = attributes.find((x) => x.kind === 'mp-reach');
  const announces = nParsed.list.count > 0 || (mpReach?.kind === 'mp-reach' && mpReach.nlri.bytes.length > 0);
  if (announces) {
    const required: number[] = [AttrType.Origin, AttrType.AsPath];
    if (nParsed.list.count > 0) required.push(AttrType.NextHop);
    for (const code of required) {
      if (!seen[code]) {
        note(updateError(WireErrorCode.MissingWellKnownAttribute, UpdateSubcode.MissingWellKnownAttribute, `missing well-known attribute ${code}`, { action: ErrorAction.TreatAsWithdraw, attrType: code, data: Uint8Array.of(code) }));
      }
    }
  }
  return { ok: true, message, action, errors, attributeBytes };
}

function nlriError(where: string, problem: string): WireError {
  return updateError(
    problem === 'prefix-too-long' ? WireErrorCode.InvalidNetworkField : WireErrorCode.MalformedAttributeList,
    problem === 'prefix-too-long' ? UpdateSubcode.InvalidNetworkField : UpdateSubcode.MalformedAttributeList,
    `${where}: ${problem}`,
    { action: ErrorAction.SessionReset },
  );
}

/** Encodes the path attribute section alone (what packUpdates reuses across messages). */
export function encodeAttributes(attrs: readonly PathAttribute[], ctx: WireContext): Uint8Array {
  const w = new Writer(128);
  for (const a of attrs) encodeAttribute(w, a, ctx);
  return w.finish();
}

export function encodeUpdate(m: UpdateMessage, ctx: WireContext): Uint8Array {
  const attrs = encodeAttributes(m.attributes, ctx);
  const w = startMessage(MessageType.Update, 23 + m.withdrawn.bytes.length + attrs.length + m.nlri.bytes.length);
  w.u16(m.withdrawn.bytes.length).bytes(m.withdrawn.bytes);
  w.u16(attrs.length).bytes(attrs);
  w.bytes(m.nlri.bytes);
  return finishMessage(w, maxMessageLength(ctx, MessageType.Update));
}
