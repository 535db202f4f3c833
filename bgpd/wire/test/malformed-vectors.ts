// The malformed-message table (GoBGP bgp_test.go style): each input annotated field by field, with the
// NOTIFICATION {code, subcode} and the RFC 7606 action we must report. `keepsNlri` marks the
// treat-as-withdraw/attribute-discard cases where the decoded message must still carry its prefixes.
import { ErrorAction, familyKey, makeContext, type ErrorActionName, type WireContext } from '../index.js';
import { ctx2, ctx4, msg, updateBody } from './golden-vectors.js';

export interface MalformedVector {
  readonly name: string;
  readonly hex: string;
  readonly ctx: WireContext;
  readonly code: number;
  readonly subcode: number;
  readonly action: ErrorActionName;
  /** For non-fatal outcomes: how many prefixes (classic + MP) the result must still carry. */
  readonly keepsNlri?: number;
  /** Expected NOTIFICATION data, when the RFC prescribes it. */
  readonly data?: string;
}

const R = ErrorAction.SessionReset;
const W = ErrorAction.TreatAsWithdraw;
const D = ErrorAction.AttributeDiscard;

/** Well-formed ORIGIN + AS_PATH + NEXT_HOP, to which each case adds its fault. */
const BASE = '40 01 01 00' + '40 02 06 02 01 0000fde8' + '40 03 04 0a000001';
/** The same for 2-octet sessions. */
const BASE2 = '40 01 01 00' + '40 02 04 02 01 fde8' + '40 03 04 0a000001';
const NLRI = '18 0a0100'; // 10.1.0.0/24
const upd = (attrs: string, nlri = NLRI, withdrawn = ''): string => msg(2, updateBody(withdrawn, attrs, nlri));
const marker = 'ff'.repeat(16);

export const MALFORMED: readonly MalformedVector[] = [
  // --- Message header (RFC 4271 §6.1): always session reset ---
  { name: 'marker with a zero byte', hex: 'ff'.repeat(15) + '00' + '0013' + '04', ctx: ctx4, code: 1, subcode: 1, action: R },
  { name: 'length 18 (< header)', hex: marker + '0012' + '04', ctx: ctx4, code: 1, subcode: 2, action: R, data: '0012' },
  { name: 'KEEPALIVE of length 20', hex: marker + '0014' + '04' + '00', ctx: ctx4, code: 1, subcode: 2, action: R, data: '0014' },
  { name: 'UPDATE of length 4097 without extended message', hex: marker + '1001' + '02' + '00'.repeat(4097 - 19), ctx: ctx4, code: 1, subcode: 2, action: R, data: '1001' },
  { name: 'OPEN shorter than 29', hex: marker + '001c' + '01' + '04fde800b40a000001', ctx: ctx4, code: 1, subcode: 2, action: R },
  { name: 'message type 6', hex: marker + '0013' + '06', ctx: ctx4, code: 1, subcode: 3, action: R, data: '06' },

  // --- OPEN (RFC 4271 §6.2) ---
  { name: 'OPEN version 3', hex: msg(1, '03 fde8 00b4 0a000001 00'), ctx: ctx4, code: 2, subcode: 1, action: R, data: '0004' },
  { name: 'OPEN My AS 0 (RFC 7607)', hex: msg(1, '04 0000 00b4 0a000001 00'), ctx: ctx4, code: 2, subcode: 2, action: R },
  { name: 'OPEN 4-octet AS capability 0 (RFC 7607)', hex: msg(1, '04 5ba0 00b4 0a000001 08', '02 06 41 04 00000000'), ctx: ctx4, code: 2, subcode: 2, action: R },
  { name: 'OPEN BGP identifier 0.0.0.0', hex: msg(1, '04 fde8 00b4 00000000 00'), ctx: ctx4, code: 2, subcode: 3, action: R },
  { name: 'OPEN hold time 1', hex: msg(1, '04 fde8 0001 0a000001 00'), ctx: ctx4, code: 2, subcode: 6, action: R },
  { name: 'OPEN hold time 2', hex: msg(1, '04 fde8 0002 0a000001 00'), ctx: ctx4, code: 2, subcode: 6, action: R },
  { name: 'OPEN optional parameter type 1 (authentication, deprecated)', hex: msg(1, '04 fde8 00b4 0a000001 04', '01 02 0000'), ctx: ctx4, code: 2, subcode: 4, action: R },
  { name: 'OPEN parameter length overruns the parameters', hex: msg(1, '04 fde8 00b4 0a000001 04', '02 09 0200'), ctx: ctx4, code: 2, subcode: 0, action: R },
  { name: 'OPEN capability TLV overruns its parameter', hex: msg(1, '04 fde8 00b4 0a000001 04', '02 02 4104'), ctx: ctx4, code: 2, subcode: 0, action: R },
  { name: 'OPEN opt param length larger than the message', hex: msg(1, '04 fde8 00b4 0a000001 09', '02 02 0200'), ctx: ctx4, code: 1, subcode: 2, action: R },

  // --- UPDATE framing (RFC 4271 §6.3, kept by RFC 7606 §4/§5.3): session reset ---
  { name: 'withdrawn routes length overruns the UPDATE', hex: msg(2, '0010 0000'), ctx: ctx4, code: 3, subcode: 1, action: R },
  { name: 'total path attribute length overruns the UPDATE', hex: msg(2, '0000 0010 400101'), ctx: ctx4, code: 3, subcode: 1, action: R },
  { name: 'NLRI prefix length 33', hex: upd(BASE, '21 0a010000 00'), ctx: ctx4, code: 3, subcode: 10, action: R },
  { name: 'NLRI truncated (/24 with 2 octets)', hex: upd(BASE, '18 0a01'), ctx: ctx4, code: 3, subcode: 1, action: R },
  { name: 'withdrawn prefix length 40', hex: upd('', '', '28 0a010000 00'), ctx: ctx4, code: 3, subcode: 10, action: R },

  // --- Attribute section framing (RFC 7606 §4): treat-as-withdraw unless MP ---
  { name: 'last attribute length overruns the section (MED len 9)', hex: upd(BASE + '80 04 09 00000064'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'two trailing octets, too short for an attribute header', hex: upd(BASE + '4001'), ctx: ctx4, code: 3, subcode: 1, action: W, keepsNlri: 1 },
  { name: 'MP_REACH length overruns the section -> session reset (RFC 7606 §5.3)', hex: upd(BASE + '80 0e 30 0002 01 10'), ctx: ctx4, code: 3, subcode: 9, action: R },

  // --- Per attribute (RFC 7606 §7) ---
  { name: 'ORIGIN length 2', hex: upd('40 01 02 0000' + '40 02 00 40 03 04 0a000001'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1, data: '4001020000' },
  { name: 'ORIGIN value 3', hex: upd('40 01 01 03' + '40 02 00 40 03 04 0a000001'), ctx: ctx4, code: 3, subcode: 6, action: W, keepsNlri: 1 },
  { name: 'ORIGIN with the Optional bit (flags error, RFC 7606 §3(c))', hex: upd('c0 01 01 00' + '40 02 00 40 03 04 0a000001'), ctx: ctx4, code: 3, subcode: 4, action: W, keepsNlri: 1 },
  { name: 'AS_PATH segment overruns the attribute', hex: upd('40 01 01 00' + '40 02 06 02 02 0000fde8' + '40 03 04 0a000001'), ctx: ctx4, code: 3, subcode: 11, action: W, keepsNlri: 1 },
  { name: 'AS_PATH segment type 5', hex: upd('40 01 01 00' + '40 02 06 05 01 0000fde8' + '40 03 04 0a000001'), ctx: ctx4, code: 3, subcode: 11, action: W, keepsNlri: 1 },
  { name: 'AS_PATH zero-length segment', hex: upd('40 01 01 00' + '40 02 02 02 00' + '40 03 04 0a000001'), ctx: ctx4, code: 3, subcode: 11, action: W, keepsNlri: 1 },
  { name: 'AS_PATH 4-octet bytes read in a 2-octet session (odd length)', hex: upd('40 01 01 00' + '40 02 07 02 01 0000fde8 00' + '40 03 04 0a000001'), ctx: ctx2, code: 3, subcode: 11, action: W, keepsNlri: 1 },
  { name: 'NEXT_HOP length 5', hex: upd('40 01 01 00 40 02 00' + '40 03 05 0a00000100'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'NEXT_HOP 0.0.0.0', hex: upd('40 01 01 00 40 02 00' + '40 03 04 00000000'), ctx: ctx4, code: 3, subcode: 8, action: W, keepsNlri: 1 },
  { name: 'NEXT_HOP multicast 224.0.0.1', hex: upd('40 01 01 00 40 02 00' + '40 03 04 e0000001'), ctx: ctx4, code: 3, subcode: 8, action: W, keepsNlri: 1 },
  { name: 'MED length 3', hex: upd(BASE + '80 04 03 000064'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'LOCAL_PREF length 5', hex: upd(BASE + '40 05 05 0000006400'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'ATOMIC_AGGREGATE length 1 -> attribute-discard', hex: upd(BASE + '40 06 01 00'), ctx: ctx4, code: 3, subcode: 5, action: D, keepsNlri: 1 },
  { name: 'AGGREGATOR length 6 in a 4-octet session -> attribute-discard', hex: upd(BASE + 'c0 07 06 fde8 0a000001'), ctx: ctx4, code: 3, subcode: 5, action: D, keepsNlri: 1 },
  { name: 'COMMUNITIES length 5', hex: upd(BASE + 'c0 08 05 fde8006400'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'COMMUNITIES length 0', hex: upd(BASE + 'c0 08 00'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'ORIGINATOR_ID length 3', hex: upd(BASE + '80 09 03 0a0000'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'CLUSTER_LIST length 6', hex: upd(BASE + '80 0a 06 0a0000010a00'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'EXTENDED_COMMUNITIES length 7', hex: upd(BASE + 'c0 10 07 0002fde8000000'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'LARGE_COMMUNITY length 11', hex: upd(BASE + 'c0 20 0b 0000fde8 00000001 000000'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'ONLY_TO_CUSTOMER length 2', hex: upd(BASE + 'c0 23 02 fde8'), ctx: ctx4, code: 3, subcode: 5, action: W, keepsNlri: 1 },
  { name: 'AS4_PATH malformed -> attribute-discard (RFC 6793 §6)', hex: upd(BASE2 + 'c0 11 06 02 02 fa56ea00'), ctx: ctx2, code: 3, subcode: 11, action: D, keepsNlri: 1 },
  { name: 'AS4_AGGREGATOR length 6 -> attribute-discard', hex: upd(BASE2 + 'c0 12 06 fde8 0a000001'), ctx: ctx2, code: 3, subcode: 5, action: D, keepsNlri: 1 },
  { name: 'unrecognized well-known attribute 77', hex: upd(BASE + '40 4d 01 00'), ctx: ctx4, code: 3, subcode: 2, action: R, data: '404d0100' },
  { name: 'duplicate MED -> first kept (RFC 7606 §3(g))', hex: upd(BASE + '80 04 04 00000001 80 04 04 00000002'), ctx: ctx4, code: 3, subcode: 1, action: D, keepsNlri: 1 },
  { name: 'duplicate MP_UNREACH -> session reset (RFC 7606 §3(g))', hex: upd('80 0f 03 0002 01 80 0f 03 0002 01', ''), ctx: ctx4, code: 3, subcode: 1, action: R },
  { name: 'missing ORIGIN with NLRI (RFC 7606 §3(d))', hex: upd('40 02 00 40 03 04 0a000001'), ctx: ctx4, code: 3, subcode: 3, action: W, keepsNlri: 1, data: '01' },
  { name: 'missing NEXT_HOP with IPv4 NLRI', hex: upd('40 01 01 00 40 02 00'), ctx: ctx4, code: 3, subcode: 3, action: W, keepsNlri: 1, data: '03' },
  { name: 'missing AS_PATH with MP_REACH IPv6', hex: upd('40 01 01 00' + '80 0e 1a 0002 01 10 20010db8000000000000000000000001 00 20 20010db8', ''), ctx: ctx4, code: 3, subcode: 3, action: W, keepsNlri: 1, data: '02' },

  // --- MP_REACH / MP_UNREACH (RFC 4760 §7, RFC 7606 §7.11, §5.3) ---
  { name: 'MP_REACH IPv6 next hop length 5', hex: upd(BASE + '80 0e 0b 0002 01 05 2001200120 00 00', ''), ctx: ctx4, code: 3, subcode: 9, action: R },
  { name: 'MP_REACH IPv6 next hop length 5, AFI/SAFI disable configured', hex: upd(BASE + '80 0e 0b 0002 01 05 2001200120 00 00', ''), ctx: makeContext({ fourOctetAs: true, afiSafiDisable: true }), code: 3, subcode: 9, action: ErrorAction.AfiSafiDisable },
  { name: 'MP_REACH IPv4 with 16-octet next hop without extended next hop', hex: upd(BASE + '80 0e 19 0001 01 10 20010db8000000000000000000000001 00 18 c0a800', ''), ctx: ctx4, code: 3, subcode: 9, action: R },
  { name: 'MP_REACH IPv6 prefix length 129', hex: upd(BASE + '80 0e 16 0002 01 10 20010db8000000000000000000000001 00 81', ''), ctx: ctx4, code: 3, subcode: 9, action: R },
  { name: 'MP_REACH truncated before the reserved octet', hex: upd(BASE + '80 0e 04 0002 01 10', ''), ctx: ctx4, code: 3, subcode: 9, action: R },
  { name: 'MP_UNREACH 2 octets', hex: upd('80 0f 02 0002', ''), ctx: ctx4, code: 3, subcode: 9, action: R },
  { name: 'MP_UNREACH NLRI truncated', hex: upd('80 0f 06 0002 01 30 2001', ''), ctx: ctx4, code: 3, subcode: 9, action: R },
  { name: 'add-path expected but NLRI has none (parses as a truncated entry)', hex: upd(BASE, '18 0a0100'), ctx: makeContext({ fourOctetAs: true, addPathReceive: new Set([familyKey(1, 1)]) }), code: 3, subcode: 1, action: R },

  // --- ROUTE-REFRESH (RFC 7313 §5) ---
  { name: 'BoRR with a 5-octet body', hex: msg(5, '0001 01 01 00'), ctx: ctx4, code: 7, subcode: 1, action: R },
];
