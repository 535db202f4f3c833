// A plain-JSON view of messages for logs, golden files and `uplinkctl decode`: prefixes as text,
// bytes as hex, communities by name. Lossy on purpose (flags stay numeric, unknown bytes stay hex);
// the typed message is the source of truth.
import { ipv4ToString, ipv6ToString, toHex } from './addr.js';
import { asPathToString } from './as-path.js';
import { communityToString, extendedCommunityToString, largeCommunityToString } from './communities.js';
import { notificationName } from './errors.js';
import { NlriList, prefixToString } from './nlri.js';
import { shutdownCommunication } from './notification.js';
import type { Message, PathAttribute } from './types.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

export function nlriToJson(l: NlriList): Json {
  if (l.opaque) return { afi: l.afi, safi: l.safi, opaque: toHex(l.bytes) };
  return l.toArray().map((p) => (p.pathId === undefined ? prefixToString(p) : { prefix: prefixToString(p), pathId: p.pathId }));
}

/** Next hop bytes as addresses: 4 = IPv4, 16 = IPv6, 32 = IPv6 global + link-local (RFC 4760/2545). */
export function nextHopToStrings(nh: Uint8Array): string[] | null {
  if (nh.length === 4) return [ipv4ToString(nh)];
  if (nh.length === 16) return [ipv6ToString(nh)];
  if (nh.length === 32) return [ipv6ToString(nh), ipv6ToString(nh, 16)];
  return null;
}

function generic(v: unknown): Json {
  if (v instanceof NlriList) return nlriToJson(v);
  if (v instanceof Uint8Array) return toHex(v);
  if (Array.isArray(v)) return v.map(generic);
  if (v !== null && typeof v === 'object') {
    const o: { [k: string]: Json } = {};
    for (const [k, x] of Object.entries(v)) o[k] = generic(x);
    return o;
  }
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' || v === null) return v;
  return String(v);
}

export function attributeToJson(a: PathAttribute): Json {
  switch (a.kind) {
    case 'communities':
      return { kind: a.kind, flags: a.flags, communities: a.communities.map(communityToString) };
    case 'extended-communities':
      return { kind: a.kind, flags: a.flags, communities: a.communities.map(extendedCommunityToString) };
    case 'large-communities':
      return { kind: a.kind, flags: a.flags, communities: a.communities.map(largeCommunityToString) };
    case 'as-path':
    case 'as4-path':
      return { kind: a.kind, flags: a.flags, path: asPathToString(a.segments), segments: generic(a.segments) };
    case 'mp-reach':
      return {
        kind: a.kind,
        flags: a.flags,
        afi: a.afi,
        safi: a.safi,
        nextHop: nextHopToStrings(a.nextHop) ?? toHex(a.nextHop),
        reserved: a.reserved,
        nlri: nlriToJson(a.nlri),
      };
    default:
      return generic(a);
  }
}

export function messageToJson(m: Message): Json {
  switch (m.type) {
    case 1:
      return {
        type: 'open',
        version: m.version,
        myAs: m.myAs,
        holdTime: m.holdTime,
        bgpId: m.bgpId,
        extendedParameters: m.extendedParameters,
        parameters: generic(m.parameters),
      };
    case 2:
      return {
        type: 'update',
        withdrawn: nlriToJson(m.withdrawn),
        attributes: m.attributes.map(attributeToJson),
        nlri: nlriToJson(m.nlri),
      };
    case 3: {
      const text = shutdownCommunication(m);
      return {
        type: 'notification',
        code: m.code,
        subcode: m.subcode,
        name: notificationName(m.code, m.subcode),
        data: toHex(m.data),
        ...(text === null ? {} : { shutdownCommunication: text }),
      };
    }
    case 4:
      return { type: 'keepalive' };
    case 5:
      return { type: 'route-refresh', afi: m.afi, safi: m.safi, subtype: m.subtype, orf: toHex(m.orf) };
  }
}
